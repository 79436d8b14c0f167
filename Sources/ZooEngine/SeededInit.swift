import ZooGraph

/// Deterministic weights for running a model without a weight file, and for the PyTorch fixtures
/// (scripts/make_fixtures.py computes the same numbers with numpy).
///
/// Stream: value `i` of tensor `key` is `u = (splitmix64(base + (i + 1) · 0x9E3779B97F4A7C15) >> 40) · 2⁻²⁴`
/// in `[0, 1)`, with `base = fnv1a64(key) ⊕ seed` and splitmix64's finaliser
/// `z ^= z >> 30; z *= 0xBF58476D1CE4E5B9; z ^= z >> 27; z *= 0x94D049BB133111EB; z ^= z >> 31`.
///
/// Scheme: PyTorch's default initialisation of `nn.Conv2d` and `nn.Linear`
/// (`kaiming_uniform_(a = √5)`): weights and biases uniform in `±1/√fan_in`, computed in float32 as
/// `(2u − 1) · bound`. Batch norm gets PyTorch's defaults (γ = 1, β = 0, μ = 0, σ² = 1), or with
/// `randomStatistics` (the fixtures) `γ = 0.5 + u`, `β = (2u − 1) · 0.1`, `μ = (2u − 1) · 0.1`,
/// `σ² = 0.5 + u`. LeNet's subsampling uses the Kaiming bound of its `k × k` window; its RBF
/// prototypes are `±1` (`u < 0.5 ? −1 : 1`).
public enum SeededInit {
  /// `n` uniform values in `[0, 1)` of the stream for `key`.
  public static func uniform(key: String, count n: Int, seed: UInt64 = 0) -> [Float] {
    uniform(key: key, count: n, seed: seed) { $0 }
  }

  /// `n` values `transform(u)` of the stream for `key`, computed in place (no second array).
  static func uniform(key: String, count n: Int, seed: UInt64, _ transform: (Float) -> Float) -> [Float] {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in key.utf8 {
      h ^= UInt64(b)
      h = h &* 0x100_0000_01b3
    }
    let base = h ^ seed
    var out = [Float](repeating: 0, count: n)
    for i in 0..<n {
      var z = base &+ UInt64(i + 1) &* 0x9E37_79B9_7F4A_7C15
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      z ^= z >> 31
      out[i] = transform(Float(z >> 40) * 0x1p-24)
    }
    return out
  }

  /// Every tensor of `graph`, keyed by its state-dict name.
  public static func weights(for graph: Graph, seed: UInt64 = 0, randomStatistics: Bool = false) -> [String: Tensor] {
    var table: [String: Tensor] = [:]
    func symmetric(_ key: String, _ n: Int, bound: Float) -> [Float] {
      uniform(key: key, count: n, seed: seed) { (2 * $0 - 1) * bound }
    }
    for node in graph.nodes {
      let fanIn: Int
      switch node.op {
      case .conv(let c):
        fanIn = c.connections / c.outChannels * c.kernel.h * c.kernel.w
      case .convTranspose(let c):
        // PyTorch takes a transposed convolution's fan-in from the weight's second axis: out/groups · kh · kw.
        fanIn = c.outChannels / c.groups * c.kernel.h * c.kernel.w
      case .linear(let i, _, _):
        fanIn = i
      case .local(let l):
        // Each position's kernel sees a convolution's window: in · kh · kw.
        fanIn = l.inChannels * l.kernel.h * l.kernel.w
      case .subsample(_, let k):
        fanIn = k * k
      default:
        fanIn = 1
      }
      let bound = Float(1 / Double(max(fanIn, 1)).squareRoot())
      for t in node.tensors where !t.name.hasSuffix("num_batches_tracked") {
        let n = t.elements
        let data: [Float]
        switch (node.op, t.name.split(separator: ".").last ?? "") {
        case (.batchNorm, "weight"), (.batchNorm, "running_var"):
          data =
            randomStatistics
            ? uniform(key: t.name, count: n, seed: seed) { 0.5 + $0 } : Array(repeating: 1, count: n)
        case (.batchNorm, _):
          data = randomStatistics ? symmetric(t.name, n, bound: 0.1) : Array(repeating: 0, count: n)
        case (.rbf, _):
          data = uniform(key: t.name, count: n, seed: seed) { $0 < 0.5 ? -1 : 1 }
        default:
          data = symmetric(t.name, n, bound: bound)
        }
        table[t.name] = Tensor(shape: t.shape, data: data)
      }
    }
    return table
  }
}
