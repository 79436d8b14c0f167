#!/usr/bin/env bash
# Regenerates the committed man page docs/man/zoo.1 from the command-line definitions, with
# swift-argument-parser's generate-manual plugin. Run it after changing a command, option or help text;
# a test checks that every command and option the binary has appears in the page.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p docs/man
swift package --allow-writing-to-package-directory generate-manual \
  --date "$(git log -1 --format=%cs 2>/dev/null || date +%F)" --authors "CNN Zoo maintainers" \
  --output-directory docs/man
echo "wrote docs/man/zoo.1 (read it with: man docs/man/zoo.1)"
