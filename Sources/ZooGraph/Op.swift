/// The operations a CNN Zoo graph is made of.
///
/// Every op works on one sample (the batch dimension is never part of a shape): a feature map is
/// `[C, H, W]`, a feature vector is `[F]`. Attributes that fix the size of a weight (input channels,
/// input features) are stored in the op, so a graph is a fixed model whose input size may change.
public enum Op: Hashable, Sendable {
  /// The network's input. Its shape is the graph's input shape.
  case input
  /// 2-D convolution (cross-correlation), `nn.Conv2d` semantics. See ``Conv2D``.
  case conv(Conv2D)
  /// 2-D transposed convolution, `nn.ConvTranspose2d` semantics. See ``ConvTranspose2D``.
  case convTranspose(ConvTranspose2D)
  /// Fully connected layer `y = W x + b`, weight `[out, in]`.
  case linear(inFeatures: Int, outFeatures: Int, bias: Bool)
  /// Batch normalisation over the channel axis (`nn.BatchNorm2d`, affine, with running statistics).
  case batchNorm(channels: Int, eps: Double)
  /// Local response normalisation across channels (`nn.LocalResponseNorm`).
  case lrn(size: Int, alpha: Double, beta: Double, k: Double)
  /// Element-wise activation.
  case activation(Activation)
  /// Max or average pooling. See ``Pool2D``.
  case pool(Pool2D)
  /// Adaptive average pooling to a fixed output size (PyTorch's bin rule).
  case adaptiveAvgPool(outH: Int, outW: Int)
  /// Adaptive max pooling to a fixed output size (`nn.AdaptiveMaxPool2d`, the same bins as average).
  case adaptiveMaxPool(outH: Int, outW: Int)
  /// Nearest or bilinear upsampling (`nn.Upsample`). See ``Upsample``.
  case upsample(Upsample)
  /// Flatten `[C, H, W]` to `[C·H·W]`.
  case flatten
  /// Dropout: the identity at inference time.
  case dropout(p: Double)
  /// Pass-through.
  case identity
  /// Softmax over the feature axis.
  case softmax
  /// Channel concatenation of all inputs (spatial sizes must agree).
  case concat
  /// Element-wise sum of all inputs, broadcast as in PyTorch (``broadcastShape(_:)``): every axis of
  /// the per-sample shapes is equal or 1, and the output has the broadcast shape.
  case add
  /// Element-wise product of all inputs (`torch.mul`), broadcast like ``add``: a `[C, 1, 1]` gate
  /// scales each channel (squeeze-and-excitation), a `[1, H, W]` gate each position, and two equal
  /// shapes multiply element by element (gated convolution).
  case mul
  /// LeNet-5's trainable subsampling (LeCun 1998): per channel, the sum of a `kernel × kernel`
  /// window (stride `kernel`) times a trainable coefficient plus a trainable bias.
  case subsample(channels: Int, kernel: Int)
  /// LeNet-5's radial-basis-function output layer: `y_j = Σ_i (x_i − w_ji)²`, with fixed
  /// (non-trainable) weights `[classes, in]`.
  case rbf(inFeatures: Int, classes: Int)
  /// ShuffleNet's channel shuffle (`nn.ChannelShuffle(groups)`): the channels, viewed as a
  /// `[groups, C / groups]` matrix, are transposed, so output channel `j·groups + i` is input channel
  /// `i·(C / groups) + j`. `C` must divide by `groups`.
  case channelShuffle(groups: Int)
  /// The channels `start ..< start + count` of a feature map (`x[:, start:start + count]`), one branch
  /// of a channel split (ShuffleNetV2's `x.chunk(2, dim=1)`).
  case channelSlice(start: Int, count: Int)
  /// Spatial padding (`nn.ZeroPad2d`, `nn.ConstantPad2d`, `nn.ReflectionPad2d`, `nn.ReplicationPad2d`,
  /// `nn.CircularPad2d`). See ``Padding2D``.
  case pad(Padding2D)
  /// A spatial window of the first input the size of the second input's map (`x[:, :, y:y + h, x:x + w]`):
  /// U-Net's centre crop and Caffe's `Crop` layer. See ``Crop``. The second input only gives the size.
  case crop(Crop)
  /// SegNet's unpooling by switches (`nn.MaxUnpool2d`): every input value goes back to the position its
  /// max pool took it from. See ``MaxUnpool``.
  case maxUnpool(MaxUnpool)
  /// Maxout across channels (Goodfellow et al. 2013): the maximum over each group of `k` consecutive
  /// channels, `x.view(N, C / k, k, H, W).amax(2)`; `C` must divide by `k` and the output has `C / k`.
  case maxout(Int)
  /// Locally connected or tiled convolution: a convolution whose weights are not shared across
  /// positions, or shared only in a cycle of tiles. See ``LocalConv2D``.
  case local(LocalConv2D)
}

