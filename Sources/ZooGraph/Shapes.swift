/// Output-shape rules. Shapes exclude the batch dimension: `[C, H, W]` or `[F]`.

/// Why an op cannot take the shapes it was given. The message quotes the values involved.
public struct ShapeError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// Output length of a sliding window along one axis (PyTorch's `pooling_output_shape`).
///
/// `floor((n + 2·padding − dilation·(kernel − 1) − 1) / stride) + 1`, rounding toward −∞; with
/// `ceilMode` the division rounds up instead, and a last window that would start in the right padding
/// is dropped. Returns a value ≤ 0 when no window fits.
public func windowOutputSize(
  _ n: Int, kernel: Int, stride: Int, padding: Int, dilation: Int = 1, ceilMode: Bool = false
) -> Int {
  let numerator = n + 2 * padding - dilation * (kernel - 1) - 1 + (ceilMode ? stride - 1 : 0)
  var out = (numerator >= 0 ? numerator / stride : -((-numerator + stride - 1) / stride)) + 1
  if ceilMode && (out - 1) * stride >= n + padding { out -= 1 }
  return out
}

extension Op {
  /// The output shape for the given input shapes, or an error naming the offending values.
  public func outputShape(_ inputs: [[Int]]) throws(ShapeError) -> [Int] {
    func map(_ shape: [Int], _ what: String) throws(ShapeError) -> (Int, Int, Int) {
      guard shape.count == 3 else {
        throw ShapeError("\(what) needs a C×H×W feature map, got \(format(shape))")
      }
      return (shape[0], shape[1], shape[2])
    }
    guard let x = inputs.first else { throw ShapeError("\(kindName) has no input") }
    switch self {
    case .input, .dropout, .identity:
      return x
    case .activation, .softmax:
      return x
    case .conv(let c):
      let (ch, h0, w0) = try map(x, "conv")
      guard ch == c.inChannels else {
        throw ShapeError("conv expects \(c.inChannels) input channels, got \(ch) (input \(format(x)))")
      }
      let (h, w) = try c.prePad?.paddedSize(h0, w0) ?? (h0, w0)
      let oh = windowOutputSize(
        h, kernel: c.kernel.h, stride: c.stride.h, padding: c.padding.h, dilation: c.dilation.h)
      let ow = windowOutputSize(
        w, kernel: c.kernel.w, stride: c.stride.w, padding: c.padding.w, dilation: c.dilation.w)
      guard oh >= 1, ow >= 1 else {
        throw ShapeError(
          "conv \(c.kernel.h)×\(c.kernel.w) (stride \(c.stride), "
            + "padding \(c.prePad.map { "\($0)" } ?? c.padding.description), dilation \(c.dilation)) "
            + "on \(format(x)) gives an empty \(oh)×\(ow) output")
      }
      return [c.outChannels, oh, ow]
    case .convTranspose(let c):
      let (ch, h, w) = try map(x, "conv_transpose")
      guard ch == c.inChannels else {
        throw ShapeError("conv_transpose expects \(c.inChannels) input channels, got \(ch) (input \(format(x)))")
      }
      let oh = ConvTranspose2D.outputSize(
        h, kernel: c.kernel.h, stride: c.stride.h, padding: c.padding.h, outputPadding: c.outputPadding.h,
        dilation: c.dilation.h)
      let ow = ConvTranspose2D.outputSize(
        w, kernel: c.kernel.w, stride: c.stride.w, padding: c.padding.w, outputPadding: c.outputPadding.w,
        dilation: c.dilation.w)
      guard oh >= 1, ow >= 1 else {
        throw ShapeError(
          "conv_transpose \(c.kernel.h)×\(c.kernel.w) (stride \(c.stride), padding \(c.padding), "
            + "output_padding \(c.outputPadding), dilation \(c.dilation)) on \(format(x)) gives an empty "
            + "\(oh)×\(ow) output")
      }
      return [c.outChannels, oh, ow]
    case .pool(let p):
      let (ch, h, w) = try map(x, p.kind == .max ? "maxpool" : "avgpool")
      for (k, pad, d) in [(p.kernel.h, p.padding.h, p.dilation.h), (p.kernel.w, p.padding.w, p.dilation.w)]
      where 2 * pad > (k - 1) * d + 1 {
        throw ShapeError("pool padding \(pad) is more than half the kernel \((k - 1) * d + 1)")
      }
      let oh = windowOutputSize(
        h, kernel: p.kernel.h, stride: p.stride.h, padding: p.padding.h, dilation: p.dilation.h,
        ceilMode: p.ceilMode)
      let ow = windowOutputSize(
        w, kernel: p.kernel.w, stride: p.stride.w, padding: p.padding.w, dilation: p.dilation.w,
        ceilMode: p.ceilMode)
      guard oh >= 1, ow >= 1 else {
        throw ShapeError(
          "pool \(p.kernel.h)×\(p.kernel.w) (stride \(p.stride), padding \(p.padding)) on \(format(x)) "
            + "gives an empty \(oh)×\(ow) output")
      }
      return [ch, oh, ow]
    case .subsample(let c, let k):
      let (ch, h, w) = try map(x, "subsample")
      guard ch == c else { throw ShapeError("subsample expects \(c) channels, got \(ch)") }
      guard h >= k, w >= k else {
        throw ShapeError("subsample \(k)×\(k) on \(format(x)) gives an empty \(h / k)×\(w / k) output")
      }
      return [ch, h / k, w / k]
    case .adaptiveAvgPool(let oh, let ow):
      let (ch, _, _) = try map(x, "adaptive_avgpool")
      return [ch, oh, ow]
    case .adaptiveMaxPool(let oh, let ow):
      let (ch, _, _) = try map(x, "adaptive_maxpool")
      return [ch, oh, ow]
    case .upsample(let u) where u.like:
      let (ch, _, _) = try map(x, "upsample")
      guard inputs.count == 2 else { throw ShapeError("upsample to another layer's size needs that layer") }
      let (_, th, tw) = try map(inputs[1], "upsample's size")
      return [ch, th, tw]
    case .upsample(let u):
      let (ch, h, w) = try map(x, "upsample")
      guard let (oh, ow) = u.outputSize(h, w) else {
        throw ShapeError("upsample of \(format(x)) by \(u.scale!) overflows")
      }
      return [ch, oh, ow]
    case .batchNorm(let c, _):
      guard x.count >= 1, x[0] == c else {
        throw ShapeError("bn expects \(c) channels, got \(format(x))")
      }
      return x
    case .lrn:
      _ = try map(x, "lrn")
      return x
    case .flatten:
      return [x.reduce(1, *)]
    case .linear(let i, let o, _):
      guard x.count == 1 else {
        throw ShapeError("linear needs a flat vector, got \(format(x)) (add a flatten before it)")
      }
      guard x[0] == i else {
        throw ShapeError("linear expects \(i) input features, got \(x[0])")
      }
      return [o]
    case .rbf(let i, let n):
      guard x == [i] else { throw ShapeError("rbf expects [\(i)], got \(format(x))") }
      return [n]
    case .add, .mul:
      return try broadcastShape(inputs, kindName)
    case .concat:
      let (_, h, w) = try map(x, "concat")
      var channels = 0
      for s in inputs {
        let (c, sh, sw) = try map(s, "concat")
        guard sh == h, sw == w else {
          throw ShapeError(
            "concat needs equal spatial sizes, got \(inputs.map(format).joined(separator: " and "))")
        }
        channels += c
      }
      return [channels, h, w]
    case .channelShuffle(let g):
      let (ch, _, _) = try map(x, "channel_shuffle")
      guard g >= 1, ch % g == 0 else {
        throw ShapeError("channel_shuffle needs channels that divide by groups, got \(ch) channels and \(g) groups")
      }
      return x
    case .pad(let p):
      let (ch, h, w) = try map(x, "pad")
      let (oh, ow) = try p.paddedSize(h, w)
      return [ch, oh, ow]
    case .crop(let c):
      let (ch, h, w) = try map(x, "crop")
      guard inputs.count == 2 else { throw ShapeError("crop needs the layer whose size it takes") }
      let (_, th, tw) = try map(inputs[1], "crop's size")
      let at = c.start(h, w, to: th, tw)
      guard th <= h, tw <= w else {
        throw ShapeError("crop to \(th)×\(tw) is larger than its input \(format(x))")
      }
      guard at.h >= 0, at.w >= 0, at.h + th <= h, at.w + tw <= w else {
        throw ShapeError(
          "crop to \(th)×\(tw) at offset [\(at.h), \(at.w)] reaches past its input \(format(x)) "
            + "(rows \(at.h)..<\(at.h + th), columns \(at.w)..<\(at.w + tw))")
      }
      return [ch, th, tw]
    case .channelSlice(let start, let count):
      let (ch, h, w) = try map(x, "slice")
      guard start >= 0, count >= 1, start + count <= ch else {
        throw ShapeError("slice of channels \(start)..<\(start + count) is outside the input's \(ch) channels")
      }
      return [count, h, w]
    case .maxUnpool:
      // Inputs: the values, the switches (the pool's output shape) and the pool's input shape
      // (``shapeInputs(of:nodes:shapes:)`` supplies the last two).
      let (ch, h, w) = try map(x, "max_unpool")
      guard inputs.count == 3 else { throw ShapeError("max_unpool needs its pool's shapes") }
      guard inputs[1] == x else {
        throw ShapeError(
          "max_unpool needs values of its pool's output shape \(format(inputs[1])), got \(format(x))"
            + (inputs[1].first != ch ? " (the channels differ)" : " (the sizes differ: \(h)×\(w))"))
      }
      return inputs[2]
    case .local(let l):
      let (ch, h, w) = try map(x, l.unshared ? "local" : "tiled")
      guard ch == l.inChannels else {
        throw ShapeError("local expects \(l.inChannels) input channels, got \(ch) (input \(format(x)))")
      }
      let oh = windowOutputSize(h, kernel: l.kernel.h, stride: l.stride.h, padding: l.padding.h)
      let ow = windowOutputSize(w, kernel: l.kernel.w, stride: l.stride.w, padding: l.padding.w)
      guard oh >= 1, ow >= 1 else {
        throw ShapeError(
          "local \(l.kernel.h)×\(l.kernel.w) (stride \(l.stride), padding \(l.padding)) on \(format(x)) gives an "
            + "empty \(oh)×\(ow) output")
      }
      if l.unshared && (oh, ow) != (l.tile.h, l.tile.w) {
        throw ShapeError(
          "local has one kernel per output position, made for a \(l.tile.h)×\(l.tile.w) output when the graph was "
            + "built; the input \(format(x)) gives \(oh)×\(ow) (the number of weights depends on the input size: "
            + "rebuild the model for this input, or give `tile` to share kernels in a cycle)")
      }
      if !l.unshared && (l.tile.h > oh || l.tile.w > ow) {
        throw ShapeError(
          "tiled `tile` \(l.tile) is larger than the \(oh)×\(ow) output (some kernels would never be used)")
      }
      return [l.outChannels, oh, ow]
    case .maxout(let k):
      let (ch, h, w) = try map(x, "maxout")
      guard k >= 1, ch % k == 0 else {
        throw ShapeError("maxout needs channels that divide by its group size, got \(ch) channels and groups of \(k)")
      }
      return [ch / k, h, w]
    }
  }
}

