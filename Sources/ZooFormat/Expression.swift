import Foundation

/// The small expression language used for argument values: integers, decimals, booleans,
/// strings in quotes, lists `[a, b]`, names of arguments and variables, arithmetic `+ - * / // % **`,
/// comparisons, `and` / `or` / `not`, indexing `xs[i]`, `a if cond else b`, and the functions
/// `len`, `min`, `max`, `int`, `range`, `sum`. `/` on integers is exact division (an error when
/// there is a remainder); `//` is floor division.
///
/// Limits keep hostile text from exhausting the stack, the time or the memory: expressions nest at most
/// ``ExpressionParser/maxDepth`` deep, lists hold at most ``Evaluator/maxListCount`` elements, and one
/// build evaluates at most ``EvaluationBudget/defaultUnits`` steps. Integer overflow and non-finite
/// decimals are errors; comparisons take two values of one type (integers and decimals compare as numbers,
/// and anything may be compared with `null`).
struct ExpressionError: Error {
  var message: String
  /// Character offset inside the expression text.
  var offset: Int
}

indirect enum Expr {
  case literal(Value)
  case name(String, Int)
  case list([Expr])
  case unary(String, Expr, Int)
  case binary(String, Expr, Expr, Int)
  case ternary(Expr, Expr, Expr)
  case call(String, [Expr], Int)
  case index(Expr, Expr, Int)
}

private struct Token {
  enum Kind { case number, name, string, op, end }
  var kind: Kind
  var text: String
  var offset: Int
}

private func tokenize(_ s: String) throws(ExpressionError) -> [Token] {
  var tokens: [Token] = []
  let chars = Array(s)
  var i = 0
  let twoChar: Set<String> = ["//", "**", "==", "!=", "<=", ">="]
  while i < chars.count {
    let c = chars[i]
    if c == " " || c == "\t" {
      i += 1
      continue
    }
    let start = i
    if c.isNumber {
      while i < chars.count,
        chars[i].isNumber || chars[i] == "." || chars[i] == "_" || chars[i] == "e"
          || (chars[i] == "-" && chars[i - 1] == "e")
      {
        i += 1
      }
      tokens.append(Token(kind: .number, text: String(chars[start..<i]), offset: start))
    } else if c.isLetter || c == "_" {
      while i < chars.count, chars[i].isLetter || chars[i].isNumber || chars[i] == "_" { i += 1 }
      tokens.append(Token(kind: .name, text: String(chars[start..<i]), offset: start))
    } else if c == "\"" || c == "'" {
      i += 1
      while i < chars.count, chars[i] != c { i += 1 }
      guard i < chars.count else { throw ExpressionError(message: "unterminated string", offset: start) }
      tokens.append(Token(kind: .string, text: String(chars[(start + 1)..<i]), offset: start))
      i += 1
    } else {
      if i + 1 < chars.count, twoChar.contains(String(chars[i...(i + 1)])) {
        tokens.append(Token(kind: .op, text: String(chars[i...(i + 1)]), offset: start))
        i += 2
      } else if "+-*/%()[],<>".contains(c) {
        tokens.append(Token(kind: .op, text: String(c), offset: start))
        i += 1
      } else {
        throw ExpressionError(message: "unexpected character `\(c)`", offset: start)
      }
    }
  }
  tokens.append(Token(kind: .end, text: "", offset: chars.count))
  return tokens
}

/// Pratt parser over the tokens above.
struct ExpressionParser {
  private var tokens: [Token]
  private var pos = 0
  /// Nesting of the expression being parsed: every (sub-)expression inside brackets, parentheses or
  /// calls, unary operators, and the operators of a chain like `1 + 1 + 1` (the tree deepens by one per
  /// operator).
  private var depth = 0

  /// The deepest an expression may nest: far above any real argument value, low enough that parsing,
  /// evaluating and freeing the tree stay well inside the stack.
  static let maxDepth = 100

