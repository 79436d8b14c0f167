#!/usr/bin/env bash
# Regenerates Sources/ZooONNX/Proto/onnx.pb.swift from onnx.proto beside it. Needs `protoc` (Debian's
# protobuf-compiler) and swift-protobuf's `protoc-gen-swift` plugin at the version Package.swift names;
# the plugin takes minutes to build, so the generated file is committed and nothing in the build or CI
# runs this script. Pass the plugin's path, or let the script build it from the local package copy.
set -euo pipefail
cd "$(dirname "$0")/.."
version=1.39.0
plugin="${1:-}"
if [ -z "$plugin" ]; then
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  git clone -q https://github.com/apple/swift-protobuf "$work/swift-protobuf"
  git -C "$work/swift-protobuf" checkout -q "$version"
  swift build -c release --package-path "$work/swift-protobuf" --product protoc-gen-swift
  plugin="$work/swift-protobuf/.build/release/protoc-gen-swift"
fi
command -v protoc >/dev/null || { echo "protoc is missing: apt-get install protobuf-compiler" >&2; exit 1; }
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Public \
  --swift_out=Sources/ZooONNX/Proto -I Sources/ZooONNX/Proto Sources/ZooONNX/Proto/onnx.proto
echo "wrote Sources/ZooONNX/Proto/onnx.pb.swift"
