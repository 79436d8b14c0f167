import ZooAnalysis
import ZooGraph
import ZooPlot
import ZooRender

/// One model's Markdown page in the gallery.
///
/// Sections, in order: the title with family and paper, the description, the summary figures, the
/// per-stage table (`Summary.stageRows`, with receptive fields), the layer diagram (ZooRender,
/// folded), the receptive-field chart (ZooPlot), and the concentrations (``Shares``: where the
/// parameters, MACs and activation memory are). Pure function of its inputs: no dates, no paths
/// outside the repository.
public struct ModelPage: Sendable {
  public var summary: Summary
  /// The receptive fields of every layer at the model's input.
  public var receptiveFields: ReceptiveFields
  /// The paper reference from the definition file (may be empty).
  public var paper: String
  /// The paper's addresses (arXiv or DOI) from the definition file's `links:`.
  public var links: [String]
  /// The definition file, relative to the repository root (`zoo/resnet.yaml`).
  public var definitionPath: String

  /// The inference memory plan at fp32 (activation buffers, peak).
  public var liveness: Liveness
  /// Parameters, MACs and activation bytes per stage, op class and layer.
  public var shares: Shares

  public init(summary: Summary, paper: String, links: [String] = [], definitionPath: String) throws(AnalysisError) {
    self.summary = summary
    receptiveFields = try ReceptiveFields(summary)
    liveness = try Liveness(summary)
    shares = try Shares(summary, liveness: liveness)
    self.paper = paper
    self.links = links
    self.definitionPath = definitionPath
  }

  /// The page's file name inside the gallery folder.
  public var fileName: String { "\(summary.graph.name).md" }

  /// The receptive-field chart's path inside the gallery folder.
  public var chartPath: String { "figures/\(summary.graph.name)-rf.svg" }

  /// The receptive-field diagram's path (Goodfellow's fig. 9.4 for the first layers).
  public var fieldDiagramPath: String { "figures/\(summary.graph.name)-rf-diagram.svg" }

  /// The layer diagram's path inside the gallery folder.
  public var diagramPath: String { "figures/\(summary.graph.name)-diagram.svg" }

  /// The explorer page's path inside the gallery folder (`zoo render MODEL -o MODEL.html`).
  public var explorerPath: String { "explorer/\(summary.graph.name).html" }

  /// The figures the page shows, as files of the gallery: the layer diagram (folded, at the depth
  /// that fits, as `zoo render` draws it), the receptive-field chart, the receptive-field diagram, and
  /// the interactive explorer the page links.
  public func figures() throws -> [ReportFile] {
    let diagram: [UInt8]
    do { diagram = try renderDiagram(summary, format: .svg) } catch {
      throw GalleryError("\(summary.graph.name): cannot draw the diagram: \(error)")
    }
    let explorer: [UInt8]
    do { explorer = try explorerHTML(summary) } catch {
      throw GalleryError("\(summary.graph.name): cannot write the explorer: \(error)")
    }
    var files = [
      ReportFile(path: diagramPath, contents: String(decoding: diagram, as: UTF8.self)),
      ReportFile(path: chartPath, contents: try svgText(receptiveFieldChart(receptiveFields))),
    ]
    if hasReceptiveFieldDiagram(receptiveFields) {
      files.append(
        ReportFile(
          path: fieldDiagramPath,
          contents: try svgText(named: "\(summary.graph.name) receptive-field diagram") {
            try renderReceptiveFieldDiagram(receptiveFields, as: "diagram.svg")
          }))
    }
    files.append(ReportFile(path: explorerPath, contents: String(decoding: explorer, as: UTF8.self)))
    return files
  }

  /// A titled part of the page.
  public struct Section: Sendable {
    public var title: String
    public var body: String
  }

  /// The sections after the title block.
  public var sections: [Section] {
    [
      Section(title: "Summary", body: summaryTable), Section(title: "Stages", body: stageTable),
      Section(title: "Layer diagram", body: diagramSection),
      Section(title: "Receptive field", body: receptiveFieldSection),
      Section(title: "Where the parameters, MACs and memory are", body: concentrationSection),
    ]
  }

  /// The whole page.
  public var markdown: String {
    let g = summary.graph
    var out = ["# \(g.name)", ""]
    var intro = g.description
    if !intro.isEmpty && !intro.hasSuffix(".") { intro += "." }
    out.append("**\(g.family)**" + (paper.isEmpty ? "" : " · \(paper)") + linkList(links))
    out.append("")
    if !intro.isEmpty { out += [intro, ""] }
    if let a = publishedAccuracy[g.name] {
      out += [
        "Published accuracy: \(a.top1)% top-1, \(a.top5)% top-5 on ImageNet-1K with torchvision's "
          + "`\(a.weights)` (\(publishedAccuracySource)); a fact about those weights, not measured here.",
        "",
      ]
    }
    out.append(
      "Defined in [`\(definitionPath)`](../\(definitionPath)); `zoo describe \(g.name)` prints every layer. "
        + "[All models](README.md).")
    for s in sections {
      out += ["", "## \(s.title)", "", s.body]
    }
    return out.joined(separator: "\n") + "\n"
  }

