import ZooGraph

/// The translation of every op into ONNX nodes, one graph node after another in topological order.
///
/// Values are NCHW with a batch dimension first (1, or dynamic): reshapes write 0 for it (copy the input's).
/// Each op follows its definition in ZooGraph/Op.swift, which is PyTorch's.
struct Lowering {
  static let inputName = "input"

  let graph: Graph
  let shapes: [[Int]]
  let opset: Int
  let dynamicBatch: Bool
  var builder: ExportBuilder
  /// The ONNX value holding each graph node's result.
  var values: [String]
  /// The graph outputs' names, in `graph.outputs` order.
  var outputNames: [String] = []
  /// The max pools whose switches a `max_unpool` reads, with the ONNX value of their indices once exported.
  var switches: [Int: String] = [:]

  init(graph: Graph, shapes: [[Int]], opset: Int, dynamicBatch: Bool) {
    self.graph = graph
    self.shapes = shapes
    self.opset = opset
    self.dynamicBatch = dynamicBatch
    self.builder = ExportBuilder(opset: opset)
    self.values = Array(repeating: "", count: graph.nodes.count)
    for node in graph.nodes {
      if case .maxUnpool(let u) = node.op { switches[u.pool] = "" }
    }
  }

  mutating func run() throws(ONNXError) {
    for node in graph.nodes {
      values[node.id] = node.op == .input ? Self.inputName : try lower(node)
    }
    // The outputs: the main one `output`, any others `output_1`, `output_2`, …; a value listed twice, or the
    // input itself, goes through an Identity.
    for (k, id) in graph.outputs.enumerated() {
      let name = k == 0 ? "output" : "output_\(k)"
      let value = values[id]
      if outputNames.contains(value) || value == Self.inputName || !builder.rename(value, to: name) {
        let copy = builder.op("Identity", in: graph.nodes[id].name, [value])
        _ = builder.rename(copy, to: name)
      } else {
        for i in values.indices where values[i] == value { values[i] = name }
      }
      outputNames.append(name)
    }
  }

  /// An error naming the layer, for an op this opset cannot express.
  func refuse(_ node: Node, _ why: String) -> ONNXError {
    ONNXError("layer `\(node.name)` (\(node.op.summary)): \(why)")
  }

