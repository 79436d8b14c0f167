import Foundation
import ZooGraph

/// A gated convolution (Yu et al., "Free-Form Image Inpainting with Gated Convolution", ICCV 2019)
/// against the plain convolution it replaces: `O = φ(conv_f(I)) ⊙ σ(conv_g(I))`.
///
/// Two convolutions of the same shape, `conv_f` (features) and `conv_g` (gates), see the same input; the
/// sigmoid turns each gate into a number between 0 and 1 that scales its feature, per channel and
/// position: a learned soft mask. Parameters and MACs are twice the plain convolution's, plus one
/// multiplication per output value for the gate (ZooGraph's counts: `mul` costs one FLOP per output).
public struct GatedConvolution: Sendable, Encodable {
  public var input: [Int]
  public var filters: Int
  public var kernel: Int
  public var stride: Int
  public var padding: Int
  public var dilation: Int
  public var bias: Bool
  public var output: [Int]
  public var plainParams: Int
  public var plainMACs: Int
  public var gatedParams: Int
  public var gatedMACs: Int
  /// Output values: one gate multiplication each.
  public var gateMultiplications: Int
  /// Activation memory of one sample in values: the feature and gate maps before the product.
  public var gatedActivations: Int

  public init(
    input: [Int], filters: Int, kernel: Int, stride: Int = 1, padding: Int = 0, dilation: Int = 1,
    bias: Bool = true
  ) throws(TeachError) {
    try checkLayer(input: input, filters: filters)
    self.input = input
    self.filters = filters
    self.kernel = kernel
    self.stride = stride
    self.padding = padding
    self.dilation = dilation
    self.bias = bias
    let conv = Conv2D(
      inChannels: input[0], outChannels: filters, kernel: Pair(kernel), stride: Pair(stride),
      padding: Pair(padding), dilation: Pair(dilation), bias: bias)
    let (out, counts) = try layerCounts(.conv(conv), input: input)
    output = out
    plainParams = counts.params
    plainMACs = counts.macs
    gatedParams = try checkedTimes([2, counts.params], "number of parameters")
    gatedMACs = try checkedTimes([2, counts.macs], "number of MACs")
    gateMultiplications = counts.outputElements
    gatedActivations = try checkedTimes([2, counts.outputElements], "number of activations")
  }

  /// σ(g) for a few gate logits, to show what the gate lets through.
  public static let exampleGates: [Double] = [-4, -1, 0, 1, 4]

  /// The lines of the worked answer, its tables and matrices fitted to `columns` columns (the prose is
  /// left for the caller to wrap).
  public func worked(columns: Int) -> [String] {
    let (c, k, f) = (input[0], kernel, filters)
    let b = bias ? " + \(f)" : ""
    var lines = [
      "Gated convolution (Yu et al., ICCV 2019), as in the notes:",
      "  O = φ(conv_f(I)) ⊙ σ(conv_g(I))",
      "  conv_f computes features, conv_g gates; σ (the sigmoid) turns each gate into a weight",
      "  between 0 and 1 that scales its feature, for every channel and position:",
      "  a mask the network learns.",
      "",
      "From \(shapeText(input)) to \(shapeText(output)) with \(k)×\(k) kernels (stride \(stride), "
        + "padding \(padding)\(dilation == 1 ? "" : ", dilation \(dilation)")):",
      "  plain convolution params = F · C · k · k\(bias ? " + F" : "") = \(f) · \(c) · \(k) · \(k)\(b) = "
        + "\(grouped(plainParams))",
      "  gated params = 2 · \(grouped(plainParams)) = \(grouped(gatedParams))   (conv_f and conv_g)",
      "  plain MACs = \(grouped(plainMACs)); gated MACs = 2 · \(grouped(plainMACs)) = \(grouped(gatedMACs)),",
      "  plus \(grouped(gateMultiplications)) gate multiplications (one per output value)",
      "  and 2 · \(grouped(gateMultiplications)) = \(grouped(gatedActivations)) values held before the product "
        + "(features and gates).",
      "",
      "What the gate lets through of a feature φ = 2:",
    ]
    var table = [["gate logit g", "σ(g)", "output 2·σ(g)"]]
    for g in Self.exampleGates {
      let s = 1 / (1 + exp(-g))
      table.append([number(g), String(format: "%.3f", s), String(format: "%.3f", 2 * s)])
    }
    lines += tableLines(table, width: columns)
    lines += [
      "",
      "A plain convolution treats every pixel as valid; the gate can switch off the holes of an image",
      "being inpainted, channel by channel and layer by layer, at twice the cost.",
    ]
    return lines
  }
}
