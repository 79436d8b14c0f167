@preconcurrency import Yams
import ZooGraph

/// Expands a model of a definition file into a ``Graph``, inferring shapes as it goes so that
/// input channels and input features are filled in and the running channel count (`channels`) is
/// known to every layer.
struct Builder {
  let file: DefinitionFile
  private var nodes: [ZooGraph.Node] = []
  private var shapes: [[Int]] = []
  private var modules: [Module] = []
  private var sideOutputs: [Int] = []
  /// The output of every layer and module built so far, by path (`input` too), for `from`, `crop` and
  /// `upsample`'s `like`.
  private var built: [String: Tensor] = [:]
  private var paths: Set<String> = []
  /// Block calls under way, outermost first (to stop runaway recursion with a clear error).
  private var callStack: [String] = []
  /// Loop iterations and items expanded so far, against `maxExpansion`.
  private var expanded = 0
  static let maxExpansion = 2_000_000

  /// Most layers a network may have, and most block calls nested in one another: far above any real
  /// network (DenseNet-201 has 700 layers, 4 levels; block calls stay below ``maxItemDepth``), low enough that a runaway `repeat` or a block that
  /// calls itself ends in an error instead of exhausting memory or the stack.
  static let maxLayers = 200_000
  static let maxNesting = 32

  /// Most layer items nested in one another, counting lists, branches, loops, conditions and the bodies
  /// of block calls: the built-in networks nest at most 10 deep; the limit keeps the builder's recursion
  /// inside the stack whatever blocks call what (a debug build's `item` frame is about 40 KB).
  static let maxItemDepth = 64
  private var itemDepth = 0

  /// The longest layer name (one path component) and module path, in characters, and the most
  /// characters all layer paths of a network may have together.
  static let maxNameLength = 256
  static let maxPathLength = 1024
  static let maxTotalPathCharacters = 32_000_000
  private var pathCharacters = 0

  /// Evaluation steps left for this build (expressions and list elements).
  private let budget = EvaluationBudget()
  /// What each scalar text of the file means, read once: a block body is expanded many times (DenseNet-201
  /// expands its dense layer 98 times), and reading the same text again gives the same result.
  private let scalars = ScalarCache()

  init(file: DefinitionFile) { self.file = file }

  struct Tensor {
    var id: Int
    var shape: [Int]
  }

  /// A naming scope: the module whose children are being created.
  final class Context {
    let path: String
    /// `seq` modules name unnamed children by position; blocks name them by op.
    let indexed: Bool
    var nextIndex = 0
    var used: [String: Int] = [:]
    init(path: String, indexed: Bool) {
      self.path = path
      self.indexed = indexed
    }
  }

  typealias Scope = [String: Value]

  // MARK: - Entry point

  /// The arguments `model` builds with, in declaration order: the network's (or its `use` block's)
  /// arguments with their defaults, replaced by the model's own values. A required argument the model
  /// does not give has no value.
  func arguments(_ model: DefinitionFile.ModelEntry) throws(DefinitionError) -> [ModelArgument] {
    let declared: [(String, Yams.Node)]
    if let use = model.use, let def = file.blocks[use] { declared = def.args } else { declared = file.args }
    var scope: Scope = [:]
    var result: [ModelArgument] = []
    for (k, v) in declared {
      let given = model.args.first { $0.0 == k }
      let node = given?.1 ?? v
      let value = node.isNull ? nil : try self.value(node, scope)
      if let value { scope[k] = value }
      result.append(ModelArgument(name: k, value: value, setByModel: given != nil))
    }
    return result
  }

