#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (optimised: the forward-pass
# tests run real networks).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
swift test -c release
