import ZooEngine
import ZooFormat
import ZooGraph

/// Random networks written in the definition format, for the engine's property test.
///
/// A generator tracks the running `C × H × W` and emits layers that fit it: chains of convolutions
/// (1×1, grouped, depthwise, dilated, strided, rectangular), batch norms and every activation;
/// residual units with the add before and after bn/relu (pre- and post-activation), with strided
/// downsample shortcuts, with three branches and with the same value twice; concatenations whose
/// output feeds several readers, followed by batch norm (DenseNet); every pooling form (max with
/// dilation, average with and without padding in the divisor, ceil mode, adaptive); LRN; side
/// outputs in the middle of a chain (a value that is both read and returned); and heads (flatten,
/// linear layers, dropout, softmax, LeNet's subsampling and RBF); transposed convolutions (strides
/// 1–3, padding, output padding, dilation, groups); squeeze-and-excitation blocks, gated
/// convolutions, broadcast adds and muls of three inputs, with the full-size input first (in place)
/// or not; ShuffleNetV2 units (a channel split, a depthwise branch, a channel shuffle), channel splits
/// into two or three branches by torch.chunk's rule or explicit sizes, and plain channel shuffles;
/// convolutions with every padding mode, four-sided and `same` padding; `pad` ops of every mode and
/// value; crops back to a named layer's size after a padding (centred or at an offset); and
/// upsamplings to a named layer's size;
/// maxout; locally connected and tiled convolutions; max pools whose switches unpools read (one or
/// two nested, on the graph input).
/// `large` graphs have the channels
/// and sizes that reach Winograd's thresholds, the narrow-column kernel and every threading split.
struct RandomGraph {
  let seed: UInt64
  let yaml: String
  let graph: Graph
  let weights: [String: Tensor]
  let input: [Float]
  let batch: Int

  init(seed: UInt64, large: Bool) throws {
    var g = Generator(seed: seed, large: large)
    let layers = g.network()
    self.seed = seed
    let shape = g.inputShape
    self.yaml =
      "family: Random\ninput: [\(shape[0]), \(shape[1]), \(shape[2])]\nnetwork:\n"
      + Generator.list(layers).map { "  " + $0 }.joined(separator: "\n") + "\nmodels:\n  random: {}\n"
    self.graph = try DefinitionFile(path: "random-\(seed).yaml", text: yaml).graph()
    self.batch = g.rng.int(1...(large ? 1 : 3))
    var weights: [String: Tensor] = [:]
    for node in graph.nodes {
      for t in node.tensors where !t.name.hasSuffix("num_batches_tracked") {
        weights[t.name] = Tensor(shape: t.shape, data: g.values(for: t, of: node))
      }
    }
    self.weights = weights
    self.input = (0..<(batch * shape.reduce(1, *))).map { _ in Float(g.rng.uniform(-1, 1)) }
  }
}

/// One layer of a generated definition.
indirect enum Layer {
  /// A flow mapping or a bare op name, as written.
  case op(String)
  /// `add`, `mul` or `concat` of branches (an empty branch is the identity).
  case merge(String, [[Layer]])
  /// `{side: layers}`: an extra graph output.
  case side([Layer])
  /// `{split: branches, sizes: …}`: a channel split, each branch on its own slice, concatenated.
  case split([[Layer]], sizes: [Int]?)
}

struct Generator {
  var rng: SplitMixRandom
  let large: Bool
  var inputShape: [Int]
  /// The running shape.
  var c: Int, h: Int, w: Int
  /// Layers named so far for `crop` and `upsample`'s `like` (`anchor0`, `anchor1`, …).
  var anchors = 0
  /// Whether the running value is flat (after `flatten`).
  var flat = false
  /// Unpooling units so far (their pools' names are numbered).
  var unpoolUnits = 0
  /// A second stream for the unpooling units and maxout, added after the rest.
  var extra: SplitMixRandom

  init(seed: UInt64, large: Bool) {
    rng = SplitMixRandom(seed)
    extra = SplitMixRandom(seed ^ 0xA5A5_5A5A_0F0F_F0F0)
    self.large = large
    if large {
      c = rng.pick([16, 32, 64, 96])
      h = rng.int(8...20)
    } else {
      c = rng.int(1...8)
      h = rng.int(4...14)
    }
    w = rng.bool(0.7) ? h : max(3, h + rng.int(-3...3))
    inputShape = [c, h, w]
  }

