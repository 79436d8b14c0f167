import Foundation
import ZooGraph

/// The width every line of output fits: `COLUMNS` when it is set to a number (at least 40), else the
/// terminal's width, else 100 columns (piped or redirected).
let outputWidth: Int = {
  if let text = ProcessInfo.processInfo.environment["COLUMNS"], let n = Int(text), n >= 40 { return n }
  #if canImport(Glibc)
    let request = UInt(TIOCGWINSZ)
  #else
    let request: UInt = 0x4008_7468  // Darwin's TIOCGWINSZ, a macro Swift does not import there
  #endif
  var size = winsize()
  if isatty(STDOUT_FILENO) != 0, ioctl(STDOUT_FILENO, request, &size) == 0, size.ws_col >= 40 {
    return Int(size.ws_col)
  }
  return 100
}()

/// Whether output is coloured: on a terminal, unless `NO_COLOR` is set (to anything, https://no-color.org)
/// or `TERM` is `dumb`; `CLICOLOR_FORCE` (not 0) asks for colour when piped, and `NO_COLOR` still wins.
let colourOutput: Bool = {
  let env = ProcessInfo.processInfo.environment
  if let no = env["NO_COLOR"], !no.isEmpty { return false }
  if let force = env["CLICOLOR_FORCE"], !force.isEmpty, force != "0" { return true }
  return isatty(STDOUT_FILENO) != 0 && env["TERM"] != "dumb"
}()

/// The few styles the text output uses: bold table headers and labels, yellow warnings.
enum Style: String {
  case header = "1"
  case warning = "33"

  /// `text` in this style when ``colourOutput``, else unchanged. Lines with colour are never wrapped
  /// (``fitted(_:width:)`` counts characters, and the escape codes take none on screen).
  func apply(_ text: String) -> String { colourOutput ? "\u{1B}[\(rawValue)m\(text)\u{1B}[0m" : text }
}

/// A plain-text table with aligned columns; numeric columns are right-aligned.
///
/// A table wider than ``outputWidth`` is fitted in steps, each taken only while it is still too wide:
/// 1. the ``shrinkable`` column (names) is shortened in the middle, down to 12 characters;
/// 2. grouped integers in the right-aligned columns are written with units (`2,833,137,664` →
///    `2.83 G`), the style of the gallery;
/// 3. the other left-aligned columns are shortened at their end, down to 8 characters;
/// 4. columns are left out from the right, and a last line says which and how to see them.
struct TextTable {
  var headers: [String]
  var rightAligned: Set<Int>
  var rows: [[String]] = []
  /// The column whose cells are shortened (``middleEllipsis(_:_:)``) when the table is wider than
  /// ``outputWidth``: the first (layer or module names) unless said otherwise; nil keeps every cell.
  var shrinkable: Int? = 0

  /// The width of the rendered table in characters, before any fitting.
  var width: Int { Self.natural(headers, rows).reduce(0, +) + 2 * (headers.count - 1) }

  private static func natural(_ headers: [String], _ rows: [[String]]) -> [Int] {
    var widths = headers.map(\.count)
    for r in rows {
      for (i, c) in r.enumerated() where i < widths.count { widths[i] = max(widths[i], c.count) }
    }
    return widths
  }

  /// `2,833,137,664` → `2.83 G`; any other text unchanged.
  private static func withUnits(_ cell: String) -> String {
    let digits = cell.filter { $0 != "," }
    guard cell.contains(","), !digits.isEmpty, digits.allSatisfy(\.isNumber), let n = Int(digits) else { return cell }
    return compact(n)
  }

