import ZooAnalysis
import ZooGraph

/// One model's Markdown page in the gallery.
///
/// Sections, in order: the title with family and paper, the description, the summary figures, the
/// per-stage table (`Summary.rows` at depth 1), then the sections other analyses add (diagram,
/// receptive field, concentrations) when they are available. Pure function of its inputs: no
/// dates, no paths outside the repository.
public struct ModelPage: Sendable {
  public var summary: Summary
  /// The paper reference from the definition file (may be empty).
  public var paper: String
  /// The definition file, relative to the repository root (`zoo/resnet.yaml`).
  public var definitionPath: String

  public init(summary: Summary, paper: String, definitionPath: String) {
    self.summary = summary
    self.paper = paper
    self.definitionPath = definitionPath
  }

  /// The page's file name inside the gallery folder.
  public var fileName: String { "\(summary.graph.name).md" }

  /// A titled part of the page.
  public struct Section: Sendable {
    public var title: String
    public var body: String
  }

  /// The sections after the title block.
  public var sections: [Section] {
    [Section(title: "Summary", body: figures), Section(title: "Stages", body: stageTable)]
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
  var figures: String {
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
      "| Stage | Type | Output | Params | % params | MACs | % MACs |",
      "|---|---|---|---:|---:|---:|---:|",
    ]
    for row in summary.rows where row.depth == 1 {
      let c = row.counts
      lines.append(
        "| `\(row.path)` | \(typeCell(row)) | \(shape(row.output)) | "
          + (c.params == 0 ? "– | – | " : "\(grouped(c.params)) | \(percent(c.params, of: t.params)) | ")
          + (c.macs == 0 ? "– | – |" : "\(grouped(c.macs)) | \(percent(c.macs, of: t.macs)) |"))
    }
    lines.append(
      "| **Total** | | \(shape(summary.output)) | \(grouped(t.params)) | \(percent(t.params, of: t.params)) | \(grouped(t.macs)) | \(percent(t.macs, of: t.macs)) |"
    )
    return lines.joined(separator: "\n")
  }
}