  /// The ONNX nodes of one graph node; returns the value of its result.
  mutating func lower(_ node: Node) throws(ONNXError) -> String {
    let path = node.name
    let x = values[node.inputs[0]]
    let inShape = shapes[node.inputs[0]]
    let outShape = shapes[node.id]
    let weight = "\(node.name).weight"
    let bias = "\(node.name).bias"
    switch node.op {
    case .input:
      return Self.inputName

    case .conv(let c):
      var source = x
      var pads = [c.padding.h, c.padding.w, c.padding.h, c.padding.w]
      if let p = c.prePad {
        if p.mode == .zeros && p.value == 0 {
          // Zero padding of its own: the convolution's pads, which may differ per side.
          pads = [p.top, p.left, p.bottom, p.right]
        } else {
          source = try pad(p, x, inShape, node)
        }
      }
      var w = weight
      if let table = c.table { w = denseTableWeight(c, table, path: path) }
      return builder.op(
        "Conv", in: path, [source, w] + (c.bias ? [bias] : []),
        [
          .ints("kernel_shape", [c.kernel.h, c.kernel.w]), .ints("strides", [c.stride.h, c.stride.w]),
          .ints("pads", pads), .ints("dilations", [c.dilation.h, c.dilation.w]),
          .int("group", c.table == nil ? c.groups : 1),
        ])

    case .convTranspose(let c):
      return builder.op(
        "ConvTranspose", in: path, [x, weight] + (c.bias ? [bias] : []),
        [
          .ints("kernel_shape", [c.kernel.h, c.kernel.w]), .ints("strides", [c.stride.h, c.stride.w]),
          .ints("pads", [c.padding.h, c.padding.w, c.padding.h, c.padding.w]),
          .ints("output_padding", [c.outputPadding.h, c.outputPadding.w]),
          .ints("dilations", [c.dilation.h, c.dilation.w]), .int("group", c.groups),
        ])

    case .linear(_, _, let hasBias):
      return builder.op(
        "Gemm", in: path, [x, weight] + (hasBias ? [bias] : []),
        [.float("alpha", 1), .float("beta", 1), .int("transB", 1)])

    case .batchNorm(_, let eps):
      return builder.op(
        "BatchNormalization", in: path, [x, weight, bias, "\(path).running_mean", "\(path).running_var"],
        [.float("epsilon", eps)])

    case .lrn(let size, let alpha, let beta, let k):
      if size % 2 == 1 {
        // ONNX sums channels c − ⌊(size−1)/2⌋ … c + ⌈(size−1)/2⌉, PyTorch c − ⌊size/2⌋ … c + ⌊(size−1)/2⌋: the
        // same window when the size is odd.
        return builder.op(
          "LRN", in: path, [x],
          [.int("size", size), .float("alpha", alpha), .float("beta", beta), .float("bias", k)])
      }
      return evenLRN(x, size: size, alpha: alpha, beta: beta, k: k, path: path)

    case .activation(let a):
      return try activation(a, x, node)

    case .pool(let p):
      return try pool(p, x, node)

    case .adaptiveAvgPool(let oh, let ow):
      return adaptivePool(x, inShape, oh, ow, average: true, path: path)
    case .adaptiveMaxPool(let oh, let ow):
      return adaptivePool(x, inShape, oh, ow, average: false, path: path)

    case .upsample(let u):
      return upsample(u, x, inShape, outShape, path: path)

    case .flatten:
      return builder.op("Flatten", in: path, [x], [.int("axis", 1)])

    case .dropout, .identity:
      return builder.op("Identity", in: path, [x])

    case .softmax:
      // Over all of a sample's values (PyTorch's `nn.Softmax(dim=1)` on a vector).
      guard inShape.count > 1 else { return builder.op("Softmax", in: path, [x], [.int("axis", 1)]) }
      let flat = builder.op("Flatten", in: path, [x], [.int("axis", 1)])
      let y = builder.op("Softmax", in: path, [flat], [.int("axis", 1)])
      return builder.reshape(y, [0] + outShape, in: path)

    case .concat:
      return builder.op("Concat", in: path, node.inputs.map { values[$0] }, [.int("axis", 1)])

    case .add, .mul:
      var acc = x
      for i in node.inputs.dropFirst() {
        acc = builder.op(node.op == .add ? "Add" : "Mul", in: path, [acc, values[i]])
      }
      if node.inputs.count == 1 { acc = builder.op("Identity", in: path, [x]) }
      return acc

    case .subsample(let channels, let k):
      // Σ over each k×k window (stride k) times weight[c], plus bias[c]: a depthwise convolution whose kernel
      // is weight[c] in every tap, built from the weight initializer, with the bias initializer.
      let w = builder.reshape(weight, [channels, 1, 1, 1], in: path)
      let kernel = builder.op("Expand", in: path, [w, builder.ints([channels, 1, k, k], in: path)])
      return builder.op(
        "Conv", in: path, [x, kernel, bias],
        [
          .ints("kernel_shape", [k, k]), .ints("strides", [k, k]), .ints("pads", [0, 0, 0, 0]),
          .int("group", channels),
        ])

    case .rbf(let i, _):
      // y_j = Σ_i (x_i − w_ji)²: [N, 1, in] − [classes, in] → [N, classes, in], squared, summed over in.
      let x3 = builder.reshape(x, [0, 1, i], in: path)
      let d = builder.op("Sub", in: path, [x3, weight])
      let sq = builder.op("Mul", in: path, [d, d])
      return builder.reduce("ReduceSum", sq, axes: [2], keepDims: false, in: path)

    case .channelShuffle(let g):
      let (c, h, w) = (inShape[0], inShape[1], inShape[2])
      let v = builder.reshape(x, [0, g, c / g, h, w], in: path)
      let t = builder.op("Transpose", in: path, [v], [.ints("perm", [0, 2, 1, 3, 4])])
      return builder.reshape(t, [0, c, h, w], in: path)

    case .channelSlice(let start, let count):
      return builder.slice(x, starts: [start], ends: [start + count], axes: [1], in: path)

    case .pad(let p):
      return try pad(p, x, inShape, node)

    case .crop(let c):
      let at = c.start(inShape[1], inShape[2], to: outShape[1], outShape[2])
      return builder.slice(
        x, starts: [at.h, at.w], ends: [at.h + outShape[1], at.w + outShape[2]], axes: [2, 3], in: path)

    case .maxUnpool(let u):
      guard let indices = switches[u.pool], !indices.isEmpty else {
        throw refuse(node, "its max pool `\(graph.nodes[u.pool].name)` was not exported with its indices")
      }
      let p = u.window
      // The output is the pool's input shape, batch included.
      let size = builder.op("Shape", in: path, [values[graph.nodes[u.pool].inputs[0]]])
      return builder.op(
        "MaxUnpool", in: path, [x, indices, size],
        [
          .ints("kernel_shape", [p.kernel.h, p.kernel.w]), .ints("strides", [p.stride.h, p.stride.w]),
          .ints("pads", [p.padding.h, p.padding.w, p.padding.h, p.padding.w]),
        ])

    case .maxout(let k):
      let (c, h, w) = (inShape[0], inShape[1], inShape[2])
      let v = builder.reshape(x, [0, c / k, k, h, w], in: path)
      return builder.reduce("ReduceMax", v, axes: [2], keepDims: false, in: path)

    case .local(let l):
      return local(l, x, inShape, outShape, path: path)
    }
  }

