import ZooGraph

/// Inference memory: which buffers hold the activations, how long each lives, and the peak.
///
/// This is the contract the forward-pass engine's planner follows (docs/memory.md):
/// - Execution order is the graph's node order; step `s` runs node `s`.
/// - Views: the outputs of `flatten`, `dropout` and `identity` alias their input's buffer.
/// - In place: an activation or batch norm writes into its input's buffer, and an add or mul into its
///   first input's (ResNet's main branch: PyTorch's `out += identity`), when that input has exactly
///   one consumer (this node), the buffer is not the graph input's, no node aliasing the buffer is a
///   graph output or is read after this step, and (for an add or mul) no other input is in that
///   buffer and the first input already has the output's shape (a broadcast first input, such as a
///   squeeze-and-excitation gate `[C, 1, 1]` listed first, is too small to hold the output).
/// - Every other node's output (the graph input included) is a new buffer of
///   `elements × batch × dtype bytes`.
/// - A buffer is live from its producer's step through the last step that reads it (through the
///   aliases too); a buffer holding a graph output lives to the last step.
/// - `liveBytes[s]` is the sum of the buffers live at step `s`: the inputs being read and the output
///   being written both count. The peak is the maximum over steps, at the first step reaching it.
///   Scratch space (im2col, workspace) is not included.
/// - Switches: a max pool that some `max_unpool` reads also writes its switches, one int32 index per
///   output element (`elements × batch × 4` bytes whatever the dtype), into a buffer of their own, live
///   from the pool's step through the last unpool that reads them.
public struct Liveness: Sendable {
  /// One allocation and the nodes whose outputs live in it.
  public struct Buffer: Sendable, Hashable {
    /// The node that allocates it; its step is the buffer's first live step.
    public var producer: Int
    /// The last step at which it is live: its last reader's step, or the last step for a graph output.
    public var lastUse: Int
    /// `elements × batch × dtype bytes` of the producer's output.
    public var bytes: Int
    /// Nodes whose output is this buffer: the producer first, then views and in-place ops in order
    /// (empty for a switch buffer).
    public var nodes: [Int]
    /// Whether it holds the producer's switches (int32 indices a `max_unpool` reads) rather than
    /// its output.
    public var holdsSwitches = false
  }

  /// Node ids in execution order (the graph's node order).
  public var order: [Int]
  public var buffers: [Buffer]
  /// For every node, the index in `buffers` of the buffer holding its output.
  public var bufferOf: [Int]
  /// For every max pool whose switches some `max_unpool` reads, the index in `buffers` of its switch
  /// buffer.
  public var switchBufferOf: [Int: Int]
  /// Bytes live at every step.
  public var liveBytes: [Int]
  /// `max(liveBytes)`.
  public var peakBytes: Int
  /// The first step whose live bytes equal the peak.
  public var peakStep: Int
  /// The node running at the peak step.
  public var peakNode: Int { order[peakStep] }

  /// Whether a node's output aliases its input by the rules above.
  public func aliasesInput(_ node: Int) -> Bool { buffers[bufferOf[node]].producer != node }

