import ZooAnalysis
import ZooGraph

/// A container module with its children in graph order: layers and sub-modules.
final class ModuleTree {
  let path: String
  let kind: String
  /// Number of path components: `layer1` is 1, `layer1.0` is 2; the root (the whole network) is 0.
  let depth: Int
  var children: [Child] = []
  /// Every node under this module, in graph order.
  var nodes: [Int] = []

  enum Child {
    case node(Int)
    case module(ModuleTree)
  }

  init(path: String, kind: String, depth: Int) {
    self.path = path
    self.kind = kind
    self.depth = depth
  }

  /// The module tree of `graph`: the root holds the top-level layers and modules.
  static func build(_ graph: Graph) -> ModuleTree {
    let kinds = Dictionary(graph.modules.map { ($0.path, $0.kind) }, uniquingKeysWith: { a, _ in a })
    let root = ModuleTree(path: "", kind: "network", depth: 0)
    var byPath: [String: ModuleTree] = [:]
    for node in graph.nodes {
      let parts = node.name.split(separator: ".")
      var container = root
      root.nodes.append(node.id)
      for d in 1..<max(parts.count, 1) {
        let path = parts[0..<d].joined(separator: ".")
        guard let kind = kinds[path] else { continue }
        let module: ModuleTree
        if let m = byPath[path] {
          module = m
        } else {
          module = ModuleTree(path: path, kind: kind, depth: d)
          byPath[path] = module
          container.children.append(.module(module))
        }
        module.nodes.append(node.id)
        container = module
      }
      container.children.append(.node(node.id))
    }
    return root
  }

  /// Deepest layer's depth (path components), at least 1.
  var maxDepth: Int {
    children.reduce(max(depth + 1, 1)) { m, c in
      switch c {
      case .node: m
      case .module(let t): max(m, t.maxDepth)
      }
    }
  }
}

/// Structure signature of a module: the kind, each node's op and attributes (ignoring names and
/// input-channel counts, which grow inside a dense block), and the internal edges as indices into
/// the module's own node list (`x` for an input from outside). Two modules with equal signatures
/// draw the same way.
func signature(_ m: ModuleTree, _ graph: Graph) -> String {
  var local: [Int: Int] = [:]
  for (i, n) in m.nodes.enumerated() { local[n] = i }
  var s = m.kind
  for n in m.nodes {
    let node = graph.nodes[n]
    s += "|" + opSignature(node.op) + "("
    s += node.inputs.map { local[$0].map(String.init) ?? "x" }.joined(separator: ",") + ")"
  }
  return s
}

/// Size signature of a module: each layer's output shape and parameter count, and the shapes of
/// the tensors entering it from outside. Modules with equal structure signatures (``signature(_:_:)``)
/// and equal size signatures are identical: same layers, same sizes, same parameters.
func sizeSignature(_ m: ModuleTree, _ summary: Summary) -> [[Int]] {
  let inside = Set(m.nodes)
  var s: [[Int]] = []
  for n in m.nodes {
    s.append(summary.shapes[n] + [summary.nodeCounts[n].params])
    for u in summary.graph.nodes[n].inputs where !inside.contains(u) { s.append(summary.shapes[u]) }
  }
  return s
}

/// Whether every module of `members` is identical to the first (structure and sizes).
func allIdentical(_ members: [ModuleTree], _ summary: Summary) -> Bool {
  guard let first = members.first else { return true }
  let s = sizeSignature(first, summary)
  return members.dropFirst().allSatisfy { sizeSignature($0, summary) == s }
}

/// What a folded run of same-structure modules shows about their sizes: the range of their
/// parameter counts, and the channels entering the first and leaving each member.
struct RunSizes {
  /// The smallest and largest parameter count of one member.
  var minParams: Int
  var maxParams: Int
  /// The channels entering the run, then the channels leaving each member in turn.
  var channels: [Int]

  init(_ members: [ModuleTree], _ summary: Summary) {
    let params = members.map { m in m.nodes.reduce(0) { $0 + summary.nodeCounts[$1].params } }
    minParams = params.min() ?? 0
    maxParams = params.max() ?? 0
    let first = members[0]
    let inside = Set(first.nodes)
    let entry = first.nodes.lazy.flatMap { summary.graph.nodes[$0].inputs }.first { !inside.contains($0) }
    channels = [entry.flatMap { summary.shapes[$0].first } ?? 0]
    for m in members { channels.append(m.nodes.last.flatMap { summary.shapes[$0].first } ?? 0) }
  }

  /// The change of channels every member makes, when it is the same for all.
  var growthEach: Int? {
    let steps = zip(channels, channels.dropFirst()).map { $1 - $0 }
    guard let s = steps.first, steps.allSatisfy({ $0 == s }) else { return nil }
    return s
  }

