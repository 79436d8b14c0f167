import Foundation

/// The small expression language used for argument values: integers, decimals, booleans,
/// strings in quotes, lists `[a, b]`, names of arguments and variables, arithmetic `+ - * / // % **`,
/// comparisons, `and` / `or` / `not`, indexing `xs[i]`, `a if cond else b`, and the functions
/// `len`, `min`, `max`, `int`, `range`, `sum`. `/` on integers is exact division (an error when
/// there is a remainder); `//` is floor division.
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
    while true {
      let t = peek
      guard t.kind == .op || t.kind == .name, let prec = Self.precedence[t.text], prec > minPrec
      else { break }
      pos += 1
      // `**` is right-associative.
      let rhs = try binary(t.text == "**" ? prec - 1 : prec)
      lhs = .binary(t.text, lhs, rhs, t.offset)
    }
    return lhs
  }

  private mutating func unary() throws(ExpressionError) -> Expr {
    if isOp("-") {
      let t = next()
      return .unary(t.text, try unary(), t.offset)
    }
    if isOp("not") {
      let t = next()
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
      if let d = Double(text) { return .literal(.double(d)) }
      throw ExpressionError(message: "`\(t.text)` is not a number", offset: t.offset)
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

/// Evaluates expressions against a set of named values.
struct Evaluator {
  var lookup: (String) -> Value?
  var names: () -> [String]

  func eval(_ e: Expr) throws(ExpressionError) -> Value {
    switch e {
    case .literal(let v): return v
    case .name(let n, let offset):
      if let v = lookup(n) { return v }
      var message = "unknown name `\(n)`"
      if let s = closest(n, among: names()) { message += " — did you mean `\(s)`?" }
      throw ExpressionError(message: message, offset: offset)
    case .list(let items):
      var out: [Value] = []
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
      if case .int(let n) = args[0], n >= 0, n <= 1_000_000 { return .list((0..<n).map { .int($0) }) }
    case ("int", 1):
      if case .int = args[0] { return args[0] }
      if case .double(let d) = args[0], d.isFinite, abs(d) < 9e18 { return .int(Int(d)) }
    case ("sum", 1):
      if let xs = ints(args[0]) {
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
      if let xs, let m = (f == "min" ? xs.min() : xs.max()) { return .int(m) }
    default:
      let known = ["len", "range", "int", "sum", "min", "max"]
      if !known.contains(f) {
        var message = "unknown function `\(f)`"
        if let s = closest(f, among: known) { message += " — did you mean `\(s)`?" }
        throw ExpressionError(message: message, offset: offset)
      }
    }
    throw ExpressionError(
      message: "`\(f)` cannot take (\(args.map(\.description).joined(separator: ", ")))", offset: offset)
  }

  private func binary(_ op: String, _ l: Value, _ r: Value, _ offset: Int) throws(ExpressionError)
    -> Value
  {
    func fail(_ why: String) -> ExpressionError { ExpressionError(message: why, offset: offset) }
    switch op {
    case "==": return .bool(l == r)
    case "!=": return .bool(l != r)
    default: break
    }
    if case .list(let a) = l, case .list(let b) = r, op == "+" { return .list(a + b) }
    if case .int(let a) = l, case .int(let b) = r {
      switch op {
      case "+", "-", "*":
        let (v, o) =
          op == "+"
          ? a.addingReportingOverflow(b)
          : op == "-" ? a.subtractingReportingOverflow(b) : a.multipliedReportingOverflow(by: b)
        if o { throw fail("integer overflow in \(a) \(op) \(b)") }
        return .int(v)
      case "/", "//", "%":
        guard b != 0 else { throw fail("division by zero in \(a) \(op) \(b)") }
        if op == "/" {
          guard a % b == 0 else {
            throw fail("\(a) / \(b) is not a whole number (use // to round down)")
          }
          return .int(a / b)
        }
        let q = Int((Double(a) / Double(b)).rounded(.down))
        return op == "//" ? .int(q) : .int(a - q * b)
      case "**":
        guard b >= 0 else { throw fail("negative exponent in \(a) ** \(b)") }
        var v = 1
        for _ in 0..<b {
          let (p, o) = v.multipliedReportingOverflow(by: a)
          if o { throw fail("integer overflow in \(a) ** \(b)") }
          v = p
        }
        return .int(v)
      case "<": return .bool(a < b)
      case "<=": return .bool(a <= b)
      case ">": return .bool(a > b)
      case ">=": return .bool(a >= b)
      default: break
      }
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
      throw fail("cannot apply `\(op)` to \(l.typeName) (\(l)) and \(r.typeName) (\(r))")
    }
    switch op {
    case "+": return .double(a + b)
    case "-": return .double(a - b)
    case "*": return .double(a * b)
    case "/":
      guard b != 0 else { throw fail("division by zero") }
      return .double(a / b)
    case "//":
      guard b != 0 else { throw fail("division by zero") }
      return .double((a / b).rounded(.down))
    case "**": return .double(pow(a, b))
    case "<": return .bool(a < b)
    case "<=": return .bool(a <= b)
    case ">": return .bool(a > b)
    case ">=": return .bool(a >= b)
    default: throw fail("cannot apply `\(op)` to numbers")
    }
  }
}

/// The candidate closest to `word` by edit distance, if it is close enough to be a likely typo.
public func closest(_ word: String, among candidates: [String]) -> String? {
  let scored = candidates.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
  guard let best = scored.min(by: { $0.1 < $1.1 }) else { return nil }
  return best.1 <= max(2, word.count / 3) ? best.0 : nil
}

/// Candidates sorted by closeness to `word`.
public func closestNames(_ word: String, among candidates: [String], limit: Int) -> [String] {
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