  // MARK: - Rendering

  /// A YAML sequence of layers, one line per item where it can.
  static func list(_ layers: [Layer]) -> [String] {
    layers.flatMap { layer -> [String] in
      let lines = render(layer)
      return ["- " + lines[0]] + lines.dropFirst().map { "  " + $0 }
    }
  }

  static func render(_ layer: Layer) -> [String] {
    switch layer {
    case .op(let text): return [text]
    case .side(let layers): return ["side:"] + list(layers).map { "  " + $0 }
    case .split(let branches, let sizes):
      let lines = render(.merge("split", branches))
      return lines + (sizes.map { ["sizes: [\($0.map(String.init).joined(separator: ", "))]"] } ?? [])
    case .merge(let kind, let branches):
      var lines = ["\(kind):"]
      for b in branches {
        if b.isEmpty {
          lines.append("  - []")
        } else {
          let inner = list(b)
          lines.append("  - " + inner[0])
          lines += inner.dropFirst().map { "    " + $0 }
        }
      }
      return lines
    }
  }

  // MARK: - Layers

  mutating func network() -> [Layer] {
    var layers: [Layer] = []
    let count = large ? rng.int(2...6) : rng.int(1...9)
    // Unpooling reads switches chosen in the pools' inputs; on the exact graph input, float32 and the
    // float64 reference choose the same ones (a computed input could differ in a near tie).
    // These draws come from a second stream, so graphs without them are the ones earlier versions made.
    if extra.bool(0.25) { layers += unpoolUnit() }
    for _ in 0..<count {
      layers += item()
      if !flat && extra.bool(0.08) && h <= 12 && w <= 12 {
        // A locally connected (unshared) or tiled convolution.
        let k = extra.int(1...Swift.min(3, h, w))
        let s = extra.int(1...2)
        let p = extra.int(0...(k / 2))
        let o = extra.int(1...(large ? 16 : 6))
        let size = { (n: Int) in windowOutputSize(n, kernel: k, stride: s, padding: p) }
        let (oh, ow) = (size(h), size(w))
        var text = "{local: \(o), kernel: \(k), stride: \(s), padding: \(p)"
        if extra.bool(0.5) { text += ", tile: [\(extra.int(1...oh)), \(extra.int(1...ow))]" }
        if extra.bool(0.3) { text += ", bias: false" }
        layers.append(.op(text + "}"))
        (c, h, w) = (o, oh, ow)
      }
      if !flat && extra.bool(0.1) {
        // Maxout over groups of k channels (k = 1 is the identity).
        let divisors = (1...c).filter { c % $0 == 0 }
        let k = divisors[extra.int(0...(divisors.count - 1))]
        c /= k
        layers.append(.op("{maxout: \(k)}"))
      }
    }
    if rng.bool(0.5) { layers += head() }
    return layers
  }

  /// One item of a feature-map chain.
  mutating func item() -> [Layer] {
    switch rng.int(0...19) {
    case 0...3: return [conv()] + (rng.bool(0.6) ? [.op("bn")] : []) + (rng.bool(0.6) ? [activation()] : [])
    case 4...6:
      // Post-activation (ResNet: the add, then ReLU) or the add before a batch norm.
      let tail: [Layer] = rng.bool(0.5) ? [.op("relu")] : rng.bool(0.3) ? [.op("bn"), activation()] : []
      return [residual()] + tail
    case 7...8: return concat()
    case 9: return [.op("bn")]
    case 10: return [activation()]
    case 11: return [pool()]
    case 12: return [.op("{lrn: \(rng.int(1...5)), alpha: 0.001, beta: 0.75, k: 2}")]
    case 13:
      let shape = (c, h, w)
      defer { (c, h, w) = shape }
      return [.side([conv(), activation()])]
    case 14: return [merge3()]
    case 15: return squeezeExcitation()
    case 16: return [gatedConvolution()]
    case 17: return [broadcastMerge()]
    case 18 where rng.bool(0.5):
      return [convTranspose()] + (rng.bool(0.5) ? [.op("bn")] : []) + (rng.bool(0.6) ? [activation()] : [])
    case 19 where c >= 2 && rng.bool(0.5): return rng.bool(0.6) ? shuffleUnit() : [channelSplit()]
    case 19 where rng.bool(0.5):
      let divisors = (1...c).filter { c % $0 == 0 }
      return [.op("{channel_shuffle: \(rng.pick(divisors))}")]
    case 19 where rng.bool(0.5): return [pad()]
    case 19 where rng.bool(0.5): return cropAfterPad()
    case 19 where h >= 2 && w >= 2 && h <= 16 && w <= 16: return upsampleLike()
    default: return [conv(pointwise: true), .op("relu")]
    }
  }