/// Element-wise activation functions.
public enum Activation: Hashable, Sendable {
  case relu
  case leakyReLU(slope: Double)
  case tanh
  case sigmoid
  /// LeCun's scaled hyperbolic tangent `A · tanh(S · x)` (A = 1.7159, S = 2/3 in the 1998 paper).
  case scaledTanh(a: Double, s: Double)
  /// `nn.ReLU6`: `min(max(x, 0), 6)`.
  case relu6
  /// `nn.Hardsigmoid`: `relu6(x + 3) / 6`.
  case hardsigmoid
  /// `nn.Hardswish`: `x · relu6(x + 3) / 6`.
  case hardswish
  /// `nn.SiLU` (swish): `x · sigmoid(x)`.
  case silu
  /// `nn.GELU`: `x · Φ(x)`, exactly or with PyTorch's tanh approximation.
  case gelu(GELUApproximation)

  /// The name written in definition files (PyTorch's, in snake case).
  public var name: String {
    switch self {
    case .relu: "relu"
    case .leakyReLU: "leaky_relu"
    case .tanh: "tanh"
    case .sigmoid: "sigmoid"
    case .scaledTanh: "scaled_tanh"
    case .relu6: "relu6"
    case .hardsigmoid: "hardsigmoid"
    case .hardswish: "hardswish"
    case .silu: "silu"
    case .gelu: "gelu"
    }
  }

  /// The name plus what tells two activations of one name apart (`gelu tanh`).
  public var summary: String {
    switch self {
    case .gelu(.tanh): "gelu tanh"
    default: name
    }
  }
}

/// How GELU computes the normal distribution's CDF `Φ`: PyTorch's `approximate` argument.
public enum GELUApproximation: String, Hashable, Sendable, CaseIterable {
  /// `approximate='none'`, the exact form `0.5 · x · (1 + erf(x / √2))`.
  case erf = "none"
  /// `approximate='tanh'`: `0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))`.
  case tanh
}

/// How a padding fills the cells outside the input: PyTorch's `padding_mode` of `nn.Conv2d` and the
/// modes of `F.pad` (`constant` is written `zeros` here, with a value).
public enum PadMode: String, Hashable, Sendable, CaseIterable {
  /// A constant (zero unless ``Padding2D/value`` says otherwise).
  case zeros
  /// The input mirrored about its edge pixel, which is not repeated (`x[1]` left of `x[0]`): every
  /// padding must be below the input's size along its axis.
  case reflect
  /// The edge pixel repeated.
  case replicate
  /// The input wrapped around (`x[n − 1]` left of `x[0]`): every padding must be at most the input's size.
  case circular
}

