// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "CNNZoo",
  products: [
    .executable(name: "zoo", targets: ["zoo"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
  ],
  targets: [
    // The layer graph: ops, nodes, module paths, and the per-op shape/count rules.
    .target(name: "ZooGraph"),
    // Declarative definitions (YAML) → Graph, and the built-in zoo embedded as text.
    .target(name: "ZooFormat", dependencies: ["ZooGraph", "Yams"]),
    // Whole-graph analyses: shapes at any input, per-module roll-ups, totals.
    .target(name: "ZooAnalysis", dependencies: ["ZooGraph"]),
    // C libraries: a BLAS for the convolution and linear GEMMs, libpng and libjpeg for images.
    .systemLibrary(name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"])]),
    .systemLibrary(name: "CImage", pkgConfig: "libpng", providers: [.apt(["libpng-dev", "libjpeg62-turbo-dev"])]),
    // The forward pass: plan compilation, memory planner, kernels by layer family, weights, I/O.
    .target(name: "ZooEngine", dependencies: ["ZooGraph", "ZooAnalysis", "CBLAS", "CImage"]),
    // The command-line tool: a thin layer of commands over the libraries.
    .executableTarget(
      name: "zoo",
      dependencies: [
        "ZooGraph", "ZooFormat", "ZooAnalysis", "ZooEngine",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .testTarget(
      name: "ZooTests",
      dependencies: ["ZooGraph", "ZooFormat", "ZooAnalysis", "ZooEngine"]
    ),
  ]
)
