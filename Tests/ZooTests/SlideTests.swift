import Foundation
import Testing
import ZooAnalysis
import ZooFormat
import ZooGraph
import ZooRender

/// Width and height from a PNG's IHDR chunk, after checking the signature.
private func pngSize(_ bytes: [UInt8]) throws -> (width: Int, height: Int) {
  try #require(bytes.count > 24 && Array(bytes[0..<8]) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
  func be32(_ at: Int) -> Int { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
  return (be32(16), be32(20))
}

/// The `width="…pt" height="…pt"` of a Graphviz SVG.
private func svgSize(_ bytes: [UInt8]) throws -> (width: Double, height: Double) {
  let text = String(decoding: bytes.prefix(2000), as: UTF8.self)
  let m = try #require(text.firstMatch(of: try Regex(#"<svg width="([0-9.]+)pt" height="([0-9.]+)pt""#)))
  return (Double(m.output[1].substring!)!, Double(m.output[2].substring!)!)
}

@Suite struct SlideTests {
  /// The issue's models fit a 1920×1080 slide with their smallest text at least 14 px high, and
  /// the PNG is the size the fit reports.
  @Test(arguments: ["resnet50", "googlenet", "densenet121", "densenet201", "vgg16", "squeezenet1_0"])
  func fitsASlideWithReadableText(_ name: String) throws {
    let summary = try Summary(builtin(name))
    let fitted = try fitDiagram(summary, format: .png, size: (1920, 1080))
    let (w, h) = try pngSize(fitted.bytes)
    #expect(w <= 1920 && h <= 1080, "\(name) PNG is \(w)×\(h)")
    #expect(max(w, h) >= 1000, "\(name) PNG is \(w)×\(h): it should fill the slide")
    #expect(abs(Double(w) - fitted.width) <= 2 && abs(Double(h) - fitted.height) <= 2)
    #expect(fitted.smallestText >= minimumTextSize, "\(name): text \(fitted.smallestText) px")
    #expect(fitted.warnings.isEmpty, "\(fitted.warnings)")
  }

  /// Without `--size`, a PNG is drawn at 2× (192 dpi): 8/3 pixels per point of the SVG.
  @Test func pngIsTwiceTheNaturalSize() throws {
    let summary = try Summary(builtin("resnet18"))
    let svg = try svgSize(try renderDiagram(summary, format: .svg))
    let png = try pngSize(try renderDiagram(summary, format: .png))
    #expect(abs(Double(png.width) - svg.width * 8 / 3) <= 3, "\(png) against \(svg)")
    #expect(abs(Double(png.height) - svg.height * 8 / 3) <= 3, "\(png) against \(svg)")
  }

  /// An SVG or PDF fitted with `--size` is within the size in points.
  @Test func svgFitsInPoints() throws {
    let summary = try Summary(builtin("googlenet"))
    let fitted = try fitDiagram(summary, format: .svg, size: (1000, 700))
    let (w, h) = try svgSize(fitted.bytes)
    #expect(w <= 1000.5 && h <= 700.5, "\(w)×\(h)")
    // A PDF page is the fitted size too (no margin of cairo's own).
    let pdf = String(decoding: try fitDiagram(summary, format: .pdf, size: (1000, 700)).bytes, as: UTF8.self)
    let box = try #require(pdf.firstMatch(of: try Regex(#"MediaBox \[ 0 0 (\d+) (\d+) \]"#)))
    let (pw, ph) = (Int(box.output[1].substring!)!, Int(box.output[2].substring!)!)
    #expect(pw <= 1001 && ph <= 701 && max(pw, ph) >= 650, "PDF page \(pw)×\(ph)")
  }

  /// The expanded DenseNet-201 cannot keep its text readable: the result says so instead of
  /// silently shrinking to 5-pixel text.
  @Test func unreadableTextIsWarned() throws {
    let summary = try Summary(builtin("densenet201"))
    let plain = try fitDiagram(summary, options: DiagramOptions(expand: true), format: .png)
    #expect(plain.smallestText < minimumTextSize)
    #expect(plain.warnings.count == 1 && plain.warnings[0].contains("cairo's 32,640-pixel limit"), "\(plain.warnings)")
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-warn-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("d.png").path
    let r = try runZoo(["render", "densenet201", "--expand", "-o", out, "--size", "1920x1080"])
    #expect(r.status == 0, "\(r.err)")
    #expect(r.err.hasPrefix("Warning: densenet201: text is ") && r.err.contains("below 14 px"), "\(r.err)")
  }

  /// A snake: the chain wraps into columns at clean cuts, with markers, and the layout becomes
  /// shorter and wider.
  @Test func snakeWrapsTheChainIntoColumns() throws {
    let summary = try Summary(builtin("resnet50"))
    let one = diagramDOT(summary, options: DiagramOptions(depth: 1))
    let three = diagramDOT(summary, options: DiagramOptions(depth: 1, columns: 3))
    #expect(!one.contains("continued in the next column"))
    #expect(three.components(separatedBy: "continued in the next column").count == 3)
    #expect(three.components(separatedBy: "from the previous column").count == 3)
    let a = try layoutSize(one)
    let b = try layoutSize(three)
    #expect(b.height < a.height * 0.6 && b.width > a.width, "\(a) → \(b)")
    let rows = diagramDOT(summary, options: DiagramOptions(depth: 1, direction: .leftToRight, columns: 2))
    #expect(rows.contains("continued in the next row"))
  }

  /// `--names`, `--edge-labels none`, `--no-legend` and `--theme` change only what they say.
  @Test func clutterOptions() throws {
    let summary = try Summary(builtin("resnet18"))
    let plain = diagramDOT(summary)
    #expect(!plain.contains("<i>layer1.0.conv1</i>"))
    #expect(diagramDOT(summary, options: DiagramOptions(names: true)).contains("<i>layer1.0.conv1</i>"))
    #expect(plain.contains("label=\" 64×56×56 \""))
    let bare = diagramDOT(summary, options: DiagramOptions(edgeLabels: .none))
    #expect(!bare.contains("label=\" 64×56×56 \""))
    #expect(!bare.contains("edge labels: the tensor shape"))
    #expect(plain.contains("edge labels: the tensor shape"))
    let noLegend = diagramDOT(summary, options: DiagramOptions(legend: false))
    #expect(!noLegend.contains("skip connection") && !noLegend.contains("convolution</font>"))
    #expect(noLegend.contains("resnet18 (ResNet)"))
    let dark = diagramDOT(summary, options: DiagramOptions(theme: .dark))
    #expect(dark.contains("bgcolor=\"#1b1e21\"") && !dark.contains("#a5d8ff"))
    let print = diagramDOT(summary, options: DiagramOptions(theme: .print))
    #expect(print.contains("bgcolor=\"white\"") && !print.contains("#a5d8ff") && print.contains("#d9d9d9"))
  }

  @Test func cliOptions() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-slides-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let png = dir.appendingPathComponent("r.png").path
    let ok = try runZoo([
      "render", "resnet50", "-o", png, "--size", "1920x1080", "--names", "--edge-labels", "none", "--theme", "dark",
    ])
    #expect(ok.status == 0 && ok.err.isEmpty, "\(ok.err)")
    let (w, h) = try pngSize(Array(try Data(contentsOf: URL(fileURLWithPath: png))))
    #expect(w <= 1920 && h <= 1080)
    let dot = dir.appendingPathComponent("r.dot").path
    #expect(try runZoo(["render", "resnet18", "-o", dot, "--no-legend", "--columns", "2"]).status == 0)
    #expect(try String(contentsOfFile: dot, encoding: .utf8).contains("continued in the next column"))
    for (args, message) in [
      (["--size", "1920"], "--size must be WxH"), (["--size", "10x10"], "--size must be WxH"),
      (["--edge-labels", "all"], "--edge-labels must be none or shapes, got `all`"),
      (["--theme", "neon"], "--theme must be light, dark or print, got `neon`"),
      (["--columns", "0"], "--columns must be from 1 to 50, got 0"),
    ] {
      let r = try runZoo(["render", "lenet5", "-o", dir.appendingPathComponent("x.svg").path] + args)
      #expect(r.status != 0 && r.err.contains(message), "\(args): \(r.err)")
    }
  }
}