  mutating func build(_ model: DefinitionFile.ModelEntry, input: [Int]?, overrides: [(String, Value)])
    throws(DefinitionError) -> Graph
  {
    let inputShape: [Int]
    if let input {
      inputShape = input
    } else if let node = model.input ?? file.defaultInput {
      guard case .list(let items) = try value(node, [:]), items.count == 3,
        case .int(let c) = items[0], case .int(let h) = items[1], case .int(let w) = items[2]
      else { throw error(node, "`input` must be [channels, height, width] with three integers") }
      for (what, v) in [("channels", c), ("height", h), ("width", w)] {
        guard v >= 1 else { throw error(node, "`input` \(what) must be at least 1, got \(v)") }
        guard v <= maxSize else { throw error(node, "`input` \(what) \(v) is too large; the limit is \(maxSize)") }
      }
      inputShape = [c, h, w]
    } else {
      throw error(model.node, "model `\(model.name)` has no `input:` (give one in the file or with --input)")
    }
    nodes = [ZooGraph.Node(id: 0, name: "input", op: .input, inputs: [])]
    shapes = [inputShape]
    paths = ["input"]
    let root = Context(path: "", indexed: false)
    let x = Tensor(id: 0, shape: inputShape)
    built = ["input": x]
    let out: Tensor
    if let use = model.use, let def = file.blocks[use] {
      var args = model.args
      args.removeAll { a in overrides.contains { $0.0 == a.0 } }
      let scope = try bindBlockArgs(
        def, head: nil, extras: args, callerScope: [:], at: model.node, overrides: overrides)
      out = try body(def.body, scope, root, x)
    } else {
      var scope: Scope = [:]
      var declared = Set<String>()
      for (k, v) in file.args {
        declared.insert(k)
        if !v.isNull { scope[k] = try value(v, scope) }
      }
      for (k, v) in model.args {
        guard declared.contains(k) else {
          throw error(v, DefinitionFile.unknownKey(k, in: "model `\(model.name)`", known: file.args.map(\.0)))
        }
        scope[k] = try value(v, scope)
      }
      for (k, v) in overrides {
        guard declared.contains(k) else {
          throw error(model.node, DefinitionFile.unknown("argument", k, known: file.args.map(\.0)))
        }
        scope[k] = v
      }
      for (k, v) in file.args where scope[k] == nil {
        throw error(v, "model `\(model.name)` does not give the required argument `\(k)`")
      }
      guard let network = file.network else { throw error(model.node, "the file has no `network:`") }
      out = try body(network, scope, root, x)
    }
    return Graph(
      name: model.name, family: file.family, description: model.description ?? file.description,
      inputShape: inputShape, nodes: nodes, outputs: [out.id] + sideOutputs, modules: modules)
  }

  // MARK: - Layers

  /// A list of items (or a single item) applied in order.
  mutating func body(_ node: Yams.Node, _ scope: Scope, _ ctx: Context, _ x: Tensor) throws(DefinitionError)
    -> Tensor
  {
    guard case .sequence(let items) = node else { return try item(node, scope, ctx, x) }
    var scope = scope
    var x = x
    for it in items {
      // The running channel count, set in this list's own scope (copied once per list, not once per item)
      // so that `withShape` finds it already there; every item and `let` sees it there, as before.
      let channels = Value.int(x.shape[0])
      if scope["channels"] != channels { scope["channels"] = channels }
      // `let` items add names for the rest of the list (a malformed mapping is reported by `item`).
      if case .mapping(let m) = it, m.first?.key.scalarText == "let" {
        let pairs = try DefinitionFile.pairs(it, file.path)
        if pairs.count > 1 { throw error(pairs[1].1, "a `let` item takes no other keys") }
        for (name, e) in try DefinitionFile.pairs(pairs[0].1, file.path) {
          scope[name] = try value(e, withShape(scope, x))
        }
        continue
      }
      x = try item(it, scope, ctx, x)
    }
    return x
  }

  /// `scope` with `channels` set to the input's channel count (without a copy when it already is).
  private func withShape(_ scope: Scope, _ x: Tensor) -> Scope {
    let channels = Value.int(x.shape[0])
    if scope["channels"] == channels { return scope }
    var s = scope
    s["channels"] = channels
    return s
  }

