#!/usr/bin/env bash
# Screenshots of the explorer page in headless Chromium (Debian's `chromium`; scripts/setup.sh --with-browser):
#   scripts/explorer-screenshot.sh MODEL|FILE OUT.png ['select=layer2.0.conv2&unit=0,0'] [WIDTHxHEIGHT]
# The third argument is the page's URL fragment: the actions it performs on load (docs/explorer.md).
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: $0 MODEL|FILE OUT.png [FRAGMENT] [WIDTHxHEIGHT]" >&2; exit 2; }
model=$1 out=$2 fragment=${3:-} size=${4:-1400x900}
zoo=${ZOO:-$(dirname "$0")/../.build/release/zoo}
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "$0: headless Chromium not found: apt-get install chromium" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$zoo" render "$model" -o "$tmp/page.html"
"$browser" --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run --user-data-dir="$tmp/profile" \
  --window-size="${size/x/,}" --screenshot="$(realpath -m "$out")" "file://$tmp/page.html${fragment:+#$fragment}" 2>/dev/null
echo "$out"
