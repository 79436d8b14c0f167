import Foundation
import ZooAnalysis
import ZooGraph

/// The `--shares` report: per stage, per op class, and the top layers by each metric.
func sharesText(_ sh: Shares, _ s: Summary, _ m: MemoryFigures, top: Int = 5) -> String {
  func table(_ title: String, _ entries: [Shares.Entry]) -> String {
    var t = TextTable(
      headers: [title, "Params", "%", "MACs", "%", "Activation bytes", "%"], rightAligned: [1, 2, 3, 4, 5, 6])
    for e in entries {
      var row = [e.name]
      for metric in Shares.Metric.allCases {
        let v = e.value(metric)
        row += [v == 0 ? "–" : grouped(v), v == 0 ? "" : percent(sh.fraction(e, metric))]
      }
      t.rows.append(row)
    }
    return t.render()
  }
  var lines = [
    "Shares of \(s.graph.name) · input \(format(s.input)) · batch \(s.batch) · \(m.training.dtype.rawValue)", "",
    table("Stage", sh.stages), "", table("Op class", sh.classes), "",
  ]
  let types = Dictionary(s.graph.nodes.map { ($0.name, $0.op.summary) }, uniquingKeysWith: { a, _ in a })
  for metric in Shares.Metric.allCases {
    var t = TextTable(headers: ["Top \(top) by \(metricName(metric))", "Type", "Value", "%"], rightAligned: [2, 3])
    for e in sh.top(metric, count: top) {
      t.rows.append([e.name, types[e.name] ?? "", grouped(e.value(metric)), percent(sh.fraction(e, metric))])
    }
    lines += [t.render(), ""]
  }
  for metric in Shares.Metric.allCases {
    guard let c = sh.classes.max(by: { $0.value(metric) < $1.value(metric) }),
      let st = sh.stages.max(by: { $0.value(metric) < $1.value(metric) }), sh.total.value(metric) > 0
    else { continue }
    lines.append(
      "Most \(metricName(metric)): op class \(c.name) \(percent(sh.fraction(c, metric))), "
        + "stage \(st.name) \(percent(sh.fraction(st, metric))).")
  }
  lines += [
    "",
    "Activation bytes are the buffers each layer allocates at inference (views and in-place ops",
    "allocate none); see docs/memory.md.",
  ]
  return lines.joined(separator: "\n")
}

/// The `shares` object of `zoo describe --shares --json`.
struct SharesDocument: Encodable {
  struct Entry: Encodable {
    var name: String
    var params, macs, activationBytes: Int
    init(_ e: Shares.Entry) {
      name = e.name
      params = e.params
      macs = e.macs
      activationBytes = e.activationBytes
    }
  }
  var stages: [Entry]
  var classes: [Entry]
  var total: Entry
  /// The top layers by `params`, `macs` and `activations`.
  var top: [String: [Entry]]

  init(_ sh: Shares, top count: Int = 5) {
    stages = sh.stages.map(Entry.init)
    classes = sh.classes.map(Entry.init)
    total = Entry(sh.total)
    top = Dictionary(
      uniqueKeysWithValues: Shares.Metric.allCases.map { ($0.rawValue, sh.top($0, count: count).map(Entry.init)) })
  }
}

func metricName(_ m: Shares.Metric) -> String {
  switch m {
  case .params: "parameters"
  case .macs: "MACs"
  case .activations: "activation bytes"
  }
}