/// Padding of the four sides of a feature map, in PyTorch's order of meaning (`F.pad(x, (left, right,
/// top, bottom), mode, value)`). The output is `(H + top + bottom) × (W + left + right)`; input cell
/// `(i, j)` lands at `(i + top, j + left)`. Paddings are ≥ 0.
public struct Padding2D: Hashable, Sendable, CustomStringConvertible {
  public var top: Int
  public var bottom: Int
  public var left: Int
  public var right: Int
  public var mode: PadMode
  /// The constant of ``PadMode/zeros`` (`nn.ConstantPad2d`'s value); 0 for every other mode.
  public var value: Double

  public init(top: Int, bottom: Int, left: Int, right: Int, mode: PadMode = .zeros, value: Double = 0) {
    precondition(min(top, bottom, left, right) >= 0, "paddings are ≥ 0")
    precondition(value == 0 || mode == .zeros, "a padding value is for the constant mode")
    self.top = top
    self.bottom = bottom
    self.left = left
    self.right = right
    self.mode = mode
    self.value = value
  }

  /// The same padding `p` on all four sides.
  public init(_ p: Int, mode: PadMode = .zeros) { self.init(top: p, bottom: p, left: p, right: p, mode: mode) }

  /// `[top, bottom, left, right]`, as written in definition files.
  public var sides: [Int] { [top, bottom, left, right] }

  /// `reflect 1`, `zeros [0, 1, 0, 1]`, `zeros 2 value 0.5`.
  public var description: String {
    let amount = Set(sides).count == 1 ? "\(top)" : "[\(sides.map(String.init).joined(separator: ", "))]"
    return "\(mode.rawValue) \(amount)" + (value != 0 ? " value \(value)" : "")
  }

  /// The padded size of an `h × w` map, or an error naming the padding and the size when PyTorch
  /// refuses it (reflect: a padding ≥ the size; circular: a padding > the size).
  public func paddedSize(_ h: Int, _ w: Int) throws(ShapeError) -> (Int, Int) {
    for (side, p, n, axis) in [
      ("top", top, h, "height"), ("bottom", bottom, h, "height"), ("left", left, w, "width"),
      ("right", right, w, "width"),
    ] {
      switch mode {
      case .reflect where p >= n:
        throw ShapeError(
          "reflect padding \(side) \(p) must be below the input \(axis) \(n) (PyTorch's rule; the map is \(h)×\(w))")
      case .circular where p > n:
        throw ShapeError(
          "circular padding \(side) \(p) must be at most the input \(axis) \(n) (PyTorch's rule; the map is \(h)×\(w))"
        )
      default: break
      }
    }
    let (oh, o1) = h.addingReportingOverflow(top + bottom)
    let (ow, o2) = w.addingReportingOverflow(left + right)
    guard !o1, !o2 else { throw ShapeError("padding \(description) of \(h)×\(w) overflows") }
    return (oh, ow)
  }
}

/// Where a ``Op/crop(_:)`` window starts: the centre (`offset` nil: `⌊(n − m)/2⌋` per axis, U-Net's
/// crop, torchvision's `center_crop` for even differences) or an explicit `(y, x)` offset (Caffe's
/// `Crop` layer with `axis: 2`, FCN's).
public struct Crop: Hashable, Sendable {
  public var offset: Pair?
  public init(offset: Pair? = nil) { self.offset = offset }

  /// The offset of a crop of an `h × w` map to `th × tw`.
  public func start(_ h: Int, _ w: Int, to th: Int, _ tw: Int) -> Pair {
    offset ?? Pair((h - th) / 2, (w - tw) / 2)
  }
}

/// 2-D convolution attributes. Weight layout `[out, in / groups, kh, kw]` (PyTorch's).
///
/// Output size per axis: `floor((n + 2·padding − dilation·(kernel − 1) − 1) / stride) + 1`.
/// A ``prePad`` (a padding mode other than zeros, asymmetric padding, or `padding: same` with an odd
/// total) pads the input first, as `F.pad` does in `nn.Conv2d` for a `padding_mode` other than `zeros`;
/// `padding` is then 0.
/// A connection table (LeNet-5's C3) replaces `groups`: output channel `j` sees only the input
/// channels `table[j]`, and its weight holds `table[j].count · kh · kw` values.
public struct Conv2D: Hashable, Sendable {
  public var inChannels: Int
  public var outChannels: Int
  public var kernel: Pair
  public var stride: Pair
  public var padding: Pair
  public var dilation: Pair
  public var groups: Int
  public var bias: Bool
  public var table: [[Int]]?
  /// Padding applied to the input before the convolution (whose own `padding` is then 0).
  public var prePad: Padding2D?

