@preconcurrency import Yams

/// What an op argument must be, for checks of literal values without building.
private enum ArgKind {
  case int(min: Int)
  case pair(min: Int)
  case bool
  case number
  /// One of these words, written unquoted (``Builder/wordValue(_:_:words:)``).
  case word([String])
  /// Paddings: an integer, `[h, w]` or `[top, bottom, left, right]`, each ≥ 0, or one of these words.
  case sides(words: [String])
  /// A layer's name (`like: input`), resolved when building.
  case layer
  case any
}

/// The kinds of the op arguments (the same rules as ``Args`` applies when building).
private let opArgKinds: [String: [String: ArgKind]] = [
  "conv": [
    "out": .int(min: 1), "kernel": .pair(min: 1), "stride": .pair(min: 1), "padding": .sides(words: ["same"]),
    "dilation": .pair(min: 1), "groups": .int(min: 1), "bias": .bool, "table": .any,
    "padding_mode": .word(padModes),
  ],
  "pad": ["pad": .sides(words: []), "mode": .word(padModes), "value": .number],
  "linear": ["out": .int(min: 1), "bias": .bool],
  "bn": ["eps": .number],
  "lrn": ["size": .int(min: 1), "alpha": .number, "beta": .number, "k": .number],
  "leaky_relu": ["slope": .number],
  "scaled_tanh": ["a": .number, "s": .number],
  "gelu": ["approximate": .word(geluApproximations)],
  "maxpool": [
    "kernel": .pair(min: 1), "stride": .pair(min: 1), "padding": .pair(min: 0), "dilation": .pair(min: 1),
    "ceil": .bool,
  ],
  "avgpool": [
    "kernel": .pair(min: 1), "stride": .pair(min: 1), "padding": .pair(min: 0), "ceil": .bool,
    "count_include_pad": .bool,
  ],
  "adaptive_avgpool": ["size": .pair(min: 1)],
  "adaptive_maxpool": ["size": .pair(min: 1)],
  "upsample": [
    "scale_factor": .pair(min: 1), "size": .pair(min: 1), "mode": .word(upsampleModes), "align_corners": .bool,
    "like": .layer,
  ],
  "dropout": ["p": .number],
  "subsample": ["kernel": .int(min: 1)],
  "rbf": ["classes": .int(min: 1)],
  "channel_shuffle": ["groups": .int(min: 1)],
  "maxout": ["k": .int(min: 1)],
  "local": [
    "out": .int(min: 1), "kernel": .pair(min: 1), "stride": .pair(min: 1), "padding": .pair(min: 0), "bias": .bool,
    "tile": .pair(min: 1),
  ],
]

/// The structural items and the keys each takes besides its head.
private let structureKeys: [String: [String]] = [
  "repeat": ["as", "body"], "for": ["in", "body"], "if": ["then", "else"], "seq": ["name"], "add": ["name"],
  "mul": ["name"], "concat": ["name"], "split": ["sizes", "name"], "side": [], "let": [],
  "crop": ["offset", "name"], "from": [],
  "max_unpool": ["name"],
]

extension DefinitionFile {
  /// Parses `text` and checks every model, block and branch of it without building anything; a file
  /// that does not parse gives its one parse error.
  public static func check(path: String, text: String) -> [DefinitionError] {
    do {
      return try DefinitionFile(path: path, text: text).check()
    } catch {
      return [error]
    }
  }

  /// Every problem that can be found without building: unknown ops, blocks, keys and arguments, missing
  /// required arguments, literal values of the wrong type or range, expression syntax, unknown names
  /// and functions in expressions — in `if` branches not taken and blocks no model uses as well.
  /// Problems are in file order. Shape errors (which depend on the input) need a build (`zoo describe`).
  public func check() -> [DefinitionError] {
    var c = DefinitionChecker(file: self)
    c.run()
    return c.problems.sorted { ($0.line, $0.column) < ($1.line, $1.column) }
  }
}

/// Walks a definition file's YAML the way ``Builder`` does, but over every branch, without values.
struct DefinitionChecker {
  let file: DefinitionFile
  var problems: [DefinitionError] = []
  /// Positions already reported (a node reached twice through a YAML alias is reported once).
  private var reported: Set<String> = []
  /// Layer items nested around the one being checked.
  private var itemDepth = 0

  init(file: DefinitionFile) { self.file = file }

  private var blockNames: Set<String> { Set(file.blockOrder) }

