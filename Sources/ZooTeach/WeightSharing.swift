import ZooGraph

/// Parameters, connections and arithmetic of one convolution layer, compared with a locally connected
/// layer (the same sparse connections, no sharing) and a dense layer (every input to every output),
/// from the same input to the same output.
///
/// With `F` filters of `kh × kw` on a `C × H × W` input (groups `g`) giving `F × H' × W'` outputs:
/// - convolution: weights `F · C/g · kh · kw`, biases `F`;
/// - locally connected: weights `C/g · kh · kw · F·H'·W'` (one set per output), biases `F·H'·W'`;
/// - dense: weights `C·H·W · F·H'·W'`, biases `F·H'·W'`.
/// Connections (LeCun's count) are `(C/g · kh · kw + 1) · F·H'·W'` with a bias. Summing `n` products
/// takes `n` multiplications and `n − 1` additions, plus one addition for the bias; `zoo describe`'s
/// FLOPs count 2 per MAC plus the bias add, one more per output. Parameters and MACs come from
/// ZooGraph's counting rules (`Node.counts`), so they match `zoo describe`.
public struct WeightSharing: Sendable, Encodable {
  /// The sizes of one way of wiring the layer.
  public struct Wiring: Sendable, Encodable {
    public var weights: Int
    public var biases: Int
    public var params: Int
    public var multiplications: Int
    public var additions: Int
    /// Multiplications plus additions (Goodfellow's "float muls or adds").
    public var operations: Int
  }

  /// `[C, H, W]`.
  public var input: [Int]
  public var filters: Int
  /// `[kh, kw]`.
  public var kernel: [Int]
  public var stride: Int
  public var padding: Int
  public var groups: Int
  public var bias: Bool
  /// `[F, H', W']`.
  public var output: [Int]
  public var height: OutputSize
  public var width: OutputSize
  /// `C/g · kh · kw`: the weights (and inputs) each output value sees.
  public var weightsPerOutput: Int
  public var inputValues: Int
  public var outputValues: Int
  /// Weight and bias uses over all outputs: `(C/g · kh · kw + 1) · F·H'·W'` with a bias.
  public var connections: Int
  public var macs: Int
  /// `zoo describe`'s FLOPs: `2 · MACs` plus one bias add per output.
  public var flops: Int
  public var convolution: Wiring
  public var locallyConnected: Wiring
  public var dense: Wiring

  public init(
    input: [Int], filters: Int, kernel: Pair, stride: Int = 1, padding: Int = 0, groups: Int = 1, bias: Bool = true
  ) throws(TeachError) {
    guard input.count == 3, input.allSatisfy({ $0 >= 1 }) else {
      throw TeachError(
        "the input must be three positive sizes C×H×W, got \(input.map(String.init).joined(separator: "×"))")
    }
    guard filters >= 1 else { throw TeachError("the number of filters must be at least 1, got \(filters)") }
    guard groups >= 1, input[0] % groups == 0, filters % groups == 0 else {
      throw TeachError(
        "groups must divide both the \(input[0]) input channels and the \(filters) filters, got \(groups)")
    }
    self.input = input
    self.filters = filters
    self.kernel = [kernel.h, kernel.w]
    self.stride = stride
    self.padding = padding
    self.groups = groups
    self.bias = bias
    height = try OutputSize(input: input[1], kernel: kernel.h, stride: stride, padding: padding)
    width = try OutputSize(input: input[2], kernel: kernel.w, stride: stride, padding: padding)
    weightsPerOutput = try checkedTimes([input[0] / groups, kernel.h, kernel.w], "weights per filter")
    _ = try checkedSum(
      [try checkedTimes([weightsPerOutput, filters], "number of weights"), filters], "number of parameters")
    inputValues = try checkedTimes(input, "number of input values")

    let conv = Conv2D(
      inChannels: input[0], outChannels: filters, kernel: kernel, stride: Pair(stride), padding: Pair(padding),
      groups: groups, bias: bias)
    let convNode = Node(id: 0, name: "conv", op: .conv(conv), inputs: [])
    let counts: Counts
    do {
      output = try convNode.op.outputShape([input])
      outputValues = try checkedTimes(output, "number of output values")
      counts = try convNode.counts(inputs: [input], output: output)
    } catch let e as ShapeError {
      throw TeachError(e.message)
    } catch {
      throw TeachError("\(error)")
    }
    macs = counts.macs
    flops = counts.flops
    let b = bias ? 1 : 0
    connections = try checkedTimes([weightsPerOutput + b, outputValues], "number of connections")
    // Per output: weightsPerOutput products summed with weightsPerOutput − 1 adds, plus the bias add.
    let adds = try checkedTimes([weightsPerOutput - 1 + b, outputValues], "number of additions")
    let ops = try checkedSum([macs, adds], "number of operations")
    convolution = Wiring(
      weights: counts.params - b * filters, biases: b * filters, params: counts.params, multiplications: macs,
      additions: adds, operations: ops)
    locallyConnected = Wiring(
      weights: macs, biases: b * outputValues,
      params: try checkedSum([macs, b * outputValues], "number of parameters"), multiplications: macs,
      additions: adds, operations: ops)

    let denseWeights = try checkedTimes([inputValues, outputValues], "number of dense weights")
    let denseNode = Node(
      id: 0, name: "fc", op: .linear(inFeatures: inputValues, outFeatures: outputValues, bias: bias), inputs: [])
    let denseCounts: Counts
    do {
      denseCounts = try denseNode.counts(inputs: [[inputValues]], output: [outputValues])
    } catch {
      throw TeachError("\(error)")
    }
    let denseAdds = try checkedTimes([inputValues - 1 + b, outputValues], "number of dense additions")
    dense = Wiring(
      weights: denseWeights, biases: b * outputValues, params: denseCounts.params,
      multiplications: denseCounts.macs, additions: denseAdds,
      operations: try checkedSum([denseCounts.macs, denseAdds], "number of dense operations"))
  }