  /// Max pools that keep their switches and the unpools that read them (SegNet): one or two pools
  /// (nested: the second pools the first's output), shape-keeping layers at the bottom, then the
  /// unpools in reverse order, each restoring its pool's input size.
  mutating func unpoolUnit() -> [Layer] {
    var layers: [Layer] = []
    var pools: [(String, Int, Int)] = []
    unpoolUnits += 1
    for depth in 0..<rng.int(1...2) {
      var k = rng.pick([1, 2, 2, 3])
      while k > Swift.min(h, w) { k -= 1 }
      let s = rng.pick([1, 2, 2, 3])
      let p = rng.int(0...(k / 2))
      let ceil = rng.bool(0.2)
      let name = "sw\(unpoolUnits)_\(depth)"
      pools.append((name, h, w))
      layers.append(
        .op("{maxpool: [\(k), \(k)], stride: \(s), padding: \(p)\(ceil ? ", ceil: true" : ""), name: \(name)}"))
      func size(_ n: Int) -> Int { windowOutputSize(n, kernel: k, stride: s, padding: p, ceilMode: ceil) }
      (h, w) = (size(h), size(w))
      if Swift.min(h, w) < 2 { break }
    }
    switch rng.int(0...3) {
    case 0: break
    case 1: layers += [conv(out: c, same: true), .op("relu")]
    case 2: layers.append(.op("bn"))
    default: layers.append(activation())
    }
    for (name, ph, pw) in pools.reversed() {
      layers.append(.op("{max_unpool: \(name)}"))
      (h, w) = (ph, pw)
      if rng.bool(0.3) { layers += [conv(out: c, same: true)] }
    }
    return layers
  }

  mutating func activation() -> Layer {
    switch rng.int(0...15) {
    case 0: .op("tanh")
    case 1: .op("sigmoid")
    case 2: .op("{leaky_relu: 0.1}")
    case 3: .op("{scaled_tanh: 1.7159, s: 0.6667}")
    case 4: .op("relu6")
    case 5: .op("hardsigmoid")
    case 6: .op("hardswish")
    case 7: .op("silu")
    case 8: .op("gelu")
    case 9: .op("{gelu, approximate: tanh}")
    default: .op("relu")
    }
  }

