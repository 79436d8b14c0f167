import ZooGraph

/// Where every activation of a graph lives: which nodes share a buffer, how long each buffer is
/// live, and its byte offset in one arena.
///
/// The rules (shared with the analyzer's "inference peak activation bytes"):
/// - execution order is the graph's node order;
/// - flatten, dropout and identity outputs alias their input (views);
/// - an activation or batch norm whose input has exactly one consumer and is not the graph input
///   runs in place (aliases its input);
/// - every other node output is a new buffer of `elements × batch × 4` bytes; the graph input is one;
/// - a buffer is live from its producer's step through its last reader's step (graph outputs to
///   the end); the peak is the largest sum of live bytes over the steps.
///
/// Offsets come from greedy placement: taking buffers in some order, each takes the lowest offset
/// that overlaps no already placed buffer whose lifetime intersects its own. Four orders are tried
/// (largest first, largest bytes × lifetime first, longest-lived first, execution order) and the
/// smallest arena is kept; the result is at least the liveness peak, and usually equal to it.
/// Scratch space (im2col columns) is not part of the arena; the engine reports it separately.
public struct MemoryPlan: Sendable {
  /// For every node, the node that owns the buffer its output lives in (itself for a new buffer).
  public var owner: [Int]
  /// Bytes of every node's own buffer; 0 for a node whose output aliases another.
  public var bytes: [Int]
  /// First and last step (node index) at which each owned buffer is live.
  public var firstStep: [Int]
  public var lastStep: [Int]
  /// Byte offset of every owned buffer in the arena.
  public var offsets: [Int]
  /// Size of the arena: the highest end of any placed buffer.
  public var arenaBytes: Int
  /// The liveness minimum for this order: the largest sum of live buffer bytes at any step.
  public var peakBytes: Int
  /// The step at which the peak is reached.
  public var peakStep: Int

  /// Offsets are aligned to this many bytes (a cache line).
  public static let alignment = 64

  /// Plans the buffers of `graph` for per-sample `shapes` (from ``ZooAnalysis/Summary``) and `batch`.
  public init(graph: Graph, shapes: [[Int]], batch: Int) {
    let n = graph.nodes.count
    let consumers = graph.consumers()
    var owner = Array(0..<n)
    for node in graph.nodes {
      guard let x = node.inputs.first else { continue }
      switch node.op {
      case .flatten, .dropout, .identity:
        owner[node.id] = owner[x]
      case .activation, .batchNorm:
        if consumers[x].count == 1 && graph.nodes[x].op != .input
          && Self.nobodyReadsLater(owner: owner, buffer: owner[x], after: node.id, graph: graph, consumers: consumers)
        {
          owner[node.id] = owner[x]
        }
      default:
        break
      }
    }
    var bytes = Array(repeating: 0, count: n)
    var first = Array(repeating: 0, count: n)
    var last = Array(repeating: 0, count: n)
    for i in 0..<n where owner[i] == i {
      bytes[i] = shapes[i].reduce(1, *) * batch * MemoryLayout<Float>.size
      first[i] = i
      last[i] = i
    }
    for node in graph.nodes {
      for x in node.inputs { last[owner[x]] = max(last[owner[x]], node.id) }
    }
    for o in graph.outputs { last[owner[o]] = n - 1 }
    var peak = 0
    var peakStep = 0
    var delta = Array(repeating: 0, count: n + 1)
    for i in 0..<n where owner[i] == i {
      delta[first[i]] += bytes[i]
      delta[last[i] + 1] -= bytes[i]
    }
    var live = 0
    for s in 0..<n {
      live += delta[s]
      if live > peak {
        peak = live
        peakStep = s
      }
    }
    // Greedy placement under a few orders; the smallest arena wins.
    let owned = (0..<n).filter { owner[$0] == $0 && bytes[$0] > 0 }
    let orders: [[Int]] = [
      owned.sorted { bytes[$0] != bytes[$1] ? bytes[$0] > bytes[$1] : $0 < $1 },
      owned.sorted {
        let (a, b) = (bytes[$0] * (last[$0] - first[$0] + 1), bytes[$1] * (last[$1] - first[$1] + 1))
        return a != b ? a > b : $0 < $1
      },
      owned.sorted { (last[$0] - first[$0], bytes[$0], -$0) > (last[$1] - first[$1], bytes[$1], -$1) },
      owned,
    ]
    var best: (offsets: [Int], arena: Int)? = nil
    for order in orders {
      let r = Self.place(order, bytes: bytes, first: first, last: last)
      if best == nil || r.arena < best!.arena { best = r }
    }
    let offsets = best?.offsets ?? Array(repeating: 0, count: n)
    let arena = best?.arena ?? 0
    self.owner = owner
    self.bytes = bytes
    self.firstStep = first
    self.lastStep = last
    self.offsets = offsets
    self.arenaBytes = arena
    self.peakBytes = peak
    self.peakStep = peakStep
  }

  /// Places buffers in `order`: each takes the lowest aligned offset that overlaps no placed buffer
  /// whose lifetime intersects its own.
  private static func place(_ order: [Int], bytes: [Int], first: [Int], last: [Int]) -> (offsets: [Int], arena: Int) {
    func aligned(_ b: Int) -> Int { (bytes[b] + alignment - 1) / alignment * alignment }
    var offsets = Array(repeating: 0, count: bytes.count)
    var placed: [Int] = []
    var arena = 0
    for b in order {
      let size = aligned(b)
      let conflicts =
        placed
        .filter { first[$0] <= last[b] && first[b] <= last[$0] }
        .map { (offsets[$0], offsets[$0] + aligned($0)) }
        .sorted { $0.0 < $1.0 }
      var offset = 0
      for (start, end) in conflicts {
        if offset + size <= start { break }
        offset = max(offset, end)
      }
      offsets[b] = offset
      arena = max(arena, offset + size)
      placed.append(b)
    }
    return (offsets, arena)
  }

  /// Whether overwriting `buffer` at step `step` is safe: no node reads it (directly or through a
  /// view) after `step`. Always true for the zoo's graphs; guards hand-written definitions.
  private static func nobodyReadsLater(owner: [Int], buffer: Int, after step: Int, graph: Graph, consumers: [[Int]])
    -> Bool
  {
    for i in 0..<step where owner[i] == buffer {
      for c in consumers[i] where c > step { return false }
    }
    return !graph.outputs.contains { $0 < step && owner[$0] == buffer }
  }
}
