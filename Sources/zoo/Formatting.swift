import Foundation
import ZooGraph

/// `1234567` → `1,234,567`.
func grouped(_ n: Int) -> String {
  let digits = String(n.magnitude)
  var out = ""
  for (i, c) in digits.enumerated() {
    if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
    out.append(c)
  }
  return n < 0 ? "-" + out : out
}

/// `1814083944` → `1.81 G`.
func compact(_ n: Int) -> String {
  let units: [(Double, String)] = [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")]
  let d = Double(n)
  for (scale, unit) in units where d >= scale {
    return String(format: "%.2f %@", d / scale, unit)
  }
  return String(n)
}

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
