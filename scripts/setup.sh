#!/usr/bin/env bash
# Installs the Debian packages CNN Zoo links against when they are missing, then builds `zoo` (release,
# with the Swift runtime linked in: the binary runs from anywhere and starts 7 MB smaller).
# `--packages-only` stops after the packages (scripts/test.sh builds its own way); `--with-browser` also installs
# Debian's headless-capable `chromium`, which the explorer's browser test drives (no browser is downloaded at run time).
set -euo pipefail
cd "$(dirname "$0")/.."
# Fonts are pinned too: the committed reports' SVGs hold real <text>, but where each label, box and margin sits comes
# from text measured in these faces (Graphviz through pango, the charts through cairo), so `zoo report --check` needs them.
packages=(pkg-config libgraphviz-dev libopenblas-dev libpng-dev libjpeg62-turbo-dev libcairo2-dev fonts-dejavu-core fonts-dejavu-extra)
packages_only=false
for arg in "$@"; do
  case "$arg" in
    --packages-only) packages_only=true ;;
    --with-browser) packages+=(chromium) ;;
    *) echo "scripts/setup.sh: unknown option $arg (use --packages-only, --with-browser)" >&2; exit 2 ;;
  esac
done
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
$packages_only && exit 0
swift build -c release --static-swift-stdlib --product zoo