  public init(
    inChannels: Int, outChannels: Int, kernel: Pair, stride: Pair = Pair(1), padding: Pair = Pair(0),
    dilation: Pair = Pair(1), groups: Int = 1, bias: Bool = true, table: [[Int]]? = nil, prePad: Padding2D? = nil
  ) {
    precondition(prePad == nil || padding == Pair(0), "a convolution pads its input once")
    self.prePad = prePad
    self.inChannels = inChannels
    self.outChannels = outChannels
    self.kernel = kernel
    self.stride = stride
    self.padding = padding
    self.dilation = dilation
    self.groups = groups
    self.bias = bias
    self.table = table
  }

  /// Input channels each output channel sees, summed over output channels.
  public var connections: Int {
    if let table { return table.reduce(0) { $0 + $1.count } }
    return outChannels * (inChannels / groups)
  }
}

/// 2-D transposed convolution attributes (`nn.ConvTranspose2d`). Weight layout
/// `[in, out / groups, kh, kw]` (PyTorch's; note in and out are swapped against ``Conv2D``).
///
/// Every input value `x[c, i, j]` scatters into the output: `y[o, i·s − p + a·d, j·s − p + b·d]` gains
/// `W[c, o', a, b] · x[c, i, j]` for each output channel `o` of `c`'s group (`o'` its index in the group)
/// and each kernel tap `(a, b)`; positions outside the output are dropped. Output size per axis:
/// `(n − 1)·stride − 2·padding + dilation·(kernel − 1) + outputPadding + 1`, where `outputPadding`
/// (which only adds rows and columns at the bottom and right) must be below `max(stride, dilation)`.
public struct ConvTranspose2D: Hashable, Sendable {
  public var inChannels: Int
  public var outChannels: Int
  public var kernel: Pair
  public var stride: Pair
  public var padding: Pair
  public var outputPadding: Pair
  public var dilation: Pair
  public var groups: Int
  public var bias: Bool

  public init(
    inChannels: Int, outChannels: Int, kernel: Pair, stride: Pair = Pair(1), padding: Pair = Pair(0),
    outputPadding: Pair = Pair(0), dilation: Pair = Pair(1), groups: Int = 1, bias: Bool = true
  ) {
    self.inChannels = inChannels
    self.outChannels = outChannels
    self.kernel = kernel
    self.stride = stride
    self.padding = padding
    self.outputPadding = outputPadding
    self.dilation = dilation
    self.groups = groups
    self.bias = bias
  }

  /// Output length along one axis of length `n`:
  /// `(n − 1)·stride − 2·padding + dilation·(kernel − 1) + outputPadding + 1` (≤ 0 when empty).
  public static func outputSize(
    _ n: Int, kernel: Int, stride: Int, padding: Int, outputPadding: Int, dilation: Int
  ) -> Int {
    (n - 1) * stride - 2 * padding + dilation * (kernel - 1) + outputPadding + 1
  }
}

/// Pooling attributes. Output size per axis:
/// `floor` (or `ceil` with `ceilMode`) of `(n + 2·padding − dilation·(kernel − 1) − 1) / stride` plus 1;
/// in ceil mode the last window must start inside the input or the left padding (PyTorch's rule).
public struct Pool2D: Hashable, Sendable {
  public enum Kind: String, Hashable, Sendable { case max, avg }
  public var kind: Kind
  public var kernel: Pair
  public var stride: Pair
  public var padding: Pair
  public var dilation: Pair
  public var ceilMode: Bool
  /// Average pooling only: whether padded zeros count in the divisor.
  public var countIncludePad: Bool

