import ZooGraph

/// Shapes and counts of every node and every module of a graph at one input size and batch size.
///
/// Invariants (checked by the tests): a module's counts are the sums of its nodes' counts; the
/// totals are the sums over all nodes; every output dimension is ≥ 1.
public struct Summary: Sendable {
  public var graph: Graph
  /// Input shape of one sample, `[C, H, W]`.
  public var input: [Int]
  public var batch: Int
  /// Output shape of every node for one sample.
  public var shapes: [[Int]]
  /// Counts of every node for the whole batch (parameters are per model).
  public var nodeCounts: [Counts]
  /// Sums over every layer (the input node's elements are not an activation of the network).
  public var totals: Counts
  /// Every module path with its counts, in pre-order (a module before its contents).
  public var rows: [Row]

  public struct Row: Sendable {
    public var path: String
    /// Number of path components: `layer1` is 1, `layer1.0.conv1` is 3.
    public var depth: Int
    /// The node, when this row is a leaf layer.
    public var node: Int?
    /// A container module's kind (`seq`, `bottleneck`...), or the node's op name.
    public var kind: String
    /// Nodes under this path, in graph order.
    public var nodes: [Int]
    public var counts: Counts
    /// The output shape (the last node's, for a module).
    public var output: [Int]
  }

  /// Runs shape inference and counting.
  ///
  /// - Parameters:
  ///   - input: `[C, H, W]` of one sample; nil for the graph's own input shape.
  ///   - batch: samples per batch; MACs, FLOPs and output elements scale with it.
  public init(_ graph: Graph, input: [Int]? = nil, batch: Int = 1) throws(AnalysisError) {
    self.graph = graph
    self.input = input ?? graph.inputShape
    self.batch = batch
    guard batch >= 1 else { throw AnalysisError(layer: nil, message: "the batch size must be ≥ 1, got \(batch)") }
    var shapes: [[Int]] = []
    var counts: [Counts] = []
    var totals = Counts()
    shapes.reserveCapacity(graph.nodes.count)
    counts.reserveCapacity(graph.nodes.count)
    for node in graph.nodes {
      let ins = node.inputs.map { shapes[$0] }
      let shape: [Int]
      do {
        shape =
          node.op == .input
          ? self.input : try node.op.outputShape(shapeInputs(of: node, nodes: graph.nodes, shapes: shapes))
      } catch {
        throw AnalysisError(
          layer: node.name,
          message: "\(error.message) (the input \(ZooGraph.format(self.input)) is too small or does not fit)")
      }
      do {
        var c = try node.counts(inputs: ins, output: shape)
        c.macs = try checkedProduct([c.macs, batch], "MACs")
        c.flops = try checkedProduct([c.flops, batch], "FLOPs")
        c.outputElements = try checkedProduct([c.outputElements, batch], "output elements")
        if node.op != .input { try totals.add(c) }
        counts.append(c)
      } catch {
        throw AnalysisError(layer: node.name, message: "\(error)")
      }
      shapes.append(shape)
    }
    self.shapes = shapes
    self.nodeCounts = counts
    self.totals = totals
    self.rows = []
    self.rows = try Self.moduleRows(graph, shapes: shapes, counts: counts)
  }

  /// Rows for every container module and leaf node, in pre-order.
  ///
  /// Consecutive layers mostly share their enclosing modules, so the modules of the previous layer are
  /// kept (by path prefix and row) and only the prefixes that differ are looked up.
  private static func moduleRows(_ graph: Graph, shapes: [[Int]], counts: [Counts]) throws(AnalysisError) -> [Row] {
    let kinds = Dictionary(graph.modules.map { ($0.path, $0.kind) }, uniquingKeysWith: { a, _ in a })
    var rows: [Row] = []
    var index: [String: Int] = [:]
    // The enclosing paths of the previous layer, outermost first, with their rows (nil: not a module).
    var open: [(path: Substring, row: Int?)] = []
    /// Adds `node` to the module at `prefix`, its enclosing path at `depth` (1 for the outermost).
    func enter(_ depth: Int, _ prefix: Substring, _ node: Node) throws(AnalysisError) {
      let row: Int?
      if depth <= open.count, open[depth - 1].path == prefix {
        row = open[depth - 1].row
      } else {
        open.removeSubrange((depth - 1)...)
        let path = String(prefix)
        if let kind = kinds[path] {
          if let r = index[path] {
            row = r
          } else {
            row = rows.count
            index[path] = rows.count
            rows.append(Row(path: path, depth: depth, node: nil, kind: kind, nodes: [], counts: Counts(), output: []))
          }
        } else {
          row = nil
        }
        open.append((prefix, row))
      }
      guard let r = row else { return }
      rows[r].nodes.append(node.id)
      do { try rows[r].counts.add(counts[node.id]) } catch {
        throw AnalysisError(layer: rows[r].path, message: "\(error)")
      }
      rows[r].output = shapes[node.id]
    }
    let dot = UInt8(ascii: ".")
    for node in graph.nodes where node.op != .input {
      let name = node.name
      let utf8 = name.utf8
      var depth = 1
      var clean = utf8.first != dot && utf8.last != dot
      var previous: UInt8 = 0
      for b in utf8 where clean {
        if b == dot && previous == dot { clean = false }
        previous = b
      }
      if !clean {
        // Empty components (`a..b`) are skipped, as splitting at dots skips them.
        let parts = name.split(separator: ".")
        depth = parts.count
        for d in 1..<max(parts.count, 1) { try enter(d, Substring(parts[0..<d].joined(separator: ".")), node) }
      } else {
        // Each proper prefix ending before a dot: `a`, `a.b` of `a.b.c`.
        for i in utf8.indices where utf8[i] == dot {
          try enter(depth, name[..<i], node)
          depth += 1
        }
      }
      rows.append(
        Row(
          path: name, depth: depth, node: node.id, kind: node.op.kindName, nodes: [node.id],
          counts: counts[node.id], output: shapes[node.id]))
    }
    return rows
  }

  /// The network's main output shape for one sample.
  public var output: [Int] { shapes[graph.outputs[0]] }
}

/// An analysis failure naming the layer and the values involved.
public struct AnalysisError: Error, Sendable, CustomStringConvertible {
  public var layer: String?
  public var message: String
  public init(layer: String?, message: String) {
    self.layer = layer
    self.message = message
  }
  public var description: String { layer.map { "layer `\($0)`: \(message)" } ?? message }
}