  mutating func item(_ node: Yams.Node, _ outerScope: Scope, _ ctx: Context, _ x: Tensor)
    throws(DefinitionError) -> Tensor
  {
    try countExpansion(node)
    itemDepth += 1
    defer { itemDepth -= 1 }
    guard itemDepth <= Self.maxItemDepth else {
      throw error(
        node,
        "layers nest more than \(Self.maxItemDepth) deep here (lists, branches, loops, conditions and block "
          + "bodies inside one another); the limit is \(Self.maxItemDepth)")
    }
    let scope = withShape(outerScope, x)
    let head: String
    let headValue: Yams.Node?
    var extras: [(String, Yams.Node)] = []
    switch node {
    case .scalar(let s):
      guard !node.isNull else { throw error(node, "empty layer") }
      head = s.string
      headValue = nil
    case .mapping:
      let pairs = try DefinitionFile.pairs(node, file.path)
      // The first key other than `name` says what the item is.
      guard let at = pairs.firstIndex(where: { $0.0 != "name" }) else { throw error(node, "empty layer") }
      head = pairs[at].0
      headValue = pairs[at].1.isNull ? nil : pairs[at].1
      extras = pairs.enumerated().filter { $0.offset != at }.map(\.element)
    case .sequence:
      return try body(node, outerScope, ctx, x)
    }
    func extra(_ key: String) -> Yams.Node? { extras.first { $0.0 == key }?.1 }
    func only(_ allowed: [String]) throws(DefinitionError) {
      for (k, v) in extras where !allowed.contains(k) {
        throw error(v, DefinitionFile.unknownKey(k, in: "`\(head)`", known: allowed))
      }
    }
    func required(_ what: String) throws(DefinitionError) -> Yams.Node {
      guard let headValue else { throw error(node, "`\(head)` needs \(what)") }
      return headValue
    }

    switch head {
    case "repeat":
      try only(["as", "body"])
      let count = try int(try required("a count"), scope, min: 0)
      guard count <= Self.maxLayers else {
        throw error(node, "`repeat` count \(count) is more than the \(Self.maxLayers) layers a network may have")
      }
      guard let b = extra("body") else { throw error(node, "`repeat` needs a `body:`") }
      let variable = extra("as")?.scalarText
      if let v = extra("as"), !(variable.map(isIdentifier) ?? false) { throw error(v, "`as` takes a variable name") }
      var x = x
      for i in 0..<count {
        try countExpansion(node)
        var s = outerScope
        if let variable { s[variable] = .int(i) }
        x = try body(b, s, ctx, x)
      }
      return x
    case "for":
      try only(["in", "body"])
      guard let variable = try required("a variable name").scalarText, isIdentifier(variable) else {
        throw error(node, "`for` takes a variable name")
      }
      guard let listNode = extra("in"), let b = extra("body") else {
        throw error(node, "`for` needs `in:` and `body:`")
      }
      guard case .list(let values) = try value(listNode, scope) else {
        throw error(listNode, "`in` must be a list")
      }
      var x = x
      for v in values {
        try countExpansion(node)
        var s = outerScope
        s[variable] = v
        x = try body(b, s, ctx, x)
      }
      return x
    case "if":
      try only(["then", "else"])
      let cond = try value(try required("a condition"), scope).truthy
      guard let then = extra("then") else { throw error(node, "`if` needs `then:`") }
      if cond { return try body(then, outerScope, ctx, x) }
      if let other = extra("else") { return try body(other, outerScope, ctx, x) }
      return x
    case "seq":
      try only(["name"])
      let items = try required("a list of layers")
      guard let nameNode = extra("name") else { return try body(items, outerScope, ctx, x) }
      let path = try childPath(ctx, try name(nameNode, scope), kind: "seq", at: nameNode)
      modules.append(Module(path: path, kind: "seq"))
      let out = try body(items, outerScope, Context(path: path, indexed: true), x)
      built[path] = out
      return out
    case "add", "mul", "concat":
      try only(["name"])
      guard case .sequence(let branches) = try required("a list of branches"), branches.count >= 2
      else { throw error(node, "`\(head)` needs a list of at least two branches") }
      var ins: [Tensor] = []
      for b in branches {
        if case .sequence(let s) = b, s.isEmpty {
          ins.append(x)
        } else {
          ins.append(try body(b, outerScope, ctx, x))
        }
      }
      let op: Op = head == "add" ? .add : head == "mul" ? .mul : .concat
      let path = try childPath(
        ctx, try extra("name").map { n throws(DefinitionError) in try name(n, scope) }, kind: head, at: node)
      return try addNode(path, op, ins, at: node)
    case "split":
      try only(["sizes", "name"])
      guard case .sequence(let branches) = try required("a list of branches"), branches.count >= 2
      else { throw error(node, "`split` needs a list of at least two branches") }
      let given = try extra("name").map { n throws(DefinitionError) in try name(n, scope) }
      let label = given.map { "layer `\(ctx.path.isEmpty ? $0 : "\(ctx.path).\($0)")`" } ?? "a `split`"
      guard x.shape.count == 3 else {
        throw error(node, "\(label): `split` needs a C×H×W feature map, but its input is \(format(x.shape))")
      }
      let channels = x.shape[0]
      var sizes: [Int] = []
      if let sizesNode = extra("sizes") {
        guard case .list(let values) = try value(sizesNode, scope), values.count == branches.count else {
          throw error(
            sizesNode, "\(label): `sizes` must list one channel count for each of the \(branches.count) branches")
        }
        for v in values {
          guard case .int(let n) = v, n >= 1 else {
            throw error(sizesNode, "\(label): `sizes` must be channel counts ≥ 1, got \(v)")
          }
          sizes.append(n)
        }
        guard sizes.reduce(0, +) == channels else {
          throw error(
            sizesNode,
            "\(label): `sizes` \(sizes) add up to \(sizes.reduce(0, +)) channels, but the input has \(channels)")
        }
      } else {
        // torch.chunk: ⌈C / N⌉ channels per piece, the last piece smaller.
        let piece = (channels + branches.count - 1) / branches.count
        var left = channels
        while left > 0 {
          sizes.append(min(piece, left))
          left -= piece
        }
        guard sizes.count == branches.count else {
          throw error(
            node,
            "\(label): chunking \(channels) channels into \(branches.count) branches gives \(sizes.count) pieces "
              + "(torch.chunk's ⌈\(channels)/\(branches.count)⌉ = \(piece) per piece); give `sizes`")
        }
      }
      var ins: [Tensor] = []
      var start = 0
      for (b, size) in zip(branches, sizes) {
        let slicePath = try childPath(ctx, nil, kind: "slice", at: b)
        let piece = try addNode(slicePath, .channelSlice(start: start, count: size), [x], at: b)
        start += size
        if case .sequence(let s) = b, s.isEmpty {
          ins.append(piece)
        } else {
          ins.append(try body(b, outerScope, ctx, piece))
        }
      }
      return try addNode(try childPath(ctx, given, kind: "concat", at: node), .concat, ins, at: node)
    case "from":
      try only([])
      return try layer(try required("a layer's name"), scope, ctx)
    case "crop":
      try only(["offset", "name"])
      let like = try layer(try required("the name of the layer whose size it takes"), scope, ctx)
      let given = try extra("name").map { n throws(DefinitionError) in try name(n, scope) }
      var offset: Pair? = nil
      if let o = extra("offset") {
        let label = given.map { "layer `\(ctx.path.isEmpty ? $0 : "\(ctx.path).\($0)")`" } ?? "a `crop`"
        switch try value(o, scope) {
        case .int(let i) where i >= 0 && i <= maxSize: offset = Pair(i)
        case .list(let l) where l.count == 2:
          if case .int(let a) = l[0], case .int(let b) = l[1], a >= 0, b >= 0, a <= maxSize, b <= maxSize {
            offset = Pair(a, b)
          }
        default: break
        }
        guard offset != nil else {
          throw error(o, "\(label): `offset` must be an integer ≥ 0 or [y, x], got \(try value(o, scope))")
        }
      }
      let path = try childPath(ctx, given, kind: "crop", at: node)
      return try addNode(path, .crop(Crop(offset: offset)), [x, like], at: node)
    case "let":
      throw error(
        node, "`{let: {name: value}}` names values for the rest of a list, so it must be an item of a list of layers")
    case "max_unpool":
      try only(["name"])
      return try maxUnpool(
        node, try required("the name of the max pool whose switches it reads"), scope, ctx, x,
        given: try extra("name").map { n throws(DefinitionError) in try name(n, scope) })
    case "side":
      try only([])
      let out = try body(try required("layers"), outerScope, ctx, x)
      sideOutputs.append(out.id)
      return x
    default:
      break
    }

    if let spec = opSpecs[head] {
      // `like: LAYER` (upsample) names a layer, not a value: it becomes the node's second input.
      let likeNode = head == "upsample" ? extra("like").flatMap { $0.isNull ? nil : $0 } : nil
      let like = try likeNode.map { n throws(DefinitionError) in try layer(n, scope, ctx) }
      var values = try bind(
        spec.args, words: spec.words, head: headValue,
        extras: extras.filter { $0.0 != "name" && !(likeNode != nil && $0.0 == "like") }, scope, at: node,
        what: "`\(head)`")
      values.removeValue(forKey: "name")
      let op: Op
      do {
        op = try makeOp(head, Args(values: values, builder: self, at: node), x, like: like != nil)
      } catch {
        var e = error
        let given = extra("name").flatMap { try? name($0, scope) }
        e.context = given.map { "layer `\(ctx.path.isEmpty ? $0 : "\(ctx.path).\($0)")`" } ?? "a `\(head)` layer"
        throw e
      }
      let path = try childPath(
        ctx, try extra("name").map { n throws(DefinitionError) in try name(n, scope) }, kind: op.kindName, at: node)
      return try addNode(path, op, like.map { [x, $0] } ?? [x], at: node)
    }

    let blockName: String
    if case .block(let b)? = outerScope[head] {
      blockName = b
    } else if file.blocks[head] != nil {
      blockName = head
    } else {
      let known =
        Array(opSpecs.keys) + file.blockOrder + [
          "repeat", "for", "if", "seq", "add", "mul", "concat", "split", "side", "let", "crop", "from", "max_unpool",
        ]
      throw error(node, DefinitionFile.unknown("op or block", head, known: known))
    }
    let def = file.blocks[blockName]!
    let blockScope = try bindBlockArgs(
      def, head: headValue, extras: extras.filter { $0.0 != "name" }, callerScope: scope, at: node, overrides: [])
    let path = try childPath(
      ctx, try extra("name").map { n throws(DefinitionError) in try name(n, scope) }, kind: blockName, at: node)
    modules.append(Module(path: path, kind: blockName))
    guard callStack.count < Self.maxNesting else {
      let chain = (callStack.suffix(4) + [blockName]).joined(separator: " → ")
      throw error(
        node, "block calls nest more than \(Self.maxNesting) deep (… \(chain)): does a block call itself without end?")
    }
    callStack.append(blockName)
    defer { callStack.removeLast() }
    let out = try body(def.body, blockScope, Context(path: path, indexed: false), x)
    built[path] = out
    return out
  }

