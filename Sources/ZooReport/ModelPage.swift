import ZooAnalysis
import ZooGraph
import ZooPlot

/// One model's Markdown page in the gallery.
///
/// Sections, in order: the title with family and paper, the description, the summary figures, the
/// per-stage table (`Summary.rows` at depth 1), then the sections other analyses add (diagram,
/// receptive field, concentrations) when they are available. Pure function of its inputs: no
/// dates, no paths outside the repository.
public struct ModelPage: Sendable {
  public var summary: Summary
  /// The receptive fields of every layer at the model's input.
  public var receptiveFields: ReceptiveFields
  /// The paper reference from the definition file (may be empty).
  public var paper: String
  /// The definition file, relative to the repository root (`zoo/resnet.yaml`).
  public var definitionPath: String

  public init(summary: Summary, paper: String, definitionPath: String) throws(AnalysisError) {
    self.summary = summary
    receptiveFields = try ReceptiveFields(summary)
    self.paper = paper
    self.definitionPath = definitionPath
  }

  /// The page's file name inside the gallery folder.
  public var fileName: String { "\(summary.graph.name).md" }

  /// The receptive-field chart's path inside the gallery folder.
  public var chartPath: String { "figures/\(summary.graph.name)-rf.svg" }

  /// The figures the page shows, as files of the gallery.
  public func figures() throws -> [ReportFile] {
    [ReportFile(path: chartPath, contents: try svgText(receptiveFieldChart(receptiveFields)))]
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
      Section(title: "Receptive field", body: receptiveFieldSection),
    ]
  }

  /// The whole page.
  public var markdown: String {
    let g = summary.graph
    var out = ["# \(g.name)", ""]
    var intro = g.description
    if !intro.isEmpty && !intro.hasSuffix(".") { intro += "." }
    out.append("**\(g.family)**" + (paper.isEmpty ? "" : " · \(paper)"))
    out.append("")
    if !intro.isEmpty { out += [intro, ""] }
    out.append(
      "Defined in [`\(definitionPath)`](../\(definitionPath)); `zoo describe \(g.name)` prints every layer. "
        + "[All models](README.md).")
    for s in sections {
      out += ["", "## \(s.title)", "", s.body]
    }
    return out.joined(separator: "\n") + "\n"
  }

  /// Conv and linear layers: the layers with weights that the usual depth counts.
  var weightLayers: (conv: Int, linear: Int) {
    var conv = 0
    var linear = 0
    for n in summary.graph.nodes {
      switch n.op {
      case .conv: conv += 1
      case .linear, .rbf: linear += 1
      default: break
      }
    }
    return (conv, linear)
  }

  /// The summary figures as a two-column table.
  var summaryTable: String {
    let t = summary.totals
    let g = summary.graph
    var rows: [(String, String)] = [
      ("Input", shape(summary.input)),
      ("Output", shape(summary.output) + (g.outputs.count > 1 ? " (+\(g.outputs.count - 1) auxiliary)" : "")),
      ("Parameters", "\(grouped(t.params)) (\(compact(t.params)))"),
    ]
    if t.params != t.trainableParams {
      rows.append(
        ("Trainable parameters", "\(grouped(t.trainableParams)) (fixed: \(grouped(t.params - t.trainableParams)))"))
    }
    if t.bufferElements > 0 { rows.append(("Buffers", "\(grouped(t.bufferElements)) (BN running statistics)")) }
    let (conv, linear) = weightLayers
    rows += [
      ("MACs", "\(grouped(t.macs)) (\(compact(t.macs)))"),
      ("FLOPs", "\(grouped(t.flops)) (\(compact(t.flops)))"),
      ("Activations", "\(grouped(t.outputElements)) output elements"),
      ("Weight layers", "\(conv) conv, \(linear) linear"),
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

  /// What a module row holds: `3 × bottleneck · 30 layers`, or the op of a layer row.
  func typeCell(_ row: Summary.Row) -> String {
    if let n = row.node { return summary.graph.nodes[n].op.summary }
    let prefix = row.path + "."
    let children = summary.rows.filter { $0.depth == row.depth + 1 && $0.path.hasPrefix(prefix) }
    var kind = row.kind
    if children.count > 1, children.allSatisfy({ $0.node == nil && $0.kind == children[0].kind }) {
      kind = "\(children.count) × \(children[0].kind)"
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
    for row in summary.rows where row.depth == 1 {
      let c = row.counts
      lines.append(
        "| `\(row.path)` | \(typeCell(row)) | \(shape(row.output)) | "
          + (c.params == 0 ? "– | – | " : "\(grouped(c.params)) | \(percent(c.params, of: t.params)) | ")
          + (c.macs == 0 ? "– | – | " : "\(grouped(c.macs)) | \(percent(c.macs, of: t.macs)) | ")
          + (fields[row.path].map(fieldCells) ?? "– | – |"))
    }
    lines.append(
      "| **Total** | | \(shape(summary.output)) | \(grouped(t.params)) | \(percent(t.params, of: t.params)) | "
        + "\(grouped(t.macs)) | \(percent(t.macs, of: t.macs)) | | |")
    return lines.joined(separator: "\n")
  }

  /// `7 | 2 |`, `~227 | 8 |` (approximate), `global | – |`; `7×1` when the axes differ.
  func fieldCells(_ f: ReceptiveField) -> String {
    if f.global { return "whole input | – |" }
    let size = f.h.size == f.w.size ? grouped(f.h.size) : "\(grouped(f.h.size))×\(grouped(f.w.size))"
    let stride = f.h.stride == f.w.stride ? grouped(f.h.stride) : "\(grouped(f.h.stride))×\(grouped(f.w.stride))"
    return "\(f.approximate ? "~" : "")\(size) | \(stride) |"
  }

  /// The receptive-field chart and what it shows in words.
  var receptiveFieldSection: String {
    let rf = receptiveFields
    let name = summary.graph.name
    var lines = [
      "![Receptive field and effective stride of \(name) by depth](\(chartPath))", "",
    ]
    var facts: [String] = []
    let input = summary.input
    if let first = rf.rows.first(where: { $0.outgrowsInput && !$0.field.global }) {
      facts.append("The field outgrows the \(input[1])×\(input[2]) input first at `\(first.path)`.")
    }
    if let g = rf.globalFrom {
      facts.append("From `\(g.path)` on, every output sees the whole input.")
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
}
