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

/// `text` shortened to `width` characters by an ellipsis in the middle, keeping both ends of a module
/// path (`features.denseblock4…denselayer16.conv2`).
func middleEllipsis(_ text: String, _ width: Int) -> String {
  guard text.count > width, width >= 5 else { return text }
  let keep = width - 1
  let head = keep / 2
  return String(text.prefix(head)) + "…" + String(text.suffix(keep - head))
}

/// A plain-text table with aligned columns; numeric columns are right-aligned.
struct TextTable {
  var headers: [String]
  var rightAligned: Set<Int>
  var rows: [[String]] = []
  /// The column whose cells are shortened (``middleEllipsis(_:_:)``) when the table is wider than
  /// ``outputWidth``: the first (layer or module names) unless said otherwise; nil keeps every cell.
  var shrinkable: Int? = 0

  /// The width of the rendered table in characters.
  var width: Int { widths(shrinking: false).reduce(0, +) + 2 * (headers.count - 1) }

  private func widths(shrinking: Bool) -> [Int] {
    var widths = headers.map(\.count)
    for r in rows {
      for (i, c) in r.enumerated() { widths[i] = max(widths[i], c.count) }
    }
    if shrinking, let k = shrinkable, k < widths.count {
      let total = widths.reduce(0, +) + 2 * (widths.count - 1)
      if total > outputWidth { widths[k] = max(headers[k].count, 12, widths[k] - (total - outputWidth)) }
    }
    return widths
  }

  func render() -> String {
    let widths = widths(shrinking: true)
    func line(_ cells: [String]) -> String {
      cells.enumerated().map { i, c in
        let c = i == shrinkable ? middleEllipsis(c, widths[i]) : c
        let pad = String(repeating: " ", count: max(0, widths[i] - c.count))
        return rightAligned.contains(i) ? pad + c : c + pad
      }.joined(separator: "  ").replacingTrailingSpaces()
    }
    var out = [
      Style.header.apply(line(headers)), String(repeating: "─", count: widths.reduce(0, +) + 2 * (widths.count - 1)),
    ]
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
    if line.contains(" + ") || line.contains(" = ") { return wrapTerms(line, indent: indent, width: width) }
    let pad = String(repeating: " ", count: indent)
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
