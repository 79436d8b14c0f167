#!/usr/bin/env bash
# Runs the test suite under AddressSanitizer, then ThreadSanitizer (debug builds, each in its own
# build folder). Slow — several times a normal run — and not part of CI. Arguments go to both
# `swift test` runs, e.g. `scripts/sanitize.sh --filter Engine` for the engine suites only.
# Reports are written beside the build folders: .build-asan/sanitize.log, .build-tsan/sanitize.log.
set -uo pipefail
cd "$(dirname "$0")/.."
# ThreadSanitizer: eltwise.c and im2col.c use target_clones, whose ifunc resolvers run while the
# dynamic loader relocates the binary, before the TSan runtime is up; with function entry/exit
# instrumented they crash every binary at load (SIGSEGV in __tsan_func_entry from add_part.resolver).
# Memory accesses and atomics stay instrumented; reports lose the C frames of their stacks.
tsan_flags=(-Xcc -mllvm -Xcc -tsan-instrument-func-entry-exit=false)
status=0
for sanitizer in address thread; do
  extra=()
  if [ "$sanitizer" = thread ]; then extra=("${tsan_flags[@]}"); fi
  dir=".build-${sanitizer/address/asan}"
  dir="${dir/thread/tsan}"
  mkdir -p "$dir"
  echo "== $sanitizer sanitizer ($dir)"
  # halt_on_error=0 lets a run report every finding instead of stopping at the first.
  ASAN_OPTIONS="detect_leaks=0:halt_on_error=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}" \
    TSAN_OPTIONS="halt_on_error=0${TSAN_OPTIONS:+:$TSAN_OPTIONS}" \
    swift test --scratch-path "$dir" --sanitize="$sanitizer" ${extra[@]+"${extra[@]}"} "$@" 2>&1 | tee "$dir/sanitize.log"
  rc=${PIPESTATUS[0]}
  findings=$(grep -c "^SUMMARY: \(Address\|Thread\)Sanitizer" "$dir/sanitize.log")
  echo "== $sanitizer sanitizer: exit $rc, $findings finding(s)"
  if [ "$rc" -ne 0 ] || [ "$findings" -ne 0 ]; then status=1; fi
done
exit $status