  // MARK: - Activations

  mutating func activation(_ a: Activation, _ x: String, _ node: Node) throws(ONNXError) -> String {
    let path = node.name
    switch a {
    case .relu: return builder.op("Relu", in: path, [x])
    case .leakyReLU(let slope): return builder.op("LeakyRelu", in: path, [x], [.float("alpha", slope)])
    case .tanh: return builder.op("Tanh", in: path, [x])
    case .sigmoid: return builder.op("Sigmoid", in: path, [x])
    case .scaledTanh(let a, let s):
      let inner = builder.op("Mul", in: path, [x, builder.scalar(s, in: path)])
      let t = builder.op("Tanh", in: path, [inner])
      return builder.op("Mul", in: path, [t, builder.scalar(a, in: path)])
    case .relu6:
      return builder.op("Clip", in: path, [x, builder.scalar(0, in: path), builder.scalar(6, in: path)])
    case .hardsigmoid:
      return builder.op("HardSigmoid", in: path, [x], [.float("alpha", 1.0 / 6), .float("beta", 0.5)])
    case .hardswish:
      if opset >= 14 { return builder.op("HardSwish", in: path, [x]) }
      let gate = builder.op("HardSigmoid", in: path, [x], [.float("alpha", 1.0 / 6), .float("beta", 0.5)])
      return builder.op("Mul", in: path, [x, gate])
    case .silu:
      return builder.op("Mul", in: path, [x, builder.op("Sigmoid", in: path, [x])])
    case .gelu(let approximation):
      if opset >= 20 {
        return builder.op("Gelu", in: path, [x], [.string("approximate", approximation.rawValue)])
      }
      let inner: String
      switch approximation {
      case .erf:
        // 0.5 · x · (1 + erf(x / √2))
        let scaled = builder.op("Div", in: path, [x, builder.scalar(2.0.squareRoot(), in: path)])
        inner = builder.op("Erf", in: path, [scaled])
      case .tanh:
        // 0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))
        let cube = builder.op("Mul", in: path, [builder.op("Mul", in: path, [x, x]), x])
        let sum = builder.op(
          "Add", in: path, [x, builder.op("Mul", in: path, [cube, builder.scalar(0.044715, in: path)])])
        let arg = builder.op("Mul", in: path, [sum, builder.scalar((2 / Double.pi).squareRoot(), in: path)])
        inner = builder.op("Tanh", in: path, [arg])
      }
      let onePlus = builder.op("Add", in: path, [inner, builder.scalar(1, in: path)])
      let half = builder.op("Mul", in: path, [x, builder.scalar(0.5, in: path)])
      return builder.op("Mul", in: path, [half, onePlus])
    }
  }

