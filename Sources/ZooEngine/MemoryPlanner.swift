import ZooAnalysis
import ZooGraph

/// Where every activation of a graph lives: which nodes share a buffer, how long each buffer is
/// live, and its byte offset in one arena.
///
/// Buffers and lifetimes are the analyzer's ``ZooAnalysis/Liveness`` (the rules are written there and
/// in docs/memory.md), so the engine's peak is, by construction, the figure `zoo describe` predicts.
/// This type adds the placement: taking buffers in some order, each takes the lowest offset that
/// overlaps no already placed buffer whose lifetime intersects its own. Four orders are tried (largest
/// first, largest bytes × lifetime first, longest-lived first, execution order) and the smallest arena
/// is kept; the result is at least the liveness peak, and usually equal to it. Scratch space (im2col
/// columns) is not part of the arena; the engine reports it separately.
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
  /// For every max pool whose switches a `max_unpool` reads: the byte offset of its switch buffer
  /// (int32 indices, ``ZooAnalysis/Liveness``'s switch buffers), its bytes and its last step.
  public var switchOffsets: [Int: Int] = [:]
  public var switchBytes: [Int: Int] = [:]
  public var switchLastStep: [Int: Int] = [:]
  /// Size of the arena: the highest end of any placed buffer.
  public var arenaBytes: Int
  /// The liveness minimum for this order: the largest sum of live buffer bytes at any step.
  public var peakBytes: Int
  /// The step at which the peak is reached.
  public var peakStep: Int

  /// Offsets are aligned to this many bytes (a cache line).
  public static let alignment = 64

  /// Plans the buffers of `graph` for per-sample `shapes` (from ``ZooAnalysis/Summary``) and `batch`, in fp32.
  public init(graph: Graph, shapes: [[Int]], batch: Int) throws(AnalysisError) {
    self.init(try Liveness(graph, shapes: shapes, batch: batch, dtype: .fp32))
  }

  /// Places the buffers of a liveness analysis.
  public init(_ liveness: Liveness) {
    let n = liveness.bufferOf.count
    var owner = Array(0..<n)
    var bytes = Array(repeating: 0, count: n)
    var first = Array(repeating: 0, count: n)
    var last = Array(repeating: 0, count: n)
    for node in 0..<n {
      let b = liveness.buffers[liveness.bufferOf[node]]
      owner[node] = b.producer
      if b.producer == node {
        bytes[node] = b.bytes
        first[node] = b.producer
        last[node] = b.lastUse
      }
    }
    let peak = liveness.peakBytes
    let peakStep = liveness.peakStep
    // Switch buffers are placed as slots `n ..< n + switches`, after the nodes' own.
    let pools = liveness.switchBufferOf.keys.sorted()
    for pool in pools {
      let b = liveness.buffers[liveness.switchBufferOf[pool]!]
      bytes.append(b.bytes)
      first.append(b.producer)
      last.append(b.lastUse)
    }
    // Greedy placement under a few orders; the smallest arena wins.
    let owned = (0..<(n + pools.count)).filter { ($0 >= n || owner[$0] == $0) && bytes[$0] > 0 }
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
    let offsets = best?.offsets ?? Array(repeating: 0, count: n + pools.count)
    let arena = best?.arena ?? 0
    for (k, pool) in pools.enumerated() {
      switchOffsets[pool] = offsets[n + k]
      switchBytes[pool] = bytes[n + k]
      switchLastStep[pool] = last[n + k]
    }
    self.owner = owner
    self.bytes = Array(bytes[..<n])
    self.firstStep = Array(first[..<n])
    self.lastStep = Array(last[..<n])
    self.offsets = Array(offsets[..<n])
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

}