  mutating func report(_ node: Yams.Node, _ message: String, column: Int? = nil) {
    let col = column ?? node.column
    guard reported.insert("\(node.line):\(col):\(message)").inserted else { return }
    problems.append(
      DefinitionError(file: file.path, line: node.line, column: col, message: message, builtin: file.isBuiltin))
  }

  mutating func run() {
    // File arguments: each default sees the arguments before it.
    var fileScope: Set<String> = []
    for (k, v) in file.args {
      expression(v, fileScope)
      fileScope.insert(k)
    }
    if let input = file.defaultInput { checkInput(input) }
    for name in file.blockOrder {
      guard let def = file.blocks[name] else { continue }
      var scope: Set<String> = []
      for (k, v) in def.args {
        expression(v, [])
        scope.insert(k)
      }
      for (k, v) in def.lets {
        expression(v, scope)
        scope.insert(k)
      }
      body(def.body, scope)
    }
    if let network = file.network { body(network, fileScope) }
    for m in file.models {
      if let input = m.input { checkInput(input) }
      if let use = m.use {
        guard let def = file.blocks[use] else { continue }
        let names = def.args.map(\.0)
        for (k, v) in m.args {
          if names.contains(k) {
            expression(v, [])
          } else {
            report(v, DefinitionFile.unknown("argument", k, known: names) + " of block `\(use)` (model `\(m.name)`)")
          }
        }
        for (k, v) in def.args where v.isNull && !m.args.contains(where: { $0.0 == k }) {
          report(m.node, "model `\(m.name)` does not give the required argument `\(k)` of block `\(use)`")
        }
      } else {
        let declared = file.args.map(\.0)
        for (k, v) in m.args {
          if declared.contains(k) {
            expression(v, fileScope)
          } else {
            report(v, DefinitionFile.unknownKey(k, in: "model `\(m.name)`", known: declared))
          }
        }
        for (k, v) in file.args where v.isNull && !m.args.contains(where: { $0.0 == k }) {
          report(m.node, "model `\(m.name)` does not give the required argument `\(k)`")
        }
      }
    }
  }

  private mutating func checkInput(_ node: Yams.Node) {
    guard case .sequence(let items) = node, items.count == 3 else {
      if case .sequence = node {
        report(node, "`input` must be [channels, height, width] with three integers")
      } else {
        expression(node, [])
      }
      return
    }
    for (what, item) in zip(["channels", "height", "width"], items) {
      switch literal(item) {
      case .int(let v)?:
        if v < 1 { report(item, "`input` \(what) must be at least 1, got \(v)") }
        if v > maxSize { report(item, "`input` \(what) \(v) is too large; the limit is \(maxSize)") }
      case let v?: report(item, "`input` \(what) must be an integer, got \(clip(v.description))")
      case nil: expression(item, [])
      }
    }
  }

  // MARK: - Layers

  private mutating func body(_ node: Yams.Node, _ scope: Set<String>) {
    guard case .sequence(let items) = node else { return item(node, scope) }
    var scope = scope
    for it in items {
      if case .mapping = it, let pairs = try? DefinitionFile.pairs(it, file.path), pairs.first?.0 == "let" {
        if pairs.count > 1 { report(pairs[1].1, "a `let` item takes no other keys") }
        do {
          for (name, e) in try DefinitionFile.pairs(pairs[0].1, file.path) {
            expression(e, scope.union(["channels"]))
            scope.insert(name)
          }
        } catch {
          problems.append(error)
        }
        continue
      }
      item(it, scope)
    }
  }