  // MARK: - Windows

  /// A pool in ceil mode whose last window PyTorch drops because it would start in the right padding: ONNX's
  /// shape inference (opsets 13–21) keeps that window where ONNX Runtime drops it, so such a pool is written
  /// without ceil mode, its end padding just large enough for the analyzer's count of windows. Returns
  /// nil when no window is dropped, else the end paddings `(h, w)`.
  func droppedWindowPads(_ p: Pool2D, _ inShape: [Int], _ outShape: [Int]) -> (Int, Int)? {
    guard p.ceilMode else { return nil }
    var ends: [Int] = []
    var drops = false
    for (n, o, k, s, pad, d) in [
      (inShape[1], outShape[1], p.kernel.h, p.stride.h, p.padding.h, p.dilation.h),
      (inShape[2], outShape[2], p.kernel.w, p.stride.w, p.padding.w, p.dilation.w),
    ] {
      let span = d * (k - 1) + 1
      let specCount = (n + 2 * pad - span + s - 1) / s + 1
      if specCount != o { drops = true }
      ends.append(max(0, (o - 1) * s + span - n - pad))
    }
    return drops ? (ends[0], ends[1]) : nil
  }

  mutating func pool(_ p: Pool2D, _ x: String, _ node: Node) throws(ONNXError) -> String {
    let path = node.name
    var source = x
    var pads = [p.padding.h, p.padding.w, p.padding.h, p.padding.w]
    var ceil = p.ceilMode
    var countIncludePad = p.countIncludePad
    let (inShape, outShape) = (shapes[node.inputs[0]], shapes[node.id])
    if let (endH, endW) = droppedWindowPads(p, inShape, outShape) {
      ceil = false
      if p.kind == .avg && countIncludePad && (endH > p.padding.h || endW > p.padding.w) {
        // PyTorch divides by the window clipped at the right padding: pad with real zeros first, then pool
        // without counting the extra end padding.
        let zeros = builder.ints([0, 0, p.padding.h, p.padding.w, 0, 0, p.padding.h, p.padding.w], in: path)
        source = builder.op(
          "Pad", in: path, [x, zeros, builder.scalar(0, in: path)], [.string("mode", "constant")])
        pads = [0, 0, max(0, endH - p.padding.h), max(0, endW - p.padding.w)]
        countIncludePad = false
      } else {
        pads = [p.padding.h, p.padding.w, endH, endW]
      }
    }
    var attributes: [Onnx_AttributeProto] = [
      .ints("kernel_shape", [p.kernel.h, p.kernel.w]), .ints("strides", [p.stride.h, p.stride.w]),
      .ints("pads", pads), .int("ceil_mode", ceil ? 1 : 0),
    ]
    if p.dilation != Pair(1) { attributes.append(.ints("dilations", [p.dilation.h, p.dilation.w])) }
    if p.kind == .max {
      if switches[node.id] != nil {
        let out = builder.add("MaxPool", in: path, [x], outputs: 2, attributes)
        switches[node.id] = out[1]
        return out[0]
      }
      return builder.op("MaxPool", in: path, [x], attributes)
    }
    if p.dilation != Pair(1) && opset < 19 {
      throw refuse(node, "a dilated average pool needs opset 19 or later (AveragePool has dilations from 19)")
    }
    attributes.append(.int("count_include_pad", countIncludePad ? 1 : 0))
    return builder.op("AveragePool", in: path, [source], attributes)
  }

