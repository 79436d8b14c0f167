import Foundation
import Testing
import ZooAnalysis
import ZooFormat
import ZooGraph
import ZooRender

/// The explorer page's JSON data (the `zoo-data` script element), parsed.
private func explorerData(_ html: String) throws -> [String: Any] {
  let open = "<script type=\"application/json\" id=\"zoo-data\">"
  let start = try #require(html.range(of: open), "the page has no zoo-data element")
  let end = try #require(html.range(of: "</script>", range: start.upperBound..<html.endIndex))
  let text = html[start.upperBound..<end.lowerBound]
  let object = try JSONSerialization.jsonObject(with: Data(text.utf8))
  return try #require(object as? [String: Any], "zoo-data is not a JSON object")
}

/// Every match of `pattern`'s first group in `text`.
private func captures(_ pattern: String, in text: String) throws -> [String] {
  let regex = try NSRegularExpression(pattern: pattern)
  let ns = text as NSString
  return regex.matches(in: text, range: NSRange(location: 0, length: ns.length)).map {
    ns.substring(with: $0.range(at: 1))
  }
}

private func pageOf(_ name: String) throws -> (Summary, String) {
  let summary = try Summary(builtin(name))
  return (summary, String(decoding: try explorerHTML(summary), as: UTF8.self))
}

@Suite struct ExplorerTests {
  /// The page loads nothing: no `src` or `href` names another file or a network address, no `<link>`, no
  /// `@import`, and the one script and style are inline.
  @Test(arguments: ["lenet5", "resnet50", "googlenet", "densenet121", "unet", "inception_v3"])
  func pageIsSelfContained(_ name: String) throws {
    let (_, html) = try pageOf(name)
    let references = try captures(#"(?i)(?:src|href)\s*=\s*["']?([^"'\s>]*)"#, in: html)
    #expect(references.isEmpty, "\(name): the page refers to \(references)")
    #expect(!html.lowercased().contains("<link"))
    #expect(!html.contains("@import"))
    let urls = try captures(#"url\(([^)]*)\)"#, in: html)
    #expect(urls.allSatisfy { $0.hasPrefix("#") }, "\(name): url() other than a fragment: \(urls)")
    #expect(html.hasPrefix("<!DOCTYPE html>"))
    #expect(html.contains("<svg id=\"zoo-svg\""))
  }

  /// The JSON holds every layer with the analyzer's figures, every layer is in exactly one drawn node, every
  /// module is a fold or drawn as one node, and every edge joins drawn nodes that Graphviz placed.
  @Test(arguments: ["lenet5", "resnet50", "googlenet", "densenet121", "unet", "fcn8s", "mobilenet_v3_small"])
  func dataCoversTheGraph(_ name: String) throws {
    let (summary, html) = try pageOf(name)
    let graph = summary.graph
    let data = try explorerData(html)
    let layers = try #require(data["layers"] as? [[Any]])
    let fields = try ReceptiveFields(summary)
    try #require(layers.count == graph.nodes.count)
    for (i, layer) in layers.enumerated() {
      #expect(layer[0] as? String == graph.nodes[i].name)
      #expect(layer[4] as? [Int] == summary.shapes[i])
      #expect(layer[5] as? Int == summary.nodeCounts[i].params)
      #expect(layer[6] as? Int == summary.nodeCounts[i].macs)
      #expect(layer[7] as? Int == summary.nodeCounts[i].flops)
      let rfs = try #require(data["rfs"] as? [[Int]])
      let f = fields.nodes[i]
      let rf = rfs[try #require(layer[8] as? Int)]
      #expect(
        rf == [
          f.h.size, f.h.stride, f.h.padding, f.w.size, f.w.stride, f.w.padding,
          (f.global ? 1 : 0) + (f.approximate ? 2 : 0),
        ],
        "\(name): \(graph.nodes[i].name)")
    }
    let drawn = try #require(data["drawn"] as? [[Any]])
    var seen = [Int](repeating: 0, count: graph.nodes.count)
    for d in drawn where d[4] as? Int != 2 {
      for l in try #require(d[1] as? [Int]) { seen[l] += 1 }
      let box = try #require(d[0] as? [Int])
      #expect(box[2] > 0 && box[3] > 0, "\(name): a node without a size")
    }
    #expect(seen.allSatisfy { $0 == 1 }, "\(name): layers drawn \(seen) times")
    #expect(drawn.filter { $0[4] as? Int == 2 }.count == graph.outputs.count)
    let folds = try #require(data["folds"] as? [[Any]])
    let folded = Set(folds.flatMap { ($0[5] as? [String]) ?? [] })
    for m in graph.modules where !folded.contains(m.path) {
      // Not a fold: the module is drawn as one node (conv + bn + relu).
      let heads = Set(
        drawn.filter { d in
          ((d[1] as? [Int]) ?? []).contains { graph.nodes[$0].name.hasPrefix(m.path + ".") }
        }.map { $0[0] as? [Int] ?? [] })
      #expect(heads.count == 1, "\(name): module \(m.path) is neither a fold nor one node")
    }
    for f in folds {
      let parent = try #require(f[1] as? Int)
      #expect(parent >= -1 && parent < folds.count)
    }
    let edges = try #require(data["edges"] as? [[Any]])
    for e in edges {
      let from = try #require(e[0] as? Int)
      let to = try #require(e[1] as? Int)
      #expect(from >= 0 && from < drawn.count && to >= 0 && to < drawn.count && from != to)
      #expect(((e[4] as? [Int]) ?? []).count >= 8, "\(name): an edge without a spline")
    }
  }

  /// The page is a pure function of the model: two renders give the same bytes.
  @Test func pageIsReproducible() throws {
    let summary = try Summary(builtin("googlenet"))
    #expect(try explorerHTML(summary) == explorerHTML(summary))
  }

  /// Text from the model is escaped: a name cannot close the data's script element.
  @Test func jsonEscapesMarkup() throws {
    let (_, html) = try pageOf("resnet18")
    let data = try explorerData(html)
    #expect(data["name"] as? String == "resnet18")
    #expect(html.components(separatedBy: "</script>").count == 3)
  }

  /// The fold boxes claim identity only for modules whose sizes agree: DenseNet's dense layers are the same
  /// layers with growing inputs.
  @Test func foldsSayWhetherMembersAreIdentical() throws {
    let (_, dense) = try pageOf("densenet121")
    #expect(dense.contains("dense_layer × 5, same layers, 49.60 k–66.24 k params each"))
    #expect(!dense.contains("dense_layer × 5, identical"))
    let (_, resnet) = try pageOf("resnet50")
    #expect(resnet.contains("bottleneck × 5, identical"))
  }

  @Test func commandWritesTheExplorer() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-explorer-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("net.html").path
    let definition = repoRoot.appendingPathComponent("Tests/ZooTests/Snapshots/resnet_basic_block.yaml").path
    let r = try runZoo(["render", definition, "-o", out])
    #expect(r.status == 0, "\(r.err)")
    let html = try String(contentsOfFile: out, encoding: .utf8)
    #expect(try explorerData(html)["name"] != nil)
    let lr = try runZoo(["render", "lenet5", "-o", out, "--direction", "LR"])
    #expect(lr.status != 0 && lr.err.contains("--direction applies to diagrams"), "\(lr.err)")
  }
}

// MARK: In a browser

/// Headless Chromium: `ZOO_CHROMIUM`, else `chromium`, `chromium-browser` or `google-chrome` on the `PATH`.
private let chromium: String? = {
  let env = ProcessInfo.processInfo.environment
  if let path = env["ZOO_CHROMIUM"], !path.isEmpty { return path }
  for dir in (env["PATH"] ?? "/usr/bin").split(separator: ":") {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
      let path = "\(dir)/\(name)"
      if FileManager.default.isExecutableFile(atPath: path) { return path }
    }
  }
  return nil
}()

