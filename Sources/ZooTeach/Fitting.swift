import ZooGraph

/// The rows of a lesson's table as text lines: two spaces of indent, three between columns, the first
/// column left-aligned and the others right-aligned.
private func renderTable(_ table: [[String]]) -> [String] {
  let n = table.map(\.count).max() ?? 0
  let widths = (0..<n).map { i in table.map { i < $0.count ? $0[i].count : 0 }.max() ?? 0 }
  return table.map { row in
    var line =
      "  "
      + row.enumerated().map { i, s in
        let pad = String(repeating: " ", count: max(0, widths[i] - s.count))
        return i == 0 ? s + pad : pad + s
      }.joined(separator: "   ")
    while line.hasSuffix(" ") { line.removeLast() }
    return line
  }
}

/// Whether every line has at most `width` characters.
func fits(_ lines: [String], _ width: Int) -> Bool { lines.allSatisfy { $0.count <= width } }

/// `2,833,137,664` → `2.83 G` (``compact(_:)``); any other text unchanged.
private func withUnits(_ cell: String) -> String {
  let digits = cell.filter { $0 != "," }
  guard cell.contains(","), !digits.isEmpty, digits.allSatisfy(\.isNumber), let n = Int(digits) else { return cell }
  return compact(n)
}

/// A lesson's table (`table[0]` the header row, `row[0]` each row's name) fitted to `columns` columns in
/// the steps `zoo`'s tables take, each only while the table is still too wide:
/// 1. grouped integers take units (`2,833,137,664` → `2.83 G`), the style of the gallery;
/// 2. the table is turned on its side (the header row becomes the first column), which suits the
///    lessons' tables of a few wide columns;
/// 3. the row names are shortened in the middle, down to 12 characters;
/// 4. columns are left out from the right, and a last line says which and how to see them.
func tableLines(_ table: [[String]], width: Int) -> [String] {
  var lines = renderTable(table)
  if fits(lines, width) { return lines }
  let compacted = table.enumerated().map { r, row in
    r == 0 ? row : row.enumerated().map { i, c in i == 0 ? c : withUnits(c) }
  }
  lines = renderTable(compacted)
  if fits(lines, width) { return lines }
  let n = compacted.map(\.count).max() ?? 0
  let turned = (0..<n).map { i in compacted.map { i < $0.count ? $0[i] : "" } }
  if fits(renderTable(turned), width) { return renderTable(turned) }
  var shortened = compacted
  let names = compacted.map { $0.first?.count ?? 0 }.max() ?? 0
  let excess = (lines.map(\.count).max() ?? 0) - width
  let room = max(12, names - excess)
  shortened = shortened.map { row in row.isEmpty ? row : [middleEllipsis(row[0], room)] + row.dropFirst() }
  lines = renderTable(shortened)
  var dropped: [String] = []
  while !fits(lines, width), (shortened.first?.count ?? 0) > 2 {
    dropped.insert(shortened[0].last ?? "", at: 0)
    shortened = shortened.map { Array($0.dropLast()) }
    lines = renderTable(shortened)
  }
  if !dropped.isEmpty {
    let names = dropped.map { $0.isEmpty ? "a column" : $0 }.joined(separator: ", ")
    lines.append("  (\(names) left out to fit \(width) columns: widen the terminal or set COLUMNS.)")
  }
  return lines
}

/// One part of a line of blocks set side by side: a block of lines (a matrix), or an operator (`⊙`, `=`,
/// `x ·`) written on the middle row between blocks.
enum SidePart {
  case block([String])
  case op(String)
}

/// `parts` set side by side with `gap` between them, operators on row `middle` of the blocks, after two
/// spaces of indent; or, when that is wider than `width`, one under the other (each operator on a line
/// of its own, an empty operator an empty line), which keeps every block whole.
func sideBySide(_ parts: [SidePart], middle: Int, gap: String = "   ", width: Int) -> [String] {
  let rows = parts.map { p -> Int in if case .block(let b) = p { b.count } else { 1 } }.max() ?? 0
  let columns: [[String]] = parts.map { part in
    switch part {
    case .block(let b):
      let w = b.map(\.count).max() ?? 0
      return (0..<rows).map { r in
        let s = r < b.count ? b[r] : ""
        return s + String(repeating: " ", count: w - s.count)
      }
    case .op(let o):
      return (0..<rows).map { r in r == middle ? o : String(repeating: " ", count: o.count) }
    }
  }
  var lines = (0..<rows).map { r in
    var line = "  " + columns.map { $0[r] }.joined(separator: gap)
    while line.hasSuffix(" ") { line.removeLast() }
    return line
  }
  if fits(lines, width) { return lines }
  lines = []
  for part in parts {
    switch part {
    case .block(let b): lines += b.map { "  " + $0 }
    case .op(let o): lines.append(o.isEmpty ? "" : "  " + o)
    }
  }
  return lines
}