  public init(
    kind: Kind, kernel: Pair, stride: Pair, padding: Pair = Pair(0), dilation: Pair = Pair(1),
    ceilMode: Bool = false, countIncludePad: Bool = true
  ) {
    self.kind = kind
    self.kernel = kernel
    self.stride = stride
    self.padding = padding
    self.dilation = dilation
    self.ceilMode = ceilMode
    self.countIncludePad = countIncludePad
  }
}

/// `nn.Upsample` with a positive integer `scale` per axis, an output `size`, or (`like`) the spatial size of
/// the node's second input (`F.interpolate(x, size=y.shape[-2:])`, torchvision's FCN head upsampling to the
/// network input): exactly one of the three. Nearest or bilinear. Nearest reads input
/// `floor(o · n_in / n_out)` (PyTorch's legacy `nearest`); bilinear reads around
/// `max((o + 0.5) · n_in / n_out − 0.5, 0)`, or `o · (n_in − 1) / (n_out − 1)` with `alignCorners`, clamped at
/// the last pixel.
public struct Upsample: Hashable, Sendable {
  public enum Mode: String, Hashable, Sendable, CaseIterable {
    case nearest, bilinear
  }
  public var scale: Pair?
  public var size: Pair?
  /// The output takes the spatial size of the node's second input, which is read for nothing else.
  public var like: Bool
  public var mode: Mode
  public var alignCorners: Bool

  public init(
    scale: Pair? = nil, size: Pair? = nil, like: Bool = false, mode: Mode = .nearest, alignCorners: Bool = false
  ) {
    precondition(
      [scale != nil, size != nil, like].filter { $0 }.count == 1, "an upsample has a scale, a size or a like")
    precondition(!alignCorners || mode == .bilinear, "align_corners is bilinear only")
    self.scale = scale
    self.size = size
    self.like = like
    self.mode = mode
    self.alignCorners = alignCorners
  }

  /// The output's `(height, width)` for an input of `h × w`; nil when a scale overflows. Not for `like`.
  public func outputSize(_ h: Int, _ w: Int) -> (Int, Int)? {
    if let size { return (size.h, size.w) }
    let s = scale!
    let (oh, o1) = h.multipliedReportingOverflow(by: s.h)
    let (ow, o2) = w.multipliedReportingOverflow(by: s.w)
    return o1 || o2 ? nil : (oh, ow)
  }
}

/// Unpooling by the switches of an earlier max pool (`nn.MaxUnpool2d`, as SegNet decodes).
///
/// The max pool `pool` (a node id; its ``Pool2D`` is copied in `window`) keeps, for every output
/// element, the flat index `iy·W + ix` into its input plane of the element it took (PyTorch's rule:
/// the first maximum in the window's row-major scan, NaN winning). The unpool reads a feature map of the
/// pool's output shape and writes a map of the pool's input shape: zeros, except that input value
/// `x[c, j]` goes to position `switch[c, j]` of plane `c`. Elements processed later in row-major order
/// overwrite earlier ones that chose the same position (overlapping windows), as PyTorch's CPU loop does.
///
/// The output size is always the pool's input size (PyTorch's `output_size=` argument, which SegNet
/// passes). `nn.MaxUnpool2d` without it gives `(n − 1)·stride − 2·padding + kernel` per axis, which is
/// the same whenever the pool's windows tile its input exactly and otherwise smaller (switches beyond it
/// are an error in PyTorch).
public struct MaxUnpool: Hashable, Sendable {
  /// The node id of the max pool whose switches are read.
  public var pool: Int
  /// That pool's window.
  public var window: Pool2D

  public init(pool: Int, window: Pool2D) {
    precondition(window.kind == .max, "unpooling reads a max pool's switches")
    self.pool = pool
    self.window = window
  }
}