  /// The paths a layer name may mean from inside `ctx`, innermost first: `pool1` inside `decoder.stage1`
  /// is `decoder.stage1.pool1`, then `decoder.pool1`, then `pool1`.
  private func enclosingPaths(_ name: String, _ ctx: Context) -> [String] {
    var paths: [String] = []
    var prefix = ctx.path
    while true {
      paths.append(prefix.isEmpty ? name : "\(prefix).\(name)")
      if prefix.isEmpty { return paths }
      prefix = prefix.lastIndex(of: ".").map { String(prefix[..<$0]) } ?? ""
    }
  }

  /// The output of the layer or module a `from`, `crop` or `like` names: a path as `zoo describe` prints
  /// it, looked up inside the enclosing modules first (innermost first), so a block refers to its own
  /// layers by their short names. Only layers built before this point can be named.
  private func layer(_ node: Yams.Node, _ scope: Scope, _ ctx: Context) throws(DefinitionError) -> Tensor {
    let text = try name(node, scope, dots: true)
    for path in enclosingPaths(text, ctx) {
      if let t = built[path] { return t }
    }
    let known = Array(built.keys)
    throw error(
      node,
      DefinitionFile.unknown("layer", text, known: known)
        + " before this point (a layer is named by its path, as `zoo describe` prints it, or relative to an "
        + "enclosing module\(ctx.path.isEmpty ? "" : " such as `\(ctx.path)`"))")
  }

