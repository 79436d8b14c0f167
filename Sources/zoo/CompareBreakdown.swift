import ZooAnalysis
import ZooGraph

/// The most parameter-holding layers a model may have for `zoo compare` to spell out its sum.
let breakdownLayerLimit = 12

/// "Where the parameters are": for small models (snippets, single blocks), each model's parameters and
/// MACs as the sum of its layers with weights, so a ratio such as `÷8.47` can be read back to the layers
/// that make it. Empty when any model has more than ``breakdownLayerLimit`` such layers.
func compareBreakdown(_ ms: [ComparedModel], width: Int = 100) -> [String] {
  let layers = ms.map { m in
    m.summary.graph.nodes.filter { m.summary.nodeCounts[$0.id].params > 0 }
  }
  guard layers.allSatisfy({ !$0.isEmpty && $0.count <= breakdownLayerLimit }) else { return [] }
  let nameWidth = ms.map(\.name.count).max() ?? 0
  var lines = ["Where the parameters and MACs are (the layers with weights):"]
  for (i, m) in ms.enumerated() {
    let s = m.summary
    func sum(_ value: (Counts) -> Int, total: Int, base: Int) -> String {
      // Layers that contribute nothing to this figure (batch norm's MACs) are left out of its sum.
      let nonzero = layers[i].filter { value(s.nodeCounts[$0.id]) != 0 }
      let terms = (nonzero.isEmpty ? layers[i] : nonzero).map { "\($0.name) \(grouped(value(s.nodeCounts[$0.id])))" }
      let ratio = i == 0 ? "" : " (\(ratioText(total, base)))"
      return terms.count == 1 ? terms[0] + ratio : terms.joined(separator: " + ") + " = \(grouped(total))" + ratio
    }
    let pad = String(repeating: " ", count: nameWidth - m.name.count)
    lines += wrapTerms(
      "  \(m.name)\(pad)  params " + sum(\.params, total: s.totals.params, base: ms[0].summary.totals.params),
      indent: nameWidth + 11, width: width)
    lines += wrapTerms(
      String(repeating: " ", count: nameWidth + 4) + "MACs   "
        + sum(\.macs, total: s.totals.macs, base: ms[0].summary.totals.macs),
      indent: nameWidth + 11, width: width)
    // Descriptions tell the designs apart only when the models have their own (not one file's).
    if !s.graph.description.isEmpty && Set(ms.map(\.summary.graph.description)).count > 1 {
      lines += wrapTerms(
        String(repeating: " ", count: nameWidth + 4) + s.graph.description, indent: nameWidth + 4,
        width: width, separator: " ")
    }
  }
  return lines
}

/// Breaks `line` before a term (at ` + ` or ` = `, or at spaces for prose) so that no line is wider than
/// `width`; continuation lines start with `indent` spaces.
func wrapTerms(_ line: String, indent: Int, width: Int, separator: String = " + ") -> [String] {
  guard line.count > width else { return [line] }
  var out: [String] = []
  var current = ""
  var rest = Substring(line)
  while !rest.isEmpty {
    // The next piece runs to just before the next separator (or " = ") after its first character.
    var end = rest.endIndex
    for sep in Set([separator, " = "]) {
      if let r = rest.dropFirst().range(of: sep), r.lowerBound < end { end = r.lowerBound }
    }
    let piece = String(rest[..<end])
    rest = rest[end...]
    if !current.isEmpty && current.count + piece.count > width && current.trimmingCharacters(in: .whitespaces) != "" {
      out.append(current)
      current = String(repeating: " ", count: indent) + piece.drop { $0 == " " }
    } else {
      current += piece
    }
  }
  if !current.isEmpty { out.append(current) }
  return out
}