  /// A convolution that keeps the spatial size when `same` (odd kernel, stride 1, "same" padding).
  mutating func conv(out: Int? = nil, same: Bool = false, pointwise: Bool = false, stride: Int? = nil) -> Layer {
    let channels = c
    var o = out ?? (large ? rng.pick([16, 32, 64, 128, 136]) : rng.int(1...12))
    var k = pointwise ? 1 : rng.pick(large ? [1, 3, 3, 3] : [1, 3, 3, 3, 5, 7])
    var kw = k
    if !same && !pointwise && rng.bool(0.15) { kw = rng.pick([1, 3]) }
    var s = stride ?? (same || pointwise || rng.bool(0.7) ? 1 : rng.pick([2, 2, 3]))
    var d = !pointwise && rng.bool(0.15) ? 2 : 1
    var groups = 1
    if rng.bool(0.2) {
      // Grouped, sometimes depthwise.
      let divisors = (1...channels).filter { channels % $0 == 0 && (out ?? $0) % $0 == 0 }
      groups = rng.pick(divisors)
      if out == nil { o = rng.bool(0.5) ? groups * max(1, o / groups) : groups * rng.int(1...3) }
    }
    var (ph, pw) = (d * (k - 1) / 2, d * (kw - 1) / 2)
    if !same && rng.bool(0.3) { (ph, pw) = (rng.int(0...ph), rng.int(0...pw)) }
    // Shrink until the output is not empty.
    while (h + 2 * ph - d * (k - 1) - 1) < 0 || (w + 2 * pw - d * (kw - 1) - 1) < 0 {
      if d > 1 {
        d = 1
      } else {
        k = 1
        kw = 1
      }
      (ph, pw) = (d * (k - 1) / 2, d * (kw - 1) / 2)
    }
    if same { s = 1 }
    let bias = rng.bool(0.5)
    // Sometimes a padding mode, four sides or PyTorch's `same` (stride 1); the plain symmetric padding
    // when that would leave the output empty.
    let symmetric = ph != 0 || pw != 0 ? ", padding: \(ph == pw ? "\(ph)" : "[\(ph), \(pw)]")" : ""
    var padding = symmetric
    var (t, b, l, r) = (ph, ph, pw, pw)
    if !same && !pointwise && rng.bool(0.3) {
      let mode = rng.pick(PadMode.allCases)
      if s == 1 && rng.bool(0.3) {
        let (th, tw) = (d * (k - 1), d * (kw - 1))
        (t, b, l, r) = (th / 2, th - th / 2, tw / 2, tw - tw / 2)
        padding = ", padding: same"
      } else {
        (t, b) = sides(h, mode, most: d * (k - 1))
        (l, r) = sides(w, mode, most: d * (kw - 1))
        padding = ", padding: [\(t), \(b), \(l), \(r)]"
      }
      let fits =
        (mode != .reflect || max(t, b) < h && max(l, r) < w) && (mode != .circular || max(t, b) <= h && max(l, r) <= w)
      if fits && (mode != .zeros || rng.bool(0.3)) { padding += ", padding_mode: \(mode.rawValue)" }
      if h + t + b - d * (k - 1) - 1 < 0 || w + l + r - d * (kw - 1) - 1 < 0 {
        (t, b, l, r) = (ph, ph, pw, pw)
        padding = symmetric
      }
    }
    h = (h + t + b - d * (k - 1) - 1) / s + 1
    w = (w + l + r - d * (kw - 1) - 1) / s + 1
    c = o
    var text = "{conv: \(o), kernel: \(k == kw ? "\(k)" : "[\(k), \(kw)]")"
    if s != 1 { text += ", stride: \(s)" }
    text += padding
    if d != 1 { text += ", dilation: \(d)" }
    if groups != 1 { text += ", groups: \(groups)" }
    return .op(text + ", bias: \(bias)}")
  }

  /// Paddings of one axis of `n` cells in `mode` (reflect below `n`, circular at most `n`), at most `most`.
  mutating func sides(_ n: Int, _ mode: PadMode, most: Int) -> (Int, Int) {
    let limit = mode == .reflect ? n - 1 : mode == .circular ? n : most
    return (rng.int(0...min(most, limit)), rng.int(0...min(most, limit)))
  }

  /// A `pad` op of any mode, with a constant value sometimes.
  mutating func pad() -> Layer {
    let mode = rng.pick(PadMode.allCases)
    let (t, b) = sides(h, mode, most: 3)
    let (l, r) = sides(w, mode, most: 3)
    (h, w) = (h + t + b, w + l + r)
    var text = "{pad: [\(t), \(b), \(l), \(r)]"
    if mode != .zeros || rng.bool(0.5) { text += ", mode: \(mode.rawValue)" }
    if mode == .zeros && rng.bool(0.4) { text += ", value: 0.5" }
    return .op(text + "}")
  }

  /// A named point, a padding (and sometimes an activation), then a crop back to the named point's
  /// size, at the centre or at an offset inside the padded map.
  mutating func cropAfterPad() -> [Layer] {
    let name = "anchor\(anchors)"
    anchors += 1
    let (h0, w0) = (h, w)
    var layers: [Layer] = [.op("{identity, name: \(name)}"), pad()]
    if rng.bool(0.5) { layers.append(activation()) }
    if rng.bool(0.5) {
      layers.append(.op("{crop: \(name)}"))
    } else {
      layers.append(.op("{crop: \(name), offset: [\(rng.int(0...(h - h0))), \(rng.int(0...(w - w0)))]}"))
    }
    (h, w) = (h0, w0)
    return layers
  }