  /// `{max_unpool: POOL}`: unpooling by the switches of the earlier max pool `POOL`, a layer path (with
  /// `{expression}` parts like a name) looked up inside the current module, then in each enclosing one
  /// out to the network (`pool1` inside `decoder` finds `decoder.pool1`, then `pool1`).
  private mutating func maxUnpool(
    _ node: Yams.Node, _ ref: Yams.Node, _ scope: Scope, _ ctx: Context, _ x: Tensor, given: String?
  ) throws(DefinitionError) -> Tensor {
    let layer = "layer `\(given.map { ctx.path.isEmpty ? $0 : "\(ctx.path).\($0)" } ?? "max_unpool")`"
    let target = try name(ref, scope, dots: true)
    let candidates = enclosingPaths(target, ctx)
    let existing = nodes
    guard let pool = candidates.lazy.compactMap({ c in existing.firstIndex { $0.name == c } }).first else {
      let looked = candidates.map { "`\($0)`" }.joined(separator: ", ")
      if let later = laterLayer(named: target.split(separator: ".").last.map(String.init) ?? target, after: node) {
        throw error(
          ref,
          "\(layer): the pool `\(target)` comes later (line \(later.line)); `max_unpool` reads the switches of an "
            + "earlier max pool")
      }
      throw error(
        ref,
        "\(layer): `max_unpool` names the pool `\(target)`, but no earlier layer is called that (looked for \(looked))")
    }
    guard case .pool(let window) = nodes[pool].op, window.kind == .max else {
      throw error(
        ref,
        "\(layer): `\(nodes[pool].name)` is a `\(nodes[pool].op.kindName)`, not a `maxpool`; only a max pool keeps "
          + "switches to unpool by")
    }
    guard x.shape.count == 3 else {
      throw error(node, "\(layer): `max_unpool` needs a C×H×W feature map, but its input is \(format(x.shape))")
    }
    let path = try childPath(ctx, given, kind: "max_unpool", at: node)
    return try addNode(path, .maxUnpool(MaxUnpool(pool: pool, window: window)), [x], at: node)
  }

