/// Per-op counts: parameters, multiply-accumulates, floating-point operations.
///
/// Conventions (docs/conventions.md):
/// - MACs: multiply-accumulates of conv and linear layers (and LeNet's RBF): kernel elements ×
///   input channels per group × output elements (locally connected and tiled layers too: the same
///   products as the shared convolution, only the parameters differ); a transposed convolution's in · out/groups × kernel
///   elements × input positions (every input value times every weight it meets). Bias adds are not MACs.
/// - FLOPs: every arithmetic operation, per op:
///   conv, transposed conv, local and linear `2·MACs` plus one add per output element when there is a bias;
///   batch norm 2 per element (scale and shift, statistics folded at inference);
///   activations per element: relu, leaky relu, tanh, sigmoid 1; relu6 2; scaled tanh 3; hardsigmoid 4;
///   hardswish 5; silu 2; gelu 5, with the tanh approximation 9 (``Activation/flopsPerElement``);
///   softmax 3 per element (exp, sum, divide);
///   max pool `k·k − 1` comparisons and average pool `k·k` (adds and a divide) per output element;
///   adaptive average pool the bin size per output element; LRN `2·size + 4` per element;
///   add and mul `n − 1` per output element for `n` inputs (broadcast inputs count per output element); LeNet subsampling `k·k + 1` per output element;
///   maxout `k − 1` comparisons per output element; max unpooling 0 (a scatter);
///   RBF 3 per connection; flatten, concat, dropout, identity, channel shuffle and channel slice 0
///   (they move values without arithmetic).
public struct Counts: Sendable, Hashable {
  public var params = 0
  public var trainableParams = 0
  public var bufferElements = 0
  public var macs = 0
  public var flops = 0
  public var outputElements = 0

  public init() {}

  /// Field-wise sum; throws on overflow.
  public mutating func add(_ o: Counts) throws(CountOverflow) {
    params = try checkedAdd(params, o.params, "parameters")
    trainableParams = try checkedAdd(trainableParams, o.trainableParams, "parameters")
    bufferElements = try checkedAdd(bufferElements, o.bufferElements, "buffer elements")
    macs = try checkedAdd(macs, o.macs, "MACs")
    flops = try checkedAdd(flops, o.flops, "FLOPs")
    outputElements = try checkedAdd(outputElements, o.outputElements, "output elements")
  }
}

/// A count that does not fit in 64 bits.
public struct CountOverflow: Error, Sendable, CustomStringConvertible {
  public var what: String
  public var description: String { "the number of \(what) overflows 64-bit integers" }
}

@inline(__always)
func checkedAdd(_ a: Int, _ b: Int, _ what: String) throws(CountOverflow) -> Int {
  let (r, o) = a.addingReportingOverflow(b)
  if o { throw CountOverflow(what: what) }
  return r
}

/// The product of `xs`, or an error naming `what` when it overflows.
public func checkedProduct(_ xs: [Int], _ what: String) throws(CountOverflow) -> Int {
  var r = 1
  for x in xs {
    let (p, o) = r.multipliedReportingOverflow(by: x)
    if o { throw CountOverflow(what: what) }
    r = p
  }
  return r
}

