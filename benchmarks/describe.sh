#!/usr/bin/env bash
# Times `zoo describe` as a whole process (release build), the figure the core issue names:
# densenet201 should take well under 100 ms (torchinfo: ~350 ms in-process, ~5 s as a process).
# Uses hyperfine when installed, otherwise a plain loop.
set -euo pipefail
cd "$(dirname "$0")/.."
swift build -c release --product zoo >/dev/null
zoo=.build/release/zoo
models=("${@:-densenet201 resnet152 lenet5}")
for m in ${models[@]}; do
  if command -v hyperfine >/dev/null; then
    hyperfine --warmup 3 --runs 30 -N "$zoo describe $m" --export-json /tmp/zoo-describe-$m.json >/dev/null
    python3 - "$m" <<'PY' 2>/dev/null || hyperfine --warmup 3 --runs 30 -N "$zoo describe $m"
import json, sys
r = json.load(open(f"/tmp/zoo-describe-{sys.argv[1]}.json"))["results"][0]
print(f"zoo describe {sys.argv[1]}: median {r['median']*1000:.1f} ms, min {r['min']*1000:.1f} ms ({len(r['times'])} runs)")
PY
  else
    start=$(date +%s%N)
    for _ in $(seq 20); do "$zoo" describe "$m" >/dev/null; done
    end=$(date +%s%N)
    echo "zoo describe $m: mean $(((end - start) / 20000000)) ms over 20 runs"
  fi
done