  /// The first layer item after `node` in the file (in any model, block or branch) whose `name` is
  /// `name`, for the error of an unpool that names a later pool.
  private func laterLayer(named name: String, after node: Yams.Node) -> Yams.Node? {
    func walk(_ n: Yams.Node) -> Yams.Node? {
      switch n {
      case .mapping(let m):
        if let v = m["name"], v.scalarText == name, (n.line, n.column) > (node.line, node.column) { return n }
        for (_, v) in m { if let hit = walk(v) { return hit } }
        return nil
      case .sequence(let items):
        for i in items { if let hit = walk(i) { return hit } }
        return nil
      default: return nil
      }
    }
    for body in [file.network].compactMap({ $0 }) + file.blockOrder.compactMap({ file.blocks[$0]?.body }) {
      if let hit = walk(body) { return hit }
    }
    return nil
  }

  /// Counts one item or loop iteration against `maxExpansion`.
  private mutating func countExpansion(_ node: Yams.Node) throws(DefinitionError) {
    expanded += 1
    guard expanded <= Self.maxExpansion else {
      throw error(node, "the definition expands to more than \(Self.maxExpansion) items; is a loop count too large?")
    }
  }

  private mutating func addNode(_ path: String, _ op: Op, _ ins: [Tensor], at node: Yams.Node)
    throws(DefinitionError) -> Tensor
  {
    let shape: [Int]
    do {
      var inShapes = ins.map(\.shape)
      if case .maxUnpool(let u) = op {
        inShapes += [shapes[u.pool], shapes[nodes[u.pool].inputs[0]]]
      }
      shape = try op.outputShape(inShapes)
    } catch {
      throw self.error(node, "layer `\(path)`: \(error.message)")
    }
    guard nodes.count < Self.maxLayers else {
      throw self.error(node, "the network has more than \(Self.maxLayers) layers (at `\(path)`)")
    }
    let n = ZooGraph.Node(id: nodes.count, name: path, op: op, inputs: ins.map(\.id))
    do {
      for t in n.tensors { _ = try checkedProduct(t.shape, "elements of \(t.name)") }
    } catch {
      throw self.error(node, "layer `\(path)`: \(error)")
    }
    nodes.append(n)
    shapes.append(shape)
    built[path] = Tensor(id: n.id, shape: shape)
    return Tensor(id: n.id, shape: shape)
  }

  /// The full path of a new child of `ctx`, named `given` or automatically.
  private mutating func childPath(_ ctx: Context, _ given: String?, kind: String, at node: Yams.Node)
    throws(DefinitionError) -> String
  {
    var local: String
    if ctx.indexed {
      local = given ?? String(ctx.nextIndex)
      ctx.nextIndex += 1
    } else if let given {
      local = given
    } else {
      let n = ctx.used[kind, default: 0]
      local = n == 0 ? kind : "\(kind)_\(n)"
      ctx.used[kind] = n + 1
      while paths.contains(ctx.path.isEmpty ? local : "\(ctx.path).\(local)") {
        ctx.used[kind, default: 0] += 1
        local = "\(kind)_\(ctx.used[kind]! - 1)"
      }
    }
    let path = ctx.path.isEmpty ? local : "\(ctx.path).\(local)"
    guard path.utf8.count <= Self.maxPathLength else {
      throw error(
        node,
        "the layer path `\(clip(path))` has \(path.count) characters; the limit is \(Self.maxPathLength)")
    }
    pathCharacters += path.utf8.count
    guard pathCharacters <= Self.maxTotalPathCharacters else {
      throw error(
        node,
        "the layer paths take more than \(Self.maxTotalPathCharacters) characters together (at `\(clip(path))`); "
          + "are the names too long?")
    }
    guard paths.insert(path).inserted else { throw error(node, "duplicate layer name `\(clip(path))`") }
    return path
  }