  /// A named point, a pooling by 2 and an upsampling back to the named point's size.
  mutating func upsampleLike() -> [Layer] {
    let name = "anchor\(anchors)"
    anchors += 1
    let mode = rng.bool(0.5) ? "bilinear" : "nearest"
    let corners = mode == "bilinear" && rng.bool(0.3) ? ", align_corners: true" : ""
    return [
      .op("{identity, name: \(name)}"), .op("{maxpool: 2}"),
      .op("{upsample: null, like: \(name), mode: \(mode)\(corners)}"),
    ]
  }

  /// A transposed convolution: stride 1–3, padding, output padding below `max(stride, dilation)`,
  /// dilation, groups (sometimes depthwise), rectangular kernels. It keeps sizes moderate by
  /// choosing a large padding when the input is already big.
  mutating func convTranspose() -> Layer {
    let channels = c
    var o = large ? rng.pick([16, 32, 64]) : rng.int(1...12)
    let k = rng.pick(large ? [2, 3, 4] : [1, 2, 3, 4, 5])
    let kw = rng.bool(0.2) ? rng.pick([1, 3]) : k
    var (sh, sw) = (rng.int(1...3), rng.int(1...3))
    if rng.bool(0.85) { sw = sh }
    // Large graphs upsample only small maps, so the float64 reference stays quick.
    if large && h * sh > 64 { sh = 1 }
    if large && w * sw > 64 { sw = 1 }
    let d = rng.bool(0.2) ? rng.pick([2, 3]) : 1
    var groups = 1
    if rng.bool(0.25) {
      let divisors = (1...channels).filter { channels % $0 == 0 }
      groups = rng.pick(divisors)
      o = rng.bool(0.5) ? groups * max(1, o / groups) : groups * rng.int(1...3)
    }
    // Padding up to the dilated kernel's reach (the output must stay non-empty).
    func pad(_ n: Int, _ s: Int, _ kk: Int) -> Int {
      let reach = d * (kk - 1)
      let most = ((n - 1) * s + reach) / 2
      return rng.int(0...min(reach, most))
    }
    let (ph, pw) = (pad(h, sh, k), pad(w, sw, kw))
    let (oph, opw) = (rng.int(0...(max(sh, d) - 1)), rng.int(0...(max(sw, d) - 1)))
    let bias = rng.bool(0.5)
    h = ConvTranspose2D.outputSize(h, kernel: k, stride: sh, padding: ph, outputPadding: oph, dilation: d)
    w = ConvTranspose2D.outputSize(w, kernel: kw, stride: sw, padding: pw, outputPadding: opw, dilation: d)
    c = o
    var text = "{conv_transpose: \(o), kernel: \(k == kw ? "\(k)" : "[\(k), \(kw)]")"
    if sh != 1 || sw != 1 { text += ", stride: \(sh == sw ? "\(sh)" : "[\(sh), \(sw)]")" }
    if ph != 0 || pw != 0 { text += ", padding: \(ph == pw ? "\(ph)" : "[\(ph), \(pw)]")" }
    if oph != 0 || opw != 0 { text += ", output_padding: \(oph == opw ? "\(oph)" : "[\(oph), \(opw)]")" }
    if d != 1 { text += ", dilation: \(d)" }
    if groups != 1 { text += ", groups: \(groups)" }
    return .op(text + ", bias: \(bias)}")
  }

