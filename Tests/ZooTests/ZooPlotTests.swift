import Foundation
import Testing
import ZooAnalysis
import ZooPlot

/// A fresh scratch folder for files the tests draw.
private func scratch(_ name: String) throws -> URL {
  let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-plot-\(name)-\(getpid())")
  try? FileManager.default.removeItem(at: dir)
  try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
  return dir
}

/// Width and height from a PNG's IHDR chunk.
private func pngSize(_ data: Data) -> (Int, Int)? {
  let bytes = [UInt8](data.prefix(24))
  guard bytes.count == 24, bytes[0..<8] == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A] else { return nil }
  func be(_ i: Int) -> Int { bytes[i..<i + 4].reduce(0) { $0 << 8 | Int($1) } }
  return (be(16), be(20))
}

@Suite("Plots")
struct ZooPlotTests {
  @Test("A chart draws to SVG at its size and to PNG at twice its size; other extensions are refused")
  func chartFiles() throws {
    let dir = try scratch("chart")
    var chart = Chart(title: "Params against MACs", xLabel: "MACs", yLabel: "parameters")
    chart.xScale = .log10
    chart.yScale = .log10
    chart.series = [
      Chart.Series(
        "zoo", points: [(7.1e8, 6.1e7), (1.8e9, 1.17e7), (4.1e9, 2.56e7)], style: .scatter,
        labels: ["alexnet", "resnet18", "resnet50"])
    ]
    chart.markers = [Chart.Marker(x: 1e9, label: "1 GMAC")]
    chart.levels = [Chart.Level(y: 1e7, label: "10 M")]
    let svg = dir.appendingPathComponent("c.svg").path
    let png = dir.appendingPathComponent("c.png").path
    try chart.write(to: svg)
    try chart.write(to: png)
    let text = try String(contentsOfFile: svg, encoding: .utf8)
    #expect(text.hasPrefix("<?xml"))
    #expect(text.contains(#"width="820pt" height="500pt""#))
    let size = try #require(pngSize(try Data(contentsOf: URL(fileURLWithPath: png))))
    #expect(size == (1640, 1000))
    #expect(throws: PlotError.self) { try chart.write(to: dir.appendingPathComponent("c.jpg").path) }
    do {
      try chart.write(to: "/nonexistent-dir/c.png")
      Issue.record("writing into a missing folder succeeded")
    } catch {
      #expect(error.description.contains("/nonexistent-dir/c.png"), "\(error)")
    }
  }

  @Test("resnet18's chart: field up to 435 px, stride to 32, a marker per stage, the input at 224 px")
  func resnetChart() throws {
    let chart = receptiveFieldChart(try ReceptiveFields(try builtin("resnet18")))
    let field = try #require(chart.series.first { $0.name == "receptive field" })
    let stride = try #require(chart.series.first { $0.name == "effective stride" })
    #expect(field.points.first!.y == 1)
    #expect(field.points.last!.y == 435)
    #expect(field.points.map(\.x) == (0...18).map(Double.init), "conv1, maxpool and 16 convs on the longest path")
    #expect(stride.points.map(\.y).max() == 32)
    #expect(chart.markers.map(\.label) == ["conv1 /2", "maxpool /4", "layer2 /8", "layer3 /16", "layer4 /32"])
    #expect(chart.levels.map(\.y) == [224])
  }

  @Test("Every zoo model's chart and diagram draw, as SVG and PNG")
  func everyModel() throws {
    let dir = try scratch("zoo")
    for name in ["lenet5_original", "alexnet", "vgg16", "googlenet", "resnet50", "densenet121", "bottleneck_256"] {
      let rf = try ReceptiveFields(try builtin(name))
      for ext in ["svg", "png"] {
        let chart = dir.appendingPathComponent("\(name).\(ext)").path
        let diagram = dir.appendingPathComponent("\(name)-diagram.\(ext)").path
        try writeReceptiveFieldChart(rf, to: chart)
        try writeReceptiveFieldDiagram(rf, to: diagram)
        for p in [chart, diagram] {
          let bytes = try #require(FileManager.default.attributesOfItem(atPath: p)[.size] as? Int)
          #expect(bytes > 5000, "\(p) is only \(bytes) bytes")
        }
      }
    }
  }

  @Test("zoo rf --chart and --diagram write the files; a wrong extension is a usage error")
  func commandLine() throws {
    let dir = try scratch("cli")
    let chart = dir.appendingPathComponent("g.svg").path
    let diagram = dir.appendingPathComponent("g.png").path
    let r = try runZoo(["rf", "googlenet", "--chart", chart, "--diagram", diagram, "--depth", "1"])
    #expect(r.status == 0, "\(r.err)")
    #expect(FileManager.default.fileExists(atPath: chart) && FileManager.default.fileExists(atPath: diagram))
    let toy = repoRoot.appendingPathComponent("docs/examples/rf_toy_1d.yaml").path
    let t = try runZoo(["rf", toy, "--diagram", dir.appendingPathComponent("toy.svg").path])
    #expect(t.status == 0, "\(t.err)")
    #expect(t.out.contains("7×1"), "three 3×1 convolutions see 7×1 pixels: \(t.out)")
    let bad = try runZoo(["rf", "alexnet", "--chart", "plot.pdf"])
    #expect(bad.status != 0)
    #expect(bad.err.contains("--chart needs a file ending in .svg or .png, got `plot.pdf`."), "\(bad.err)")
  }
}
