import Foundation
import ZooGraph

/// A plain-text table with aligned columns; numeric columns are right-aligned.
struct TextTable {
  var headers: [String]
  var rightAligned: Set<Int>
  var rows: [[String]] = []

  func render() -> String {
    var widths = headers.map(\.count)
    for r in rows {
      for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) }
    }
    func line(_ cells: [String]) -> String {
      cells.enumerated().map { i, c in
        let pad = String(repeating: " ", count: widths[i] - c.count)
        return rightAligned.contains(i) ? pad + c : c + pad
      }.joined(separator: "  ").replacingTrailingSpaces()
    }
    var out = [line(headers), String(repeating: "─", count: widths.reduce(0, +) + 2 * (widths.count - 1))]
    out += rows.map(line)
    return out.joined(separator: "\n")
  }
}

extension String {
  fileprivate func replacingTrailingSpaces() -> String {
    var s = self
    while s.hasSuffix(" ") { s.removeLast() }
    return s
  }
}

/// `text` broken at spaces into lines of at most `width` characters (a longer word gets a line of its own).
func wrapWords(_ text: String, width: Int) -> [String] {
  var lines: [String] = []
  var current = ""
  for word in text.split(separator: " ") {
    if current.isEmpty {
      current = String(word)
    } else if current.count + 1 + word.count <= width {
      current += " " + word
    } else {
      lines.append(current)
      current = String(word)
    }
  }
  if !current.isEmpty { lines.append(current) }
  return lines
}