  // MARK: - Arguments

  private func bindBlockArgs(
    _ def: DefinitionFile.BlockDef, head: Yams.Node?, extras: [(String, Yams.Node)], callerScope: Scope,
    at node: Yams.Node, overrides: [(String, Value)]
  ) throws(DefinitionError) -> Scope {
    var spec: [(String, Value?)] = []
    for (k, v) in def.args { spec.append((k, v.isNull ? nil : try value(v, [:]))) }
    var scope = try bind(
      spec, head: head, extras: extras, callerScope, at: node, what: "block `\(def.name)`",
      overrides: overrides, positional: true)
    for (k, v) in def.lets { scope[k] = try value(v, scope) }
    return scope
  }

  /// Binds argument values: the head value fills the first argument (or, when it is a mapping, gives
  /// arguments by name), the other keys give arguments by name; defaults fill the rest.
  private func bind(
    _ spec: [(String, Value?)], words: [String: [String]] = [:], head: Yams.Node?, extras: [(String, Yams.Node)],
    _ scope: Scope,
    at node: Yams.Node, what: String, overrides: [(String, Value)] = [], positional: Bool = false
  ) throws(DefinitionError) -> Scope {
    var given = extras
    if let head {
      if case .sequence(let items) = head, positional {
        guard items.count <= spec.count else {
          throw error(head, "\(what) takes \(spec.count) arguments, got \(items.count)")
        }
        given = zip(spec, items).map { ($0.0, $1) } + given
      } else if case .mapping = head {
        given = try DefinitionFile.pairs(head, file.path) + given
      } else if let first = spec.first {
        given.insert((first.0, head), at: 0)
      } else {
        throw error(head, "\(what) takes no arguments")
      }
    }
    var out: Scope = [:]
    let names = spec.map(\.0)
    for (k, v) in given {
      guard names.contains(k) else {
        throw error(v, DefinitionFile.unknown("argument", k, known: names) + " of \(what)")
      }
      if let ws = words[k] { out[k] = try wordValue(v, scope, words: ws) } else { out[k] = try value(v, scope) }
    }
    for (k, v) in overrides {
      guard names.contains(k) else {
        throw error(node, DefinitionFile.unknown("argument", k, known: names) + " of \(what)")
      }
      out[k] = v
    }
    for (k, d) in spec where out[k] == nil {
      guard let d else { throw error(node, "\(what) is missing the argument `\(k)`") }
      out[k] = d
    }
    return out
  }

  /// Evaluates a YAML value: scalars are expressions, sequences are lists.
  func value(_ node: Yams.Node, _ scope: Scope) throws(DefinitionError) -> Value {
    switch node {
    case .scalar(let s):
      if node.isNull { return .null }
      let text = s.string
      let plain = s.style == .plain || s.style == .any
      // Offsets count characters of the scalar's text; a quoted scalar's text starts one column in.
      // (Escapes and folded lines can shift the column; the line is always right.)
      func fail(_ error: ExpressionError) -> DefinitionError {
        let quoted = s.style == .singleQuoted || s.style == .doubleQuoted ? 1 : 0
        return DefinitionError(
          file: file.path, line: node.line, column: node.column + quoted + error.offset,
          message: "in `\(clip(text))`: \(error.message)", builtin: file.isBuiltin)
      }
      let e: Expr
      if let known = scalars.meaning(text, plain: plain) {
        switch known {
        case .value(let v): return v
        case .expression(let x): e = x
        }
      } else {
        var constant: Value? = Int(text).map { .int($0) }
        if constant == nil, plain {
          if text == "true" {
            constant = .bool(true)
          } else if text == "false" {
            constant = .bool(false)
          } else if Self.nonFinite.contains(text.lowercased()) {
            throw error(node, "`\(text)` is not a finite number; values must be finite")
          }
        }
        if constant == nil, let d = Double(text), d.isFinite, text.contains(where: { $0 == "." || $0 == "e" }) {
          constant = .double(d)
        }
        if let constant {
          scalars.remember(text, plain: plain, .value(constant))
          return constant
        }
        do { e = try ExpressionParser.parse(text) } catch { throw fail(error) }
        scalars.remember(text, plain: plain, .expression(e))
      }
      do {
        let ev = Evaluator(
          lookup: { n in scope[n] ?? (file.blocks[n] != nil ? .block(n) : nil) },
          names: { Array(scope.keys) + file.blockOrder }, budget: budget)
        return try ev.eval(e)
      } catch {
        throw fail(error)
      }
    case .sequence(let items):
      do { try budget.spend(items.count, at: 0) } catch { throw self.error(node, error.message) }
      guard items.count <= Evaluator.maxListCount else {
        throw self.error(node, "a list of \(items.count) values; the limit is \(Evaluator.maxListCount)")
      }
      var out: [Value] = []
      out.reserveCapacity(items.count)
      for i in items { out.append(try value(i, scope)) }
      return .list(out)
    default:
      throw error(node, "expected a value, found \(node.shortDescription)")
    }
  }