  private mutating func item(_ node: Yams.Node, _ outer: Set<String>) {
    itemDepth += 1
    defer { itemDepth -= 1 }
    if itemDepth == Builder.maxItemDepth + 1 {
      report(
        node,
        "layers nest more than \(Builder.maxItemDepth) deep here (lists, branches, loops, conditions inside one "
          + "another); the limit is \(Builder.maxItemDepth)")
    }
    let scope = outer.union(["channels"])
    let head: String
    let headNode: Yams.Node
    let headValue: Yams.Node?
    var extras: [(String, Yams.Node)] = []
    switch node {
    case .scalar(let s):
      guard !node.isNull else { return report(node, "empty layer") }
      head = s.string
      headNode = node
      headValue = nil
    case .mapping:
      let pairs: [(String, Yams.Node)]
      do { pairs = try DefinitionFile.pairs(node, file.path) } catch {
        problems.append(error)
        return
      }
      guard let at = pairs.firstIndex(where: { $0.0 != "name" }) else { return report(node, "empty layer") }
      head = pairs[at].0
      headNode = node
      headValue = pairs[at].1.isNull ? nil : pairs[at].1
      extras = pairs.enumerated().filter { $0.offset != at }.map(\.element)
    case .sequence:
      return body(node, outer)
    }
    func extra(_ key: String) -> Yams.Node? { extras.first { $0.0 == key }?.1 }
    if let nameNode = extra("name") { checkName(nameNode, scope) }

    if let allowed = structureKeys[head] {
      for (k, v) in extras where !allowed.contains(k) {
        report(v, DefinitionFile.unknownKey(k, in: "`\(head)`", known: allowed))
      }
      switch head {
      case "repeat":
        guard let count = headValue else { return report(headNode, "`repeat` needs a count") }
        switch literal(count) {
        case .int(let n)?:
          if n < 0 { report(count, "expected an integer ≥ 0, got \(n)") }
          if n > Builder.maxLayers {
            report(count, "`repeat` count \(n) is more than the \(Builder.maxLayers) layers a network may have")
          }
        case let v?: report(count, "expected an integer, found \(clip(v.description))")
        case nil: expression(count, scope)
        }
        var inner = outer
        if let v = extra("as") {
          if let name = v.scalarText, isIdentifier(name) {
            inner.insert(name)
          } else {
            report(v, "`as` takes a variable name")
          }
        }
        guard let b = extra("body") else { return report(headNode, "`repeat` needs a `body:`") }
        body(b, inner)
      case "for":
        guard let variable = headValue?.scalarText, isIdentifier(variable) else {
          return report(headValue ?? headNode, "`for` takes a variable name")
        }
        guard let list = extra("in"), let b = extra("body") else {
          return report(headNode, "`for` needs `in:` and `body:`")
        }
        if let v = literal(list), !isList(v) { report(list, "`in` must be a list") }
        expression(list, scope)
        body(b, outer.union([variable]))
      case "if":
        guard let cond = headValue else { return report(headNode, "`if` needs a condition") }
        expression(cond, scope)
        guard let then = extra("then") else { return report(headNode, "`if` needs `then:`") }
        body(then, outer)
        if let other = extra("else") { body(other, outer) }
      case "seq":
        guard let items = headValue else { return report(headNode, "`seq` needs a list of layers") }
        body(items, outer)
      case "add", "mul", "concat":
        guard case .sequence(let branches)? = headValue, branches.count >= 2 else {
          return report(headNode, "`\(head)` needs a list of at least two branches")
        }
        for b in branches { body(b, outer) }
      case "split":
        guard case .sequence(let branches)? = headValue, branches.count >= 2 else {
          return report(headNode, "`split` needs a list of at least two branches")
        }
        if let sizes = extra("sizes") {
          if let v = literal(sizes), !isList(v) { report(sizes, "`sizes` must be a list of channel counts") }
          expression(sizes, scope)
        }
        for b in branches { body(b, outer) }
      case "side":
        guard let layers = headValue else { return report(headNode, "`side` needs layers") }
        body(layers, outer)
      case "crop", "from":
        // The layer is looked up when building (names are known only then).
        guard let layer = headValue, layer.scalarText != nil else {
          return report(headNode, "`\(head)` needs a layer's name")
        }
        if let offset = extra("offset") {
          if let v = literal(offset), let why = mismatch(v, .pair(min: 0)) {
            report(offset, "`offset` must be \(why), got \(clip(v.description))")
          } else if literal(offset) == nil {
            expression(offset, scope)
          }
        }
      case "max_unpool":
        // The pool is looked up when building (it depends on the layers before it).
        guard headValue?.scalarText != nil else {
          return report(headValue ?? headNode, "`max_unpool` needs the name of the max pool whose switches it reads")
        }
      default:
        report(
          headNode,
          "`{let: {name: value}}` names values for the rest of a list, so it must be an item of a list of layers")
      }
      return
    }

    if let spec = opSpecs[head] {
      arguments(
        spec.args.map { ($0.0, $0.1 == nil) }, kinds: opArgKinds[head] ?? [:], head: headValue,
        extras: extras.filter { $0.0 != "name" }, scope, at: headNode, what: "`\(head)`", positional: false)
      return
    }
    if outer.contains(head) {
      // A block passed as an argument (`block: bottleneck`): its arguments are known only when built.
      switch headValue {
      case .mapping?:
        if let pairs = try? DefinitionFile.pairs(headValue!, file.path) { for (_, v) in pairs { valuesOf(v, scope) } }
      case let v?: valuesOf(v, scope)
      case nil: break
      }
      for (k, v) in extras where k != "name" { expression(v, scope) }
      return
    }
    guard let def = file.blocks[head] else {
      let known =
        Array(opSpecs.keys) + file.blockOrder + [
          "repeat", "for", "if", "seq", "add", "mul", "concat", "split", "side", "let", "crop", "from", "max_unpool",
        ]
      return report(headNode, DefinitionFile.unknown("op or block", head, known: known))
    }
    arguments(
      def.args.map { ($0.0, $0.1.isNull) }, kinds: [:], head: headValue, extras: extras.filter { $0.0 != "name" },
      scope, at: headNode, what: "block `\(def.name)`", positional: true)
  }