  /// Adaptive pooling: a global pool for one bin, a plain pool when the bins tile the input evenly, and
  /// otherwise PyTorch's bins (`⌊i·n/o⌋ ..< ⌈(i+1)·n/o⌉`) written out at the export size, one axis at a time
  /// (a bin is a rectangle, so the mean or max of its rows' means or maxima is the bin's).
  mutating func adaptivePool(_ x: String, _ inShape: [Int], _ oh: Int, _ ow: Int, average: Bool, path: String)
    -> String
  {
    let (h, w) = (inShape[1], inShape[2])
    if oh == 1 && ow == 1 {
      return builder.op(average ? "GlobalAveragePool" : "GlobalMaxPool", in: path, [x])
    }
    if h % oh == 0 && w % ow == 0 {
      let (kh, kw) = (h / oh, w / ow)
      return builder.op(
        average ? "AveragePool" : "MaxPool", in: path, [x],
        [.ints("kernel_shape", [kh, kw]), .ints("strides", [kh, kw]), .ints("pads", [0, 0, 0, 0])])
    }
    var y = x
    for (axis, n, o) in [(2, h, oh), (3, w, ow)] where n != o {
      var bins: [String] = []
      for i in 0..<o {
        let (start, end) = (i * n / o, ((i + 1) * n + o - 1) / o)
        let part = builder.slice(y, starts: [start], ends: [end], axes: [axis], in: path)
        bins.append(builder.reduce(average ? "ReduceMean" : "ReduceMax", part, axes: [axis], keepDims: true, in: path))
      }
      y = bins.count == 1 ? bins[0] : builder.op("Concat", in: path, bins, [.int("axis", axis)])
    }
    return y == x ? builder.op("Identity", in: path, [x]) : y
  }

  // MARK: - Resizing

  /// `Resize` with PyTorch's coordinates: nearest reads `⌊o·n/m⌋` (ONNX `asymmetric` with `floor`), bilinear
  /// `half_pixel` (ONNX Runtime clamps below at 0, as PyTorch does) or `align_corners`. An integer scale is
  /// written as scales (exact); another size as sizes, except nearest, whose source indices `⌊o·n/m⌋` are
  /// written out as two `Gather`s so that no floating-point quotient can move a row.
  mutating func upsample(_ u: Upsample, _ x: String, _ inShape: [Int], _ outShape: [Int], path: String) -> String {
    let (h, w, oh, ow) = (inShape[1], inShape[2], outShape[1], outShape[2])
    let integral = oh % h == 0 && ow % w == 0
    if u.mode == .nearest && !integral {
      let rows = builder.ints((0..<oh).map { $0 * h / oh }, in: path)
      let tall = builder.op("Gather", in: path, [x, rows], [.int("axis", 2)])
      let columns = builder.ints((0..<ow).map { $0 * w / ow }, in: path)
      return builder.op("Gather", in: path, [tall, columns], [.int("axis", 3)])
    }
    var attributes: [Onnx_AttributeProto] = [.string("mode", u.mode == .nearest ? "nearest" : "linear")]
    if u.mode == .nearest {
      attributes += [.string("coordinate_transformation_mode", "asymmetric"), .string("nearest_mode", "floor")]
    } else {
      attributes.append(.string("coordinate_transformation_mode", u.alignCorners ? "align_corners" : "half_pixel"))
    }
    if integral {
      let scales = builder.floats([1, 1, Float(oh / h), Float(ow / w)], shape: [4], in: path)
      return builder.op("Resize", in: path, [x, "", scales], attributes)
    }
    let sizes: String
    if opset >= 18 {
      attributes.append(.ints("axes", [2, 3]))
      sizes = builder.ints([oh, ow], in: path)
    } else if !dynamicBatch {
      sizes = builder.ints([1, inShape[0], oh, ow], in: path)
    } else {
      let shape = builder.op("Shape", in: path, [x])
      let nc = builder.slice(shape, starts: [0], ends: [2], axes: [0], in: path)
      sizes = builder.op("Concat", in: path, [nc, builder.ints([oh, ow], in: path)], [.int("axis", 0)])
    }
    return builder.op("Resize", in: path, [x, "", "", sizes], attributes)
  }

