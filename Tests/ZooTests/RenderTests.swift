import Foundation
import Testing
import ZooAnalysis
import ZooFormat
import ZooGraph
import ZooRender

#if canImport(FoundationXML)
  import FoundationXML
#endif

/// DOT snapshots live in Tests/ZooTests/Snapshots/; `ZOO_RECORD_SNAPSHOTS=1 swift test -c release
/// --filter RenderTests` rewrites them from the current output.
private let snapshotDir = repoRoot.appendingPathComponent("Tests/ZooTests/Snapshots")

private func assertSnapshot(_ text: String, named name: String) throws {
  let url = snapshotDir.appendingPathComponent(name)
  if ProcessInfo.processInfo.environment["ZOO_RECORD_SNAPSHOTS"] != nil {
    try text.write(to: url, atomically: true, encoding: .utf8)
    return
  }
  let expected = try String(contentsOf: url, encoding: .utf8)
  #expect(text == expected, "\(name) differs from its snapshot; re-record with ZOO_RECORD_SNAPSHOTS=1")
}

/// Nodes drawn in a DOT text: layers `n…`, boxes `m…` and outputs `out…`.
private func dotNodeCount(_ dot: String) -> Int {
  dot.split(separator: "\n").filter { line in
    let t = line.drop { $0 == " " }
    guard let space = t.firstIndex(of: " "), t[space...].hasPrefix(" [") else { return false }
    let id = t[..<space]
    let digits = id.drop { $0.isLetter }
    return ["n", "m", "out"].contains(id.prefix { $0.isLetter }) && !digits.isEmpty && digits.allSatisfy(\.isNumber)
  }.count
}

/// Counts `<g class="node">` elements and checks the SVG parses as XML.
private final class SVGNodeCounter: NSObject, XMLParserDelegate {
  var nodes = 0
  var clusters = 0
  func parser(
    _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
    attributes: [String: String] = [:]
  ) {
    if name == "g" && attributes["class"] == "node" { nodes += 1 }
    if name == "g" && attributes["class"] == "cluster" { clusters += 1 }
  }
}

private func parseSVG(_ bytes: [UInt8]) throws -> SVGNodeCounter {
  let parser = XMLParser(data: Data(bytes))
  let counter = SVGNodeCounter()
  parser.delegate = counter
  let ok = parser.parse()
  try #require(ok, "SVG is not valid XML: \(String(describing: parser.parserError))")
  return counter
}

