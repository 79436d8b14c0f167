import Foundation
import ZooGraph

/// A full convolution against its depthwise separable factorisation (MobileNet, Xception): a `k × k`
/// depthwise convolution (`groups = C`, one filter per input channel) followed by a `1 × 1` pointwise
/// convolution to `F` channels, from the same `C × H × W` input to the same `F × H' × W'` output.
///
/// Weights: full `F · C · k²`; separable `C · k² + C · F`. MACs scale the same way per output position, so
/// (without biases) separable / full `= 1/F + 1/k²`. All counts come from ZooGraph's rules.
public struct DepthwiseSeparable: Sendable, Encodable {
  /// Parameters and MACs of one layer.
  public struct Layer: Sendable, Encodable {
    public var params: Int
    public var macs: Int
    public var output: [Int]
  }

  public var input: [Int]
  public var filters: Int
  public var kernel: Int
  public var stride: Int
  public var padding: Int
  public var bias: Bool
  public var full: Layer
  public var depthwise: Layer
  public var pointwise: Layer
  /// `depthwise + pointwise`.
  public var separable: Layer

  public init(input: [Int], filters: Int, kernel: Int, stride: Int = 1, padding: Int = 0, bias: Bool = true)
    throws(TeachError)
  {
    try checkLayer(input: input, filters: filters)
    self.input = input
    self.filters = filters
    self.kernel = kernel
    self.stride = stride
    self.padding = padding
    self.bias = bias
    let c = input[0]
    func layer(_ conv: Conv2D, _ x: [Int]) throws(TeachError) -> Layer {
      let (out, counts) = try layerCounts(.conv(conv), input: x)
      return Layer(params: counts.params, macs: counts.macs, output: out)
    }
    full = try layer(
      Conv2D(
        inChannels: c, outChannels: filters, kernel: Pair(kernel), stride: Pair(stride), padding: Pair(padding),
        bias: bias), input)
    depthwise = try layer(
      Conv2D(
        inChannels: c, outChannels: c, kernel: Pair(kernel), stride: Pair(stride), padding: Pair(padding),
        groups: c, bias: bias), input)
    pointwise = try layer(
      Conv2D(inChannels: c, outChannels: filters, kernel: Pair(1), bias: bias), depthwise.output)
    separable = Layer(
      params: try checkedSum([depthwise.params, pointwise.params], "number of parameters"),
      macs: try checkedSum([depthwise.macs, pointwise.macs], "number of MACs"), output: pointwise.output)
  }

  /// The lines of the worked answer, its tables and matrices fitted to `columns` columns (the prose is
  /// left for the caller to wrap).
  public func worked(columns: Int) -> [String] {
    let (c, k, f) = (input[0], kernel, filters)
    let positions = full.output[1] * full.output[2]
    let b = bias ? " + \(f)" : ""
    var lines = [
      "From \(shapeText(input)) to \(shapeText(full.output)) with \(k)×\(k) kernels "
        + "(stride \(stride), padding \(padding), \(bias ? "with" : "no") biases):",
      "",
      "Full convolution: every filter sees all \(c) input channels.",
      "  params = F · C · k · k\(bias ? " + F" : "") = \(f) · \(c) · \(k) · \(k)\(b) = \(grouped(full.params))",
      "  MACs   = F · C · k · k · H'·W' = \(f) · \(c) · \(k) · \(k) · \(grouped(positions)) = \(grouped(full.macs))",
      "",
      "Depthwise separable: a \(k)×\(k) depthwise convolution (groups = C: one filter per channel, C → C),",
      "then a 1×1 pointwise convolution that mixes the channels (C → F).",
      "  depthwise params = C · k · k\(bias ? " + C" : "") = \(c) · \(k) · \(k)\(bias ? " + \(c)" : "") = "
        + "\(grouped(depthwise.params))",
      "  pointwise params = F · C\(bias ? " + F" : "") = \(f) · \(c)\(b) = \(grouped(pointwise.params))",
      "  depthwise MACs   = C · k · k · H'·W' = \(grouped(depthwise.macs))",
      "  pointwise MACs   = F · C · H'·W' = \(grouped(pointwise.macs))",
      "",
    ]
    lines += tableLines(
      [
        ["", "Full", "Depthwise", "Pointwise", "Separable", "Full ÷ separable"],
        [
          "Params", grouped(full.params), grouped(depthwise.params), grouped(pointwise.params),
          grouped(separable.params), ratio(full.params, separable.params),
        ],
        [
          "MACs", grouped(full.macs), grouped(depthwise.macs), grouped(pointwise.macs), grouped(separable.macs),
          ratio(full.macs, separable.macs),
        ],
      ], width: columns)
    lines += [
      "",
      "Without biases, separable ÷ full = (C·k² + C·F) / (F·C·k²) = 1/F + 1/k²",
      "  = 1/\(f) + 1/\(k * k) = \(String(format: "%.3f", 1 / Double(f) + 1 / Double(k * k))): "
        + "the factorisation costs about 1/k² of the full convolution when F is large.",
      "The depthwise step filters each channel alone; only the pointwise step combines channels.",
    ]
    return lines
  }
}