  /// How many times `a` is `b`: a whole number from 100 on, else with one decimal.
  static func times(_ a: Int, _ b: Int) -> String {
    guard b > 0 else { return "∞" }
    let r = Double(a) / Double(b)
    if r >= 100 { return grouped(Int(r.rounded())) }
    let tenths = Int((r * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
  }

  /// The lines of the worked answer, its tables and matrices fitted to `columns` columns (the prose is
  /// left for the caller to wrap).
  public func worked(columns: Int) -> [String] {
    let (c, h, w) = (input[0], input[1], input[2])
    let (kh, kw) = (kernel[0], kernel[1])
    let b = bias ? 1 : 0
    let cg = groups == 1 ? "\(c)" : "\(c)/\(groups)"
    var lines = [
      "Convolution: \(filters) filter\(filters == 1 ? "" : "s") of \(kh)×\(kw) on a \(c)×\(h)×\(w) input "
        + "(stride \(stride), padding \(padding)\(groups == 1 ? "" : ", groups \(groups)"), "
        + "\(bias ? "with" : "no") bias)",
      "  output height: \(height.pluggedIn)",
      "  output width:  \(width.pluggedIn)",
      "  output: \(output.map(String.init).joined(separator: "×")) = \(grouped(outputValues)) values",
      "",
      "Parameters, shared by all \(output[1])·\(output[2]) = \(grouped(output[1] * output[2])) positions:",
      "  weights = filters · in-channels\(groups == 1 ? "" : "/groups") · kh · kw = "
        + "\(filters) · \(cg) · \(kh) · \(kw) = \(grouped(convolution.weights))",
      "  biases  = \(bias ? "filters = \(filters)" : "0 (no bias)")",
      "  params  = \(grouped(convolution.weights)) + \(convolution.biases) = \(grouped(convolution.params))",
      "",
      "Connections (LeCun's count: every use of a weight\(bias ? " or bias" : ""), over all outputs):",
      "  (\(cg)·\(kh)·\(kw)\(bias ? " + 1" : "")) · \(grouped(outputValues)) = "
        + "\(grouped(weightsPerOutput + b)) · \(grouped(outputValues)) = \(grouped(connections))",
      "  MACs = \(grouped(weightsPerOutput)) · \(grouped(outputValues)) = \(grouped(macs))",
      "",
      "Without weight sharing, from the same \(grouped(inputValues)) inputs to the same \(grouped(outputValues)) "
        + "outputs:",
      "",
    ]
    var table = [["", "Convolution", "Locally connected", "Dense"]]
    let all = [convolution, locallyConnected, dense]
    let rows: [(String, KeyPath<Wiring, Int>)] = [
      ("Weights", \.weights), ("Biases", \.biases), ("Parameters", \.params),
      ("Multiplications", \.multiplications), ("Additions", \.additions), ("Muls + adds", \.operations),
    ]
    for (name, key) in rows { table.append([name] + all.map { grouped($0[keyPath: key]) }) }
    lines += tableLines(table, width: columns)
    lines += [
      "",
      "  Locally connected: like the convolution, but every output has its own \(grouped(weightsPerOutput)) "
        + "weights",
      "  (Goodfellow's sparse matrix; taps over the padding count too).",
      "  Dense: weights = inputs · outputs = \(grouped(inputValues)) · \(grouped(outputValues)) = "
        + "\(grouped(dense.weights)).",
      "  The dense layer has \(Self.times(dense.params, convolution.params)) times the convolution's parameters "
        + "and \(Self.times(dense.operations, convolution.operations)) times its arithmetic.",
      "",
      "Additions: a sum of n products takes n − 1 adds\(bias ? ", plus one for the bias" : ""). "
        + "zoo describe counts FLOPs as",
      "2 per MAC\(bias ? " plus the bias add" : "") = \(grouped(flops)), one more add per output "
        + "(it starts every sum from 0).",
    ]
    return lines
  }
}
