import ZooGraph

/// Where a model's parameters, MACs and activation memory go: per stage, per op class, per layer.
///
/// A layer's activation bytes are the bytes of the buffers it allocates in the inference plan
/// (``Liveness``): views (flatten, dropout, identity) and in-place activations and batch norms
/// allocate nothing, and the graph input's buffer is an entry of its own (`input`, class `other`).
/// Stages are ``Summary/stageRows``.
/// Every breakdown sums to the totals.
public struct Shares: Sendable {
  public enum Metric: String, CaseIterable, Sendable {
    case params, macs, activations
  }

  public struct Entry: Sendable, Hashable {
    public var name: String
    public var params = 0
    public var macs = 0
    public var activationBytes = 0

    public func value(_ m: Metric) -> Int {
      switch m {
      case .params: params
      case .macs: macs
      case .activations: activationBytes
      }
    }
  }

  public var stages: [Entry]
  /// One entry per op class present, in ``OpClass`` order.
  public var classes: [Entry]
  /// Every node, the input included, in graph order.
  public var layers: [Entry]
  public var total: Entry

  public init(_ summary: Summary, liveness: Liveness) throws(AnalysisError) {
    let g = summary.graph
    var layers: [Entry] = []
    var allocated = Array(repeating: 0, count: g.nodes.count)
    for b in liveness.buffers { allocated[b.producer] += b.bytes }
    for node in g.nodes {
      let c = summary.nodeCounts[node.id]
      layers.append(Entry(name: node.name, params: c.params, macs: c.macs, activationBytes: allocated[node.id]))
    }
    func sum(_ name: String, _ nodes: [Int]) throws(AnalysisError) -> Entry {
      var e = Entry(name: name)
      for n in nodes {
        e.params = try addBytes(e.params, layers[n].params, "parameters")
        e.macs = try addBytes(e.macs, layers[n].macs, "MACs")
        e.activationBytes = try addBytes(e.activationBytes, layers[n].activationBytes, "activation bytes")
      }
      return e
    }
    var stages: [Entry] = []
    let inputs = g.nodes.filter { $0.op == .input }.map(\.id)
    if !inputs.isEmpty { stages.append(try sum("input", inputs)) }
    for row in summary.stageRows { stages.append(try sum(row.path, row.nodes)) }
    var classes: [Entry] = []
    for k in OpClass.allCases {
      let nodes = g.nodes.filter { $0.op.opClass == k }.map(\.id)
      if !nodes.isEmpty { classes.append(try sum(k.rawValue, nodes)) }
    }
    self.layers = layers
    self.stages = stages
    self.classes = classes
    self.total = try sum("total", Array(g.nodes.indices))
  }

  /// The `count` layers with the largest value of `metric` (ties in graph order), zeros left out.
  public func top(_ metric: Metric, count: Int) -> [Entry] {
    let ranked = layers.enumerated().filter { $0.element.value(metric) > 0 }
      .sorted { a, b in
        a.element.value(metric) != b.element.value(metric)
          ? a.element.value(metric) > b.element.value(metric) : a.offset < b.offset
      }
    return ranked.prefix(count).map(\.element)
  }

  /// `value / total` of a metric, 0 when the total is 0.
  public func fraction(_ e: Entry, _ metric: Metric) -> Double {
    let t = total.value(metric)
    return t == 0 ? 0 : Double(e.value(metric)) / Double(t)
  }
}

extension Graph {
  /// Depth in weight layers: the most layers with weights (conv, linear, LeNet's subsampling and
  /// RBF; batch norm excluded) on any path from the input to an output. VGG-16 16, ResNet-50 50
  /// (downsample shortcuts are off the longest path), GoogLeNet 22, LeNet-5 (1998) 7.
  public var weightDepth: Int {
    var depth = Array(repeating: 0, count: nodes.count)
    for node in nodes {
      depth[node.id] = (node.inputs.map { depth[$0] }.max() ?? 0) + (node.isWeightLayer ? 1 : 0)
    }
    return outputs.map { depth[$0] }.max() ?? 0
  }

  /// The number of weight layers in the whole graph (on every path, downsample shortcuts included).
  public var weightLayerCount: Int { nodes.filter(\.isWeightLayer).count }
}

extension Node {
  /// Whether the node is a weight layer: it has parameters and is not a normalisation.
  public var isWeightLayer: Bool {
    op.opClass != .normalization && tensors.contains { $0.kind == .parameter }
  }
}

extension Summary {
  /// The stages of the network: the top-level rows (modules and layers) in order, except that when
  /// exactly one top-level module holds sub-modules (torchvision's `features` wrapper, as in
  /// DenseNet) its children take its place. ResNet: conv1, bn1, relu, maxpool, layer1…layer4,
  /// avgpool, flatten, fc. DenseNet: features.conv0 … features.denseblock1, features.transition1, …
  public var stageRows: [Row] {
    let top = rows.filter { $0.depth == 1 }
    guard let w = loneWrapper else { return top }
    return top.flatMap { r in
      r.path == w ? rows.filter { $0.depth == 2 && $0.path.hasPrefix(w + ".") } : [r]
    }
  }

  /// The path of the one top-level module that holds sub-modules, when there is exactly one
  /// (torchvision's `features` in DenseNet, MobileNet, VGG with blocks): the stages are its children.
  public var loneWrapper: String? {
    let top = rows.filter { $0.depth == 1 }
    func hasSubmodules(_ r: Row) -> Bool {
      r.node == nil && rows.contains { $0.depth == 2 && $0.node == nil && $0.path.hasPrefix(r.path + ".") }
    }
    let wrappers = top.filter(hasSubmodules)
    return wrappers.count == 1 ? wrappers[0].path : nil
  }

  /// A row's depth counted as the stages count it: one less inside the ``loneWrapper``, so that
  /// `--depth 1` shows DenseNet's dense blocks as it shows ResNet's layers.
  public func stageDepth(_ row: Row) -> Int {
    guard let w = loneWrapper, row.path.hasPrefix(w + ".") else { return row.depth }
    return row.depth - 1
  }
}