  /// Plans the buffers of `graph` with per-sample output `shapes` (one per node, as in ``Summary``).
  public init(_ graph: Graph, shapes: [[Int]], batch: Int, dtype: DType) throws(AnalysisError) {
    precondition(shapes.count == graph.nodes.count, "one shape per node")
    let n = graph.nodes.count
    let consumers = graph.consumers()
    let isOutput = Set(graph.outputs)
    order = Array(0..<n)
    var buffers: [Buffer] = []
    var bufferOf = Array(repeating: -1, count: n)
    // Per buffer, kept up to date as members join (so each step is O(inputs), not O(members)): the
    // last step reading any member (or the latest member itself), and whether a member is a graph output.
    var lastRead: [Int] = []
    var holdsOutput: [Bool] = []
    func join(_ b: Int, _ id: Int) {
      lastRead[b] = max(lastRead[b], id, consumers[id].max() ?? id)
      if isOutput.contains(id) { holdsOutput[b] = true }
    }
    // Buffers are assigned in one pass; lifetimes come after, from the final sets of aliases.
    var inputBuffer = -1
    // The last unpool reading each max pool's switches.
    var switchReader: [Int: Int] = [:]
    for node in graph.nodes {
      if case .maxUnpool(let u) = node.op { switchReader[u.pool] = max(switchReader[u.pool] ?? 0, node.id) }
    }
    var switchBufferOf: [Int: Int] = [:]
    for node in graph.nodes {
      let id = node.id
      var alias: Int? = nil
      switch node.op {
      case .flatten, .dropout, .identity:
        alias = bufferOf[node.inputs[0]]
      case .activation, .batchNorm, .add, .mul:
        let i = node.inputs[0]
        let b = bufferOf[i]
        // The buffer's readers so far are final for nodes before `id`; later aliases can only be
        // created by `id`'s own consumers, which run after it and are ruled out below. Every member
        // precedes `id`, so "a member is read after this step" is "the buffer's last read is after it".
        let readLater = lastRead[b] > id
        // An add's other inputs must live elsewhere (`add(x, x)` is not in place).
        let othersElsewhere = node.inputs.dropFirst().allSatisfy { bufferOf[$0] != b }
        // A broadcast add or mul writes more elements than its first input holds.
        let fits = shapes[i] == shapes[id]
        if consumers[i].count == 1, b != inputBuffer, !readLater, !holdsOutput[b], othersElsewhere, fits {
          alias = b
        }
      default:
        break
      }
      if let b = alias {
        buffers[b].nodes.append(id)
        bufferOf[id] = b
        join(b, id)
      } else {
        let bytes: Int
        do { bytes = try checkedProduct(shapes[id] + [batch, dtype.bytes], "activation bytes") } catch {
          throw AnalysisError(layer: node.name, message: "\(error)")
        }
        bufferOf[id] = buffers.count
        if node.op == .input { inputBuffer = buffers.count }
        buffers.append(Buffer(producer: id, lastUse: id, bytes: bytes, nodes: [id]))
        lastRead.append(id)
        holdsOutput.append(false)
        join(buffers.count - 1, id)
      }
      if let reader = switchReader[id] {
        let bytes: Int
        do { bytes = try checkedProduct(shapes[id] + [batch, 4], "switch bytes") } catch {
          throw AnalysisError(layer: node.name, message: "\(error)")
        }
        switchBufferOf[id] = buffers.count
        buffers.append(Buffer(producer: id, lastUse: reader, bytes: bytes, nodes: [], holdsSwitches: true))
        lastRead.append(reader)
        holdsOutput.append(false)
      }
    }
    for b in buffers.indices {
      buffers[b].lastUse = holdsOutput[b] ? n - 1 : lastRead[b]
    }
    // Live bytes by a sweep over the steps: a buffer's bytes join at its producer's step and leave
    // after its last use (linear in steps + buffers, however long the lifetimes).
    var starting = Array(repeating: 0, count: n)
    var ending = Array(repeating: 0, count: n)
    for b in buffers {
      starting[b.producer] = try addBytes(starting[b.producer], b.bytes, "live activation bytes")
      ending[b.lastUse] = try addBytes(ending[b.lastUse], b.bytes, "live activation bytes")
    }
    var live = Array(repeating: 0, count: n)
    var running = 0
    for s in 0..<n {
      if s > 0 { running -= ending[s - 1] }
      running = try addBytes(running, starting[s], "live activation bytes")
      live[s] = running
    }
    let peak = live.max() ?? 0
    self.buffers = buffers
    self.bufferOf = bufferOf
    self.switchBufferOf = switchBufferOf
    self.liveBytes = live
    self.peakBytes = peak
    self.peakStep = live.firstIndex(of: peak) ?? 0
  }

  /// Plans the buffers for a summary's graph, input and batch.
  public init(_ summary: Summary, dtype: DType = .fp32) throws(AnalysisError) {
    try self.init(summary.graph, shapes: summary.shapes, batch: summary.batch, dtype: dtype)
  }

  /// Indices of the buffers live at `step`.
  public func live(at step: Int) -> [Int] {
    buffers.indices.filter { buffers[$0].producer <= step && step <= buffers[$0].lastUse }
  }
}

/// `a + b`, or an error saying that `what` overflows 64-bit integers.
func addBytes(_ a: Int, _ b: Int, _ what: String) throws(AnalysisError) -> Int {
  let (r, o) = a.addingReportingOverflow(b)
  if o { throw AnalysisError(layer: nil, message: "the number of \(what) overflows 64-bit integers") }
  return r
}