  private mutating func enter(_ offset: Int, by n: Int = 1) throws(ExpressionError) {
    depth += n
    guard depth <= Self.maxDepth else {
      throw ExpressionError(
        message: "the expression nests more than \(Self.maxDepth) levels deep (brackets, operators or operands)",
        offset: offset)
    }
  }

  static func parse(_ text: String) throws(ExpressionError) -> Expr {
    var p = ExpressionParser(tokens: try tokenize(text))
    let e = try p.expression()
    let t = p.peek
    guard t.kind == .end else {
      throw ExpressionError(message: "unexpected `\(t.text)` after the expression", offset: t.offset)
    }
    return e
  }

  private init(tokens: [Token]) { self.tokens = tokens }

  private var peek: Token { tokens[pos] }
  private mutating func next() -> Token {
    defer { pos += 1 }
    return tokens[pos]
  }
  private func isOp(_ s: String) -> Bool {
    (peek.kind == .op || peek.kind == .name) && peek.text == s
  }
  private mutating func expect(_ s: String) throws(ExpressionError) {
    guard isOp(s) else {
      throw ExpressionError(
        message: "expected `\(s)`, found \(peek.kind == .end ? "the end" : "`\(peek.text)`")",
        offset: peek.offset)
    }
    pos += 1
  }

  private static let precedence: [String: Int] = [
    "or": 1, "and": 2, "==": 4, "!=": 4, "<": 4, "<=": 4, ">": 4, ">=": 4,
    "+": 5, "-": 5, "*": 6, "/": 6, "//": 6, "%": 6, "**": 8,
  ]

  mutating func expression() throws(ExpressionError) -> Expr {
    try enter(peek.offset)
    defer { depth -= 1 }
    let value = try binary(0)
    if isOp("if") {
      pos += 1
      let cond = try binary(0)
      try expect("else")
      let other = try expression()
      return .ternary(cond, value, other)
    }
    return value
  }

  private mutating func binary(_ minPrec: Int) throws(ExpressionError) -> Expr {
    var lhs = try unary()
    let entryDepth = depth
    defer { depth = entryDepth }
    while true {
      let t = peek
      guard t.kind == .op || t.kind == .name, let prec = Self.precedence[t.text], prec > minPrec
      else { break }
      pos += 1
      // Each operator of a chain puts the tree one level deeper.
      try enter(t.offset)
      // `**` is right-associative.
      let rhs = try binary(t.text == "**" ? prec - 1 : prec)
      lhs = .binary(t.text, lhs, rhs, t.offset)
    }
    return lhs
  }

  private mutating func unary() throws(ExpressionError) -> Expr {
    if isOp("-") {
      let t = next()
      try enter(t.offset)
      defer { depth -= 1 }
      return .unary(t.text, try unary(), t.offset)
    }
    if isOp("not") {
      let t = next()
      try enter(t.offset)
      defer { depth -= 1 }
      return .unary(t.text, try binary(3), t.offset)
    }
    return try postfix()
  }

  private mutating func postfix() throws(ExpressionError) -> Expr {
    var e = try primary()
    while isOp("[") {
      let t = next()
      let i = try expression()
      try expect("]")
      e = .index(e, i, t.offset)
    }
    return e
  }

