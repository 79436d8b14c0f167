import ZooAnalysis
import ZooGraph

/// The receptive field of a chain of sliding-window layers (convolutions or pools), worked step by step.
///
/// With `r₀ = 1` and `j₀ = 1` (one input pixel; neighbouring inputs 1 apart), layer `l` with kernel
/// `k_l`, stride `s_l` and dilation `d_l` gives
/// `r_l = r_{l−1} + d_l·(k_l − 1)·j_{l−1}` and `j_l = j_{l−1}·s_l`:
/// `r` is the side of the input square one output sees, `j` (the jump) the input distance between
/// neighbouring outputs. Padding moves the field but does not change its size. Each step is
/// ZooAnalysis's `AxisField.through`, the rule `zoo rf` applies to whole models.
public struct StackReceptiveField: Sendable, Encodable {
  /// One layer and the field after it.
  public struct Step: Sendable, Encodable {
    public var kernel: Int
    public var stride: Int
    public var dilation: Int
    /// `r_l`.
    public var size: Int
    /// `j_l`.
    public var jump: Int
  }

  public var steps: [Step]

  /// The receptive field after the last layer (1 for an empty stack).
  public var size: Int { steps.last?.size ?? 1 }
  /// The jump after the last layer: the product of the strides.
  public var jump: Int { steps.last?.jump ?? 1 }

  /// - Parameters:
  ///   - kernels: one kernel size per layer.
  ///   - strides: one per layer, or nil for all 1.
  ///   - dilations: one per layer, or nil for all 1.
  public init(kernels: [Int], strides: [Int]? = nil, dilations: [Int]? = nil) throws(TeachError) {
    guard !kernels.isEmpty else { throw TeachError("the stack needs at least one layer") }
    let strides = strides ?? Array(repeating: 1, count: kernels.count)
    let dilations = dilations ?? Array(repeating: 1, count: kernels.count)
    guard strides.count == kernels.count else {
      throw TeachError("there are \(kernels.count) kernels but \(strides.count) strides; give one stride per layer")
    }
    guard dilations.count == kernels.count else {
      throw TeachError(
        "there are \(kernels.count) kernels but \(dilations.count) dilations; give one dilation per layer")
    }
    steps = []
    var field = AxisField.unit
    for (i, (k, (s, d))) in zip(kernels, zip(strides, dilations)).enumerated() {
      guard k >= 1 else { throw TeachError("kernel \(i + 1) must be at least 1, got \(k)") }
      guard s >= 1 else { throw TeachError("stride \(i + 1) must be at least 1, got \(s)") }
      guard d >= 1 else { throw TeachError("dilation \(i + 1) must be at least 1, got \(d)") }
      // `through` multiplies d·(k − 1) unchecked; the rest of its arithmetic is checked.
      _ = try checkedTimes([d, k - 1], "span of kernel \(i + 1)")
      guard let next = field.through(kernel: k, stride: s, padding: 0, dilation: d) else {
        throw TeachError("the receptive field overflows 64-bit integers at layer \(i + 1)")
      }
      field = next
      steps.append(Step(kernel: k, stride: s, dilation: d, size: field.size, jump: field.stride))
    }
  }

  /// The lines of the worked answer, its tables and matrices fitted to `columns` columns (the prose is
  /// left for the caller to wrap).
  public func worked(columns: Int) -> [String] {
    var lines = [
      "Receptive field of a stack of \(steps.count) layer\(steps.count == 1 ? "" : "s"):",
      "  r = the side of the input square one output sees,",
      "  j = the input distance between neighbouring outputs;",
      "  r₀ = 1, j₀ = 1",
      "  r_l = r_{l−1} + d_l·(k_l − 1)·j_{l−1},   j_l = j_{l−1}·s_l",
      "",
    ]
    var r = 1
    var j = 1
    for (i, s) in steps.enumerated() {
      let layer = "k = \(s.kernel), s = \(s.stride)" + (s.dilation == 1 ? "" : ", d = \(s.dilation)")
      let growth = s.dilation == 1 ? "(\(s.kernel) − 1)·\(j)" : "\(s.dilation)·(\(s.kernel) − 1)·\(j)"
      let head = "  layer \(i + 1) (\(layer)):"
      let size = "r\(i + 1) = \(r) + \(growth) = \(grouped(s.size)),"
      let jump = "j\(i + 1) = \(j)·\(s.stride) = \(grouped(s.jump))"
      let line = "\(head)  \(size)  \(jump)"
      // A line too wide for the terminal gives the step its own line.
      lines += line.count <= columns ? [line] : [head, "    \(size)  \(jump)"]
      r = s.size
      j = s.jump
    }
    lines += ["", "Receptive field: \(grouped(size))×\(grouped(size)) input pixels; jump \(grouped(jump))."]
    if steps.count > 1 && steps.allSatisfy({ $0.stride == 1 && $0.dilation == 1 }) {
      var squares: [Int] = []
      for s in steps { squares.append((try? checkedTimes([s.kernel, s.kernel], "weights")) ?? -1) }
      if let single = try? checkedTimes([size, size], "weights"), !squares.contains(-1),
        let stacked = try? checkedSum(squares, "weights")
      {
        lines.append(
          "One \(grouped(size))×\(grouped(size)) layer sees as much with \(grouped(single)) weights per channel pair;")
        lines.append(
          "the stack uses \(steps.map { "\($0.kernel)·\($0.kernel)" }.joined(separator: " + ")) = "
            + "\(grouped(stacked)) and \(steps.count) non-linearities.")
      }
    }
    return lines
  }
}
