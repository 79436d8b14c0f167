import Foundation
import ZooGraph

/// An ONNX model read into the zoo's layer graph: the graph, the weights it holds keyed by the graph's
/// state-dict names (``Node/tensors``), and notes on what the importer found (batch norm folded by the
/// exporter, dimensions fixed by the caller, float16 weights widened).
///
/// The graph is built for one input shape: the file's own, or the caller's where the file leaves a
/// dimension symbolic. The batch dimension is never part of the graph; a file's fixed batch size only
/// serves to recognise the reshapes written for it.
public struct ONNXImport: Sendable {
  public var graph: Graph
  public var weights: [String: Tensor]
  public var notes: [String]
  /// The version of the default (`ai.onnx`) operator set the file imports.
  public var opset: Int
  /// The program that wrote the file (`pytorch 2.15.0`).
  public var producer: String

  /// The ONNX ops the importer maps onto the graph's ops, or folds when they compute shapes.
  public static let supportedOps: [String] = [
    "Add", "AveragePool", "BatchNormalization", "Cast", "Clip", "Concat", "Constant", "ConstantOfShape", "Conv",
    "ConvTranspose", "Div", "Dropout", "Erf", "Flatten", "Gather", "Gelu", "Gemm", "GlobalAveragePool",
    "GlobalMaxPool", "HardSigmoid", "HardSwish", "Identity", "LRN", "LeakyRelu", "MatMul", "MaxPool", "MaxUnpool",
    "Mul", "Pad", "ReduceMax", "ReduceMean", "Relu", "Reshape", "Resize", "Shape", "Sigmoid", "Slice", "Softmax",
    "Split", "Squeeze", "Sub", "Tanh", "Transpose", "Unsqueeze", "Upsample",
  ]

  /// Reads the model file at `path` (external-data files relative to its folder) for the sample shape
  /// `input` (`[C, H, W]`; needed when the file leaves a channel or spatial dimension symbolic, and
  /// otherwise checked against the file's).
  public static func load(_ path: String, input: [Int]? = nil) throws(ONNXError) -> ONNXImport {
    let model = try ONNXFile.read(path)
    let folder = (path as NSString).deletingLastPathComponent
    return try ONNXImport(model: model, file: path, directory: folder.isEmpty ? "." : folder, input: input)
  }

  /// Converts a decoded model; `file` names it in messages and `directory` is where its external data
  /// lives.
  public init(model: Onnx_ModelProto, file: String, directory: String = ".", input: [Int]? = nil)
    throws(ONNXError)
  {
    var c = try Converter(model: model, file: file, directory: directory, input: input)
    try c.run()
    self = try c.finish()
  }

  init(graph: Graph, weights: [String: Tensor], notes: [String], opset: Int, producer: String) {
    self.graph = graph
    self.weights = weights
    self.notes = notes
    self.opset = opset
    self.producer = producer
  }
}

/// What an ONNX tensor name stands for while the importer walks the graph.
enum Value {
  /// The output of a graph node.
  case node(Int)
  /// A known tensor: an initializer, a constant, or a folded shape computation.
  case constant(Constant)
  /// `Reshape` of node `x` (`C×H×W`) to `N × groups × C/groups × H × W`: the first step of a channel
  /// shuffle.
  case shuffleView(Int, groups: Int)
  /// That view transposed to `N × C/groups × groups × H × W`: reshaping it back is a channel shuffle.
  case shuffleTransposed(Int, groups: Int)
  /// `MatMul` of node `x` by a constant weight (`[out, in]`), waiting for an `Add` of a bias.
  case matmul(Int, weight: Tensor)
  /// The `Indices` output of the max pool node `pool`: its switches, which only a `MaxUnpool` reads.
  case switches(pool: Int)
  /// Node `x` times a constant `factor` (`Div` by `1/factor`), waiting for the `Erf` of GELU.
  case scaled(Int, factor: Float)
  /// A part of GELU written as `Erf` arithmetic (`x · 0.5 · (1 + erf(x / √2))`, as PyTorch's exporters
  /// write `F.gelu` below opset 20): `coefficient · [x ·] [1 +] erf(x / √2)` of node `x`.
  case erfTerm(Int, coefficient: Float, timesX: Bool, plusOne: Bool)
}

/// A graph node before names are given: its op, inputs, scope and weights.
struct Draft {
  var op: Op
  var inputs: [Int]
  /// The module path from the exporter's scope (`layer1.0.conv1`), empty at the top.
  var scope: String
  /// The op's name inside its scope (`conv`, `add_1`).
  var opName: String
  /// The state-dict prefix of its weight initializer, when the file kept one (`layer1.0.conv1`).
  var preferred: String?
  /// Weights by suffix (`weight`, `bias`, `running_mean`).
  var weights: [(String, Tensor)]
}

let maxDim = Int(Int32.max)

struct Converter {
  let model: Onnx_ModelProto
  let file: String
  let reader: TensorReader
  let requestedInput: [Int]?
  var opset = 0
  var initializers: [String: Onnx_TensorProto] = [:]
  var values: [String: Value] = [:]
  var drafts: [Draft] = []
  var shapes: [[Int]] = []
  /// The batch size the file's constants were written for (its input's fixed batch, else 1).
  var batch = 1
  /// Module path → class name (from torch.export's `namespace` metadata).
  var classes: [String: String] = [:]
  var notes: [String] = []
  var foldedScript = 0
  var foldedDynamo = 0
  var widened = 0
  var external = 0
  var sharedInitializers = 0
  var current = Onnx_NodeProto()
  var currentScope = ("", "")

  init(model: Onnx_ModelProto, file: String, directory: String, input: [Int]?) throws(ONNXError) {
    self.model = model
    self.file = file
    self.reader = TensorReader(file: file, directory: directory)
    self.requestedInput = input
    var found = false
    for o in model.opsetImport where o.domain.isEmpty || o.domain == "ai.onnx" {
      opset = Int(clamping: o.version)
      found = true
    }
    if !found { opset = 1 }
  }

  // MARK: Messages

  func nodeLabel(_ n: Onnx_NodeProto) -> String {
    "node `\(n.name.isEmpty ? n.output.first ?? "?" : n.name)` (\(n.opType))"
  }

  func err(_ message: String) -> ONNXError {
    ONNXError("`\(file)`: \(nodeLabel(current)): \(message)")
  }

  func fileError(_ message: String) -> ONNXError { ONNXError("`\(file)`: \(message)") }

  // MARK: The walk

  mutating func run() throws(ONNXError) {
    let g = model.graph
    for t in g.initializer {
      guard !t.name.isEmpty else { throw fileError("an initializer has no name") }
      initializers[t.name] = t
      if t.dataType == 10 { widened += 1 }
      if t.dataLocation == .external { external += 1 }
    }
    try setUpInput()
    for n in g.node {
      current = n
      try convert(n)
    }
  }

  mutating func setUpInput() throws(ONNXError) {
    let inputs = model.graph.input.filter { initializers[$0.name] == nil }
    guard inputs.count == 1 else {
      throw fileError(
        "the graph has \(inputs.count) inputs (\(inputs.map { "`\($0.name)`" }.joined(separator: ", "))); the importer reads networks with one image input"
      )
    }
    let info = inputs[0]
    guard case .tensorType(let tt)? = info.type.value else {
      throw fileError("the input `\(info.name)` is not a tensor")
    }
    guard tt.elemType == 1 else {
      throw fileError("the input `\(info.name)` is \(ElementType.name(tt.elemType)); the importer reads float32 inputs")
    }
    let dims = tt.shape.dim
    guard dims.count == 4 else {
      throw fileError(
        "the input `\(info.name)` has \(dims.count) dimensions; the importer reads N×C×H×W images")
    }
    func fixed(_ d: Onnx_TensorShapeProto.Dimension) -> Int? {
      if case .dimValue(let v)? = d.value, v > 0 { return Int(clamping: v) }
      return nil
    }
    func text(_ d: Onnx_TensorShapeProto.Dimension) -> String {
      switch d.value {
      case .dimValue(let v)?: "\(v)"
      case .dimParam(let p)?: p.isEmpty ? "?" : p
      default: "?"
      }
    }
    let written = dims.map(text).joined(separator: "×")
    batch = fixed(dims[0]) ?? 1
    guard batch <= maxDim else { throw fileError("the input's batch size \(batch) is too large") }
    var sample: [Int] = []
    var symbolic = false
    for (i, what) in [(1, "channels"), (2, "height"), (3, "width")] {
      if let v = fixed(dims[i]) {
        guard v <= maxDim else { throw fileError("the input's \(what) \(v) is too large; the limit is \(maxDim)") }
        if let r = requestedInput, r[i - 1] != v {
          throw fileError(
            "the file fixes the input to \(written); the requested input \(r.map(String.init).joined(separator: "×")) differs in its \(what) (a file exported with fixed sizes only runs at them)"
          )
        }
        sample.append(v)
      } else if let r = requestedInput {
        sample.append(r[i - 1])
        symbolic = true
      } else {
        throw fileError(
          "the input `\(info.name)` is \(written): its \(what) is not fixed, so give the sample's shape with --input CxHxW"
        )
      }
    }
    if symbolic {
      notes.append(
        "The file's input is \(written); the graph is built for \(sample.map(String.init).joined(separator: "×")) as requested."
      )
    }
    drafts.append(Draft(op: .input, inputs: [], scope: "", opName: "input", preferred: nil, weights: []))
    shapes.append(sample)
    values[info.name] = .node(0)
  }