  /// A residual unit: `add` of a branch and an identity or a downsample shortcut, in one of the
  /// orders the zoo and its users write (post-activation ResNet, pre-activation, the add before a
  /// batch norm).
  mutating func residual() -> Layer {
    let (c0, h0, w0) = (c, h, w)
    let downsample = rng.bool(0.3) && h >= 2 && w >= 2
    var main: [Layer] = []
    let pre = rng.bool(0.3)
    if pre { main += [.op("bn"), .op("relu")] }
    let mid = large ? rng.pick([c0, 64, 128]) : rng.int(1...10)
    if downsample {
      main.append(conv(out: mid, stride: 2, kernel3: true))
    } else {
      main.append(rng.bool(0.5) ? conv(out: mid, same: true) : conv(out: mid, pointwise: true))
    }
    if rng.bool(0.7) { main.append(.op("bn")) }
    if rng.bool(0.5) {
      main.append(activation())
      main.append(rng.bool(0.5) ? conv(out: c0, same: true) : conv(out: c0, pointwise: true))
      if rng.bool(0.7) { main.append(.op("bn")) }
    } else {
      main.append(conv(out: c0, pointwise: true))
    }
    let (c1, h1, w1) = (c, h, w)
    var shortcut: [Layer] = []
    if downsample || rng.bool(0.2) {
      (c, h, w) = (c0, h0, w0)
      shortcut.append(conv(out: c1, pointwise: true, stride: downsample ? 2 : 1))
      if rng.bool(0.6) { shortcut.append(.op("bn")) }
    }
    precondition((c, h, w) == (c1, h1, w1), "branches disagree")
    let branches = rng.bool(0.5) ? [main, shortcut] : [shortcut, main]
    return .merge("add", branches)
  }

  /// `conv(out:stride:)` with a 3×3 kernel and padding 1.
  mutating func conv(out: Int, stride: Int, kernel3: Bool) -> Layer {
    h = (h - 1) / stride + 1
    w = (w - 1) / stride + 1
    c = out
    return .op("{conv: \(out), kernel: 3, stride: \(stride), padding: 1, bias: \(rng.bool(0.5))}")
  }

  /// A concatenation of size-keeping branches, then (often) batch norm and an activation, and
  /// sometimes a residual add that reads the concatenation twice.
  mutating func concat() -> [Layer] {
    let c0 = c
    var branches: [[Layer]] = []
    var total = 0
    for _ in 0..<rng.int(2...3) {
      c = c0
      switch rng.int(0...3) {
      case 0: branches.append([])
      case 1: branches.append([.op("{maxpool: 3, stride: 1, padding: 1}")])
      default: branches.append([conv(same: true)] + (rng.bool(0.5) ? [.op("relu")] : []))
      }
      total += c
    }
    c = total
    var layers: [Layer] = [.merge("concat", branches)]
    if rng.bool(0.6) { layers.append(.op("bn")) }
    if rng.bool(0.5) { layers.append(activation()) }
    if rng.bool(0.3) {
      // The concatenation's value read by two branches and the add.
      let branch: [Layer] = [conv(out: total, pointwise: true)]
      layers.append(.merge("add", [[], branch]))
    }
    return layers
  }

  /// Adds of three branches, or of one value with itself.
  mutating func merge3() -> Layer {
    let c0 = c
    if rng.bool(0.4) { return .merge("add", [[], []]) }
    let a = conv(out: c0, pointwise: true)
    let b = conv(out: c0, same: true)
    return .merge("add", [[a, .op("relu")], [], [b]])
  }

  /// Squeeze-and-excitation (Hu et al. 2018): the feature map times a per-channel gate
  /// `sigmoid(conv(relu(conv(global average))))`, sometimes with the gate listed first (no longer in
  /// place) and an activation after the product.
  mutating func squeezeExcitation() -> [Layer] {
    let reduced = max(1, c / rng.int(1...4))
    let gate: [Layer] = [
      .op("{adaptive_avgpool: 1}"), .op("{conv: \(reduced), kernel: 1, bias: \(rng.bool(0.7))}"), .op("relu"),
      .op("{conv: \(c), kernel: 1}"), rng.bool(0.8) ? .op("sigmoid") : .op("hardsigmoid"),
    ]
    var layers: [Layer] = [.merge("mul", rng.bool(0.7) ? [[], gate] : [gate, []])]
    if rng.bool(0.3) { layers.append(.op("relu")) }
    return layers
  }

  /// A gated convolution `tanh(conv_f(x)) ⊙ sigmoid(conv_g(x))`, both convolutions keeping the size.
  mutating func gatedConvolution() -> Layer {
    let (c0, h0, w0) = (c, h, w)
    let out = large ? rng.pick([16, 32, 64]) : rng.int(1...10)
    let feature = [conv(out: out, same: true), .op("tanh")]
    (c, h, w) = (c0, h0, w0)
    let gate = [conv(out: out, same: true), .op("sigmoid")]
    return .merge("mul", [feature, gate])
  }