  /// Checks the arguments of an op or block call as ``Builder``'s `bind` binds them.
  private mutating func arguments(
    _ spec: [(String, Bool)], kinds: [String: ArgKind], head: Yams.Node?, extras: [(String, Yams.Node)],
    _ scope: Set<String>, at node: Yams.Node, what: String, positional: Bool
  ) {
    var given = extras
    if let head {
      if case .sequence(let items) = head, positional {
        if items.count > spec.count { report(head, "\(what) takes \(spec.count) arguments, got \(items.count)") }
        given = zip(spec, items).map { ($0.0, $1) } + given
      } else if case .mapping = head {
        do { given = try DefinitionFile.pairs(head, file.path) + given } catch { problems.append(error) }
      } else if let first = spec.first {
        given.insert((first.0, head), at: 0)
      } else {
        report(head, "\(what) takes no arguments")
      }
    }
    let names = spec.map(\.0)
    var seen: Set<String> = []
    for (k, v) in given {
      guard names.contains(k) else {
        report(v, DefinitionFile.unknown("argument", k, known: names) + " of \(what)")
        continue
      }
      if !seen.insert(k).inserted { report(v, "\(what) gets the argument `\(k)` twice") }
      if case .word(let words)? = kinds[k], let w = v.plainWord, words.contains(w) || !scope.contains(w) {
        if !words.contains(w) { report(v, "`\(k)` must be \(wordList(words)), got `\(w)`") }
        continue
      }
      if case .sides(let words)? = kinds[k], let w = v.plainWord, words.contains(w) { continue }
      if case .layer? = kinds[k] {
        if v.scalarText == nil { report(v, "`\(k)` must be a layer's name") }
        continue
      }
      if let kind = kinds[k], let lit = literal(v) {
        if let why = mismatch(lit, kind) { report(v, "`\(k)` must be \(why), got \(clip(lit.description))") }
      } else {
        valuesOf(v, scope)
      }
    }
    for (k, required) in spec where required && !seen.contains(k) {
      report(node, "\(what) is missing the argument `\(k)`")
    }
  }

  /// Why a literal value does not fit an argument kind, or nil when it fits.
  private func mismatch(_ v: Value, _ kind: ArgKind) -> String? {
    func intOK(_ v: Value, _ min: Int) -> Bool {
      if case .int(let i) = v { return i >= min && i <= maxSize }
      return false
    }
    switch kind {
    case .any, .layer: return nil
    case .sides(let words):
      if case .string(let w) = v, words.contains(w) { return nil }
      if intOK(v, 0) { return nil }
      if case .list(let l) = v, [2, 4].contains(l.count), l.allSatisfy({ intOK($0, 0) }) { return nil }
      return "an integer in 0...\(maxSize), [height, width] or [top, bottom, left, right]"
        + (words.isEmpty ? "" : " or \(wordList(words))")
    case .int(let min):
      return intOK(v, min) ? nil : "an integer in \(min)...\(maxSize)"
    case .pair(let min):
      if case .null = v { return nil }
      if intOK(v, min) { return nil }
      if case .list(let l) = v, l.count == 2, intOK(l[0], min), intOK(l[1], min) { return nil }
      return "an integer in \(min)...\(maxSize) or [height, width]"
    case .bool:
      if case .bool = v { return nil }
      return "true or false"
    case .number:
      switch v {
      case .int, .double: return nil
      default: return "a number"
      }
    case .word(let words):
      if case .string(let s) = v, words.contains(s) { return nil }
      return wordList(words)
    }
  }

  // MARK: - Values

