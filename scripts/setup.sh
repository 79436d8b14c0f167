#!/usr/bin/env bash
# Installs the Debian packages CNN Zoo links against when they are missing, then builds `zoo` (release).
set -euo pipefail
cd "$(dirname "$0")/.."
# Fonts are pinned too: the committed reports embed glyph outlines, so `zoo report --check` needs the same faces.
packages=(pkg-config libgraphviz-dev libopenblas-dev libpng-dev libjpeg62-turbo-dev libcairo2-dev fonts-dejavu-core fonts-dejavu-extra)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
swift build -c release --product zoo