extension Node {
  /// Counts for one sample with the given input and output shapes.
  public func counts(inputs: [[Int]], output: [Int]) throws(CountOverflow) -> Counts {
    var c = Counts()
    for t in tensors {
      let n = try checkedProduct(t.shape, "elements of \(t.name)")
      if t.kind == .parameter {
        c.params = try checkedAdd(c.params, n, "parameters")
        if t.trainable { c.trainableParams = try checkedAdd(c.trainableParams, n, "parameters") }
      } else {
        c.bufferElements = try checkedAdd(c.bufferElements, n, "buffer elements")
      }
    }
    let out = try checkedProduct(output, "output elements")
    c.outputElements = out
    func times(_ xs: Int...) throws(CountOverflow) -> Int { try checkedProduct(xs, "FLOPs") }
    switch op {
    case .conv(let conv):
      // Channel pairs (out · in/groups, or the connection table's entries) × kernel × output positions.
      c.macs = try checkedProduct([conv.connections, conv.kernel.h, conv.kernel.w, output[1], output[2]], "MACs")
      c.flops = try checkedAdd(try times(2, c.macs), conv.bias ? out : 0, "FLOPs")
    case .convTranspose(let t):
      // Every input value times every weight it meets: in · out/groups × kernel × input positions
      // (torchvision's and fvcore's convention; taps that land in the cropped padding still count).
      c.macs = try checkedProduct(
        [t.inChannels, t.outChannels / t.groups, t.kernel.h, t.kernel.w, inputs[0][1], inputs[0][2]], "MACs")
      c.flops = try checkedAdd(try times(2, c.macs), t.bias ? out : 0, "FLOPs")
    case .local(let l):
      // As the convolution with the same window: every output position uses one kernel, shared or not.
      c.macs = try checkedProduct(
        [l.outChannels, l.inChannels, l.kernel.h, l.kernel.w, output[1], output[2]], "MACs")
      c.flops = try checkedAdd(try times(2, c.macs), l.bias ? out : 0, "FLOPs")
    case .linear(let i, _, let bias):
      c.macs = try checkedProduct([i, out], "MACs")
      c.flops = try checkedAdd(try times(2, c.macs), bias ? out : 0, "FLOPs")
    case .rbf(let i, let n):
      c.macs = try checkedProduct([i, n], "MACs")
      c.flops = try times(3, c.macs)
    case .batchNorm:
      c.flops = try times(2, out)
    case .activation(let a):
      c.flops = try times(a.flopsPerElement, out)
    case .softmax:
      c.flops = try times(3, out)
    case .lrn(let size, _, _, _):
      c.flops = try times(2 * size + 4, out)
    case .pool(let p):
      let window = p.kernel.h * p.kernel.w
      c.flops = try times(p.kind == .max ? window - 1 : window, out)
    case .adaptiveAvgPool(let oh, let ow):
      let x = inputs[0]
      c.flops = try checkedProduct(
        [x[0], adaptiveBinTotal(x[1], oh), adaptiveBinTotal(x[2], ow)], "FLOPs")
    case .adaptiveMaxPool(let oh, let ow):
      // One comparison per element of a bin after its first, as for `maxpool`.
      let x = inputs[0]
      let elements = try checkedProduct(
        [x[0], adaptiveBinTotal(x[1], oh), adaptiveBinTotal(x[2], ow)], "FLOPs")
      c.flops = elements - out
    case .upsample(let u):
      // Nearest copies; bilinear weighs four pixels (4 multiplies, 3 adds) per output element.
      c.flops = u.mode == .nearest ? 0 : try times(7, out)
    case .subsample(_, let k):
      c.flops = try times(k * k + 1, out)
    case .add, .mul:
      c.flops = try times(max(inputs.count - 1, 0), out)
    case .maxout(let k):
      // k − 1 comparisons per output element, as max pooling counts.
      c.flops = try times(k - 1, out)
    case .maxUnpool:
      // A scatter: values move to their switches' positions (the zero fill is not arithmetic).
      break
    case .input, .flatten, .dropout, .identity, .concat, .channelShuffle, .channelSlice, .crop:
      break
    case .pad:
      // Padding copies values (and writes constants): no arithmetic, like `concat`. A convolution's own
      // padding (``Conv2D/prePad``) costs nothing either: its MACs count the output positions only.
      break
    }
    return c
  }
}

/// Sum of PyTorch's adaptive-pooling bin lengths along one axis of length `n` split into `o` bins:
/// bin `i` spans `floor(i·n/o) ..< ceil((i+1)·n/o)`.
public func adaptiveBinTotal(_ n: Int, _ o: Int) -> Int {
  var total = 0
  for i in 0..<o {
    let start = (i * n) / o
    let end = ((i + 1) * n + o - 1) / o
    total += end - start
  }
  return total
}

extension Activation {
  /// FLOPs per element: the operations of the definition as written, a function (`tanh`, `erf`, the
  /// sigmoid) counting as one, a comparison (`max`, `min`) as one. ReLU, leaky ReLU, tanh and sigmoid
  /// count 1 (the table's historical convention); scaled tanh `A·tanh(S·x)` 3; relu6 `min(max(x, 0), 6)`
  /// 2; hardsigmoid `relu6(x + 3) / 6` 4; hardswish `x · hardsigmoid(x)` 5; silu `x · sigmoid(x)` 2;
  /// exact gelu `0.5 · x · (1 + erf(x / √2))` 5; tanh-approximated gelu
  /// `0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))` 9.
  public var flopsPerElement: Int {
    switch self {
    case .relu, .leakyReLU, .tanh, .sigmoid: 1
    case .scaledTanh: 3
    case .relu6: 2
    case .hardsigmoid: 4
    case .hardswish: 5
    case .silu: 2
    case .gelu(.erf): 5
    case .gelu(.tanh): 9
    }
  }
}