/// A locally connected layer (unshared convolution, DeepFace's L4–L6) or a tiled convolution
/// (Goodfellow, Bengio & Courville, Figure 9.16).
///
/// Output position `(y, x)` uses its own kernel, `weight[y mod tile.h, x mod tile.w]`, of shape
/// `[out, in, kh, kw]`, over the same window a convolution with `kernel`, `stride` and `padding` reads
/// (zero padding), so the output size is conv's. The weight is `[tile.h, tile.w, out, in, kh, kw]` and
/// the bias `[tile.h, tile.w, out]` (a bias per position and channel, as DeepFace's, shared like the
/// weights). In PyTorch, with `cols = F.unfold(x, kernel, padding=padding, stride=stride)` (shape
/// `[N, in·kh·kw, oh·ow]`) and an unshared weight viewed as `[oh·ow, out, in·kh·kw]`:
/// `y = torch.einsum('nkl,lok->nol', cols, w).view(N, out, oh, ow) + b.permute(2, 0, 1)`.
///
/// Unshared (`tile` not given in the definition) is the tile equal to the output size: the number of
/// weights then depends on the input size, which the graph fixes when it is built (`unshared` true:
/// any other input size is refused). A tiled layer (`unshared` false) takes any input size.
public struct LocalConv2D: Hashable, Sendable {
  public var inChannels: Int
  public var outChannels: Int
  public var kernel: Pair
  public var stride: Pair
  public var padding: Pair
  public var bias: Bool
  /// The cycle of distinct kernels along each axis (the output size when unshared).
  public var tile: Pair
  /// Whether every output position has its own kernel (`tile` is then the output size it was built for).
  public var unshared: Bool

  public init(
    inChannels: Int, outChannels: Int, kernel: Pair, stride: Pair = Pair(1), padding: Pair = Pair(0),
    bias: Bool = true, tile: Pair, unshared: Bool
  ) {
    self.inChannels = inChannels
    self.outChannels = outChannels
    self.kernel = kernel
    self.stride = stride
    self.padding = padding
    self.bias = bias
    self.tile = tile
    self.unshared = unshared
  }
}

/// A (height, width) pair of integers.
public struct Pair: Hashable, Sendable, CustomStringConvertible {
  public var h: Int
  public var w: Int
  public init(_ h: Int, _ w: Int) {
    self.h = h
    self.w = w
  }
  public init(_ both: Int) { self.init(both, both) }
  public var isSquare: Bool { h == w }
  public var description: String { isSquare ? "\(h)" : "\(h)×\(w)" }
}

extension Op {
  /// Short op name as written in definition files and printed in tables.
  public var kindName: String {
    switch self {
    case .input: "input"
    case .conv(let c): c.table == nil ? "conv" : "conv_table"
    case .convTranspose: "conv_transpose"
    case .linear: "linear"
    case .batchNorm: "bn"
    case .lrn: "lrn"
    case .activation(let a): a.name
    case .pool(let p): p.kind == .max ? "maxpool" : "avgpool"
    case .adaptiveAvgPool: "adaptive_avgpool"
    case .adaptiveMaxPool: "adaptive_maxpool"
    case .upsample: "upsample"
    case .flatten: "flatten"
    case .dropout: "dropout"
    case .identity: "identity"
    case .softmax: "softmax"
    case .concat: "concat"
    case .add: "add"
    case .mul: "mul"
    case .subsample: "subsample"
    case .rbf: "rbf"
    case .channelShuffle: "channel_shuffle"
    case .channelSlice: "slice"
    case .pad: "pad"
    case .crop: "crop"
    case .maxUnpool: "max_unpool"
    case .maxout: "maxout"
    case .local: "local"
    }
  }