  /// Module scope and op name of an ONNX node: from torch.export's `pkg.torch.onnx.name_scopes`
  /// (`['', 'layer1', 'layer1.0', 'add']`) or the TorchScript node name (`/layer1/layer1.0/Add`).
  mutating func scope(of n: Onnx_NodeProto) -> (String, String) {
    var parts: [String] = []
    var op = n.opType.lowercased()
    if let meta = n.metadataProps.first(where: { $0.key == "pkg.torch.onnx.name_scopes" }) {
      parts = parseList(meta.value)
      if let last = parts.popLast() { op = last }
      if let ns = n.metadataProps.first(where: { $0.key == "namespace" }) { recordClasses(ns.value) }
    } else if n.name.hasPrefix("/") {
      parts = n.name.split(separator: "/").map(String.init)
      if let last = parts.popLast() { op = last }
    }
    // Each scope names a child of the one before: by attribute (`conv1`), or as the parent's name plus
    // an index (`layer1.0` under `layer1`, `downsample.0` under `downsample`; torch.export writes full
    // paths, which the same rule reads).
    var elements: [String] = []
    var previous = ""
    for p in parts where !p.isEmpty {
      if !previous.isEmpty && p.hasPrefix(previous + ".") {
        elements.append(String(p.dropFirst(previous.count + 1)))
      } else {
        elements.append(p)
      }
      previous = p
    }
    let path = elements.joined(separator: ".")
    // `Add_1`, `add_3` → `add`: the importer numbers repeats within a scope itself.
    var base = op.lowercased()
    if let u = base.lastIndex(of: "_"), base[base.index(after: u)...].allSatisfy(\.isNumber),
      base.index(after: u) != base.endIndex
    {
      base = String(base[..<u])
    }
    return (path, base.isEmpty ? n.opType.lowercased() : base)
  }