  /// A broadcast add or mul: the running `C×H×W` value with a `C×1×1`, `1×H×W` or `C×1×W` branch,
  /// in either order, or a mul of three inputs (the value, a same-size gate and a broadcast one).
  mutating func broadcastMerge() -> Layer {
    let c0 = c
    let pooled: [Layer] = [.op("{adaptive_avgpool: 1}"), .op("{conv: \(c0), kernel: 1}")]
    let rows: [Layer] = [.op("{adaptive_avgpool: [1, \(w)]}")]
    let plane: [Layer] = [.op("{conv: 1, kernel: 1}")]
    if rng.bool(0.3) {
      return .merge("mul", [[], [.op("{conv: \(c0), kernel: 1}"), .op("sigmoid")], pooled + [.op("sigmoid")]])
    }
    let small = rng.pick([pooled, rows, plane])
    let kind = rng.bool(0.5) ? "add" : "mul"
    return .merge(kind, rng.bool(0.6) ? [[], small] : [small, []])
  }

  /// ShuffleNetV2's basic unit (Ma et al. 2018, torchvision's `InvertedResidual` with stride 1): the
  /// channels chunked in two, the first half kept, the second through 1×1 conv → bn → relu → 3×3
  /// depthwise conv → bn → 1×1 conv → bn → relu, concatenated and shuffled in two groups. With an odd
  /// channel count the branch gives as many channels as the kept half, so the shuffle divides.
  mutating func shuffleUnit() -> [Layer] {
    let half = (c + 1) / 2
    let branch: [Layer] = [
      .op("{conv: \(half), kernel: 1, bias: false}"), .op("bn"), .op("relu"),
      .op("{conv: \(half), kernel: 3, padding: 1, groups: \(half), bias: false}"), .op("bn"),
      .op("{conv: \(half), kernel: 1, bias: false}"), .op("bn"), .op("relu"),
    ]
    c = 2 * half
    return [.split([[], branch], sizes: nil), .op("{channel_shuffle: 2}")]
  }

  /// A channel split into two or three branches, by torch.chunk's rule or by explicit sizes, each
  /// branch the identity or a size-keeping convolution.
  mutating func channelSplit() -> Layer {
    let c0 = c
    let n = rng.int(2...min(3, c0))
    var sizes: [Int]? = nil
    var pieces: [Int]
    let chunk = (c0 + n - 1) / n
    if rng.bool(0.5) && (c0 + chunk - 1) / chunk == n {
      pieces = (0..<n).map { min(chunk, c0 - $0 * chunk) }
    } else {
      // Random positive sizes adding up to c0.
      var cuts = Set<Int>()
      while cuts.count < n - 1 { cuts.insert(rng.int(1...(c0 - 1))) }
      let ends = cuts.sorted() + [c0]
      pieces = zip(ends, [0] + ends.dropLast()).map { $0 - $1 }
      sizes = pieces
    }
    var branches: [[Layer]] = []
    var total = 0
    let (h0, w0) = (h, w)
    for p in pieces {
      (c, h, w) = (p, h0, w0)
      if rng.bool(0.4) {
        branches.append([])
      } else {
        branches.append([conv(same: true)] + (rng.bool(0.5) ? [.op("relu")] : []))
      }
      total += c
    }
    (c, h, w) = (total, h0, w0)
    return .split(branches, sizes: sizes)
  }