  private mutating func primary() throws(ExpressionError) -> Expr {
    let t = next()
    switch t.kind {
    case .number:
      let text = t.text.replacingOccurrences(of: "_", with: "")
      if let i = Int(text) { return .literal(.int(i)) }
      let decimal = text.contains { $0 == "." || $0 == "e" }
      if !decimal, !text.isEmpty, text.allSatisfy({ $0.isASCII && $0.isNumber }) {
        throw ExpressionError(
          message: "the integer \(clip(t.text)) is too large (the limit is \(Int.max))", offset: t.offset)
      }
      if decimal, let d = Double(text) {
        guard d.isFinite else {
          throw ExpressionError(message: "the number \(clip(t.text)) is too large to be finite", offset: t.offset)
        }
        return .literal(.double(d))
      }
      throw ExpressionError(message: "`\(clip(t.text))` is not a number", offset: t.offset)
    case .string:
      return .literal(.string(t.text))
    case .name:
      switch t.text {
      case "true": return .literal(.bool(true))
      case "false": return .literal(.bool(false))
      case "null": return .literal(.null)
      default: break
      }
      if isOp("(") {
        pos += 1
        var args: [Expr] = []
        while !isOp(")") {
          args.append(try expression())
          if !isOp(")") { try expect(",") }
        }
        pos += 1
        return .call(t.text, args, t.offset)
      }
      return .name(t.text, t.offset)
    case .op where t.text == "(":
      let e = try expression()
      try expect(")")
      return e
    case .op where t.text == "[":
      var items: [Expr] = []
      while !isOp("]") {
        items.append(try expression())
        if !isOp("]") { try expect(",") }
      }
      pos += 1
      return .list(items)
    default:
      throw ExpressionError(
        message: t.kind == .end ? "the expression ends too early" : "unexpected `\(t.text)`",
        offset: t.offset)
    }
  }
}

/// What the scalar texts of one definition file mean, each read once per build: a constant (an integer,
/// a decimal, a boolean) or a parsed expression, by text, apart for plain and quoted scalars (only a plain
/// `true` is a boolean before parsing). Only texts that read without error are kept, so an error is
/// reported, with its place, wherever the text occurs.
final class ScalarCache {
  enum Meaning {
    case value(Value)
    case expression(Expr)
  }
  private var plain: [String: Meaning] = [:]
  private var quoted: [String: Meaning] = [:]
  /// `{expression}` parts of names, parsed.
  private var parts: [String: Expr] = [:]

  func meaning(_ text: String, plain isPlain: Bool) -> Meaning? { isPlain ? plain[text] : quoted[text] }

  /// Keeps `meaning` for `text`.
  func remember(_ text: String, plain isPlain: Bool, _ meaning: Meaning) {
    if isPlain { plain[text] = meaning } else { quoted[text] = meaning }
  }

  /// `text` parsed as an expression, parsed once.
  func expression(_ text: String) throws(ExpressionError) -> Expr {
    if let e = parts[text] { return e }
    let e = try ExpressionParser.parse(text)
    parts[text] = e
    return e
  }
}

/// Steps of evaluation left for one build, shared by every evaluator of the build, so that a loop
/// evaluating a costly expression (`len(range(1000000))` in a `repeat`) ends in an error instead of
/// running for hours.
final class EvaluationBudget {
  /// Steps allowed for one build: expression nodes evaluated plus list elements made. The largest
  /// built-in network uses well under 1% of it.
  static let defaultUnits = 20_000_000
  let limit: Int
  private(set) var remaining: Int
  init(units: Int = defaultUnits) {
    limit = units
    remaining = units
  }
  func spend(_ units: Int, at offset: Int) throws(ExpressionError) {
    remaining -= units
    guard remaining >= 0 else {
      throw ExpressionError(
        message: "evaluating the definition takes more than \(limit) steps (expressions and list elements); "
          + "is a list or a loop too large?",
        offset: offset)
    }
  }
}

/// Text for an error message, cut to `limit` characters.
func clip(_ text: String, _ limit: Int = 60) -> String {
  text.count <= limit ? text : String(text.prefix(limit)) + "…"
}

/// Evaluates expressions against a set of named values.
struct Evaluator {
  var lookup: (String) -> Value?
  var names: () -> [String]
  /// Steps left for the build; nil for a one-off evaluation (such as a `--arg` value), which is
  /// bounded by the expression's own size.
  var budget: EvaluationBudget? = nil

  /// The functions expressions may call.
  static let functions = ["len", "range", "int", "sum", "min", "max"]

  /// The most elements a list may have (`range`, `+` of lists).
  static let maxListCount = 1_000_000