  /// `45,440 – 66,240 params each` or `276,000 params each`.
  var paramsText: String {
    minParams == maxParams
      ? "\(grouped(minParams)) params each" : "\(grouped(minParams)) – \(grouped(maxParams)) params each"
  }

  /// `channels 64 → 256, +32 each`, `channels 256 → 288 → 288`, or nil when the channels do not change.
  var channelsText: String? {
    guard channels.count >= 2, Set(channels).count > 1 else { return nil }
    if let g = growthEach, g != 0 {
      return "channels \(channels.first!) → \(channels.last!), \(g > 0 ? "+" : "−")\(abs(g)) each"
    }
    if channels.count <= 5 { return "channels " + channels.map(String.init).joined(separator: " → ") }
    return "channels \(channels.first!) → … → \(channels.last!)"
  }
}

private func opSignature(_ op: Op) -> String {
  switch op {
  case .conv(let c): "\(op.summary) p\(c.padding) b\(c.bias)"
  case .convTranspose(let c): "\(op.summary) p\(c.padding) op\(c.outputPadding) b\(c.bias)"
  case .pool(let p): "\(op.summary) p\(p.padding) d\(p.dilation) i\(p.countIncludePad)"
  case .activation(.leakyReLU(let slope)): "\(op.summary) \(slope)"
  case .lrn(let n, let a, let b, let k): "lrn \(n) \(a) \(b) \(k)"
  default: op.summary
  }
}

/// What a diagram draws: layers, expanded modules (clusters) and collapsed modules (boxes).
indirect enum Item {
  /// A layer, drawn as one node.
  case layer(Int)
  /// Expanded modules: the first member's contents stand for all `members` (identical repeats).
  case cluster(members: [ModuleTree], items: [Item])
  /// Collapsed modules: one node for all `members` (one module, or identical repeats).
  case box(members: [ModuleTree])
}

/// Chooses what to draw.
///
/// With `fold`, consecutive sibling modules of the same kind (a *stack*: a stage's blocks, a dense
/// block's layers, GoogLeNet's inception 3a/3b) are drawn as: one cluster for the whole stack when
/// all share one structure signature; otherwise the first expanded and the rest as boxes, each
/// run of same-structure neighbours folded into one box. Whether a fold is "× N" (identical) or
/// a run whose sizes differ is decided when it is drawn (``allIdentical(_:_:)``). Generic `seq`
/// containers (stages) never stack. A module is expanded only
/// when its depth is below `depth`. Without `fold`, every module within `depth` is expanded.
func plan(_ tree: ModuleTree, graph: Graph, depth: Int, fold: Bool) -> [Item] {
  var items: [Item] = []
  let children = tree.children
  var i = 0
  func expanded(_ members: [ModuleTree]) -> Item {
    .cluster(members: members, items: plan(members[0], graph: graph, depth: depth, fold: fold))
  }
  while i < children.count {
    guard case .module(let first) = children[i] else {
      if case .node(let n) = children[i] { items.append(.layer(n)) }
      i += 1
      continue
    }
    var stack = [first]
    if fold && first.kind != "seq" {
      while i + stack.count < children.count, case .module(let next) = children[i + stack.count],
        next.kind == first.kind
      {
        stack.append(next)
      }
    }
    i += stack.count
    let canExpand = first.depth < depth
    let signatures = stack.map { signature($0, graph) }
    if Set(signatures).count == 1 {
      items.append(canExpand ? expanded(stack) : .box(members: stack))
      continue
    }
    items.append(canExpand ? expanded([first]) : .box(members: [first]))
    var k = 1
    while k < stack.count {
      var run = [stack[k]]
      while k + run.count < stack.count, signatures[k + run.count] == signatures[k] { run.append(stack[k + run.count]) }
      items.append(.box(members: run))
      k += run.count
    }
  }
  return items
}

/// Number of drawn nodes (layers and boxes) of a plan; `isDrawn` tells whether a layer gets a
/// node of its own (false for a bn or relu drawn in the node before it).
func drawnNodeCount(_ items: [Item], isDrawn: (Int) -> Bool) -> Int {
  items.reduce(0) { n, item in
    switch item {
    case .layer(let l): n + (isDrawn(l) ? 1 : 0)
    case .box: n + 1
    case .cluster(_, let inner): n + drawnNodeCount(inner, isDrawn: isDrawn)
    }
  }
}

/// The deepest depth whose folded diagram has at most `budget` nodes (at least 1).
func defaultDepth(_ tree: ModuleTree, graph: Graph, budget: Int = 60, isDrawn: (Int) -> Bool) -> Int {
  let deepest = tree.maxDepth
  for d in stride(from: deepest, through: 2, by: -1)
  where drawnNodeCount(plan(tree, graph: graph, depth: d, fold: true), isDrawn: isDrawn) <= budget {
    return d
  }
  return 1
}