/// CI sets `ZOO_REQUIRE_BROWSER=1` (scripts/test.sh): there a missing browser fails the test instead of
/// skipping it.
private let browserRequired = ProcessInfo.processInfo.environment["ZOO_REQUIRE_BROWSER"] == "1"

/// The DOM a page has built once its script ran, as headless Chromium serialises it.
private func dumpDOM(_ file: URL, fragment: String) throws -> String {
  let browser = try #require(
    chromium, "headless Chromium is required (ZOO_REQUIRE_BROWSER=1) but not found: apt-get install chromium")
  let profile = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-chromium-\(getpid())-\(UUID())")
  defer { try? FileManager.default.removeItem(at: profile) }
  let p = Process()
  p.executableURL = URL(fileURLWithPath: browser)
  p.arguments = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
    "--user-data-dir=\(profile.path)",
    "--window-size=1400,900", "--dump-dom", file.absoluteString + (fragment.isEmpty ? "" : "#" + fragment),
  ]
  let out = Pipe()
  p.standardOutput = out
  p.standardError = FileHandle.nullDevice
  try p.run()
  let data = out.fileHandleForReading.readDataToEndOfFile()
  p.waitUntilExit()
  try #require(p.terminationStatus == 0, "chromium exited with \(p.terminationStatus)")
  return String(decoding: data, as: UTF8.self)
}

/// What the page reports it shows (`zoo-status`): counts and the fragment's actions.
private func status(_ dom: String) throws -> [String: Any] {
  let text = try #require(try captures(#"<output id="zoo-status">([^<]*)</output>"#, in: dom).first)
  let json = text.replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&amp;", with: "&")
  return try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
}