/// Width and height from a PNG's IHDR chunk, after checking the signature.
private func pngSize(_ bytes: [UInt8]) throws -> (width: Int, height: Int) {
  try #require(bytes.count > 24 && Array(bytes[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
  func be32(_ at: Int) -> Int { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
  return (be32(16), be32(20))
}

@Suite struct RenderTests {
  @Test func lenetSnapshot() throws {
    try assertSnapshot(diagramDOT(try Summary(builtin("lenet5"))), named: "lenet5.dot")
  }

  @Test func basicBlockSnapshot() throws {
    let path = snapshotDir.appendingPathComponent("resnet_basic_block.yaml").path
    let file = try DefinitionFile(path: path, text: try String(contentsOfFile: path, encoding: .utf8))
    let dot = diagramDOT(try Summary(try file.graph(file.models[0])))
    try assertSnapshot(dot, named: "resnet_basic_block.dot")
    // The shortcut (downsample) enters the add as a dashed skip edge; the main path does not.
    #expect(dot.contains("n6 -> n8 [label=\" 128×28×28 \", style=dashed"))
    #expect(dot.contains("n4 -> n8 [label=\" 128×28×28 \"];"))
  }

  /// Nodes drawn by default (input and output included). VGG-11: input, 8 conv (+ bn) + relu,
  /// 5 max pools, avgpool, flatten, 3 linear (+ relu + dropout), output = 20. ResNet-18: input,
  /// conv + bn + relu, maxpool; layer1 one cluster "× 2" of conv1, conv2, add; layers 2–4 the
  /// first block (conv1, conv2, downsample, add) and a box; avgpool, flatten, fc, output = 25.
  /// MobileNetV2: input, stem, the first inverted residual (depthwise, projection), the other 16 as
  /// 11 boxes (runs of identical blocks folded), the last 1×1 conv, avgpool, flatten, dropout,
  /// linear, output = 21. FCN-8s: input, 13 convolutions (each with its ReLU), 5 pools, fc6, fc7,
  /// score_fr, score_pool4, score_pool3, three transposed convolutions, three crops, two adds, output = 33.
  static let expectedNodes: [String: Int] = [
    "lenet5": 10, "lenet5_original": 10, "alexnet": 16, "alexnet_original": 16, "vgg11": 20, "vgg13": 22,
    "vgg16": 25, "vgg19": 28, "vgg11_bn": 20, "vgg13_bn": 22, "vgg16_bn": 25, "vgg19_bn": 28, "googlenet": 43,
    "resnet18": 25, "resnet34": 25, "resnet50": 31, "resnet101": 31, "resnet152": 31, "resnext50_32x4d": 31,
    "wide_resnet50_2": 31, "densenet121": 34, "densenet161": 34, "densenet169": 34, "densenet201": 34,
    "mobilenet_v2": 21, "plain3x3_256": 3, "bottleneck_256": 5, "depthwise_separable_256": 4, "plain3x3_se_256": 7,
    "plain3x3_gated_256": 6, "plain3x3_shuffle_256": 10, "fcn_resnet50": 31, "fcn32s": 25, "fcn16s": 29,
    "fcn8s": 33, "unet": 25,
    "tiled3x3_256": 3, "segnet": 28, "deepface": 11, "allcnn_c": 14, "inception_v3": 22, "inception_v3_noaux": 20,
    "squeezenet1_0": 26, "squeezenet1_1": 24, "gated_inpaint_coarse": 29, "fire_256": 6, "upsample_conv_256": 4,
    "upsample_transpose_256": 3,
    "plain3x3_inverted_residual_256": 7, "mobilenet_v3_large": 22,
    "mobilenet_v3_small": 22, "efficientnet_b0": 61, "efficientnet_b1": 42, "shufflenet_v2_x0_5": 32,
    "shufflenet_v2_x1_0": 32, "shufflenet_v2_x1_5": 32, "shufflenet_v2_x2_0": 32, "mnasnet1_0": 33,
  ]

  @Test(arguments: try Zoo.builtin().modelNames)
  func rendersEveryModel(_ name: String) throws {
    let summary = try Summary(builtin(name))
    let dot = diagramDOT(summary)
    let svg = try renderDiagram(summary, format: .svg)
    let parsed = try parseSVG(svg)
    #expect(parsed.nodes == dotNodeCount(dot))
    #expect(parsed.nodes == Self.expectedNodes[name], "\(name) draws \(parsed.nodes) nodes by default")
    let png = try renderDiagram(summary, format: .png)
    let (w, h) = try pngSize(png)
    // At 2× (192 dpi).
    #expect(w >= 600 && w <= 12000 && h >= 600 && h <= 24000, "\(name) PNG is \(w)×\(h)")
  }

  /// Every edge joins two declared nodes, at every depth: no node is drawn by accident.
  @Test(arguments: try Zoo.builtin().modelNames)
  func edgesJoinDeclaredNodes(_ name: String) throws {
    let summary = try Summary(builtin(name))
    for options in (1...5).map({ DiagramOptions(depth: $0) }) + [DiagramOptions(expand: true)] {
      let dot = diagramDOT(summary, options: options)
      var declared = Set<Substring>()
      var used = Set<Substring>()
      for line in dot.split(separator: "\n") {
        let t = line.drop { $0 == " " }
        let words = t.split(separator: " ", maxSplits: 3)
        if words.count >= 3, words[1] == "->" {
          used.insert(words[0])
          used.insert(words[2].hasSuffix(";") ? words[2].dropLast() : words[2])
        } else if let first = words.first, words.count > 1, words[1].hasPrefix("["), first != "node", first != "edge",
          first != "graph"
        {
          declared.insert(first)
        }
      }
      // Every diagram has an input, a layer and an output, so at least two edges' ends were read.
      #expect(used.count >= 3, "\(name) \(options): only \(used.count) edge ends parsed; has the DOT changed?")
      #expect(used.subtracting(declared).isEmpty, "\(name) \(options): undeclared \(used.subtracting(declared))")
    }
  }

  @Test func resnet152FoldsToStemAndFourStages() throws {
    let summary = try Summary(builtin("resnet152"))
    let dot = diagramDOT(summary)
    // Input, stem (2), per stage 5 nodes of the first block (conv + bn + relu drawn as one node)
    // and one box, head (3), output: 31 nodes.
    // Each stage: its first block expanded, then the identical repeats as one box with totals.
    #expect(dot.contains("<b>layer1.1 – layer1.2</b><br/><b>bottleneck × 2</b>"))
    #expect(dot.contains("<b>layer2.1 – layer2.7</b><br/><b>bottleneck × 7</b>"))
    #expect(dot.contains("<b>layer3.1 – layer3.35</b><br/><b>bottleneck × 35</b>"))
    #expect(dot.contains("<b>layer4.1 – layer4.2</b><br/><b>bottleneck × 2</b>"))
    // The folded box carries the summed parameters of its 35 blocks.
    let rows = summary.rows.filter { $0.depth == 2 && $0.path.hasPrefix("layer3.") && $0.path != "layer3.0" }
    #expect(rows.count == 35)
    let params = rows.reduce(0) { $0 + $1.counts.params }
    #expect(params == 35 * 1_117_184)
    #expect(
      dot.contains("\(params.formatted(.number.grouping(.automatic).locale(Locale(identifier: "en_US")))) params"))
    #expect(try parseSVG(try renderDiagram(summary, format: .svg)).nodes == 31)
  }

  @Test func densenetFoldsItsDenseLayers() throws {
    let dot = diagramDOT(try Summary(builtin("densenet201")))
    for (block, n) in [(1, 6), (2, 12), (3, 48), (4, 32)] {
      #expect(
        dot.contains(
          "<b>features.denseblock\(block)</b> · dense_block</td></tr><tr><td align=\"left\">"
            + "<b>features.denseblock\(block).denselayer1 – denselayer\(n)</b> · <b>\(n) dense_layer blocks</b>, "
            + "sizes differ"
        ))
    }
  }

  @Test func depthAndExpandChooseWhatIsDrawn() throws {
    let summary = try Summary(builtin("resnet50"))
    let top = diagramDOT(summary, options: DiagramOptions(depth: 1))
    // Depth 1: input, stem (conv + bn + relu, maxpool), four stage boxes, head layers, output.
    #expect(dotNodeCount(top) == 1 + 2 + 4 + 3 + 1)
    let all = diagramDOT(summary, options: DiagramOptions(expand: true))
    #expect(dotNodeCount(all) == summary.graph.nodes.count + 1)
    #expect(!all.contains("×  "))
    #expect(all.contains("every layer"))
  }

  @Test func expandedDenseNet201Renders() throws {
    let summary = try Summary(builtin("densenet201"))
    let svg = try renderDiagram(summary, options: DiagramOptions(expand: true), format: .svg)
    #expect(summary.graph.nodes.count > 700)
    #expect(try parseSVG(svg).nodes == summary.graph.nodes.count + 1)
  }

  @Test func svgAndDotAreReproducible() throws {
    let summary = try Summary(builtin("googlenet"))
    let a = try renderDiagram(summary, format: .svg)
    let b = try renderDiagram(summary, format: .svg)
    #expect(a == b)
    #expect(diagramDOT(summary) == diagramDOT(summary))
  }

  @Test func graphvizErrorsBecomeOneError() throws {
    #expect {
      _ = try renderDOT("digraph { a -> ; }", format: .svg)
    } throws: { error in
      "\(error)".contains("could not read") && "\(error)".contains("syntax error")
    }
  }

  @Test func cliWritesEachFormat() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-render-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    for ext in ["svg", "png", "pdf", "dot"] {
      let r = try runZoo(["render", "resnet18", "-o", dir.appendingPathComponent("r.\(ext)").path, "--direction", "LR"])
      #expect(r.status == 0, "\(r.err)")
      #expect(r.err.isEmpty)
    }
    let pdf = try Data(contentsOf: dir.appendingPathComponent("r.pdf"))
    #expect(pdf.starts(with: Array("%PDF".utf8)))
    let dot = try String(contentsOf: dir.appendingPathComponent("r.dot"), encoding: .utf8)
    #expect(dot.contains("rankdir=LR"))
    // Only the four files: no temporary files left behind.
    #expect(
      try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["r.dot", "r.pdf", "r.png", "r.svg"])
  }

  @Test func cliRejectsBadArguments() throws {
    let bad = try runZoo(["render", "lenet5", "-o", "out.jpg"])
    #expect(bad.status != 0 && bad.err.contains("`out.jpg`"))
    let dir = try runZoo(["render", "lenet5", "-o", "/nonexistent-zoo-dir/out.svg"])
    #expect(dir.status == 1 && dir.err.contains("cannot write `/nonexistent-zoo-dir/out.svg`"))
    let depth = try runZoo(["render", "lenet5", "-o", "x.svg", "--depth", "0"])
    #expect(depth.status != 0 && depth.err.contains("--depth must be at least 1, got 0"))
  }

  /// Without Graphviz's plugin configuration file (GVBINDIR pointing at an empty folder), the
  /// plugins are still found: zoo loads them itself.
  @Test func rendersWithoutGraphvizConfig() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-gvbin-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let p = Process()
    p.executableURL = zooBinary
    p.arguments = ["render", "lenet5", "-o", dir.appendingPathComponent("l.png").path]
    p.environment = ProcessInfo.processInfo.environment.merging(["GVBINDIR": dir.path]) { _, b in b }
    let err = Pipe()
    p.standardError = err
    try p.run()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    #expect(p.terminationStatus == 0, "\(String(decoding: e, as: UTF8.self))")
    #expect(e.isEmpty)
    let (w, h) = try pngSize(Array(try Data(contentsOf: dir.appendingPathComponent("l.png"))))
    #expect(w > 300 && h > 300)
  }
}