  /// A name template: literal text with `{expression}` parts.
  private func name(_ node: Yams.Node, _ scope: Scope, dots: Bool = false) throws(DefinitionError) -> String {
    guard let text = node.scalarText, !text.isEmpty else { throw error(node, "a name must be text") }
    // A text of at most the limit in bytes has at most that many characters (counting them is slower).
    guard text.utf8.count <= Self.maxNameLength || text.count <= Self.maxNameLength else {
      throw error(node, "the name `\(clip(text))` has \(text.count) characters; the limit is \(Self.maxNameLength)")
    }
    // Most names are literal: without a `{` byte there is no `{` character either, and without a `.` byte
    // no dot; such a name is the text itself, which passed the length check.
    if !text.utf8.contains(where: { $0 == UInt8(ascii: "{") || (!dots && $0 == UInt8(ascii: ".")) }) {
      return text
    }
    var out = ""
    var rest = Substring(text)
    while let open = rest.firstIndex(of: "{") {
      out += rest[..<open]
      guard let close = rest[open...].firstIndex(of: "}") else {
        throw error(node, "unclosed `{` in the name `\(text)`")
      }
      let inner = String(rest[rest.index(after: open)..<close])
      let v: Value
      do {
        v = try Evaluator(lookup: { scope[$0] }, names: { Array(scope.keys) }, budget: budget).eval(
          try scalars.expression(inner))
      } catch {
        throw self.error(node, "in the name `\(text)`: \(error.message)")
      }
      switch v {
      case .int(let i): out += String(i)
      case .string(let s): out += s
      default: out += v.description
      }
      rest = rest[rest.index(after: close)...]
    }
    out += rest
    guard dots || !out.contains("."), !out.isEmpty else {
      throw error(node, "the name `\(clip(out))` must be non-empty and without dots (dots separate module paths)")
    }
    let limit = dots ? Self.maxPathLength : Self.maxNameLength
    guard out.utf8.count <= limit || out.count <= limit else {
      throw error(node, "the name `\(clip(out))` has \(out.count) characters; the limit is \(Self.maxNameLength)")
    }
    return out
  }

  func int(_ node: Yams.Node, _ scope: Scope, min: Int) throws(DefinitionError) -> Int {
    guard case .int(let i) = try value(node, scope) else {
      throw error(node, "expected an integer, found \(clip(node.shortDescription))")
    }
    guard i >= min else { throw error(node, "expected an integer ≥ \(min), got \(i)") }
    return i
  }

  /// YAML's spellings of infinity and not-a-number, which no argument may take.
  static let nonFinite: Set<String> = [".nan", ".inf", "+.inf", "-.inf", "nan", "inf", "-inf", "+inf", "infinity"]

  /// Whether `s` can be used as a name in expressions.
  func isIdentifier(_ s: String) -> Bool {
    guard let f = s.first, f.isLetter || f == "_" else { return false }
    return s.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
  }

  func error(_ node: Yams.Node, _ message: String) -> DefinitionError {
    DefinitionError(file: file.path, line: node.line, column: node.column, message: message, builtin: file.isBuiltin)
  }
}