  // MARK: - Padding

  /// `F.pad` as ONNX `Pad`: zeros → `constant`, reflect → `reflect`, replicate → `edge`, circular → `wrap`
  /// (opset 19), or below 19 the wrapped rows and columns sliced off the far side and concatenated.
  mutating func pad(_ p: Padding2D, _ x: String, _ inShape: [Int], _ node: Node) throws(ONNXError) -> String {
    let path = node.name
    if p.mode == .circular && opset < 19 {
      let (h, w) = (inShape[1], inShape[2])
      var y = x
      for (axis, n, before, after) in [(2, h, p.top, p.bottom), (3, w, p.left, p.right)] where before + after > 0 {
        var parts: [String] = []
        if before > 0 { parts.append(builder.slice(y, starts: [n - before], ends: [n], axes: [axis], in: path)) }
        parts.append(y)
        if after > 0 { parts.append(builder.slice(y, starts: [0], ends: [after], axes: [axis], in: path)) }
        y = builder.op("Concat", in: path, parts, [.int("axis", axis)])
      }
      return y == x ? builder.op("Identity", in: path, [x]) : y
    }
    let mode: String
    switch p.mode {
    case .zeros: mode = "constant"
    case .reflect: mode = "reflect"
    case .replicate: mode = "edge"
    case .circular: mode = "wrap"
    }
    let pads = builder.ints([0, 0, p.top, p.left, 0, 0, p.bottom, p.right], in: path)
    var inputs = [x, pads]
    if p.mode == .zeros { inputs.append(builder.scalar(p.value, in: path)) }
    return builder.op("Pad", in: path, inputs, [.string("mode", mode)])
  }

  // MARK: - Decompositions

  /// PyTorch's `F.local_response_norm` for an even size (whose window ONNX `LRN` places one channel
  /// further): `x / (k + α · mean of x² over channels c − size/2 … c + (size−1)/2)^β`, the mean as a 3-D
  /// average pool over the zero-padded channel axis.
  mutating func evenLRN(_ x: String, size: Int, alpha: Double, beta: Double, k: Double, path: String) -> String {
    let sq = builder.op("Mul", in: path, [x, x])
    let five = builder.op("Unsqueeze", in: path, [sq, builder.ints([1], in: path)])
    let pads = builder.ints([0, 0, size / 2, 0, 0, 0, 0, (size - 1) / 2, 0, 0], in: path)
    let padded = builder.op("Pad", in: path, [five, pads, builder.scalar(0, in: path)], [.string("mode", "constant")])
    let mean = builder.op(
      "AveragePool", in: path, [padded],
      [.ints("kernel_shape", [size, 1, 1]), .ints("strides", [1, 1, 1]), .ints("pads", [0, 0, 0, 0, 0, 0])])
    let m = builder.op("Squeeze", in: path, [mean, builder.ints([1], in: path)])
    let scaled = builder.op("Mul", in: path, [m, builder.scalar(alpha, in: path)])
    let base = builder.op("Add", in: path, [scaled, builder.scalar(k, in: path)])
    let denominator = builder.op("Pow", in: path, [base, builder.scalar(beta, in: path)])
    return builder.op("Div", in: path, [x, denominator])
  }