  func parseList(_ s: String) -> [String] {
    let inner = s.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
    return inner.components(separatedBy: ", ").map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "'\" ")) }
  }

  /// `: __main__.Net/layer1: torch.nn.modules.container.Sequential/layer1.0: torchvision...BasicBlock/…`.
  mutating func recordClasses(_ s: String) {
    for part in s.split(separator: "/") {
      guard let colon = part.firstIndex(of: ":") else { continue }
      let path = part[..<colon].trimmingCharacters(in: .whitespaces)
      let cls = part[part.index(after: colon)...].trimmingCharacters(in: .whitespaces)
      guard !path.isEmpty, !cls.hasPrefix("aten."), let last = cls.split(separator: ".").last else { continue }
      if classes[path] == nil { classes[path] = String(last) }
    }
  }

  mutating func convert(_ n: Onnx_NodeProto) throws(ONNXError) {
    guard n.domain.isEmpty || n.domain == "ai.onnx" else { throw unsupported(n) }
    currentScope = scope(of: n)
    let outs = try apply(n)
    for (k, o) in n.output.enumerated() where !o.isEmpty && k < outs.count {
      values[o] = outs[k]
    }
  }

  func unsupported(_ n: Onnx_NodeProto, _ detail: String = "") -> ONNXError {
    let domain = n.domain.isEmpty ? "" : " of domain `\(n.domain)`"
    return ONNXError(
      "`\(file)`: node `\(n.name.isEmpty ? n.output.first ?? "?" : n.name)` has op `\(n.opType)`\(domain) (opset \(opset)), which the importer does not support\(detail); it maps: \(ONNXImport.supportedOps.joined(separator: ", "))"
    )
  }

  // MARK: Inputs

  mutating func value(_ name: String) throws(ONNXError) -> Value {
    if let v = values[name] { return v }
    if let t = initializers[name] {
      let c = try reader.read(t, what: "initializer `\(name)`")
      values[name] = .constant(c)
      return .constant(c)
    }
    throw err(
      "its input `\(name)` is neither an initializer nor the output of an earlier node (a missing tensor, a cycle or nodes out of order)"
    )
  }

  func inputName(_ i: Int) -> String? {
    i < current.input.count && !current.input[i].isEmpty ? current.input[i] : nil
  }

  mutating func input(_ i: Int, _ what: String) throws(ONNXError) -> Value {
    guard let name = inputName(i) else { throw err("it has no \(what) (input \(i))") }
    return try value(name)
  }

  /// The graph node of input `i`, creating the linear layer of a pending `MatMul`.
  mutating func nodeInput(_ i: Int) throws(ONNXError) -> Int {
    guard let name = inputName(i) else { throw err("it has no input \(i)") }
    return try node(of: name)
  }

  mutating func node(of name: String) throws(ONNXError) -> Int {
    switch try value(name) {
    case .node(let id): return id
    case .matmul(let x, let w):
      let id = try add(.linear(inFeatures: w.shape[1], outFeatures: w.shape[0], bias: false), [x], [("weight", w)])
      values[name] = .node(id)
      return id
    case .constant:
      throw err(
        "its input `\(name)` is a constant tensor where a feature map is expected (the importer takes constants only as weights, shapes and scales)"
      )
    case .shuffleView, .shuffleTransposed:
      throw err(
        "its input `\(name)` is a 5-D view of a feature map; the importer maps only ShuffleNet's Reshape → Transpose(0, 2, 1, 3, 4) → Reshape back"
      )
    case .switches:
      throw err(
        "its input `\(name)` is the Indices output of a MaxPool; the importer maps those indices only as the indices of a MaxUnpool"
      )
    case .scaled, .erfTerm:
      throw err(
        "its input `\(name)` is a feature map times a constant (or a part of x · 0.5 · (1 + erf(x / √2))); the importer maps that arithmetic only as a whole GELU"
      )
    }
  }

  mutating func constInput(_ i: Int, _ what: String) throws(ONNXError) -> Constant {
    guard case .constant(let c) = try input(i, what) else {
      throw err("its \(what) (`\(inputName(i) ?? "")`) is computed by the graph; the importer needs it constant")
    }
    return c
  }

  mutating func optionalConst(_ i: Int, _ what: String) throws(ONNXError) -> Constant? {
    guard inputName(i) != nil else { return nil }
    return try constInput(i, what)
  }

  // MARK: Attributes

  func attr(_ name: String) -> Onnx_AttributeProto? { current.attribute.first { $0.name == name } }

  func int(_ name: String, _ d: Int) throws(ONNXError) -> Int {
    guard let a = attr(name) else { return d }
    guard a.type == .int || (!a.hasType && a.hasI) else { throw err("attribute `\(name)` must be an integer") }
    return Int(clamping: a.i)
  }

  func float(_ name: String, _ d: Double) throws(ONNXError) -> Double {
    guard let a = attr(name) else { return d }
    guard a.type == .float || (!a.hasType && a.hasF) else { throw err("attribute `\(name)` must be a float") }
    return Double(a.f)
  }

  func ints(_ name: String) throws(ONNXError) -> [Int]? {
    guard let a = attr(name) else { return nil }
    guard a.type == .ints || (!a.hasType && !a.ints.isEmpty) else {
      throw err("attribute `\(name)` must be a list of integers")
    }
    return a.ints.map { Int(clamping: $0) }
  }

  func string(_ name: String, _ d: String) throws(ONNXError) -> String {
    guard let a = attr(name) else { return d }
    guard a.type == .string || (!a.hasType && a.hasS) else { throw err("attribute `\(name)` must be a string") }
    return String(decoding: a.s, as: UTF8.self)
  }

  /// A two-value attribute (`strides`, `dilations`, `kernel_shape`), each in `1...maxDim`.
  func pair(_ name: String, _ d: Int) throws(ONNXError) -> Pair {
    guard let v = try ints(name) else { return Pair(d) }
    guard v.count == 2 else { throw err("attribute `\(name)` has \(v.count) values; a 2-D op takes 2") }
    guard v.allSatisfy({ $0 >= 1 && $0 <= maxDim }) else {
      throw err("attribute `\(name)` \(v) must hold values from 1 to \(maxDim)")
    }
    return Pair(v[0], v[1])
  }

  /// `[top, left, bottom, right]` of a window op from `pads` or `auto_pad` for an `h × w` input.
  func windowPads(input h: Int, _ w: Int, kernel: Pair, stride: Pair, dilation: Pair) throws(ONNXError) -> [Int] {
    let mode = try string("auto_pad", "NOTSET")
    switch mode {
    case "NOTSET", "":
      let p = try ints("pads") ?? [0, 0, 0, 0]
      guard p.count == 4, p.allSatisfy({ $0 >= 0 && $0 <= maxDim }) else {
        throw err("attribute `pads` \(p) must hold 4 values from 0 to \(maxDim)")
      }
      return p
    case "VALID":
      return [0, 0, 0, 0]
    case "SAME_UPPER", "SAME_LOWER":
      var begin: [Int] = []
      var end: [Int] = []
      for (n, k, s, d) in [(h, kernel.h, stride.h, dilation.h), (w, kernel.w, stride.w, dilation.w)] {
        let out = (n + s - 1) / s
        let total = max(0, (out - 1) * s + (k - 1) * d + 1 - n)
        let small = total / 2
        begin.append(mode == "SAME_UPPER" ? small : total - small)
        end.append(mode == "SAME_UPPER" ? total - small : small)
      }
      return [begin[0], begin[1], end[0], end[1]]
    default:
      throw err("attribute `auto_pad` `\(mode)` is not one of NOTSET, VALID, SAME_UPPER, SAME_LOWER")
    }
  }

  // MARK: Building nodes

  /// Appends a graph node for the current ONNX node, its weights checked against the op's tensors.
  @discardableResult
  mutating func add(_ op: Op, _ inputs: [Int], _ weights: [(String, Tensor)] = [], preferred: String? = nil)
    throws(ONNXError) -> Int
  {
    let shape: [Int]
    var shapeInputs = inputs.map { shapes[$0] }
    if case .maxUnpool(let u) = op {
      // The unpool's size rules read its pool's output and input shapes (ZooGraph's `shapeInputs`).
      shapeInputs += [shapes[u.pool], shapes[drafts[u.pool].inputs[0]]]
    }
    do {
      shape = try op.outputShape(shapeInputs)
    } catch {
      throw err("\(error) (inputs \(inputs.map { formatShape([batch] + shapes[$0]) }.joined(separator: ", ")))")
    }
    guard shape.allSatisfy({ $0 >= 1 && $0 <= maxDim }) else {
      throw err("its output \(formatShape(shape)) is empty or too large")
    }
    var checked: [(String, Tensor)] = []
    let probe = Node(id: 0, name: "", op: op, inputs: [])
    for t in probe.tensors where !t.name.hasSuffix("num_batches_tracked") {
      let suffix = String(t.name.dropFirst())
      guard let w = weights.first(where: { $0.0 == suffix })?.1 else {
        throw err("it lacks its \(suffix)")
      }
      guard w.data.count == t.elements else {
        throw err(
          "its \(suffix) holds \(w.data.count) values (dims \(formatShape(w.shape))); a \(op.summary) needs \(formatShape(t.shape))"
        )
      }
      checked.append((suffix, Tensor(shape: t.shape, data: w.data)))
    }
    drafts.append(
      Draft(
        op: op, inputs: inputs, scope: currentScope.0, opName: currentScope.1, preferred: preferred,
        weights: checked))
    shapes.append(shape)
    return drafts.count - 1
  }

  func formatShape(_ s: [Int]) -> String { s.isEmpty ? "scalar" : s.map(String.init).joined(separator: "×") }

  /// The state-dict prefix of a weight initializer (`layer1.0.conv1.weight` → `layer1.0.conv1`).
  func prefix(ofWeight i: Int) -> String? {
    guard let name = inputName(i), initializers[name] != nil, name.hasSuffix(".weight"),
      !name.hasPrefix("onnx::")
    else { return nil }
    return String(name.dropLast(".weight".count))
  }

  func featureMap(_ x: Int) throws(ONNXError) -> [Int] {
    let s = shapes[x]
    guard s.count == 3 else {
      throw err("it takes an N×C×H×W feature map; its input is \(formatShape([batch] + s))")
    }
    return s
  }

  // MARK: Ops

  mutating func apply(_ n: Onnx_NodeProto) throws(ONNXError) -> [Value] {
    func unary(_ op: Op) throws(ONNXError) -> [Value] {
      [.node(try add(op, [try nodeInput(0)]))]
    }
    switch n.opType {
    case "Identity", "Dropout":
      // A dropout in training mode drops at random: not an inference graph.
      if n.opType == "Dropout", let mode = try optionalConst(2, "training_mode"), mode.ints.contains(where: { $0 != 0 })
      {
        throw err("the dropout runs in training mode (training_mode true); export the model in eval mode")
      }
      let v = try input(0, "input")
      if case .constant = v, initializers[inputName(0) ?? ""] != nil { sharedInitializers += 1 }
      return [v]
    case "Relu": return try unary(.activation(.relu))
    case "Sigmoid": return try unary(.activation(.sigmoid))
    case "Tanh": return try unary(.activation(.tanh))
    case "HardSwish": return try unary(.activation(.hardswish))
    case "LeakyRelu": return try unary(.activation(.leakyReLU(slope: try float("alpha", 0.01))))
    case "HardSigmoid":
      let alpha = try float("alpha", 0.2)
      let beta = try float("beta", 0.5)
      guard abs(alpha - 1.0 / 6) < 1e-6, abs(beta - 0.5) < 1e-6 else {
        throw err("HardSigmoid with alpha \(alpha), beta \(beta) is not PyTorch's (alpha 1/6, beta 0.5)")
      }
      return try unary(.activation(.hardsigmoid))
    case "Erf":
      guard case .scaled(let x, let f) = try input(0, "input"), abs(f - Float(0.5).squareRoot()) < 1e-6 else {
        throw unsupported(n, " (only inside GELU, x · 0.5 · (1 + erf(x / √2)))")
      }
      return [.erfTerm(x, coefficient: 1, timesX: false, plusOne: false)]
    case "Gelu":
      let a = try string("approximate", "none")
      guard let approx = GELUApproximation(rawValue: a) else { throw err("approximate `\(a)` is not none or tanh") }
      return try unary(.activation(.gelu(approx)))
    case "Clip":
      var lo: Float? = nil
      var hi: Float? = nil
      if opset >= 11 {
        lo = try optionalConst(1, "min")?.floats.first
        hi = try optionalConst(2, "max")?.floats.first
      } else {
        if attr("min") != nil { lo = Float(try float("min", 0)) }
        if attr("max") != nil { hi = Float(try float("max", 0)) }
      }
      if lo == 0 && hi == 6 { return try unary(.activation(.relu6)) }
      if lo == 0 && (hi == nil || hi == .infinity) { return try unary(.activation(.relu)) }
      throw err(
        "Clip to [\(lo.map { "\($0)" } ?? "-inf"), \(hi.map { "\($0)" } ?? "inf")] is neither ReLU6 (0, 6) nor ReLU (0, ∞)"
      )
    case "Softmax":
      let x = try nodeInput(0)
      let rank = shapes[x].count + 1
      let axis = try int("axis", opset >= 13 ? -1 : 1)
      guard shapes[x].count == 1, axis == 1 || axis == -1 else {
        throw err("Softmax over axis \(axis) of a rank-\(rank) tensor; the importer maps it over the features of N×F")
      }
      return [.node(try add(.softmax, [x]))]
    case "LRN":
      let size = try int("size", 0)
      guard size >= 1, size <= maxDim else { throw err("LRN size \(size) must be at least 1") }
      return try unary(
        .lrn(size: size, alpha: try float("alpha", 1e-4), beta: try float("beta", 0.75), k: try float("bias", 1)))
    case "Conv": return [try conv()]
    case "ConvTranspose": return [try convTranspose()]
    case "BatchNormalization": return [try batchNorm()]
    case "MaxPool", "AveragePool": return try pool(max: n.opType == "MaxPool")
    case "MaxUnpool": return [try maxUnpool()]
    case "GlobalAveragePool":
      let x = try nodeInput(0)
      _ = try featureMap(x)
      return [.node(try add(.adaptiveAvgPool(outH: 1, outW: 1), [x]))]
    case "GlobalMaxPool":
      let x = try nodeInput(0)
      _ = try featureMap(x)
      return [.node(try add(.adaptiveMaxPool(outH: 1, outW: 1), [x]))]
    case "ReduceMean", "ReduceMax": return [try reduce(mean: n.opType == "ReduceMean")]
    case "Flatten":
      let v = try input(0, "input")
      if case .constant(let c) = v {
        return [.constant(Constant(shape: [c.count], values: c.values, origins: c.origins))]
      }
      let x = try nodeInput(0)
      let axis = try int("axis", 1)
      guard axis == 1 || axis == 1 - (shapes[x].count + 1) else {
        throw err("Flatten at axis \(axis); the importer maps Flatten at axis 1 (keeping the batch)")
      }
      return [shapes[x].count == 1 ? .node(x) : .node(try add(.flatten, [x]))]
    case "Reshape": return [try reshape()]
    case "Transpose": return [try transpose()]
    case "Squeeze", "Unsqueeze": return [try squeeze(un: n.opType == "Unsqueeze")]
    case "Gemm": return [try gemm()]
    case "MatMul": return [try matmul()]
    case "Add", "Mul", "Sub", "Div": return [try arithmetic(n.opType)]
    case "Concat": return [try concat()]
    case "Resize", "Upsample": return [try resize()]
    case "Pad": return [try pad()]
    case "Split": return try split(outputs: n.output.count)
    case "Slice": return [try slice()]
    case "Shape": return [try shape()]
    case "Gather": return [try gather()]
    case "Cast": return [try cast()]
    case "Constant": return [.constant(try constant())]
    case "ConstantOfShape": return [.constant(try constantOfShape())]
    default:
      throw unsupported(n)
    }
  }

  mutating func conv() throws(ONNXError) -> Value {
    let x = try nodeInput(0)
    let xs = try featureMap(x)
    let w = try constInput(1, "weight")
    guard w.shape.count == 4 else {
      throw err("its weight has dims \(formatShape(w.shape)); the importer maps 2-D convolutions (4-D weights)")
    }
    let b = try optionalConst(2, "bias")
    let group = try int("group", 1)
    guard group >= 1, xs[0] % group == 0, w.shape[0] % group == 0, w.shape[1] * group == xs[0], w.shape[0] >= 1,
      w.shape[2] >= 1, w.shape[3] >= 1
    else {
      throw err(
        "weight \(formatShape(w.shape)) with group \(group) does not fit an input of \(xs[0]) channels")
    }
    let kernel = Pair(w.shape[2], w.shape[3])
    if let ks = try ints("kernel_shape"), ks != [kernel.h, kernel.w] {
      throw err("kernel_shape \(ks) differs from the weight's \(kernel.h)×\(kernel.w)")
    }
    let stride = try pair("strides", 1)
    let dilation = try pair("dilations", 1)
    let p = try windowPads(input: xs[1], xs[2], kernel: kernel, stride: stride, dilation: dilation)
    let symmetric = p[0] == p[2] && p[1] == p[3]
    let conv = Conv2D(
      inChannels: xs[0], outChannels: w.shape[0], kernel: kernel, stride: stride,
      padding: symmetric ? Pair(p[0], p[1]) : Pair(0), dilation: dilation, groups: group, bias: b != nil,
      prePad: symmetric ? nil : Padding2D(top: p[0], bottom: p[2], left: p[1], right: p[3]))
    var weights = [("weight", Tensor(shape: w.shape, data: w.floats))]
    if let b { weights.append(("bias", Tensor(shape: b.shape, data: b.floats))) }
    if let name = inputName(1), name.hasPrefix("onnx::") { foldedScript += 1 }
    if current.metadataProps.contains(where: {
      $0.key == "pkg.onnxscript.rewriter.rule_name" && $0.value.contains("FuseBatchNorm")
    }) {
      foldedDynamo += 1
    }
    return .node(try add(.conv(conv), [x], weights, preferred: prefix(ofWeight: 1)))
  }

  mutating func convTranspose() throws(ONNXError) -> Value {
    let x = try nodeInput(0)
    let xs = try featureMap(x)
    let w = try constInput(1, "weight")
    guard w.shape.count == 4 else {
      throw err("its weight has dims \(formatShape(w.shape)); the importer maps 2-D transposed convolutions")
    }
    let b = try optionalConst(2, "bias")
    let group = try int("group", 1)
    guard group >= 1, w.shape[0] == xs[0], xs[0] % group == 0, w.shape[1] >= 1, w.shape[2] >= 1, w.shape[3] >= 1
    else {
      throw err("weight \(formatShape(w.shape)) with group \(group) does not fit an input of \(xs[0]) channels")
    }
    guard try ints("output_shape") == nil else { throw err("attribute `output_shape` is not supported; use pads") }
    let autoPad = try string("auto_pad", "NOTSET")
    guard autoPad == "NOTSET" || autoPad == "VALID" || autoPad.isEmpty else {
      throw err("auto_pad \(autoPad) is not supported for ConvTranspose")
    }
    let p = try ints("pads") ?? [0, 0, 0, 0]
    guard p.count == 4, p[0] == p[2], p[1] == p[3], p.allSatisfy({ $0 >= 0 && $0 <= maxDim }) else {
      throw err("pads \(p) must be 4 symmetric values (PyTorch's padding)")
    }
    let stride = try pair("strides", 1)
    let dilation = try pair("dilations", 1)
    let op = try ints("output_padding") ?? [0, 0]
    guard op.count == 2, op.allSatisfy({ $0 >= 0 && $0 <= maxDim }) else {
      throw err("output_padding \(op) must be 2 values ≥ 0")
    }
    let t = ConvTranspose2D(
      inChannels: xs[0], outChannels: w.shape[1] * group, kernel: Pair(w.shape[2], w.shape[3]), stride: stride,
      padding: Pair(p[0], p[1]), outputPadding: Pair(op[0], op[1]), dilation: dilation, groups: group,
      bias: b != nil)
    var weights = [("weight", Tensor(shape: w.shape, data: w.floats))]
    if let b { weights.append(("bias", Tensor(shape: b.shape, data: b.floats))) }
    return .node(try add(.convTranspose(t), [x], weights, preferred: prefix(ofWeight: 1)))
  }

  mutating func batchNorm() throws(ONNXError) -> Value {
    let x = try nodeInput(0)
    let xs = try featureMap(x)
    guard try int("training_mode", 0) == 0 else { throw err("training_mode 1 is not an inference graph") }
    var weights: [(String, Tensor)] = []
    for (i, name) in [(1, "weight"), (2, "bias"), (3, "running_mean"), (4, "running_var")] {
      let c = try constInput(i, name == "weight" ? "scale" : name)
      weights.append((name, Tensor(shape: c.shape, data: c.floats)))
    }
    return .node(
      try add(
        .batchNorm(channels: xs[0], eps: try float("epsilon", 1e-5)), [x], weights, preferred: prefix(ofWeight: 1)))
  }

  /// A pool; a max pool whose second output (the indices) is read also gives its switches.
  mutating func pool(max: Bool) throws(ONNXError) -> [Value] {
    let x = try nodeInput(0)
    let xs = try featureMap(x)
    guard let ks = try ints("kernel_shape"), ks.count == 2, ks.allSatisfy({ $0 >= 1 && $0 <= maxDim }) else {
      throw err("kernel_shape must be two values ≥ 1 (a 2-D pool)")
    }
    let kernel = Pair(ks[0], ks[1])
    let stride = try pair("strides", 1)
    let dilation = try pair("dilations", 1)
    let p = try windowPads(input: xs[1], xs[2], kernel: kernel, stride: stride, dilation: dilation)
    guard p[0] == p[2], p[1] == p[3] else { throw err("asymmetric pool pads \(p) are not supported") }
    let pool = Pool2D(
      kind: max ? .max : .avg, kernel: kernel, stride: stride, padding: Pair(p[0], p[1]), dilation: dilation,
      ceilMode: try int("ceil_mode", 0) != 0, countIncludePad: try int("count_include_pad", 0) != 0)
    let id = try add(.pool(pool), [x])
    guard max, isUsed(1) else { return [.node(id)] }
    // ONNX's indices count over N×C×H×W in row-major order (storage_order 0); a MaxUnpool fed by them
    // scatters each value back to its plane, which is the zoo's per-plane switches.
    guard try int("storage_order", 0) == 0 else {
      throw err("its indices are in column-major order (storage_order 1); the importer maps row-major indices")
    }
    return [.node(id), .switches(pool: id)]
  }

  /// `MaxUnpool` of a max pool's indices, restoring the pool's input size: the zoo's `max_unpool`.
  mutating func maxUnpool() throws(ONNXError) -> Value {
    let x = try nodeInput(0)
    _ = try featureMap(x)
    guard case .switches(let pool) = try input(1, "indices") else {
      throw err(
        "its indices (`\(inputName(1) ?? "")`) are not the Indices output of a MaxPool; the importer maps MaxUnpool by the switches of an earlier max pool (SegNet's decoder)"
      )
    }
    guard case .pool(let window) = drafts[pool].op else {
      preconditionFailure("switches come only from a max pool")
    }
    let source = drafts[pool].inputs[0]
    let target = [batch] + shapes[source]
    if let size = try optionalConst(2, "output_shape") {
      guard size.ints == target else {
        throw err(
          "its output_shape \(size.ints) is not the shape \(formatShape(target)) of its max pool's input; the importer maps an unpooling back to the pool's input size"
        )
      }
    } else {
      // Without output_shape ONNX's size is (in − 1)·stride − pad_begin − pad_end + kernel on each axis.
      guard let ks = try ints("kernel_shape"), ks.count == 2 else {
        throw err("it has neither output_shape nor a 2-D kernel_shape")
      }
      let stride = try pair("strides", 1)
      let p = try ints("pads") ?? [0, 0, 0, 0]
      guard p.count == 4 else { throw err("attribute `pads` \(p) must hold 4 values") }
      let xs = shapes[x]
      let size = [
        (xs[1] - 1) &* stride.h &- p[0] &- p[2] &+ ks[0], (xs[2] - 1) &* stride.w &- p[1] &- p[3] &+ ks[1],
      ]
      guard size == Array(shapes[source][1...]) else {
        throw err(
          "its default output size \(formatShape(size)) (no output_shape) is not the size \(formatShape(Array(shapes[source][1...]))) of its max pool's input; the importer maps an unpooling back to the pool's input size"
        )
      }
    }
    return .node(try add(.maxUnpool(MaxUnpool(pool: pool, window: window)), [x]))
  }

  /// Whether output `i` of the current node is named (so something may read it).
  func isUsed(_ i: Int) -> Bool { i < current.output.count && !current.output[i].isEmpty && isRead(current.output[i]) }

  func isRead(_ name: String) -> Bool {
    model.graph.node.contains { $0.input.contains(name) } || model.graph.output.contains { $0.name == name }
  }

  mutating func reduce(mean: Bool) throws(ONNXError) -> Value {
    let x = try nodeInput(0)
    let xs = try featureMap(x)
    var axes = try ints("axes")
    if axes == nil, inputName(1) != nil { axes = try constInput(1, "axes").ints }
    let normal = Set((axes ?? []).map { $0 < 0 ? $0 + 4 : $0 })
    guard normal == [2, 3] else {
      throw err("it reduces over axes \(axes ?? []); the importer maps a reduction over the spatial axes 2, 3")
    }
    let op: Op = mean ? .adaptiveAvgPool(outH: 1, outW: 1) : .adaptiveMaxPool(outH: 1, outW: 1)
    _ = xs
    let pooled = try add(op, [x])
    if try int("keepdims", 1) == 0 { return .node(try add(.flatten, [pooled])) }
    return .node(pooled)
  }

  /// Resolves a reshape target against the full shape `full`: `0` copies (unless `allowzero`), `-1` infers.
  func resolve(_ target: [Int], full: [Int], allowZero: Bool) throws(ONNXError) -> [Int] {
    var out: [Int] = []
    var infer: Int? = nil
    for (i, t) in target.enumerated() {
      if t == 0 && !allowZero {
        guard i < full.count else { throw err("reshape target \(target) copies a dimension the input lacks") }
        out.append(full[i])
      } else if t == -1 {
        guard infer == nil else { throw err("reshape target \(target) has two -1") }
        infer = i
        out.append(1)
      } else {
        guard t >= 0, t <= maxDim else { throw err("reshape target \(target) has the dimension \(t)") }
        out.append(t)
      }
    }
    let total = full.reduce(1) { $0 &* $1 }
    let known = out.reduce(1) { $0 &* $1 }
    if let infer {
      guard known > 0, total % known == 0 else {
        throw err("reshape target \(target) does not fit \(formatShape(full))")
      }
      out[infer] = total / known
    }
    guard out.reduce(1, { $0 &* $1 }) == total else {
      throw err("reshape target \(target) holds a different number of elements than \(formatShape(full))")
    }
    return out
  }

  mutating func reshape() throws(ONNXError) -> Value {
    let v = try input(0, "data")
    let target = try constInput(1, "shape").ints
    let allowZero = try int("allowzero", 0) != 0
    switch v {
    case .constant(let c):
      let s = try resolve(target, full: c.shape, allowZero: allowZero)
      return .constant(Constant(shape: s, values: c.values, origins: c.origins))
    case .shuffleTransposed(let x, let g):
      let s = try resolve(target, full: [batch, shapes[x][0] / g, g, shapes[x][1], shapes[x][2]], allowZero: allowZero)
      guard s == [batch] + shapes[x] else {
        throw err("a reshape of a transposed channel view to \(target) is not the channel shuffle's")
      }
      return .node(try add(.channelShuffle(groups: g), [x]))
    default:
      let x = try nodeInput(0)
      let s = shapes[x]
      let r = try resolve(target, full: [batch] + s, allowZero: allowZero)
      guard r.first == batch else {
        throw err("it reshapes \(formatShape([batch] + s)) to \(formatShape(r)), mixing the batch with other axes")
      }
      let sample = Array(r.dropFirst())
      if sample == s { return .node(x) }
      if sample.count == 1 { return s.count == 1 ? .node(x) : .node(try add(.flatten, [x])) }
      if s.count == 3, sample.count == 4, sample[0] * sample[1] == s[0], sample[2] == s[1], sample[3] == s[2],
        sample[0] >= 1
      {
        return .shuffleView(x, groups: sample[0])
      }
      throw err(
        "it reshapes \(formatShape([batch] + s)) to \(formatShape(r)); the importer maps reshapes that flatten, keep the shape, or view channels as groups for a shuffle"
      )
    }
  }

  /// The entries `idx` of `c` along `axis` (origins kept for vectors).
  func gather(_ c: Constant, axis: Int, _ idx: [Int]) -> Constant {
    let outer = c.shape[..<axis].reduce(1, *)
    let n = c.shape[axis]
    let inner = c.shape[(axis + 1)...].reduce(1, *)
    var order: [Int] = []
    for o in 0..<outer {
      for i in idx {
        for k in 0..<inner { order.append((o * n + i) * inner + k) }
      }
    }
    var shape = c.shape
    shape[axis] = idx.count
    let origins = c.shape.count == 1 ? order.map { c.origin($0) } : nil
    switch c.values {
    case .int(let v): return Constant(shape: shape, values: .int(order.map { v[$0] }), origins: origins)
    case .float(let v): return Constant(shape: shape, values: .float(order.map { v[$0] }))
    }
  }

  mutating func transpose() throws(ONNXError) -> Value {
    let perm = try ints("perm") ?? []
    let v = try input(0, "data")
    if case .constant(let c) = v, c.shape.count == 2, perm == [1, 0] || perm.isEmpty {
      let (r, k) = (c.shape[0], c.shape[1])
      let order = (0..<(r * k)).map { ($0 % r) * k + $0 / r }
      switch c.values {
      case .int(let x): return .constant(Constant(shape: [k, r], values: .int(order.map { x[$0] })))
      case .float(let x): return .constant(Constant(shape: [k, r], values: .float(order.map { x[$0] })))
      }
    }
    switch v {
    case .shuffleView(let x, let g) where perm == [0, 2, 1, 3, 4]:
      return .shuffleTransposed(x, groups: g)
    default:
      throw err("Transpose \(perm) is mapped only inside ShuffleNet's channel shuffle (perm [0, 2, 1, 3, 4])")
    }
  }

  mutating func squeeze(un: Bool) throws(ONNXError) -> Value {
    var axes = try ints("axes")
    if axes == nil, inputName(1) != nil { axes = try constInput(1, "axes").ints }
    switch try input(0, "data") {
    case .constant(let c):
      var shape = c.shape
      if un {
        let rank = shape.count + (axes?.count ?? 0)
        for a in (axes ?? []).map({ $0 < 0 ? $0 + rank : $0 }).sorted() {
          guard a >= 0, a <= shape.count else { throw err("Unsqueeze axis \(a) is out of range") }
          shape.insert(1, at: a)
        }
      } else {
        let drop = Set((axes ?? shape.indices.filter { shape[$0] == 1 }).map { $0 < 0 ? $0 + shape.count : $0 })
        guard drop.allSatisfy({ $0 >= 0 && $0 < shape.count && shape[$0] == 1 }) else {
          throw err("Squeeze axes \(axes ?? []) are not dimensions of size 1 of \(formatShape(shape))")
        }
        shape = shape.indices.filter { !drop.contains($0) }.map { shape[$0] }
      }
      return .constant(Constant(shape: shape, values: c.values, origins: c.origins))
    default:
      let x = try nodeInput(0)
      let s = shapes[x]
      let normal = Set((axes ?? []).map { $0 < 0 ? $0 + s.count + 1 : $0 })
      if !un, s.count == 3, s[1] == 1, s[2] == 1, normal == [2, 3] || (axes == nil) {
        return .node(try add(.flatten, [x]))
      }
      throw err(
        "\(un ? "Unsqueeze" : "Squeeze") of a \(formatShape([batch] + s)) feature map; the importer maps only the squeeze of a 1×1 map to a vector"
      )
    }
  }

  /// A weight `[in, out]` as `[out, in]`.
  func transposed(_ c: Constant) -> Tensor {
    let (r, k) = (c.shape[0], c.shape[1])
    let f = c.floats
    var out = [Float](repeating: 0, count: f.count)
    for i in 0..<r {
      for j in 0..<k { out[j * r + i] = f[i * k + j] }
    }
    return Tensor(shape: [k, r], data: out)
  }

  mutating func gemm() throws(ONNXError) -> Value {
    let x = try nodeInput(0)
    guard shapes[x].count == 1 else {
      throw err("it multiplies a \(formatShape([batch] + shapes[x])) tensor; the importer maps Gemm on N×F")
    }
    let b = try constInput(1, "weight B")
    guard b.shape.count == 2 else { throw err("its B has dims \(formatShape(b.shape)), not a matrix") }
    let c = try optionalConst(2, "bias C")
    guard try int("transA", 0) == 0 else { throw err("transA 1 is not supported") }
    var w = try int("transB", 0) != 0 ? Tensor(shape: b.shape, data: b.floats) : transposed(b)
    let alpha = Float(try float("alpha", 1))
    let beta = Float(try float("beta", 1))
    if alpha != 1 { w.data = w.data.map { $0 * alpha } }
    let (out, inF) = (w.shape[0], w.shape[1])
    var weights = [("weight", w)]
    if let c, beta != 0 {
      var bias = c.floats.map { $0 * beta }
      if bias.count == 1 { bias = [Float](repeating: bias[0], count: out) }
      weights.append(("bias", Tensor(shape: [bias.count], data: bias)))
    }
    return .node(
      try add(
        .linear(inFeatures: inF, outFeatures: out, bias: weights.count == 2), [x], weights,
        preferred: prefix(ofWeight: 1)))
  }

  mutating func matmul() throws(ONNXError) -> Value {
    let x = try nodeInput(0)
    let b = try constInput(1, "weight")
    guard shapes[x].count == 1, b.shape.count == 2, b.shape[0] == shapes[x][0] else {
      throw err(
        "it multiplies \(formatShape([batch] + shapes[x])) by \(formatShape(b.shape)); the importer maps N×F times a constant F×K matrix"
      )
    }
    return .matmul(x, weight: transposed(b))
  }

  mutating func arithmetic(_ op: String) throws(ONNXError) -> Value {
    let a = try input(0, "A")
    let b = try input(1, "B")
    if case .constant(let ca) = a, case .constant(let cb) = b { return .constant(try fold(op, ca, cb)) }
    if let gelu = try geluStep(op, a, b) { return gelu }
    if op == "Add" {
      for (m, k) in [(a, b), (b, a)] {
        if case .matmul(let x, let w) = m, case .constant(let bias) = k, bias.count == w.shape[0] {
          return .node(
            try add(
              .linear(inFeatures: w.shape[1], outFeatures: w.shape[0], bias: true), [x],
              [("weight", w), ("bias", Tensor(shape: [bias.count], data: bias.floats))]))
        }
      }
    }
    guard op == "Add" || op == "Mul" else {
      throw err("\(op) of feature maps is not supported (only constant shape arithmetic)")
    }
    if case .constant = a {
      throw err(
        "it \(op == "Add" ? "adds" : "multiplies") a feature map and a constant; the importer maps \(op) of two feature maps"
      )
    }
    if case .constant = b {
      throw err(
        "it \(op == "Add" ? "adds" : "multiplies") a feature map and a constant; the importer maps \(op) of two feature maps"
      )
    }
    let x = try nodeInput(0)
    let y = try nodeInput(1)
    if op == "Mul" {
      // x · sigmoid(x) is SiLU and x · hardsigmoid(x) hard swish, as exporters write them.
      for (p, q) in [(x, y), (y, x)] where drafts[q].inputs == [p] {
        if drafts[q].op == .activation(.sigmoid) { return .node(try add(.activation(.silu), [p])) }
        if drafts[q].op == .activation(.hardsigmoid) { return .node(try add(.activation(.hardswish), [p])) }
      }
    }
    return .node(try add(op == "Add" ? .add : .mul, [x, y]))
  }

  /// One step of GELU written as `Erf` arithmetic, in any of the orders exporters use
  /// (`(x · (1 + erf(x / √2))) · 0.5` and `x · (0.5 · (1 + erf(x / √2)))` from PyTorch,
  /// `(x · 0.5) · (1 + erf(x / √2))` from `zoo export`), or nil when `a op b` is not one. The whole becomes one
  /// `gelu` node.
  mutating func geluStep(_ op: String, _ a: Value, _ b: Value) throws(ONNXError) -> Value? {
    func scalar(_ v: Value) -> Float? {
      if case .constant(let c) = v, c.count == 1, let f = c.floats.first, f.isFinite { return f }
      return nil
    }
    func finish(_ x: Int, _ c: Float, _ timesX: Bool, _ plusOne: Bool) throws(ONNXError) -> Value {
      if timesX && plusOne && abs(c - 0.5) < 1e-6 {
        currentScope.1 = "gelu"  // named for what it is, not for its last Mul
        return .node(try add(.activation(.gelu(.erf)), [x]))
      }
      return .erfTerm(x, coefficient: c, timesX: timesX, plusOne: plusOne)
    }
    for (first, p, q) in [(true, a, b), (false, b, a)] {
      // x / c or x · c, read by the erf.
      if case .node(let x) = p, let c = scalar(q), op == "Mul" || (op == "Div" && first && c != 0),
        isGELUInput(current.output.first ?? "")
      {
        return .scaled(x, factor: op == "Div" ? 1 / c : c)
      }
      guard case .erfTerm(let x, let c, let timesX, let plusOne) = p else { continue }
      if op == "Add", !plusOne, !timesX, c == 1, scalar(q) == 1 { return try finish(x, c, timesX, true) }
      if op == "Mul", let k = scalar(q) { return try finish(x, c * k, timesX, plusOne) }
      if op == "Mul", !timesX, plusOne, case .node(let y) = q, y == x { return try finish(x, c, true, plusOne) }
      if op == "Mul", !timesX, plusOne, case .scaled(let y, let k) = q, y == x {
        return try finish(x, c * k, true, plusOne)
      }
    }
    return nil
  }

  /// Whether the value `name` is read by an `Erf`, or by a `Mul` with `1 + Erf(…)` (`x · 0.5` in
  /// `(x · 0.5) · (1 + erf(x / √2))`): a feature map scaled by a constant is mapped only inside GELU.
  func isGELUInput(_ name: String) -> Bool {
    guard !name.isEmpty else { return false }
    let nodes = model.graph.node
    let erfs = Set(nodes.filter { $0.opType == "Erf" }.flatMap(\.output))
    if nodes.contains(where: { $0.opType == "Erf" && $0.input.first == name }) { return true }
    let onePlusErf = Set(
      nodes.filter { $0.opType == "Add" && $0.input.contains(where: erfs.contains) }.flatMap(\.output))
    return nodes.contains {
      $0.opType == "Mul" && $0.input.contains(name) && $0.input.contains(where: onePlusErf.contains)
    }
  }

  /// Element-wise arithmetic of two constants, one of them possibly a single value.
  func fold(_ op: String, _ a: Constant, _ b: Constant) throws(ONNXError) -> Constant {
    guard a.count == b.count || a.count == 1 || b.count == 1 else {
      throw err("constant \(op) of \(formatShape(a.shape)) and \(formatShape(b.shape)) is not supported")
    }
    let shape = a.count >= b.count ? a.shape : b.shape
    let n = max(a.count, b.count)
    if a.isInt && b.isInt {
      let (x, y) = (a.ints, b.ints)
      var out: [Int] = []
      for i in 0..<n {
        let (p, q) = (x[a.count == 1 ? 0 : i], y[b.count == 1 ? 0 : i])
        switch op {
        case "Add": out.append(p &+ q)
        case "Sub": out.append(p &- q)
        case "Mul": out.append(p &* q)
        default:
          let (r, o) = p.dividedReportingOverflow(by: q)
          guard q != 0, !o else { throw err("constant division \(p) / \(q) is undefined") }
          out.append(r)
        }
      }
      return Constant(shape: shape, values: .int(out))
    }
    let (x, y) = (a.floats, b.floats)
    var out: [Float] = []
    for i in 0..<n {
      let (p, q) = (x[a.count == 1 ? 0 : i], y[b.count == 1 ? 0 : i])
      out.append(op == "Add" ? p + q : op == "Sub" ? p - q : op == "Mul" ? p * q : p / q)
    }
    return Constant(shape: shape, values: .float(out))
  }

  mutating func concat() throws(ONNXError) -> Value {
    let axis = try int("axis", 0)
    var vals: [Value] = []
    for i in current.input.indices { vals.append(try input(i, "input")) }
    let consts = vals.compactMap { v -> Constant? in
      if case .constant(let c) = v { return c }
      return nil
    }
    if consts.count == vals.count {
      guard consts.allSatisfy({ $0.shape.count == 1 }), axis == 0 || axis == -1 else {
        throw err("constant Concat is folded only for vectors")
      }
      var origins: [DimOrigin?] = []
      for c in consts { origins += (0..<c.count).map { c.origin($0) } }
      if consts.allSatisfy(\.isInt) {
        return .constant(Constant(shape: [origins.count], values: .int(consts.flatMap(\.ints)), origins: origins))
      }
      return .constant(Constant(shape: [origins.count], values: .float(consts.flatMap(\.floats))))
    }
    var ids: [Int] = []
    for i in current.input.indices { ids.append(try nodeInput(i)) }
    let rank = shapes[ids[0]].count + 1
    guard axis == 1 || axis == 1 - rank else {
      throw err(
        "Concat along axis \(axis) of rank-\(rank) tensors; the importer maps concatenation of channels (axis 1)")
    }
    return .node(try add(.concat, ids))
  }

  mutating func resize() throws(ONNXError) -> Value {
    let x = try nodeInput(0)
    let xs = try featureMap(x)
    let mode = try string("mode", "nearest")
    let legacy = current.opType == "Upsample" || opset < 11
    let coord = legacy ? "asymmetric" : try string("coordinate_transformation_mode", "half_pixel")
    var up: Upsample.Mode
    var aligned = false
    switch mode {
    case "nearest":
      let nearest = legacy ? "floor" : try string("nearest_mode", "round_prefer_floor")
      guard coord == "asymmetric", nearest == "floor" else {
        throw err(
          "nearest resizing with coordinate_transformation_mode \(coord) and nearest_mode \(nearest) is not PyTorch's (asymmetric, floor)"
        )
      }
      up = .nearest
    case "linear", "bilinear":
      switch coord {
      case "half_pixel", "pytorch_half_pixel": aligned = false
      case "align_corners": aligned = true
      default: throw err("linear resizing with coordinate_transformation_mode \(coord) is not supported")
      }
      up = .bilinear
    default:
      throw err("resize mode `\(mode)` is not supported (nearest and linear are)")
    }
    if try int("antialias", 0) != 0 { throw err("antialiased resizing is not supported") }
    var axes = try ints("axes") ?? [0, 1, 2, 3]
    axes = axes.map { $0 < 0 ? $0 + 4 : $0 }
    guard axes.allSatisfy({ $0 >= 0 && $0 < 4 }), Set(axes).count == axes.count else {
      throw err("resize axes \(axes) are not distinct axes of an N×C×H×W tensor")
    }
    /// The positions of H and W among the target's values.
    func spatial(_ c: Constant) throws(ONNXError) -> (Int, Int) {
      guard c.count == axes.count, let ih = axes.firstIndex(of: 2), let iw = axes.firstIndex(of: 3) else {
        throw err("its target has \(c.count) values for axes \(axes); a 2-D resize needs N, C, H and W")
      }
      return (ih, iw)
    }
    // The target: sizes (opset ≥ 11, input 3), else scales (input 2; input 1 at opsets 9–10; attribute at 7–8).
    var sizes: Constant? = nil
    var scales: Constant? = nil
    if current.opType == "Resize" && opset >= 11 {
      if let s = try optionalConst(3, "sizes"), s.count > 0 { sizes = s }
      if sizes == nil { scales = try optionalConst(2, "scales") }
    } else if let a = attr("scales") {
      scales = Constant(shape: [a.floats.count], values: .float(a.floats))
    } else {
      scales = try optionalConst(1, "scales")
    }
    let op: Upsample
    var inputs = [x]
    if let sizes {
      let (ih, iw) = try spatial(sizes)
      let v = sizes.ints
      for i in axes.indices where axes[i] < 2 && v[i] != ([batch] + xs)[axes[i]] {
        throw err("it resizes the batch or channel axis (sizes \(v))")
      }
      guard v[ih] >= 1, v[iw] >= 1, v[ih] <= maxDim, v[iw] <= maxDim else { throw err("sizes \(v) must be ≥ 1") }
      if let oh = sizes.origin(ih), let ow = sizes.origin(iw), oh.node == ow.node, oh.axis == 2, ow.axis == 3,
        oh.node != x
      {
        inputs.append(oh.node)
        op = Upsample(like: true, mode: up, alignCorners: aligned)
      } else {
        op = Upsample(size: Pair(v[ih], v[iw]), mode: up, alignCorners: aligned)
      }
    } else if let scales, scales.count > 0 {
      let (ih, iw) = try spatial(scales)
      let f = scales.floats
      for i in axes.indices where axes[i] < 2 && f[i] != 1 {
        throw err("it scales the batch or channel axis (scales \(f))")
      }
      let (sh, sw) = (f[ih], f[iw])
      guard sh.isFinite, sw.isFinite, sh > 0, sw > 0, sh < 1e6, sw < 1e6 else {
        throw err("scales \(f) must be positive")
      }
      if sh == sh.rounded(), sw == sw.rounded(), !aligned {
        op = Upsample(scale: Pair(Int(sh), Int(sw)), mode: up, alignCorners: aligned)
      } else {
        let oh = Int((Double(xs[1]) * Double(sh)).rounded(.down))
        let ow = Int((Double(xs[2]) * Double(sw)).rounded(.down))
        guard oh >= 1, ow >= 1 else { throw err("scales \(f) give an empty output") }
        op = Upsample(size: Pair(oh, ow), mode: up, alignCorners: aligned)
      }
    } else {
      throw err("it has neither scales nor sizes")
    }
    return .node(try add(.upsample(op), inputs))
  }

  mutating func pad() throws(ONNXError) -> Value {
    let x = try nodeInput(0)
    let xs = try featureMap(x)
    let modeName = try string("mode", "constant")
    let mode: PadMode
    switch modeName {
    case "constant": mode = .zeros
    case "reflect": mode = .reflect
    case "edge": mode = .replicate
    case "wrap": mode = .circular
    default: throw err("pad mode `\(modeName)` is not supported")
    }
    var pads: [Int]
    var value: Double = 0
    if opset >= 11 {
      pads = try constInput(1, "pads").ints
      if let v = try optionalConst(2, "constant_value") { value = Double(v.floats.first ?? 0) }
    } else {
      pads = try ints("pads") ?? []
      value = try float("value", 0)
    }
    var axes = [0, 1, 2, 3]
    if opset >= 18, let a = try optionalConst(3, "axes") { axes = a.ints.map { $0 < 0 ? $0 + 4 : $0 } }
    guard pads.count == 2 * axes.count else { throw err("pads \(pads) do not fit axes \(axes)") }
    var begin = [0, 0, 0, 0]
    var end = [0, 0, 0, 0]
    for (i, a) in axes.enumerated() {
      guard a >= 0, a < 4 else { throw err("pad axis \(a) is out of range") }
      begin[a] = pads[i]
      end[a] = pads[i + axes.count]
    }
    guard begin[0] == 0, begin[1] == 0, end[0] == 0, end[1] == 0 else {
      throw err("it pads the batch or channel axis (pads \(pads))")
    }
    let sides = [begin[2], end[2], begin[3], end[3]]
    guard sides.allSatisfy({ $0 >= 0 && $0 <= maxDim }) else {
      throw err("pads \(pads) must be ≥ 0 (negative pads crop, which the importer does not map)")
    }
    _ = xs
    let p = Padding2D(
      top: sides[0], bottom: sides[1], left: sides[2], right: sides[3], mode: mode, value: mode == .zeros ? value : 0)
    return .node(try add(.pad(p), [x]))
  }

  mutating func split(outputs: Int) throws(ONNXError) -> [Value] {
    let x = try nodeInput(0)
    let xs = try featureMap(x)
    let axis = try int("axis", 0)
    guard axis == 1 || axis == -3 else { throw err("Split along axis \(axis); the importer maps channel splits") }
    var sizes: [Int]
    if let s = try ints("split") {
      sizes = s
    } else if opset >= 13, let s = try optionalConst(1, "split") {
      sizes = s.ints
    } else {
      let parts = try int("num_outputs", outputs)
      guard parts >= 1, parts <= xs[0] else { throw err("it splits \(xs[0]) channels into \(parts) parts") }
      let each = (xs[0] + parts - 1) / parts
      sizes = (0..<parts).map { min(each, max(0, xs[0] - $0 * each)) }
    }
    guard sizes.count == outputs, sizes.allSatisfy({ $0 >= 1 && $0 <= xs[0] }), sizes.reduce(0, +) == xs[0] else {
      throw err("split sizes \(sizes) do not divide \(xs[0]) channels into \(outputs) outputs")
    }
    var start = 0
    var out: [Value] = []
    for s in sizes {
      out.append(.node(try add(.channelSlice(start: start, count: s), [x])))
      start += s
    }
    return out
  }

  mutating func slice() throws(ONNXError) -> Value {
    let v = try input(0, "data")
    var starts: [Int]
    var ends: [Int]
    var axes: [Int]?
    var steps: [Int]?
    if opset >= 10 {
      starts = try constInput(1, "starts").ints
      ends = try constInput(2, "ends").ints
      axes = try optionalConst(3, "axes")?.ints
      steps = try optionalConst(4, "steps")?.ints
    } else {
      starts = try ints("starts") ?? []
      ends = try ints("ends") ?? []
      axes = try ints("axes")
    }
    guard starts.count == ends.count else { throw err("starts \(starts) and ends \(ends) differ in length") }
    let rank: Int
    switch v {
    case .constant(let c): rank = c.shape.count
    default: rank = shapes[try nodeInput(0)].count + 1
    }
    let ax = (axes ?? Array(0..<starts.count)).map { $0 < 0 ? $0 + rank : $0 }
    let st = steps ?? [Int](repeating: 1, count: starts.count)
    guard ax.count == starts.count, st.count == starts.count, ax.allSatisfy({ $0 >= 0 && $0 < rank }) else {
      throw err("slice axes \(axes ?? []) do not fit a rank-\(rank) tensor")
    }
    /// Clamped `[begin, end)` of one axis of length `n` for step 1.
    func range(_ s: Int, _ e: Int, _ n: Int) -> (Int, Int) {
      let b = s < 0 ? max(0, s &+ n) : min(s, n)
      let f = e < 0 ? max(0, e &+ n) : min(e, n)
      return (b, max(b, f))
    }
    if case .constant(var c) = v {
      for i in ax.indices {
        let n = c.shape[ax[i]]
        let step = st[i]
        guard step != 0 else { throw err("slice step 0") }
        var idx: [Int] = []
        if step > 0 {
          let (b, e) = range(starts[i], ends[i], n)
          idx = Array(stride(from: b, to: e, by: step))
        } else {
          let b = starts[i] < 0 ? starts[i] &+ n : min(starts[i], n - 1)
          let e = ends[i] < 0 ? max(-1, ends[i] &+ n) : min(ends[i], n - 1)
          if b >= 0 { idx = Array(stride(from: b, to: e, by: step)) }
        }
        c = gather(c, axis: ax[i], idx)
      }
      return .constant(c)
    }
    let x = try nodeInput(0)
    let full = [batch] + shapes[x]
    var channel: (Int, Int)? = nil
    for i in ax.indices {
      let (b, e) = range(starts[i], ends[i], full[ax[i]])
      if b == 0 && e == full[ax[i]] && st[i] == 1 { continue }
      guard ax[i] == 1, st[i] == 1, full.count == 4 else {
        throw err(
          "it slices axis \(ax[i]) of \(formatShape(full)); the importer maps slices of the channel axis with step 1")
      }
      guard e > b else { throw err("it slices an empty range of channels") }
      channel = (b, e - b)
    }
    guard let (start, count) = channel else { return .node(x) }
    return .node(try add(.channelSlice(start: start, count: count), [x]))
  }

  mutating func shape() throws(ONNXError) -> Value {
    let v = try input(0, "data")
    var dims: [Int]
    var origins: [DimOrigin?]
    switch v {
    case .constant(let c):
      dims = c.shape
      origins = dims.map { _ in nil }
    default:
      let x = try nodeInput(0)
      dims = [batch] + shapes[x]
      origins = dims.indices.map { DimOrigin(node: x, axis: $0) }
      origins[0] = nil
    }
    let r = dims.count
    var s = try int("start", 0)
    var e = try int("end", r)
    s = s < 0 ? max(0, s + r) : min(s, r)
    e = e < 0 ? max(0, e + r) : min(e, r)
    e = max(s, e)
    return .constant(Constant(shape: [e - s], values: .int(Array(dims[s..<e])), origins: Array(origins[s..<e])))
  }

  mutating func gather() throws(ONNXError) -> Value {
    guard case .constant(let data) = try input(0, "data") else {
      throw err("Gather from a feature map is not supported (only from shapes)")
    }
    let idx = try constInput(1, "indices")
    guard data.shape.count == 1, try int("axis", 0) == 0 else { throw err("Gather is folded only from vectors") }
    var out: [Int] = []
    for i in idx.ints {
      let j = i < 0 ? i &+ data.count : i
      guard j >= 0, j < data.count else { throw err("Gather index \(i) is outside 0..<\(data.count)") }
      out.append(j)
    }
    let origins = out.map { data.origin($0) }
    switch data.values {
    case .int(let v): return .constant(Constant(shape: idx.shape, values: .int(out.map { v[$0] }), origins: origins))
    case .float(let v): return .constant(Constant(shape: idx.shape, values: .float(out.map { v[$0] })))
    }
  }

  mutating func cast() throws(ONNXError) -> Value {
    let to = Int32(clamping: try int("to", 1))
    switch try input(0, "input") {
    case .constant(let c):
      if ElementType.isFloat(to) { return .constant(Constant(shape: c.shape, values: .float(c.floats))) }
      if to == 9 { return .constant(Constant(shape: c.shape, values: .int(c.ints.map { $0 != 0 ? 1 : 0 }))) }
      return .constant(Constant(shape: c.shape, values: .int(c.ints), origins: c.origins))
    default:
      guard to == 1 else { throw err("Cast of a feature map to \(ElementType.name(to)) is not supported") }
      return .node(try nodeInput(0))
    }
  }

  func constant() throws(ONNXError) -> Constant {
    if let a = attr("value") {
      return try reader.read(a.t, what: "the value of \(nodeLabel(current))")
    }
    if let a = attr("value_float") { return Constant(shape: [], values: .float([a.f])) }
    if let a = attr("value_floats") { return Constant(shape: [a.floats.count], values: .float(a.floats)) }
    if let a = attr("value_int") { return Constant(shape: [], values: .int([Int(clamping: a.i)])) }
    if let a = attr("value_ints") {
      return Constant(shape: [a.ints.count], values: .int(a.ints.map { Int(clamping: $0) }))
    }
    throw err("it has no value the importer reads (value, value_float(s), value_int(s))")
  }

  mutating func constantOfShape() throws(ONNXError) -> Constant {
    let shape = try constInput(0, "shape").ints
    let n = try reader.elementCount(shape.map { Int64($0) }, what: "the shape of \(nodeLabel(current))")
    guard n <= 1 << 20 else { throw err("it fills \(n) elements; the importer folds constants of up to 2²⁰") }
    var fill = Constant(shape: [1], values: .float([0]))
    if let a = attr("value") { fill = try reader.read(a.t, what: "the value of \(nodeLabel(current))") }
    guard fill.count == 1 else { throw err("its value has \(fill.count) elements, not 1") }
    switch fill.values {
    case .int(let v): return Constant(shape: shape, values: .int([Int](repeating: v[0], count: n)))
    case .float(let v): return Constant(shape: shape, values: .float([Float](repeating: v[0], count: n)))
    }
  }

  // MARK: Finishing

  mutating func finish() throws(ONNXError) -> ONNXImport {
    var outputs: [Int] = []
    for o in model.graph.output {
      current = Onnx_NodeProto()
      current.name = "graph output"
      current.opType = o.name
      guard values[o.name] != nil || initializers[o.name] != nil else {
        throw fileError("the graph output `\(o.name)` is not produced by any node")
      }
      outputs.append(try node(of: o.name))
    }
    guard !outputs.isEmpty else { throw fileError("the graph has no outputs") }
    // Keep the nodes the outputs read (shape computations and fused patterns leave others behind).
    var live = [Bool](repeating: false, count: drafts.count)
    live[0] = true
    var stack = outputs
    while let i = stack.popLast() {
      guard !live[i] || i == 0 else { continue }
      live[i] = true
      stack += drafts[i].inputs
      if case .maxUnpool(let u) = drafts[i].op { stack.append(u.pool) }
    }
    var renumber = [Int](repeating: -1, count: drafts.count)
    var kept: [Int] = []
    for i in drafts.indices where live[i] {
      renumber[i] = kept.count
      kept.append(i)
    }
    let names = nodeNames(kept)
    var nodes: [Node] = []
    var weights: [String: Tensor] = [:]
    for (j, i) in kept.enumerated() {
      let d = drafts[i]
      var op = d.op
      if case .maxUnpool(var u) = op {
        u.pool = renumber[u.pool]
        op = .maxUnpool(u)
      }
      nodes.append(Node(id: j, name: names[j], op: op, inputs: d.inputs.map { renumber[$0] }))
      for (suffix, t) in d.weights { weights["\(names[j]).\(suffix)"] = t }
    }
    // Containers: every proper prefix of a node name that is not itself a node.
    let nodeNames = Set(names)
    var modules: [Module] = []
    var seen: Set<String> = []
    for name in names {
      let parts = name.split(separator: ".")
      for d in stride(from: 1, to: parts.count, by: 1) {
        let path = parts[0..<d].joined(separator: ".")
        guard !nodeNames.contains(path), seen.insert(path).inserted else { continue }
        modules.append(Module(path: path, kind: classes[path] ?? moduleKind(path)))
      }
    }
    if foldedScript > 0 {
      notes.append(
        "Batch norm was folded into \(foldedScript) convolution\(foldedScript == 1 ? "" : "s") by the exporter (TorchScript names their weights `onnx::Conv_…`): the file holds no batch-norm parameters, so neither do the counts."
      )
    }
    if foldedDynamo > 0 {
      notes.append(
        "Batch norm was folded into \(foldedDynamo) convolution\(foldedDynamo == 1 ? "" : "s") by the exporter's optimizer (FuseBatchNormIntoConv): the file holds no batch-norm parameters, so neither do the counts."
      )
    }
    if widened > 0 {
      notes.append("\(widened) float16 initializer\(widened == 1 ? " was" : "s were") widened to float32.")
    }
    if external > 0 {
      notes.append("\(external) initializer\(external == 1 ? "" : "s") came from external-data files.")
    }
    if sharedInitializers > 0 {
      notes.append(
        "\(sharedInitializers) initializer\(sharedInitializers == 1 ? " is" : "s are") shared through Identity nodes; each layer holds its own copy."
      )
    }
    let base = ((file as NSString).lastPathComponent as NSString).deletingPathExtension
    let producer = [model.producerName, model.producerVersion].filter { !$0.isEmpty }.joined(separator: " ")
    let graph = Graph(
      name: base.isEmpty ? "model" : base, family: "onnx",
      description:
        "Imported from `\(file)` (ONNX opset \(opset)\(producer.isEmpty ? "" : ", written by \(producer)")).",
      inputShape: shapes[0], nodes: nodes, outputs: outputs.map { renumber[$0] }, modules: modules)
    return ONNXImport(graph: graph, weights: weights, notes: notes, opset: opset, producer: producer)
  }

  /// A container's kind when the file does not name its class: `block` for a numbered child
  /// (`layer1.0`), else its name without digits (`layer`).
  func moduleKind(_ path: String) -> String {
    let last = path.split(separator: ".").last.map(String.init) ?? path
    if last.allSatisfy(\.isNumber) { return "block" }
    let stem = String(last.reversed().drop(while: \.isNumber).reversed())
    return stem.isEmpty ? "module" : stem
  }

  /// Unique names for the kept drafts: the weight's state-dict prefix when the file kept it, else the
  /// scope (`layer1.0.conv1`) for the ops of a leaf scope that are all of one kind, else scope plus op
  /// (`layer1.0.add`).
  func nodeNames(_ kept: [Int]) -> [String] {
    var ownOps: [String: Int] = [:]
    var opNames: [String: Set<String>] = [:]
    var parents: Set<String> = []
    for i in kept.dropFirst() {
      let s = drafts[i].preferred ?? drafts[i].scope
      if drafts[i].preferred == nil {
        ownOps[s, default: 0] += 1
        opNames[s, default: []].insert(drafts[i].opName)
      }
      let parts = s.split(separator: ".")
      for d in stride(from: 1, to: parts.count, by: 1) { parents.insert(parts[0..<d].joined(separator: ".")) }
    }
    var used: Set<String> = ["input"]
    var names = ["input"]
    for i in kept.dropFirst() {
      let d = drafts[i]
      var name: String
      if let p = d.preferred {
        name = p
      } else if d.scope.isEmpty {
        name = d.opName
      } else if !parents.contains(d.scope) && (ownOps[d.scope] == 1 || opNames[d.scope]?.count == 1) {
        // The op of a leaf module, or one call of a leaf module called several times (a block's
        // `relu`): `layer1.0.relu`, `layer1.0.relu_1`, as TorchScript names the calls.
        name = d.scope
      } else {
        name = d.scope + "." + d.opName
      }
      if used.contains(name) {
        var k = 1
        while used.contains("\(name)_\(k)") { k += 1 }
        name = "\(name)_\(k)"
      }
      used.insert(name)
      names.append(name)
    }
    return names
  }
}
