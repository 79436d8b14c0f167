#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite (optimised: the forward-pass
# tests run real networks), after the C kernels' own unit tests on every tier, the arm64 ones under
# qemu-user (scripts/test-arm64.sh, about half a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --packages-only --with-browser
scripts/test-arm64.sh
# The explorer's test in headless Chromium fails here, rather than being skipped, when the browser is missing.
export ZOO_REQUIRE_BROWSER=1
# Its own build folder, so the statically linked .build/release/zoo that scripts/setup.sh makes stays.
swift test -c release --scratch-path .build-test