  mutating func pool() -> Layer {
    if rng.bool(0.2) && h <= 10 && w <= 10 {
      let bilinear = rng.bool(0.5)
      var text = "{upsample: "
      if rng.bool(0.5) {
        let (sh, sw) = (rng.int(1...3), rng.int(1...3))
        text += sh == sw ? "\(sh)" : "[\(sh), \(sw)]"
        (h, w) = (h * sh, w * sw)
      } else {
        let (oh, ow) = (rng.int(1...(2 * h + 1)), rng.int(1...(2 * w + 1)))
        text += "null, size: [\(oh), \(ow)]"
        (h, w) = (oh, ow)
      }
      if bilinear {
        text += ", mode: bilinear"
        if rng.bool(0.4) { text += ", align_corners: true" }
      }
      return .op(text + "}")
    }
    if rng.bool(0.2) {
      let (oh, ow) = (rng.int(1...max(1, h)), rng.int(1...max(1, w)))
      h = oh
      w = ow
      return .op("{\(rng.bool(0.5) ? "adaptive_avgpool" : "adaptive_maxpool"): [\(oh), \(ow)]}")
    }
    let max = rng.bool(0.5)
    var k = rng.pick([1, 2, 3, 3])
    var d = max && rng.bool(0.2) ? 2 : 1
    while d * (k - 1) + 1 > Swift.min(h, w) {
      if d > 1 { d = 1 } else { k -= 1 }
    }
    let s = rng.pick([1, 2, 2, 3])
    let p = rng.int(0...(k / 2))
    let ceil = rng.bool(0.3)
    func size(_ n: Int) -> Int { windowOutputSize(n, kernel: k, stride: s, padding: p, dilation: d, ceilMode: ceil) }
    h = size(h)
    w = size(w)
    var text = "{\(max ? "maxpool" : "avgpool"): \(k), stride: \(s), padding: \(p)"
    if d != 1 { text += ", dilation: \(d)" }
    if ceil { text += ", ceil: true" }
    if !max && rng.bool(0.5) { text += ", count_include_pad: false" }
    return .op(text + "}")
  }

  mutating func head() -> [Layer] {
    var layers: [Layer] = []
    if rng.bool(0.15) && h >= 2 && w >= 2 {
      layers.append(.op("{subsample: 2}"))
      h /= 2
      w /= 2
    }
    if rng.bool(0.6) {
      let size = rng.int(1...2)
      layers.append(.op("{adaptive_avgpool: \(size)}"))
      h = size
      w = size
    }
    layers.append(.op("flatten"))
    flat = true
    layers.append(.op("{linear: \(rng.int(1...40)), bias: \(rng.bool(0.7))}"))
    if rng.bool(0.5) {
      layers += [activation(), .op("dropout"), .op("{linear: \(rng.int(1...20))}")]
    }
    switch rng.int(0...5) {
    case 0: layers.append(.op("softmax"))
    case 1: layers.append(.op("{rbf: \(rng.int(1...10))}"))
    case 2: layers.append(activation())
    default: break
    }
    return layers
  }

  // MARK: - Weights

  /// Values for a tensor: weights scaled by fan-in, biases and batch-norm statistics far from the
  /// identity (γ ∈ [0.5, 1.5], β, μ ∈ [−0.5, 0.5], σ² ∈ [0.5, 1.5]) so a wrongly placed fold shows.
  mutating func values(for t: TensorDecl, of node: Node) -> [Float] {
    let n = t.elements
    let key = t.name.split(separator: ".").last.map(String.init) ?? ""
    if case .batchNorm = node.op {
      switch key {
      case "weight", "running_var": return (0..<n).map { _ in Float(rng.uniform(0.5, 1.5)) }
      default: return (0..<n).map { _ in Float(rng.uniform(-0.5, 0.5)) }
      }
    }
    if key == "bias" { return (0..<n).map { _ in Float(rng.uniform(-0.5, 0.5)) } }
    let fanIn = max(1, n / max(1, t.shape.first ?? 1))
    let bound = (3.0 / Double(fanIn)).squareRoot() * 1.4
    if case .rbf = node.op { return (0..<n).map { _ in Float(rng.uniform(-1, 1)) } }
    return (0..<n).map { _ in Float(rng.uniform(-bound, bound)) }
  }
}

/// SplitMix64 with the helpers the generator needs.
struct SplitMixRandom {
  var state: UInt64
  init(_ seed: UInt64) { state = seed }
  mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }
  mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * Double(next() >> 11) * 0x1p-53 }
  mutating func int(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(next() % UInt64(r.count)) }
  mutating func bool(_ p: Double) -> Bool { uniform(0, 1) < p }
  mutating func pick<T>(_ xs: [T]) -> T { xs[int(0...(xs.count - 1))] }
}
