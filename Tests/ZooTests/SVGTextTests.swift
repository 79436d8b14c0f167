import Foundation
import FoundationXML
import Testing
import ZooAnalysis
import ZooFormat
import ZooGraph
import ZooPlot
import ZooRender
import ZooReport

/// The text of an SVG file as a reader sees it: the characters of its `<text>` elements, whether
/// it uses glyph outlines (`<symbol>`, as cairo's SVG surface writes text), and whether it parses.
private final class SVGText: NSObject, XMLParserDelegate {
  var texts: [String] = []
  var symbols = 0
  private var inText = 0

  init(_ bytes: [UInt8], name: String) throws {
    super.init()
    let parser = XMLParser(data: Data(bytes))
    parser.delegate = self
    let ok = parser.parse()
    try #require(ok, "\(name) is not valid XML: \(String(describing: parser.parserError))")
  }

  func parser(
    _ parser: XMLParser, didStartElement name: String, namespaceURI: String?, qualifiedName: String?,
    attributes: [String: String] = [:]
  ) {
    if name == "text" {
      inText += 1
      texts.append("")
    }
    if name == "symbol" || name == "glyph" { symbols += 1 }
  }

  func parser(_ parser: XMLParser, didEndElement name: String, namespaceURI: String?, qualifiedName: String?) {
    if name == "text" { inText -= 1 }
  }

  func parser(_ parser: XMLParser, foundCharacters string: String) {
    if inText > 0 { texts[texts.count - 1] += string }
  }
}

/// Checks that `bytes` is an SVG with real text holding each of `labels`, and no glyph outlines.
private func expectRealText(_ bytes: [UInt8], name: String, labels: [String]) throws {
  let svg = try SVGText(bytes, name: name)
  #expect(svg.symbols == 0, "\(name) draws its text as \(svg.symbols) glyph outlines")
  #expect(!svg.texts.isEmpty, "\(name) has no <text>")
  let all = svg.texts.joined(separator: "\n")
  for label in labels { #expect(all.contains(label), "\(name) has no text `\(label)`") }
  #expect(!all.contains("`"), "\(name) shows Markdown backticks: \(all)")
}

@Suite struct SVGTextTests {
  /// Every SVG of the gallery (diagrams, receptive-field charts and diagrams, the params-vs-MACs
  /// chart) has editable text and no outlines.
  @Test func gallerySVGsHaveRealText() throws {
    let files = try Gallery(zoo: try Zoo.builtin()).files(models: ["resnet50", "densenet121", "lenet5"])
    let svgs = files.filter { $0.path.hasSuffix(".svg") }
    #expect(svgs.count == 1 + 3 * 3)
    for f in svgs {
      var labels: [String] = []
      if f.path.hasSuffix("params-vs-macs.svg") { labels = ["resnet50", "densenet121"] }
      if f.path.hasSuffix("resnet50-rf.svg") {
        labels = ["resnet50: receptive field by depth", "global from avgpool on"]
      }
      if f.path.hasSuffix("resnet50-rf-diagram.svg") { labels = ["resnet50: how the receptive field grows", "conv1"] }
      if f.path.hasSuffix("densenet121-diagram.svg") { labels = ["densenet121 (DenseNet)", "6 dense_layer blocks"] }
      try expectRealText(Array(f.contents.utf8), name: f.path, labels: labels)
    }
  }

  /// The files `zoo render` and `zoo rf --chart/--diagram` write as SVG.
  @Test func commandSVGsHaveRealText() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-svgtext-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let chart = dir.appendingPathComponent("c.svg").path
    let diagram = dir.appendingPathComponent("d.svg").path
    let render = dir.appendingPathComponent("r.svg").path
    let a = try runZoo(["rf", "googlenet", "--chart", chart, "--diagram", diagram])
    #expect(a.status == 0, "\(a.err)")
    let b = try runZoo(["render", "googlenet", "-o", render])
    #expect(b.status == 0, "\(b.err)")
    for (path, label) in [(chart, "googlenet: receptive field by depth"), (diagram, "conv1"), (render, "googlenet")] {
      try expectRealText(Array(try Data(contentsOf: URL(fileURLWithPath: path))), name: path, labels: [label])
    }
  }

  /// Text with XML's special characters survives as text, and a chart's SVG stays at its size in points.
  @Test func chartTextIsEscapedAndSized() throws {
    var chart = Chart(title: "a < b & \"c\"", subtitle: "x > y", xLabel: "depth", yLabel: "pixels")
    chart.series = [Chart.Series("s", points: [(0, 1), (1, 2)])]
    let bytes = try chart.rendered(as: "t.svg")
    let svg = try SVGText(bytes, name: "t.svg")
    #expect(svg.texts.contains("a < b & \"c\""))
    #expect(svg.texts.contains("x > y"))
    #expect(String(decoding: bytes, as: UTF8.self).contains("width=\"820pt\" height=\"500pt\""))
  }
}
