import ZooGraph

/// Locally connected and tiled convolution against a convolution (Goodfellow, Bengio & Courville,
/// *Deep Learning*, Figure 9.16), with the notes' face example: on aligned faces an eye is always in the
/// same place, so each position may learn its own filters.
///
/// With `F` filters of `k × k` on `C × H × W` giving `F × H' × W'` outputs:
/// - convolution: weights `F · C · k²` (one set shared by all `H'·W'` positions), biases `F`;
/// - tiled with period `t`: weights `t_h · t_w · F · C · k²` where `t_h = min(t, H')`, `t_w = min(t, W')`
///   (the sets cycle every `t` positions along each axis), biases `t_h · t_w · F`;
/// - locally connected: weights `H'·W' · F · C · k²` (a set per position), biases `H'·W' · F`.
/// MACs are the same for all three: each output still sees `C · k²` inputs.
public struct LocalConnection: Sendable, Encodable {
  public struct Wiring: Sendable, Encodable {
    /// Distinct weight sets (positions that do not share).
    public var sets: Int
    public var weights: Int
    public var biases: Int
    public var params: Int
  }

  public var input: [Int]
  public var filters: Int
  public var kernel: Int
  public var stride: Int
  public var padding: Int
  public var tile: Int?
  public var bias: Bool
  public var output: [Int]
  public var macs: Int
  public var convolution: Wiring
  public var tiled: Wiring?
  public var locallyConnected: Wiring

  public init(
    input: [Int], filters: Int, kernel: Int, stride: Int = 1, padding: Int = 0, tile: Int? = nil, bias: Bool = true
  ) throws(TeachError) {
    try checkLayer(input: input, filters: filters)
    if let tile, tile < 1 { throw TeachError("the tile period must be at least 1, got \(tile)") }
    self.input = input
    self.filters = filters
    self.kernel = kernel
    self.stride = stride
    self.padding = padding
    self.tile = tile
    self.bias = bias
    let conv = Conv2D(
      inChannels: input[0], outChannels: filters, kernel: Pair(kernel), stride: Pair(stride),
      padding: Pair(padding), bias: bias)
    let (out, counts) = try layerCounts(.conv(conv), input: input)
    output = out
    macs = counts.macs
    let perSet = try checkedTimes([filters, input[0], kernel, kernel], "number of weights")
    func wiring(_ sets: Int) throws(TeachError) -> Wiring {
      let w = try checkedTimes([sets, perSet], "number of weights")
      let b = bias ? try checkedTimes([sets, filters], "number of biases") : 0
      return Wiring(sets: sets, weights: w, biases: b, params: try checkedSum([w, b], "number of parameters"))
    }
    convolution = try wiring(1)
    tiled = try tile.map { (t: Int) throws(TeachError) -> Wiring in try wiring(min(t, out[1]) * min(t, out[2])) }
    locallyConnected = try wiring(out[1] * out[2])
  }

  /// The lines of the worked answer, its tables and matrices fitted to `columns` columns (the prose is
  /// left for the caller to wrap).
  public func worked(columns: Int) -> [String] {
    let (c, k, f) = (input[0], kernel, filters)
    let (oh, ow) = (output[1], output[2])
    var lines = [
      "\(f) filter\(f == 1 ? "" : "s") of \(k)×\(k) on \(shapeText(input)) → \(shapeText(output)) "
        + "(stride \(stride), padding \(padding), \(bias ? "with" : "no") biases).",
      "Each output sees C · k · k = \(c) · \(k) · \(k) = \(grouped(c * k * k)) inputs in every wiring,",
      "so the MACs are the same: \(grouped(macs)).",
      "",
      "Convolution: one set of F · C · k · k = \(grouped(convolution.weights)) weights, shared by all "
        + "\(oh)·\(ow) = \(grouped(oh * ow)) positions.",
    ]
    if let tiled, let t = tile {
      lines.append(
        "Tiled (t = \(t)): \(min(t, oh))·\(min(t, ow)) = \(tiled.sets) sets that cycle every \(t) positions "
          + "along each axis:")
      lines.append("  \(tiled.sets) · \(grouped(convolution.weights)) = \(grouped(tiled.weights)) weights.")
    }
    lines += [
      "Locally connected: a set per position, nothing shared:",
      "  \(grouped(oh * ow)) · \(grouped(convolution.weights)) = \(grouped(locallyConnected.weights)) weights"
        + (bias ? ", and a bias per output value." : "."),
      "",
    ]
    var table = [["", "Convolution"] + (tiled == nil ? [] : ["Tiled"]) + ["Locally connected"]]
    let all = [convolution] + (tiled.map { [$0] } ?? []) + [locallyConnected]
    table.append(["Weight sets"] + all.map { grouped($0.sets) })
    table.append(["Weights"] + all.map { grouped($0.weights) })
    table.append(["Biases"] + all.map { grouped($0.biases) })
    table.append(["Parameters"] + all.map { grouped($0.params) })
    table.append(["× convolution"] + all.map { ratio($0.params, convolution.params) })
    lines += tableLines(table, width: columns)
    lines += [
      "",
      "When is it worth it? On aligned faces an eye is always in the same place, so different",
      "positions may learn different features (DeepFace's locally connected L4–L6); on ordinary images",
      "a feature can appear anywhere and sharing is the right assumption. Tiling sits in between",
      "(Goodfellow, Figure 9.16).",
    ]
    return lines
  }
}