@Suite(.serialized) struct ExplorerBrowserTests {
  /// ResNet-50 in headless Chromium: every top-level module is drawn; opening the folded `layer3.1 – layer3.5`
  /// adds its five blocks; selecting a layer draws its receptive field with the analyzer's numbers, its centre
  /// and the padding a corner unit reaches; hovering shows the layer's figures.
  @Test(.enabled(if: chromium != nil || browserRequired, "headless Chromium not found (apt-get install chromium)"))
  func resnetInChromium() throws {
    let summary = try Summary(builtin("resnet50"))
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-explorer-dom-\(getpid())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("resnet50.html")
    try Data(try explorerHTML(summary)).write(to: file)

    let initial = try dumpDOM(file, fragment: "")
    let boxes = try captures(#"class="zoo-box" data-paths="([^"]*)""#, in: initial)
    let clusters = try captures(#"class="zoo-cluster" data-path="([^"]*)""#, in: initial)
    let layers = try captures(#"data-layers="([^"]*)""#, in: initial).flatMap {
      $0.split(separator: " ").map(String.init)
    }
    let shown = Set(boxes.flatMap { $0.split(separator: " ").map(String.init) } + clusters + layers)
    let topLevel =
      summary.graph.modules.map(\.path).filter { !$0.contains(".") }
      + summary.graph.nodes.map(\.name).filter { !$0.isEmpty && !$0.contains(".") }
    #expect(topLevel.count >= 8)
    for path in topLevel {
      #expect(shown.contains { $0 == path || $0.hasPrefix(path + ".") }, "top-level \(path) is not drawn")
    }
    #expect(boxes.contains("layer3.1 layer3.2 layer3.3 layer3.4 layer3.5"), "boxes: \(boxes)")
    let before = try status(initial)
    let beforeShown = try #require(before["shown"] as? [String: Int])

    let opened = try dumpDOM(file, fragment: "open=layer3.1")
    let after = try status(opened)
    #expect((after["log"] as? [String]) == ["open=layer3.1"])
    let afterShown = try #require(after["shown"] as? [String: Int])
    // The five blocks open as layer3.0 is: clusters with their layers.
    let afterClusters = try captures(#"class="zoo-cluster" data-path="([^"]*)""#, in: opened)
    let afterLayers = Set(try captures(#"data-layers="([^"]*)""#, in: opened).flatMap { $0.split(separator: " ") })
    for k in 1...5 {
      #expect(afterClusters.contains("layer3.\(k)"), "layer3.\(k) is not drawn after opening")
      for layer in ["conv1", "conv2", "conv3", "relu_2"] {
        #expect(afterLayers.contains(Substring("layer3.\(k).\(layer)")), "layer3.\(k).\(layer) is not drawn")
      }
    }
    #expect(afterShown["boxes"] == beforeShown["boxes"]! - 1)
    #expect(afterShown["nodes"] == beforeShown["nodes"]! + 5 * 4)
    #expect(afterShown["clusters"] == beforeShown["clusters"]! + 5)
    #expect(
      try captures(#"class="zoo-run" data-paths="([^"]*)""#, in: opened) == [
        "layer3.1 layer3.2 layer3.3 layer3.4 layer3.5"
      ])

    // Fold it again: back to the first view.
    let closed = try dumpDOM(file, fragment: "open=layer3.1&close=layer3.1")
    #expect((try status(closed)["shown"] as? [String: Int]) == beforeShown)

    // Select layer2.0.conv2 (drawn with its bn and relu) and the corner unit.
    let selected = try dumpDOM(file, fragment: "select=layer2.0.conv2&unit=0,0&hover=fc&find=layer4.0.conv")
    #expect(
      (try status(selected)["log"] as? [String]) == [
        "select=layer2.0.conv2", "unit=0,0", "hover=fc", "find=layer4.0.conv",
      ])
    // The search lists the three convolutions of layer4.0 by name (and its downsample's by op).
    let results = try #require(try captures(#"<ul id="zoo-results">(.*?)</ul>"#, in: selected).first)
    for k in 1...3 { #expect(results.contains("<li") && results.contains(">layer4.0.conv\(k)<"), "\(results)") }
    let relu = try #require(summary.graph.nodes.first { $0.name == "layer2.0.relu_1" })
    let f = try ReceptiveFields(summary).nodes[relu.id]
    let rf = try #require(try captures(#"(<dl id="zoo-rf">.*?</dl>)"#, in: selected).first)
    #expect(rf.contains("<dd>\(f.h.size) px</dd>"), "\(rf)")
    #expect(rf.contains("<dd>\(f.h.stride) px</dd>"), "\(rf)")
    #expect(rf.contains("<dd>\(f.h.padding) px</dd>"), "\(rf)")
    #expect(rf.contains("<dd>\(-f.h.padding) … \(f.h.size - 1 - f.h.padding)</dd>"), "\(rf)")
    #expect(selected.contains("class=\"zoo-rf-field\""))
    #expect(selected.contains("class=\"zoo-rf-centre\""))
    #expect(selected.contains("class=\"zoo-rf-pad\""), "the corner unit's field reaches the padding")
    #expect(selected.contains("class=\"zoo-node zoo-sel\""))
    let tip = try #require(try captures(#"<div id="zoo-tip"([^>]*>.*?)</div>"#, in: selected).first)
    #expect(!tip.hasPrefix(" hidden"), "the tooltip is hidden")
    #expect(tip.contains("<b>fc</b>") && tip.contains("2,049,000") && tip.contains("receptive field"), "\(tip)")
  }
}