  func render() -> String {
    var headers = headers
    var rows = rows
    let limit = outputWidth
    func total(_ w: [Int]) -> Int { w.reduce(0, +) + 2 * (w.count - 1) }
    var widths = Self.natural(headers, rows)
    // 1. Names, shortened in the middle.
    if let k = shrinkable, k < widths.count, total(widths) > limit {
      widths[k] = max(headers[k].count, 12, widths[k] - (total(widths) - limit))
    }
    // 2. Units in the numeric columns.
    if total(widths) > limit {
      rows = rows.map { r in r.enumerated().map { i, c in rightAligned.contains(i) ? Self.withUnits(c) : c } }
      for i in rightAligned where i < widths.count {
        widths[i] = max(headers[i].count, rows.map { i < $0.count ? $0[i].count : 0 }.max() ?? 0)
      }
    }
    // 3. The other text columns, shortened at the end, the widest first (one column at a time).
    var cut = Set<Int>()
    let texts = widths.indices.filter { !rightAligned.contains($0) && $0 != shrinkable }
    while total(widths) > limit {
      let floors = texts.map { max(8, headers[$0].count) }
      guard
        let j = texts.indices.filter({ widths[texts[$0]] > floors[$0] }).max(by: {
          widths[texts[$0]] < widths[texts[$1]]
        })
      else { break }
      widths[texts[j]] -= 1
      cut.insert(texts[j])
    }
    // 4. Columns from the right.
    var dropped: [String] = []
    while total(widths) > limit && widths.count > 2 {
      dropped.insert(headers.removeLast(), at: 0)
      widths.removeLast()
      rows = rows.map { Array($0.prefix(widths.count)) }
    }
    func line(_ cells: [String]) -> String {
      cells.enumerated().map { i, c in
        var c = c
        if i == shrinkable { c = middleEllipsis(c, widths[i]) }
        if cut.contains(i), c.count > widths[i] { c = String(c.prefix(widths[i] - 1)) + "…" }
        let pad = String(repeating: " ", count: max(0, widths[i] - c.count))
        return rightAligned.contains(i) ? pad + c : c + pad
      }.joined(separator: "  ").replacingTrailingSpaces()
    }
    var out = [Style.header.apply(line(headers)), String(repeating: "─", count: total(widths))]
    out += rows.map(line)
    if !dropped.isEmpty {
      out += fitted([
        "(\(dropped.joined(separator: ", ")) left out to fit \(limit) columns: widen the terminal or set COLUMNS.)"
      ])
    }
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

/// `lines` fitted to ``outputWidth``: a longer line is broken before a ` + ` or ` = ` term when it has
/// them, else at spaces; continuations are aligned after the line's `Label:   ` when it has one
/// (`Training:       `, `Memory:      `), else indented two more than the line.
func fitted(_ lines: [String], width: Int = outputWidth) -> [String] {
  lines.flatMap { line -> [String] in
    guard line.count > width, !isTableRow(line), !line.contains("\u{1B}[") else { return [line] }
    let lead = line.prefix { $0 == " " }.count
    var indent = lead + 2
    if let colon = line.firstIndex(of: ":") {
      let after = line[line.index(after: colon)...].prefix { $0 == " " }.count
      let at = line.distance(from: line.startIndex, to: colon) + 1 + after
      if after >= 1, at < width / 2, !line[..<colon].contains("`") { indent = at }
    }
    let pad = String(repeating: " ", count: indent)
    guard line.contains(" + ") || line.contains(" = ") else { return wrapSpaces(line, pad: pad, width: width) }
    // Terms first; a term longer than the line is then broken at spaces.
    return wrapTerms(line, indent: indent, width: width).flatMap { wrapSpaces($0, pad: pad, width: width) }
  }
}

/// `line` broken at spaces into lines of at most `width` characters where the words allow, the first
/// keeping the line's own indentation and the others starting with `pad`.
private func wrapSpaces(_ line: String, pad: String, width: Int) -> [String] {
  guard line.count > width else { return [line] }
  let lead = line.prefix { $0 == " " }.count
  var out: [String] = []
  var current = String(repeating: " ", count: lead)
  var fresh = true
  for word in line.dropFirst(lead).split(separator: " ", omittingEmptySubsequences: false) {
    if fresh || current.count + 1 + word.count <= width {
      current += (fresh ? "" : " ") + word
      fresh = false
    } else {
      out.append(current)
      current = pad + word
    }
  }
  out.append(current)
  return out
}

/// Whether `line` is a row or rule of a ``TextTable`` (left as it is by ``fitted(_:width:)``): a rule of
/// `─`, or at least two gaps of two or more spaces between cells.
func isTableRow(_ line: String) -> Bool {
  if line.hasPrefix("─") { return true }
  let cells = line.trimmingCharacters(in: .whitespaces).components(separatedBy: "  ").filter { !$0.isEmpty }
  return cells.count >= 3
}

/// Prints `text` with every line fitted to ``outputWidth`` (``fitted(_:width:)``).
func printFitted(_ text: String) {
  print(fitted(text.components(separatedBy: "\n")).joined(separator: "\n"))
}