  /// The summary figures as a two-column table.
  var summaryTable: String {
    let t = summary.totals
    let g = summary.graph
    var rows: [(String, String)] = [
      ("Input", format(summary.input)),
      ("Output", format(summary.output) + (g.outputs.count > 1 ? " (+\(g.outputs.count - 1) auxiliary)" : "")),
      ("Parameters", "\(grouped(t.params)) (\(compact(t.params)))"),
    ]
    if t.params != t.trainableParams {
      rows.append(
        ("Trainable parameters", "\(grouped(t.trainableParams)) (fixed: \(grouped(t.params - t.trainableParams)))"))
    }
    if t.bufferElements > 0 { rows.append(("Buffers", "\(grouped(t.bufferElements)) (BN running statistics)")) }
    rows += [
      ("MACs", "\(grouped(t.macs)) (\(compact(t.macs)))"),
      ("FLOPs", "\(grouped(t.flops)) (\(compact(t.flops)))"),
      ("Activations", "\(grouped(t.outputElements)) output elements"),
      ("Depth", "\(g.weightDepth) weight layers on the longest path (\(g.weightLayerCount) in all)"),
      ("Weight memory", "\(bytes(t.params * 4)) (the parameters at fp32)"),
      ("Inference peak", "\(bytes(liveness.peakBytes)) of activations live at once (fp32, batch 1)"),
    ]
    var lines = ["| Figure | Value |", "|---|---:|"]
    lines += rows.map { "| \($0.0) | \($0.1) |" }
    lines += [
      "",
      "One sample at the model's own input. MACs are the multiply-accumulates of conv and linear layers "
        + "(no bias); FLOPs count every arithmetic operation (docs/conventions.md).",
    ]
    return lines.joined(separator: "\n")
  }

  /// What a module row holds: `2 × basic · 14 layers` when its modules are identical (kind,
  /// parameters, MACs, output shape and layer count, as `zoo describe` folds them), `6 dense_layer
  /// blocks · 42 layers` when they are of one kind but differ in size, or the op of a layer row.
  func typeCell(_ row: Summary.Row) -> String {
    if let n = row.node { return summary.graph.nodes[n].op.summary }
    let prefix = row.path + "."
    let children = summary.rows.filter { $0.depth == row.depth + 1 && $0.path.hasPrefix(prefix) }
    var kind = row.kind
    if children.count > 1, children.allSatisfy({ $0.node == nil && $0.kind == children[0].kind }) {
      let c = children[0]
      let identical = children.allSatisfy {
        $0.counts.params == c.counts.params && $0.counts.macs == c.counts.macs && $0.output == c.output
          && $0.nodes.count == c.nodes.count
      }
      kind = identical ? "\(children.count) × \(c.kind)" : "\(children.count) \(c.kind) blocks"
    }
    return "\(kind) · \(row.nodes.count) layer\(row.nodes.count == 1 ? "" : "s")"
  }