  func eval(_ e: Expr) throws(ExpressionError) -> Value {
    try budget?.spend(1, at: 0)
    switch e {
    case .literal(let v): return v
    case .name(let n, let offset):
      if let v = lookup(n) { return v }
      var message = "unknown name `\(clip(n))`"
      if let s = closest(n, among: names()) { message += " — did you mean `\(s)`?" }
      throw ExpressionError(message: message, offset: offset)
    case .list(let items):
      var out: [Value] = []
      out.reserveCapacity(items.count)
      for item in items { out.append(try eval(item)) }
      return .list(out)
    case .unary(let op, let x, let offset):
      let v = try eval(x)
      if op == "not" { return .bool(!v.truthy) }
      switch v {
      case .int(let i):
        guard i != Int.min else { throw ExpressionError(message: "integer overflow", offset: offset) }
        return .int(-i)
      case .double(let d): return .double(-d)
      default: throw ExpressionError(message: "cannot negate \(v.typeName) (\(v))", offset: offset)
      }
    case .ternary(let c, let a, let b):
      return try eval(c).truthy ? try eval(a) : try eval(b)
    case .binary(let op, let l, let r, let offset):
      if op == "and" {
        let lv = try eval(l)
        return lv.truthy ? try eval(r) : lv
      }
      if op == "or" {
        let lv = try eval(l)
        return lv.truthy ? lv : try eval(r)
      }
      return try binary(op, try eval(l), try eval(r), offset)
    case .index(let x, let i, let offset):
      let xv = try eval(x)
      let iv = try eval(i)
      guard case .list(let items) = xv else {
        throw ExpressionError(message: "cannot index \(xv.typeName) (\(xv))", offset: offset)
      }
      guard case .int(let k) = iv else {
        throw ExpressionError(message: "a list index must be an integer, got \(iv)", offset: offset)
      }
      let j = k < 0 ? items.count + k : k
      guard j >= 0, j < items.count else {
        throw ExpressionError(
          message: "index \(k) is out of range for a list of \(items.count)", offset: offset)
      }
      return items[j]
    case .call(let f, let args, let offset):
      var values: [Value] = []
      for a in args { values.append(try eval(a)) }
      return try call(f, values, offset)
    }
  }

  private func call(_ f: String, _ args: [Value], _ offset: Int) throws(ExpressionError) -> Value {
    func ints(_ v: Value) -> [Int]? {
      guard case .list(let l) = v else { return nil }
      var out: [Int] = []
      for x in l {
        guard case .int(let i) = x else { return nil }
        out.append(i)
      }
      return out
    }
    switch (f, args.count) {
    case ("len", 1):
      if case .list(let l) = args[0] { return .int(l.count) }
    case ("range", 1):
      if case .int(let n) = args[0], n >= 0 {
        guard n <= Self.maxListCount else {
          throw ExpressionError(
            message: "range(\(n)) would make a list of more than \(Self.maxListCount) elements", offset: offset)
        }
        try budget?.spend(n, at: offset)
        return .list((0..<n).map { .int($0) })
      }
    case ("int", 1):
      if case .int = args[0] { return args[0] }
      if case .double(let d) = args[0], d.isFinite, abs(d) < 9e18 { return .int(Int(d.rounded(.towardZero))) }
    case ("sum", 1):
      if let xs = ints(args[0]) {
        try budget?.spend(xs.count, at: offset)
        var s = 0
        for x in xs {
          let (r, o) = s.addingReportingOverflow(x)
          if o { throw ExpressionError(message: "integer overflow in sum", offset: offset) }
          s = r
        }
        return .int(s)
      }
    case ("min", 1...), ("max", 1...):
      let xs = args.count == 1 ? ints(args[0]) : ints(.list(args))
      try budget?.spend(xs?.count ?? 0, at: offset)
      if let xs, let m = (f == "min" ? xs.min() : xs.max()) { return .int(m) }
    default:
      let known = Self.functions
      if !known.contains(f) {
        var message = "unknown function `\(f)`"
        if let s = closest(f, among: known) { message += " — did you mean `\(s)`?" }
        throw ExpressionError(message: message, offset: offset)
      }
    }
    throw ExpressionError(
      message: "`\(f)` cannot take (\(clip(args.map(\.description).joined(separator: ", "))))", offset: offset)
  }