  /// Coarse class used for colours and shares.
  public var opClass: OpClass {
    switch self {
    case .conv, .convTranspose, .local: .convolution
    case .linear, .rbf: .linear
    case .batchNorm, .lrn: .normalization
    case .activation, .softmax: .activation
    case .pool, .adaptiveAvgPool, .adaptiveMaxPool, .upsample, .subsample, .maxUnpool, .maxout: .pooling
    case .concat, .add, .mul: .merge
    case .input, .flatten, .dropout, .identity, .channelShuffle, .channelSlice, .pad, .crop: .other
    }
  }

  /// A one-line human summary of the op's attributes, e.g. `conv 3×3/2, 64`.
  public var summary: String {
    switch self {
    case .input: return "input"
    case .conv(let c):
      var s = "conv \(c.kernel.h)×\(c.kernel.w)"
      if c.stride != Pair(1) { s += "/\(c.stride)" }
      s += ", \(c.outChannels)"
      if c.dilation != Pair(1) { s += ", dil \(c.dilation)" }
      if c.groups != 1 { s += ", g\(c.groups)" }
      if c.table != nil { s += ", table" }
      if let p = c.prePad { s += ", pad \(p)" }
      return s
    case .convTranspose(let c):
      var s = "conv_transpose \(c.kernel.h)×\(c.kernel.w)"
      if c.stride != Pair(1) { s += "/\(c.stride)" }
      s += ", \(c.outChannels)"
      if c.dilation != Pair(1) { s += ", dil \(c.dilation)" }
      if c.groups != 1 { s += ", g\(c.groups)" }
      return s
    case .linear(_, let o, _): return "linear \(o)"
    case .batchNorm: return "bn"
    case .lrn(let n, _, _, _): return "lrn \(n)"
    case .activation(let a): return a.summary
    case .pool(let p):
      var s = "\(p.kind == .max ? "maxpool" : "avgpool") \(p.kernel.h)×\(p.kernel.w)"
      if p.stride != Pair(1) { s += "/\(p.stride)" }
      if p.ceilMode { s += " ceil" }
      return s
    case .adaptiveAvgPool(let h, let w): return "adaptive avgpool \(h)×\(w)"
    case .adaptiveMaxPool(let h, let w): return "adaptive maxpool \(h)×\(w)"
    case .upsample(let u):
      let target =
        u.like ? "to the 2nd input's size" : u.size.map { "to \($0.h)×\($0.w)" } ?? "×\(u.scale?.description ?? "?")"
      return "upsample \(u.mode.rawValue) \(target)" + (u.alignCorners ? " aligned" : "")
    case .flatten: return "flatten"
    case .dropout(let p): return "dropout \(p)"
    case .identity: return "identity"
    case .softmax: return "softmax"
    case .concat: return "concat"
    case .add: return "add"
    case .mul: return "mul"
    case .subsample(_, let k): return "subsample \(k)×\(k)"
    case .rbf(_, let n): return "rbf \(n)"
    case .channelShuffle(let g): return "channel_shuffle \(g)"
    case .channelSlice(let start, let count): return "slice \(start)..<\(start + count)"
    case .pad(let p): return "pad \(p)"
    case .crop(let c): return c.offset.map { "crop at \($0.h), \($0.w)" } ?? "crop centre"
    case .maxUnpool(let u):
      return "max_unpool \(u.window.kernel.h)×\(u.window.kernel.w)"
        + (u.window.stride != Pair(1) ? "/\(u.window.stride)" : "")
    case .maxout(let k): return "maxout \(k)"
    case .local(let l):
      var s = "\(l.unshared ? "local" : "tiled") \(l.kernel.h)×\(l.kernel.w)"
      if l.stride != Pair(1) { s += "/\(l.stride)" }
      s += ", \(l.outChannels)"
      if !l.unshared { s += ", tile \(l.tile)" }
      return s
    }
  }
}

/// Coarse op classes.
public enum OpClass: String, CaseIterable, Sendable {
  case convolution, normalization, activation, pooling, linear, merge, other
}
