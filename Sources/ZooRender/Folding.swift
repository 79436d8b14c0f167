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
/// block's layers, GoogLeNet's inception 3a/3b) are drawn as: one cluster "× N" when all are
/// identical; otherwise the first expanded and the rest as boxes, identical neighbours folded
/// into one box "× N". Generic `seq` containers (stages) never stack. A module is expanded only
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