  /// A connection table's dense weight `[out, in, kh, kw]`: zeros, with the weight initializer's
  /// `[connections, kh, kw]` kernels scattered to `(o, table[o][t])` in table order.
  mutating func denseTableWeight(_ c: Conv2D, _ table: [[Int]], path: String) -> String {
    let (kh, kw) = (c.kernel.h, c.kernel.w)
    let zeros = builder.op(
      "ConstantOfShape", in: path, [builder.ints([c.outChannels, c.inChannels, kh, kw], in: path)],
      [.tensor("value", .floats([0], shape: [1]))])
    var indices: [Int] = []
    for (o, sources) in table.enumerated() { for ch in sources { indices += [o, ch] } }
    let at = builder.ints(indices, shape: [indices.count / 2, 2], in: path)
    return builder.op("ScatterND", in: path, [zeros, at, "\(path).weight"])
  }

  /// A locally connected or tiled layer: the windows as columns (im2col, a grouped `Conv` with one-hot
  /// kernels: channel `(c·kh + a)·kw + b` of position `l` is input `c` at tap `(a, b)`), then per position
  /// `l` the product with its own kernel `[out, in·kh·kw]` as a batched `MatMul`, the kernels of a tiled
  /// layer gathered per position from the weight initializer.
  mutating func local(_ l: LocalConv2D, _ x: String, _ inShape: [Int], _ outShape: [Int], path: String) -> String {
    let (cin, kh, kw) = (inShape[0], l.kernel.h, l.kernel.w)
    let (cout, oh, ow) = (outShape[0], outShape[1], outShape[2])
    let (k, positions, tiles) = (cin * kh * kw, oh * ow, l.tile.h * l.tile.w)
    var oneHot = [Float](repeating: 0, count: k * kh * kw)
    for q in 0..<k { oneHot[q * kh * kw + q % (kh * kw)] = 1 }
    let kernels = builder.floats(oneHot, shape: [k, 1, kh, kw], in: path)
    let columns = builder.op(
      "Conv", in: path, [x, kernels],
      [
        .ints("kernel_shape", [kh, kw]), .ints("strides", [l.stride.h, l.stride.w]),
        .ints("pads", [l.padding.h, l.padding.w, l.padding.h, l.padding.w]), .int("group", cin),
      ])
    // [N, K, L] → [L, N, K]
    let flat = builder.reshape(columns, [0, k, positions], in: path)
    let byPosition = builder.op("Transpose", in: path, [flat], [.ints("perm", [2, 0, 1])])
    // The tile of every position, row-major: (i mod th)·tw + j mod tw.
    let tileOf = (0..<positions).map { p in (p / ow % l.tile.h) * l.tile.w + p % ow % l.tile.w }
    let unshared = tileOf == Array(0..<positions)
    var w = builder.reshape("\(path).weight", [tiles, cout, k], in: path)
    let gather = unshared ? nil : builder.ints(tileOf, in: path)
    if let gather { w = builder.op("Gather", in: path, [w, gather], [.int("axis", 0)]) }
    // [L, out, K] → [L, K, out]; [L, N, K] · [L, K, out] = [L, N, out] → [N, out, L]
    let wt = builder.op("Transpose", in: path, [w], [.ints("perm", [0, 2, 1])])
    let product = builder.op("MatMul", in: path, [byPosition, wt])
    let back = builder.op("Transpose", in: path, [product], [.ints("perm", [1, 2, 0])])
    var y = builder.reshape(back, [0, cout, oh, ow], in: path)
    if l.bias {
      var b = builder.reshape("\(path).bias", [tiles, cout], in: path)
      if let gather { b = builder.op("Gather", in: path, [b, gather], [.int("axis", 0)]) }
      let bt = builder.op("Transpose", in: path, [b], [.ints("perm", [1, 0])])
      y = builder.op("Add", in: path, [y, builder.reshape(bt, [cout, oh, ow], in: path)])
    }
    return y
  }
}