  /// Whether two values are equal; both must be of one type (integers and decimals compare as
  /// numbers, lists element by element), or one of them `null`.
  private func equal(_ l: Value, _ r: Value, _ op: String, _ offset: Int) throws(ExpressionError) -> Bool {
    switch (l, r) {
    case (.null, _), (_, .null): return l == r
    case (.int(let a), .int(let b)): return a == b
    case (.int(let a), .double(let b)): return Double(exactly: a).map { $0 == b } ?? false
    case (.double(let a), .int(let b)): return Double(exactly: b).map { $0 == a } ?? false
    case (.double(let a), .double(let b)): return a == b
    case (.bool(let a), .bool(let b)): return a == b
    case (.string(let a), .string(let b)): return a == b
    case (.block(let a), .block(let b)): return a == b
    case (.list(let a), .list(let b)):
      guard a.count == b.count else { return false }
      try budget?.spend(a.count, at: offset)
      for (x, y) in zip(a, b) where !(try equal(x, y, op, offset)) { return false }
      return true
    default:
      throw ExpressionError(
        message: "cannot compare \(l.typeName) (\(clip(l.description))) with \(r.typeName) (\(clip(r.description))) "
          + "using `\(op)`: the values must be of one type (write a string in quotes, a number without)",
        offset: offset)
    }
  }

  private func binary(_ op: String, _ l: Value, _ r: Value, _ offset: Int) throws(ExpressionError)
    -> Value
  {
    func fail(_ why: String) -> ExpressionError { ExpressionError(message: why, offset: offset) }
    switch op {
    case "==": return .bool(try equal(l, r, op, offset))
    case "!=": return .bool(!(try equal(l, r, op, offset)))
    default: break
    }
    if case .list(let a) = l, case .list(let b) = r, op == "+" {
      guard a.count + b.count <= Self.maxListCount else {
        throw fail("joining lists of \(a.count) and \(b.count) elements passes the limit of \(Self.maxListCount)")
      }
      try budget?.spend(a.count + b.count, at: offset)
      return .list(a + b)
    }
    if case .int(let a) = l, case .int(let b) = r {
      return try integerBinary(op, a, b, offset)
    }
    let a: Double?
    let b: Double?
    switch l {
    case .int(let i): a = Double(i)
    case .double(let d): a = d
    default: a = nil
    }
    switch r {
    case .int(let i): b = Double(i)
    case .double(let d): b = d
    default: b = nil
    }
    guard let a, let b else {
      throw fail(
        "cannot apply `\(op)` to \(l.typeName) (\(clip(l.description))) and \(r.typeName) (\(clip(r.description)))")
    }
    let result: Double
    switch op {
    case "+": result = a + b
    case "-": result = a - b
    case "*": result = a * b
    case "/":
      guard b != 0 else { throw fail("division by zero in \(a) / \(b)") }
      result = a / b
    case "//":
      guard b != 0 else { throw fail("division by zero in \(a) // \(b)") }
      result = (a / b).rounded(.down)
    case "**": result = pow(a, b)
    case "<": return .bool(a < b)
    case "<=": return .bool(a <= b)
    case ">": return .bool(a > b)
    case ">=": return .bool(a >= b)
    default: throw fail("cannot apply `\(op)` to numbers")
    }
    guard result.isFinite else { throw fail("\(a) \(op) \(b) does not give a finite number") }
    return .double(result)
  }

