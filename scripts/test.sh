#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (optimised: the forward-pass
# tests run real networks).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --packages-only
# Its own build folder, so the statically linked .build/release/zoo that scripts/setup.sh makes stays.
swift test -c release --scratch-path .build-test
