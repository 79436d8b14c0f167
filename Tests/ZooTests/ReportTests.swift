import Foundation
import Testing
import ZooFormat
import ZooPlot
import ZooReport

@Suite("Report")
struct ReportTests {
  /// A fresh empty folder under the temporary directory.
  func scratch() throws -> URL {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-report-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    return dir
  }

  /// Models with no diagram of the first layers' fields: the gated generator's first layer branches
  /// into its feature and gate convolutions, and the upsamplers' fields are a fraction of a pixel wide
  /// per unit (given as the whole input).
  static let withoutFieldDiagram: Set<String> = ["gated_inpaint_coarse", "upsample_conv_256", "upsample_transpose_256"]

  @Test func aPageForEveryModelAndTheIndex() throws {
    let zoo = try Zoo.builtin()
    let files = try Gallery(zoo: zoo).files()
    var expected = ["README.md", "figures/params-vs-macs.svg"]
    for name in zoo.modelNames {
      expected += ["\(name).md", "figures/\(name)-diagram.svg", "figures/\(name)-rf.svg"]
      if !Self.withoutFieldDiagram.contains(name) { expected.append("figures/\(name)-rf-diagram.svg") }
      expected.append("explorer/\(name).html")
    }
    #expect(files.map(\.path) == expected)
    let index = try #require(files.first).contents
    #expect(
      index.contains(
        "![Parameters against multiply-accumulates of every whole network in the zoo](figures/params-vs-macs.svg)"))
    for name in zoo.modelNames { #expect(index.contains("| [\(name)](\(name).md) |")) }
    // Units, the paper's year and the final feature map's receptive field (427 px, as `zoo rf` gives it).
    #expect(
      index.contains(
        "| [resnet50](resnet50.md) | ResNet | 2016 | 3×224×224 | 1000 | 25.56 M | 4.09 G | 8.22 G | 50 | 427 px |"),
      "\(index)")
    #expect(index.contains("| [upsample_conv_256](upsample_conv_256.md) | Snippets | – |"))
    #expect(index.contains("| ≤ 215 px |"), "U-Net's output field is an upper bound")
  }

  /// The params-vs-MACs chart shows whole networks only (no snippet) and writes its ticks in one style.
  @Test func scatterChartOfNetworks() throws {
    let files = try Gallery(zoo: try Zoo.builtin()).files(models: ["resnet50", "fire_256", "lenet5"])
    let chart = try #require(files.first { $0.path == "figures/params-vs-macs.svg" }).contents
    #expect(chart.contains(">resnet50, resnext50_32x4d</text>") && chart.contains(">lenet5</text>"))
    #expect(!chart.contains("fire_256") && !chart.contains(">Snippets<"), "a snippet on the networks' chart")
    #expect(!chart.contains(">10000<") && !chart.contains(">100000<"), "raw digits beside unit ticks")
  }

  /// The chart's labels are placed: no label box meets another, any point or the legend, every box lies
  /// inside the plot, and each point of a labelled family has its label (or its number in the key).
  @Test func scatterLabelsDoNotOverlap() throws {
    let chart = IndexPage(pages: try Gallery(zoo: try Zoo.builtin()).pages).scatter
    let layout = chart.scatterLayout()
    let labelled = chart.series.reduce(0) { $0 + $1.labels.count }
    #expect(labelled >= 35 && layout.labels.count == labelled, "\(layout.labels.count) of \(labelled) labels placed")
    #expect(layout.points.count == labelled)
    for (i, a) in layout.labels.enumerated() {
      for b in layout.labels[(i + 1)...] {
        #expect(!a.box.intersects(b.box), "`\(a.text)` meets `\(b.text)`")
      }
      for (j, p) in layout.points.enumerated() where a.box.intersects(p) {
        Issue.record("`\(a.text)` covers point \(j)")
      }
      if let legend = layout.legend { #expect(!a.box.intersects(legend), "`\(a.text)` covers the legend") }
      if let key = layout.key { #expect(!a.box.intersects(key), "`\(a.text)` covers the key") }
      #expect(a.box.x >= 78 && a.box.x + a.box.width <= chart.width - 36, "`\(a.text)` leaves the plot")
    }
    // The ResNet and DenseNet cluster keeps its names on the chart.
    let texts = Set(layout.labels.map(\.text) + layout.keyLines)
    #expect(texts.contains { $0.contains("resnet50") } && texts.contains { $0.contains("densenet121") }, "\(texts)")
  }

  /// One number style in the gallery and the CLI: percentages without a space (`4.0%`, `<0.1%`), `global`
  /// for a field that is the whole input, coverage as `100.0%` with `*` where the field outgrows the input.
  @Test func oneNumberStyle() throws {
    let spaced = try Regex(#"[0-9] %"#)
    let files = try Gallery(zoo: try Zoo.builtin()).files(models: ["resnet50", "alexnet", "fcn8s", "plain3x3_se_256"])
    for f in files where f.path.hasSuffix(".md") || f.path.hasSuffix(".svg") {
      #expect(f.contents.firstMatch(of: spaced) == nil, "\(f.path) writes a percentage with a space")
      #expect(!f.contents.contains("whole input |"), "\(f.path) says `whole input` in a table")
    }
    let resnet = try #require(files.first { $0.path == "resnet50.md" }).contents
    #expect(
      resnet.contains("| `avgpool` | adaptive avgpool 1×1 | 2048×1×1 | – | – | – | – | global | – |"), "\(resnet)")
    #expect(resnet.contains("| 58.6% |") && resnet.contains("| <0.1% |"))
    let shares = try runZoo(["describe", "alexnet", "--shares"])
    #expect(shares.out.contains("  4.0%") && shares.out.firstMatch(of: spaced) == nil, "\(shares.out)")
    let rf = try runZoo(["rf", "resnet50", "--depth", "1"])
    #expect(rf.out.contains("   100.0%*\n") && rf.out.contains("global") && rf.out.firstMatch(of: spaced) == nil)
    #expect(rf.out.contains("avgpool  adaptive avgpool 1×1  2048×1×1    global       –        –       –    100.0%"))
  }

  @Test func resnet50PageFigures() throws {
    let files = try Gallery(zoo: try Zoo.builtin()).files(models: ["resnet50"])
    #expect(
      files.map(\.path) == [
        "README.md", "figures/params-vs-macs.svg", "resnet50.md", "figures/resnet50-diagram.svg",
        "figures/resnet50-rf.svg", "figures/resnet50-rf-diagram.svg", "explorer/resnet50.html",
      ])
    let page = files[2].contents
    #expect(page.contains("**[Explore resnet50 interactively](explorer/resnet50.html)**"))
    #expect(page.hasPrefix("# resnet50\n\n**ResNet** · He, Zhang, Ren, Sun. Deep Residual Learning"))
    #expect(page.contains("| Parameters | 25,557,032 (25.56 M) |"))
    #expect(page.contains("| MACs | 4,089,184,256 (4.09 G) |"))
    // Each memory figure says what it is: 25,557,032 × 4 bytes of weights, the peak of live activations, and the
    // sum of all allocations (not live at once).
    #expect(page.contains("| Weight memory | 102.23 MB (the parameters at fp32) |"))
    #expect(page.contains("| Inference peak | 7.23 MB of activations live at once (fp32, batch 1) |"))
    #expect(page.contains("| Activations allocated (sum) | 45.87 MB |"))
    // layer4 holds 14,964,736 of the 25,557,032 parameters: 58.6%.
    #expect(
      page.contains(
        "| `layer4` | 3 bottleneck blocks · 32 layers | 2048×7×7 | 14,964,736 | 58.6% | 809,238,528 | 19.8% |")
    )
    #expect(page.contains("| `fc` | linear 1000 | 1000 | 2,049,000 | 8.0% | 2,048,000 | 0.1% |"))
    #expect(page.contains("| `conv1` | conv 7×7/2, 64 | 64×112×112 | 9,408 | <0.1% | 118,013,952 | 2.9% |"))
    // The paper linked, and torchvision's published accuracy of ResNet50_Weights.IMAGENET1K_V2 (its model card:
    // 80.858 top-1, 95.434 top-5) with the weights named.
    #expect(page.contains("([arXiv:1512.03385](https://arxiv.org/abs/1512.03385))"))
    #expect(
      page.contains("80.858% top-1, 95.434% top-5 on ImageNet-1K with torchvision's `ResNet50_Weights.IMAGENET1K_V2`")
    )
    #expect(files[0].contents.contains("| 50 | 427 px | 7.23 MB | 80.9% |"), "the index's resnet50 row")
  }

  @Test func pageWithoutFieldDiagramSaysWhy() throws {
    let files = try Gallery(zoo: try Zoo.builtin()).files(models: ["gated_inpaint_coarse"])
    #expect(files.map(\.path).contains("figures/gated_inpaint_coarse-rf.svg"))
    #expect(!files.map(\.path).contains("figures/gated_inpaint_coarse-rf-diagram.svg"))
    let page = files[2].contents
    #expect(page.contains("No diagram of the first layers' fields: the input does not lead along a single path"))
    #expect(!page.contains("-rf-diagram.svg"))
  }

  @Test func lenetOriginalShowsFixedParameters() throws {
    let page = try Gallery(zoo: try Zoo.builtin()).files(models: ["lenet5_original"])[2].contents
    #expect(page.contains("| Parameters | 60,840 (60.84 k) |"))
    #expect(page.contains("| Trainable parameters | 60,000 (fixed: 840) |"))
  }

  @Test func reproducible() throws {
    let a = try Gallery(zoo: try Zoo.builtin()).files()
    let b = try Gallery(zoo: try Zoo.builtin()).files()
    #expect(a == b)
    // A page written alone is the same bytes as in the whole gallery (cairo's surface counter aside).
    let alone = try Gallery(zoo: try Zoo.builtin()).files(models: ["vgg16"])
    #expect(alone.count == 7, "the index, the chart, and vgg16's page, three figures and the explorer")
    for f in alone { #expect(a.first { $0.path == f.path } == f, "\(f.path) differs when written alone") }
    for f in a {
      #expect(!f.contents.contains(repoRoot.path), "\(f.path) holds a machine path")
      #expect(!f.contents.contains("/tmp"), "\(f.path) holds a machine path")
      #expect(f.contents.range(of: #"20\d\d-\d\d-\d\d"#, options: .regularExpression) == nil, "\(f.path) holds a date")
    }
  }

  @Test func checkNamesStaleMissingAndExtraFiles() throws {
    let dir = try scratch()
    defer { try? FileManager.default.removeItem(at: dir) }
    let files = try Gallery(zoo: try Zoo.builtin()).files()
    #expect(GalleryCheck(files: files, in: dir, reportExtra: true).missing.count == files.count)
    try FileManager.default.createDirectory(
      at: dir.appendingPathComponent("figures"), withIntermediateDirectories: true)
    try FileManager.default.createDirectory(
      at: dir.appendingPathComponent("explorer"), withIntermediateDirectories: true)
    for f in files { try Data(f.contents.utf8).write(to: dir.appendingPathComponent(f.path)) }
    #expect(GalleryCheck(files: files, in: dir, reportExtra: true).isUpToDate)
    try Data("edited\n".utf8).write(to: dir.appendingPathComponent("vgg16.md"))
    try FileManager.default.removeItem(at: dir.appendingPathComponent("lenet5.md"))
    try FileManager.default.createDirectory(at: dir.appendingPathComponent("old"), withIntermediateDirectories: true)
    try Data().write(to: dir.appendingPathComponent("old/diagram.svg"))
    let check = GalleryCheck(files: files, in: dir, reportExtra: true)
    #expect(check.stale == ["vgg16.md"])
    #expect(check.missing == ["lenet5.md"])
    #expect(check.extra == ["old/diagram.svg"])
    #expect(GalleryCheck(files: files, in: dir, reportExtra: false).extra.isEmpty)
  }

  @Test func reportCommandWritesAndChecks() throws {
    let dir = try scratch()
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("reports").path
    let w = try runZoo(["report", "--out", out])
    #expect(w.status == 0)
    #expect(try runZoo(["report", "--check", "--out", out]).status == 0)
    try Data("stale\n".utf8).write(to: URL(fileURLWithPath: out).appendingPathComponent("alexnet.md"))
    let c = try runZoo(["report", "--check", "--out", out])
    #expect(c.status != 0)
    #expect(c.err.contains("stale:   \(out)/alexnet.md"))
    let nowhere = try runZoo(["report", "--check", "--out", out + "/nonexistent"])
    #expect(nowhere.status == 1)
    #expect(nowhere.err.contains("there is no `\(out)/nonexistent` folder here to check"), "\(nowhere.err)")
    #expect(nowhere.err.split(separator: "\n").count == 1)
    let bad = try runZoo(["report", "resnet5", "--out", out])
    #expect(bad.status != 0)
    #expect(bad.err.contains("`resnet5` is not in the zoo; did you mean `resnet50`"))
  }

  /// CI's guard: the committed gallery is what the current code writes (`zoo report` regenerates it).
  @Test func committedGalleryIsUpToDate() throws {
    let r = try runZoo(["report", "--check", "--out", repoRoot.appendingPathComponent("reports").path])
    #expect(r.status == 0, "reports/ is stale; run `zoo report` and commit:\n\(r.err)")
  }
}