  /// Integer arithmetic where every overflow (including `Int.min // -1`) is an error, `//` and `%`
  /// round towards negative infinity as in Python, and `**` is exponentiation by squaring.
  private func integerBinary(_ op: String, _ a: Int, _ b: Int, _ offset: Int) throws(ExpressionError) -> Value {
    func overflow() -> ExpressionError {
      ExpressionError(message: "integer overflow in \(a) \(op) \(b) (integers are 64-bit)", offset: offset)
    }
    switch op {
    case "+", "-", "*":
      let (v, o) =
        op == "+"
        ? a.addingReportingOverflow(b)
        : op == "-" ? a.subtractingReportingOverflow(b) : a.multipliedReportingOverflow(by: b)
      if o { throw overflow() }
      return .int(v)
    case "/", "//", "%":
      guard b != 0 else { throw ExpressionError(message: "division by zero in \(a) \(op) \(b)", offset: offset) }
      // Int.min / -1 is the one quotient that does not fit; its remainder is 0.
      if a == Int.min && b == -1 {
        if op == "%" { return .int(0) }
        throw overflow()
      }
      let q = a / b
      let r = a % b
      switch op {
      case "/":
        guard r == 0 else {
          throw ExpressionError(
            message: "\(a) / \(b) is not a whole number (use // to round down)", offset: offset)
        }
        return .int(q)
      case "//":
        // Truncation rounds towards zero; step down when the exact quotient is negative and inexact.
        return .int(r != 0 && (r < 0) != (b < 0) ? q - 1 : q)
      default:
        return .int(r != 0 && (r < 0) != (b < 0) ? r + b : r)
      }
    case "**":
      guard b >= 0 else {
        throw ExpressionError(message: "negative exponent in \(a) ** \(b)", offset: offset)
      }
      switch a {
      case 0: return .int(b == 0 ? 1 : 0)
      case 1: return .int(1)
      case -1: return .int(b % 2 == 0 ? 1 : -1)
      default: break
      }
      // |a| ≥ 2, so an exponent of 63 or more always overflows; squaring needs at most 6 steps.
      guard b < 64 else { throw overflow() }
      var result = 1
      var base = a
      var e = b
      while true {
        if e & 1 == 1 {
          let (p, o) = result.multipliedReportingOverflow(by: base)
          if o { throw overflow() }
          result = p
        }
        e >>= 1
        if e == 0 { break }
        let (sq, o) = base.multipliedReportingOverflow(by: base)
        if o { throw overflow() }
        base = sq
      }
      return .int(result)
    case "<": return .bool(a < b)
    case "<=": return .bool(a <= b)
    case ">": return .bool(a > b)
    case ">=": return .bool(a >= b)
    default:
      throw ExpressionError(message: "cannot apply `\(op)` to integers", offset: offset)
    }
  }
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
public func closest(_ word: String, among candidates: [String]) -> String? {
  // A suggestion for a very long word is never a typo fix, and the edit distance costs length².
  guard word.count <= 64 else { return nil }
  let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
  guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
  return best.1 <= max(2, word.count / 3) ? best.0 : nil
}

/// Candidates sorted by closeness to `word`.
/// The candidates close enough to `word` to be what was meant: at most a third of its letters (and at
/// least 2) away, nearest first; empty when nothing is close.
public func closeNames(_ word: String, among candidates: [String], limit: Int) -> [String] {
  let w = word.lowercased()
  let bound = max(2, w.count / 3)
  return closestNames(word, among: candidates, limit: candidates.count).filter {
    editDistance(String(w.prefix(64)), $0.lowercased()) <= bound || $0.lowercased().hasPrefix(w) && w.count >= 3
  }.prefix(limit).map { $0 }
}

public func closestNames(_ word: String, among candidates: [String], limit: Int) -> [String] {
  let word = String(word.prefix(64))
  let scored: [(name: String, distance: Int)] = candidates.map {
    (name: $0, distance: editDistance(word.lowercased(), $0.lowercased()))
  }
  let sorted = scored.sorted { a, b in
    a.distance != b.distance ? a.distance < b.distance : a.name < b.name
  }
  return sorted.prefix(limit).map(\.name)
}

func editDistance(_ a: String, _ b: String) -> Int {
  let a = Array(a)
  let b = Array(b)
  if a.isEmpty { return b.count }
  var prev = Array(0...b.count)
  for i in 1...a.count {
    var cur = [i] + Array(repeating: 0, count: b.count)
    for j in 1...max(b.count, 1) where j <= b.count {
      cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
    }
    prev = cur
  }
  return prev[b.count]
}
