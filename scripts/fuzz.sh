#!/usr/bin/env bash
# Builds the libFuzzer targets of scripts/fuzz/ with AddressSanitizer and runs each for a bounded time.
# Not part of CI. Usage:
#
#   scripts/fuzz.sh                    # every target, FUZZ_TIME seconds each (default 120)
#   FUZZ_TIME=600 scripts/fuzz.sh image npy
#
# Targets: safetensors, npy, image (PNG and JPEG decoding and the preprocessing), definition (the YAML
# definition loader with its expressions). Each parses bytes in memory, so no file is written per input.
#
# The libraries are built with SwiftPM in their own scratch folder (.build-fuzz, so the normal
# `swift build` and `swift test` are untouched) with `-sanitize=fuzzer,address`; each entry file is then
# compiled and linked against their objects with swiftc. The corpus grows in .build-fuzz/corpus/TARGET,
# seeded from the repository's fixtures; a crash, a sanitizer report or a leak is saved in
# .build-fuzz/artifacts/TARGET/ and makes the script exit non-zero (rerun it with
# `.build-fuzz/fuzz-TARGET ARTIFACT`).
set -euo pipefail
cd "$(dirname "$0")/.."
time_each=${FUZZ_TIME:-120}
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(safetensors npy image definition)
scratch=.build-fuzz
build=$scratch/release
flags=(-c release --scratch-path "$scratch" -Xswiftc -sanitize=fuzzer,address -Xcc -fsanitize=fuzzer-no-link,address)

for t in "${targets[@]}"; do
  case $t in
    definition) swift build "${flags[@]}" --target ZooFormat ;;
    safetensors | npy | image) swift build "${flags[@]}" --target ZooEngine ;;
    *) echo "unknown fuzz target \`$t\` (safetensors, npy, image, definition)" >&2; exit 2 ;;
  esac
done

linker=()
command -v ld.lld > /dev/null && linker=(-use-ld=lld)

seed() {  # seed TARGET: the seed corpus folder of TARGET, made from the fixtures.
  local dir=$scratch/seeds/$1
  rm -rf "$dir" && mkdir -p "$dir"
  case $1 in
    safetensors)
      # A valid file (two tensors, F32 and F16, and metadata) and a few near-misses.
      python3 - "$dir" << 'PY'
import json, struct, sys, os
def st(header, data):
    h = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(h)) + h + data
d = sys.argv[1]
ok = {"a": {"dtype": "F32", "shape": [2, 1], "data_offsets": [0, 8]},
      "b": {"dtype": "F16", "shape": [2], "data_offsets": [8, 12]}, "__metadata__": {"format": "pt"}}
open(os.path.join(d, "valid"), "wb").write(st(ok, struct.pack("<ff", 1, -2) + b"\x00\x3c\x00\xc1"))
open(os.path.join(d, "bf16"), "wb").write(st({"x": {"dtype": "BF16", "shape": [], "data_offsets": [0, 2]}}, b"\x80\x3f"))
open(os.path.join(d, "empty"), "wb").write(st({}, b""))
PY
      ;;
    npy) cp Tests/ZooTests/Fixtures/*.npy "$dir/" ;;
    image)
      cp Tests/ZooTests/Fixtures/*.png Tests/ZooTests/Fixtures/*.jpg "$dir/"
      # PNGs of every colour type and bit depth (16-bit, palette with tRNS, grey + alpha, 2-bit, interlaced).
      python3 - "$dir" << 'PY'
import os, struct, sys, zlib
def png(w, h, depth, ctype, rows, extra=b"", interlace=0):
    def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
    ihdr = struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, interlace)
    idat = zlib.compress(b"".join(b"\0" + r for r in rows))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + extra + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
def chunk(t, d): return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d))
d = sys.argv[1]
seeds = {
    "rgb16.png": png(3, 2, 16, 2, [bytes(range(18))] * 2),
    "rgba.png": png(2, 2, 8, 6, [bytes([200, 100, 50, 0, 1, 2, 3, 4])] * 2),
    "greyalpha16.png": png(2, 1, 16, 4, [bytes(range(8))]),
    "palette.png": png(2, 1, 8, 3, [bytes([0, 1])], chunk(b"PLTE", bytes(range(6))) + chunk(b"tRNS", b"\0\x80")),
    "grey2.png": png(4, 1, 2, 0, [bytes([0x1B])]),
    "interlaced.png": png(1, 1, 8, 2, [bytes([9, 8, 7])], interlace=1),
}
for name, data in seeds.items():
    open(os.path.join(d, name), "wb").write(data)
PY
      ;;
    definition) cp zoo/*.yaml docs/examples/*.yaml "$dir/" ;;
  esac
  echo "$dir"
}

failed=()
for t in "${targets[@]}"; do
  exe=$scratch/fuzz-$t
  if [ "$t" = definition ]; then
    modules=(ZooGraph ZooFormat Yams CYaml)
    libs=()
  else
    modules=(ZooGraph ZooFiles ZooAnalysis ZooEngine CZooKernels)
    libs=($(pkg-config --libs openblas libpng) -ljpeg)
  fi
  objects=()
  for m in "${modules[@]}"; do
    while IFS= read -r o; do objects+=("$o"); done < <(find "$build/$m.build" -name '*.o' | sort)
  done
  includes=()
  for f in $(pkg-config --cflags openblas libpng); do includes+=(-Xcc "$f"); done
  swiftc -O -parse-as-library -sanitize=fuzzer,address "${linker[@]}" -I "$build/Modules" \
    -Xcc -fmodule-map-file=Sources/CImage/module.modulemap -Xcc -fmodule-map-file=Sources/CBLAS/module.modulemap \
    -Xcc -fmodule-map-file="$build/CZooKernels.build/module.modulemap" "${includes[@]}" \
    "scripts/fuzz/$t.swift" "${objects[@]}" "${libs[@]}" -o "$exe" 2>&1 | grep -v "Cannot export local symbol" || true
  seeds=$(seed "$t")
  corpus=$scratch/corpus/$t
  artifacts=$scratch/artifacts/$t
  mkdir -p "$corpus" "$artifacts"
  echo "== fuzzing $t for ${time_each}s"
  # One worker: the machine's two cores are shared. -rss_limit_mb keeps a runaway allocation a finding.
  if ! ASAN_OPTIONS=detect_leaks=1 "$exe" -max_total_time="$time_each" -timeout=10 -rss_limit_mb=2048 \
    -malloc_limit_mb=1024 -artifact_prefix="$artifacts/" -print_final_stats=1 "$corpus" "$seeds"; then
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing found problems in: ${failed[*]} (see $scratch/artifacts/)" >&2
  exit 1
fi
echo "fuzzing found nothing in: ${targets[*]}"