/// The shapes an op's ``Op/outputShape(_:)`` takes for `node`: its inputs' shapes, and for a
/// ``Op/maxUnpool(_:)`` also its pool's output shape (the switches) and its pool's input shape.
public func shapeInputs(of node: Node, nodes: [Node], shapes: [[Int]]) -> [[Int]] {
  var ins = node.inputs.map { shapes[$0] }
  if case .maxUnpool(let u) = node.op {
    ins.append(shapes[u.pool])
    ins.append(shapes[nodes[u.pool].inputs[0]])
  }
  return ins
}

/// The shape `add` and `mul` produce from their inputs' per-sample shapes, by PyTorch's (NumPy's)
/// broadcasting rule: the shapes have the same number of axes, and along every axis the sizes are
/// equal or 1; the output takes the largest size of each axis (`[C, 1, 1]` and `[C, H, W]` give
/// `[C, H, W]`). Shapes of different ranks (a vector and a feature map) are an error.
public func broadcastShape(_ inputs: [[Int]], _ what: String = "add") throws(ShapeError) -> [Int] {
  guard var out = inputs.first else { return [] }
  func mismatch() -> ShapeError {
    ShapeError(
      "\(what) needs shapes that broadcast (every axis equal or 1), got "
        + inputs.map(format).joined(separator: " and "))
  }
  for s in inputs.dropFirst() {
    guard s.count == out.count else { throw mismatch() }
    for a in s.indices where s[a] != out[a] {
      if out[a] == 1 {
        out[a] = s[a]
      } else if s[a] != 1 {
        throw mismatch()
      }
    }
  }
  return out
}

/// `[64, 56, 56]` → `64×56×56`.
public func format(_ shape: [Int]) -> String {
  shape.isEmpty ? "scalar" : shape.map(String.init).joined(separator: "×")
}