  /// The top-level stages and layers with their outputs, parameters and MACs, and their shares.
  var stageTable: String {
    let t = summary.totals
    var lines = [
      "| Stage | Type | Output | Params | % params | MACs | % MACs | Receptive field | Stride |",
      "|---|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    let fields = Dictionary(receptiveFields.rows.map { ($0.path, $0.field) }, uniquingKeysWith: { a, _ in a })
    for row in summary.stageRows {
      let c = row.counts
      lines.append(
        "| `\(row.path)` | \(typeCell(row)) | \(format(row.output)) | "
          + (c.params == 0 ? "– | – | " : "\(grouped(c.params)) | \(percent(c.params, of: t.params)) | ")
          + (c.macs == 0 ? "– | – | " : "\(grouped(c.macs)) | \(percent(c.macs, of: t.macs)) | ")
          + (fields[row.path].map(fieldCells) ?? "– | – |"))
    }
    lines.append(
      "| **Total** | | \(format(summary.output)) | \(grouped(t.params)) | \(percent(t.params, of: t.params)) | "
        + "\(grouped(t.macs)) | \(percent(t.macs, of: t.macs)) | | |")
    return lines.joined(separator: "\n")
  }

  /// `7 | 2 |`, `~227 | 8 |` (approximate), `global | – |`; `7×1` when the axes differ.
  func fieldCells(_ f: ReceptiveField) -> String {
    if f.global { return "global | – |" }
    let size = f.h.size == f.w.size ? grouped(f.h.size) : "\(grouped(f.h.size))×\(grouped(f.w.size))"
    let stride = f.h.stride == f.w.stride ? grouped(f.h.stride) : "\(grouped(f.h.stride))×\(grouped(f.w.stride))"
    return "\(f.approximate ? "~" : "")\(size) | \(stride) |"
  }

  /// The receptive-field chart and what it shows in words.
  var receptiveFieldSection: String {
    let rf = receptiveFields
    let name = summary.graph.name
    var lines = ["![Receptive field and effective stride of \(name) by depth](\(chartPath))", ""]
    if hasReceptiveFieldDiagram(rf) {
      lines += ["![Which input pixels the first layers of \(name) see](\(fieldDiagramPath))", ""]
    } else {
      lines += [
        "No diagram of the first layers' fields: the input does not lead along a single path to a convolution "
          + "or pooling layer with a bounded field (the first layer branches, or upsampling comes first).", "",
      ]
    }
    var facts: [String] = []
    let input = summary.input
    if let first = rf.rows.first(where: { $0.outgrowsInput && !$0.field.global }) {
      facts.append("The field outgrows the \(input[1])×\(input[2]) input first at `\(first.path)`.")
    }
    if let g = rf.globalFrom {
      facts.append("From `\(g.path)` on, every output sees the whole input (global).")
    } else {
      let f = rf.output
      facts.append(
        "An output unit sees \(fieldCells(f).split(separator: "|")[0].trimmingCharacters(in: .whitespaces)) "
          + "input pixels; neighbouring units are \(max(f.h.stride, f.w.stride)) pixels apart.")
    }
    lines.append(facts.joined(separator: " ") + " `zoo rf \(name)` lists every layer (docs/receptive-fields.md).")
    if !rf.warnings.isEmpty {
      lines += [""] + rf.warnings.map { "- \($0)" }
    }
    return lines.joined(separator: "\n")
  }

  /// The folded layer diagram.
  var diagramSection: String {
    let name = summary.graph.name
    return [
      "![Layer diagram of \(name)](\(diagramPath))", "",
      "Identical consecutive blocks are folded into one box marked × N; a run of blocks of one structure "
        + "whose sizes differ is drawn once and labelled with its count and its ranges of parameters and channels; "
        + "`zoo render \(name) --expand` draws every layer (docs/rendering.md).", "",
      "**[Explore \(name) interactively](\(explorerPath))**: open and close the folds, hover a layer for its "
        + "figures, find a layer by name, and see a layer's receptive field on the input grid. One self-contained "
        + "HTML file: download it and open it in a browser, from a file or an email (docs/explorer.md).",
    ].joined(separator: "\n")
  }

  /// Where the parameters, MACs and activation bytes concentrate: by stage, by op class, by layer.
  var concentrationSection: String {
    let sh = shares
    var lines = [
      "| | Total | Largest stage | Largest op class | Largest layers |",
      "|---|---:|---|---|---|",
    ]
    for metric in Shares.Metric.allCases {
      let name: String
      let total: String
      switch metric {
      case .params:
        name = "Parameters"
        total = grouped(sh.total.params)
      case .macs:
        name = "MACs"
        total = grouped(sh.total.macs)
      case .activations:
        name = "Activations allocated (sum)"
        total = bytes(sh.total.activationBytes)
      }
      func cell(_ e: Shares.Entry?, code: Bool) -> String {
        guard let e, e.value(metric) > 0 else { return "–" }
        return (code ? "`\(e.name)`" : e.name) + " \(percent(sh.fraction(e, metric)))"
      }
      let stage = sh.stages.max { $0.value(metric) < $1.value(metric) }
      let opClass = sh.classes.max { $0.value(metric) < $1.value(metric) }
      let top = sh.top(metric, count: 3).map { cell($0, code: true) }.joined(separator: ", ")
      lines.append(
        "| \(name) | \(total) | \(cell(stage, code: true)) | \(cell(opClass, code: false)) | \(top.isEmpty ? "–" : top) |"
      )
    }
    lines += [
      "",
      "Activations allocated: the sum of the bytes of the buffers each layer allocates at inference (fp32, batch 1; "
        + "views and in-place layers allocate none), \(bytes(sh.total.activationBytes)) in all but not at once: the "
        + "inference peak, the most live at one time, is \(bytes(liveness.peakBytes)), reached at "
        + "`\(summary.graph.nodes[liveness.peakNode].name)`. `zoo describe \(summary.graph.name) --shares` "
        + "has the full breakdown (docs/memory.md).",
    ]
    return lines.joined(separator: "\n")
  }
}

/// `102760448` → `102.76 MB` (decimal units, as `compact`).
func bytes(_ n: Int) -> String { n < 1000 ? "\(n) B" : "\(compact(n))B" }

/// ` ([arXiv:1512.03385](https://arxiv.org/abs/1512.03385), [doi:…](…))`, or nothing without links.
func linkList(_ links: [String]) -> String {
  guard !links.isEmpty else { return "" }
  let named = links.map { url -> String in
    if let r = url.range(of: "arxiv.org/abs/") { return "[arXiv:\(url[r.upperBound...])](\(url))" }
    if let r = url.range(of: "doi.org/") { return "[doi:\(url[r.upperBound...])](\(url))" }
    return "[\(url)](\(url))"
  }
  return " (" + named.joined(separator: ", ") + ")"
}
