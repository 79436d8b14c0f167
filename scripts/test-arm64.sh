#!/usr/bin/env bash
# Unit tests of the C kernels (Tests/KernelsC/kernel_tests.c) on every kernel tier:
#   1. built for this machine and run: on x86-64 the generic, AVX2 and AVX-512 tiers this CPU runs;
#   2. cross-compiled for aarch64 (clang --target=aarch64-linux-gnu against Debian's arm64 cross
#      libc, linked statically with lld) and run under qemu-user: the NEON and generic tiers.
# qemu-user emulates an arm64 CPU instruction by instruction; it checks that the arm64 build
# compiles, links and computes the right numbers, not how fast it runs, and it is no run on real
# arm64 hardware (see docs/engine.md, "arm64"). On an arm64 machine step 1 is that real run and
# step 2 is skipped.
#
# Installs what is missing (Debian packages, as scripts/setup.sh does). Exits non-zero when a build
# or any test fails. CC overrides the compiler (a clang: the tiers are written in Clang's vector
# extensions); it defaults to the clang beside `swift`.
set -euo pipefail
cd "$(dirname "$0")/.."

host=$(uname -m)
packages=()
if [ "$host" != aarch64 ]; then
  # qemu-user-static: qemu-aarch64-static, no shared-library dependencies; the arm64 C library and
  # GCC's start files and libgcc for a static link (clang finds them under /usr/lib/gcc-cross).
  packages=(qemu-user-static libc6-dev-arm64-cross libgcc-12-dev-arm64-cross)
fi
missing=()
for p in ${packages[@]+"${packages[@]}"}; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if [ -z "${CC:-}" ]; then
  swift_bin=$(dirname "$(readlink -f "$(command -v swift)")")
  CC="$swift_bin/clang"
  [ -x "$CC" ] || CC=clang
fi
out=.build-kernels
mkdir -p "$out"
sources=(Sources/CZooKernels/*.c Tests/KernelsC/kernel_tests.c)
flags=(-O2 -std=gnu11 -pthread -Wall -ISources/CZooKernels/include)
status=0
started=$SECONDS

step() {
  local name=$1
  shift
  local t=$SECONDS
  if "$@"; then
    echo "== $name: passed ($((SECONDS - t)) s)"
  else
    echo "== $name: FAILED ($((SECONDS - t)) s)"
    status=1
  fi
}

echo "== C kernel tests, $host (native)"
if "$CC" "${flags[@]}" "${sources[@]}" -lm -o "$out/kernel_tests-$host"; then
  step "kernel tests, $host" "$out/kernel_tests-$host"
else
  echo "== build for $host: FAILED"
  status=1
fi

if [ "$host" != aarch64 ]; then
  echo "== C kernel tests, aarch64 (cross-compiled, run under qemu-user emulation: correctness only)"
  qemu=$(command -v qemu-aarch64-static || command -v qemu-aarch64 || true)
  if [ -z "$qemu" ]; then
    echo "== no qemu-aarch64 found"
    status=1
  elif "$CC" --target=aarch64-linux-gnu -fuse-ld=lld -static "${flags[@]}" "${sources[@]}" -lm \
    -o "$out/kernel_tests-aarch64"; then
    step "kernel tests, aarch64 under $(basename "$qemu")" "$qemu" "$out/kernel_tests-aarch64"
  else
    echo "== build for aarch64: FAILED"
    status=1
  fi
fi
echo "== C kernel tests: $([ $status -eq 0 ] && echo passed || echo FAILED) in $((SECONDS - started)) s"
exit $status