  /// A value written directly (a number, true/false, a quoted literal, a list of them), or nil when
  /// it is an expression or contains one.
  private func literal(_ node: Yams.Node) -> Value? {
    switch node {
    case .scalar(let s):
      if node.isNull { return .null }
      let text = s.string
      if let i = Int(text) { return .int(i) }
      if s.style == .plain || s.style == .any {
        if text == "true" { return .bool(true) }
        if text == "false" { return .bool(false) }
      }
      if let d = Double(text), d.isFinite, text.contains(where: { $0 == "." || $0 == "e" }) { return .double(d) }
      if case .literal(let v)? = try? ExpressionParser.parse(text) { return v }
      return nil
    case .sequence(let items):
      var out: [Value] = []
      for i in items {
        guard let v = literal(i) else { return nil }
        out.append(v)
      }
      return .list(out)
    case .mapping:
      return nil
    }
  }

  private func isList(_ v: Value) -> Bool {
    if case .list = v { return true }
    return false
  }

  /// Checks a value: a list's items, or a scalar's expression.
  private mutating func valuesOf(_ node: Yams.Node, _ scope: Set<String>) {
    switch node {
    case .sequence(let items): for i in items { valuesOf(i, scope) }
    case .mapping: report(node, "expected a value, found a mapping")
    case .scalar: expression(node, scope)
    }
  }

  /// Checks the syntax of a scalar's expression and the names and functions it uses.
  private mutating func expression(_ node: Yams.Node, _ scope: Set<String>) {
    guard case .scalar(let s) = node else { return valuesOf(node, scope) }
    if node.isNull || literal(node) != nil { return }
    let text = s.string
    let quoted = s.style == .singleQuoted || s.style == .doubleQuoted ? 1 : 0
    do {
      let e = try ExpressionParser.parse(text)
      var unknown: [(String, Int)] = []
      names(e, scope, &unknown)
      for (message, offset) in unknown {
        report(node, "in `\(clip(text))`: \(message)", column: node.column + quoted + offset)
      }
    } catch {
      report(node, "in `\(clip(text))`: \(error.message)", column: node.column + quoted + error.offset)
    }
  }

  private func names(_ e: Expr, _ scope: Set<String>, _ out: inout [(String, Int)]) {
    switch e {
    case .literal: break
    case .name(let n, let offset):
      if !scope.contains(n) && file.blocks[n] == nil {
        var message = "unknown name `\(clip(n))`"
        if let s = closest(n, among: Array(scope) + file.blockOrder) { message += " — did you mean `\(s)`?" }
        out.append((message, offset))
      }
    case .list(let items): for i in items { names(i, scope, &out) }
    case .unary(_, let x, _): names(x, scope, &out)
    case .binary(_, let a, let b, _):
      names(a, scope, &out)
      names(b, scope, &out)
    case .ternary(let c, let a, let b):
      names(c, scope, &out)
      names(a, scope, &out)
      names(b, scope, &out)
    case .call(let f, let args, let offset):
      if !Evaluator.functions.contains(f) {
        var message = "unknown function `\(clip(f))`"
        if let s = closest(f, among: Evaluator.functions) { message += " — did you mean `\(s)`?" }
        out.append((message, offset))
      }
      for a in args { names(a, scope, &out) }
    case .index(let x, let i, _):
      names(x, scope, &out)
      names(i, scope, &out)
    }
  }

  /// Checks a name template: its `{expression}` parts and its length.
  private mutating func checkName(_ node: Yams.Node, _ scope: Set<String>) {
    guard let text = node.scalarText, !text.isEmpty else { return report(node, "a name must be text") }
    guard text.count <= Builder.maxNameLength else {
      return report(
        node, "the name `\(clip(text))` has \(text.count) characters; the limit is \(Builder.maxNameLength)")
    }
    var rest = Substring(text)
    var literalText = ""
    while let open = rest.firstIndex(of: "{") {
      literalText += rest[..<open]
      guard let close = rest[open...].firstIndex(of: "}") else {
        return report(node, "unclosed `{` in the name `\(text)`")
      }
      let inner = String(rest[rest.index(after: open)..<close])
      do {
        var unknown: [(String, Int)] = []
        names(try ExpressionParser.parse(inner), scope, &unknown)
        if let (message, _) = unknown.first { report(node, "in the name `\(text)`: \(message)") }
      } catch {
        report(node, "in the name `\(text)`: \(error.message)")
      }
      rest = rest[rest.index(after: close)...]
    }
    literalText += rest
    if literalText.contains(".") {
      report(node, "the name `\(text)` must be without dots (dots separate module paths)")
    }
  }

  private func isIdentifier(_ s: String) -> Bool {
    guard let f = s.first, f.isLetter || f == "_" else { return false }
    return s.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
  }
}
