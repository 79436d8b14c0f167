// swift-tools-version:6.0
import PackageDescription

let package = Package(
  name: "CNNZoo",
  products: [
    .executable(name: "zoo", targets: ["zoo"])
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.6.0"),
    .package(url: "https://github.com/jpsim/Yams", from: "5.0.1"),
    .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
  ],
  targets: [
    // The layer graph: ops, nodes, module paths, and the per-op shape/count rules.
    .target(name: "ZooGraph"),
    // Reading inputs and writing outputs: plain-worded file errors, atomic writes whose temporary
    // files a signal removes, and the same-file checks between inputs and outputs.
    .target(name: "ZooFiles"),
    // Declarative definitions (YAML) → Graph, and the built-in zoo embedded as text.
    .target(name: "ZooFormat", dependencies: ["ZooGraph", "Yams"]),
    // ONNX files ↔ Graph: reading a model (protobuf via swift-protobuf, code generated from Proto/onnx.proto by
    // scripts/generate-onnx-proto.sh) into a graph and its weights, and writing a graph and weights as ONNX.
    .target(
      name: "ZooONNX",
      dependencies: ["ZooGraph", "ZooFiles", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
      exclude: ["Proto/onnx.proto"]),
    // Whole-graph analyses: shapes at any input, per-module roll-ups, totals.
    .target(name: "ZooAnalysis", dependencies: ["ZooGraph"]),
    // cairo (C library, libcairo2-dev): vector and raster drawing for the charts.
    .systemLibrary(
      name: "CCairo", path: "Sources/CCairo", pkgConfig: "cairo",
      providers: [.apt(["libcairo2-dev"]), .brew(["cairo"])]),
    // Charts and diagrams drawn with cairo to SVG or PNG: a general line/scatter chart, and the
    // receptive-field chart and diagram.
    .target(name: "ZooPlot", dependencies: ["CCairo", "ZooGraph", "ZooAnalysis", "ZooFiles"]),
    // Graphviz's C library (libgvc, libcgraph), laid out and rendered in-process.
    .systemLibrary(
      name: "CGraphviz", pkgConfig: "libgvc", providers: [.apt(["libgraphviz-dev"]), .brew(["graphviz"])]),
    // Layer-graph diagrams: Graph + Summary → DOT with folded repeats → SVG/PNG/PDF through Graphviz.
    .target(name: "ZooRender", dependencies: ["ZooGraph", "ZooAnalysis", "ZooFiles", "CGraphviz"]),
    // The lecture notes' lessons as worked answers: output sizes, a convolution by hand, weight sharing,
    // receptive fields of a stack.
    .target(name: "ZooTeach", dependencies: ["ZooGraph", "ZooAnalysis"]),
    // The committed gallery (reports/): a Markdown page per model, the index, and the staleness check.
    .target(
      name: "ZooReport", dependencies: ["ZooGraph", "ZooFormat", "ZooAnalysis", "ZooPlot", "ZooRender", "ZooFiles"]),
    // C libraries: a BLAS for the convolution and linear GEMMs (OpenBLAS, or Accelerate on macOS: see
    // Sources/CBLAS/shim.h), libpng and libjpeg for images.
    .systemLibrary(
      name: "CBLAS", pkgConfig: "openblas", providers: [.apt(["libopenblas-dev"]), .brew(["openblas"])]),
    .systemLibrary(
      name: "CImage", pkgConfig: "libpng",
      providers: [.apt(["libpng-dev", "libjpeg62-turbo-dev"]), .brew(["libpng", "jpeg-turbo"])]),
    // The engine's own C kernels: a packed-weight AVX-512 GEMM for convolutions, and a thread pool.
    .target(name: "CZooKernels"),
    // The forward pass: plan compilation, memory planner, kernels by layer family, weights, I/O.
    .target(
      name: "ZooEngine", dependencies: ["ZooGraph", "ZooAnalysis", "ZooFiles", "CBLAS", "CImage", "CZooKernels"],
      linkerSettings: [
        .linkedLibrary("openblas", .when(platforms: [.linux])),
        .linkedFramework("Accelerate", .when(platforms: [.macOS])),
      ]),
    // The command-line tool: a thin layer of commands over the libraries.
    .executableTarget(
      name: "zoo",
      dependencies: [
        "ZooGraph", "ZooFormat", "ZooAnalysis", "ZooPlot", "ZooRender", "ZooEngine", "ZooTeach", "ZooReport",
        "ZooFiles", "ZooONNX", .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ]
    ),
    .testTarget(
      name: "ZooTests",
      dependencies: [
        "ZooGraph", "ZooFormat", "ZooAnalysis", "ZooPlot", "ZooRender", "ZooEngine", "ZooTeach", "ZooReport",
        "ZooFiles", "ZooONNX", "CZooKernels",
      ],
      exclude: ["Snapshots", "Fixtures"]
    ),
  ]
)
