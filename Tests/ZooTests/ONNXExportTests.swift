import Foundation
import Testing
import ZooAnalysis
import ZooEngine
import ZooFormat
import ZooGraph
import ZooONNX

/// `zoo export` against ONNX Runtime: scripts/make_onnx_export_fixtures.py exported small models (LeNet-5's
/// subsampling, RBF and connection table; the definition files in Fixtures/onnx-export covering every other op)
/// with `zoo export`, ran the files in ONNX Runtime on the seeded input, and committed ORT's outputs with the
/// files' operator lists. Here the same export is made in-process: when it has the operators and initializers ORT
/// ran and the engine's output equals ORT's, the file computes what the model computes.
@Suite("ONNX export")
struct ONNXExportTests {
  static let folder = fixturesDir.appendingPathComponent("onnx-export")

  struct Case: Decodable, Sendable, CustomTestStringConvertible {
    var model: String
    var name: String
    var opset: Int
    var dynamic_batch: Bool
    var batch: Int
    var input: [Int]
    var outputs: [String]
    var graph: String
    var initializers: [[Codable1]]
    var testDescription: String { "\(name) opset \(opset)" }
  }

  /// A manifest entry's `[name, [dims]]` pair element.
  enum Codable1: Decodable, Sendable {
    case name(String)
    case dims([Int])
    init(from decoder: Decoder) throws {
      let c = try decoder.singleValueContainer()
      if let s = try? c.decode(String.self) { self = .name(s) } else { self = .dims(try c.decode([Int].self)) }
    }
  }

  static let cases: [Case] = {
    guard let data = try? Data(contentsOf: folder.appendingPathComponent("manifest.json")),
      let list = try? JSONDecoder().decode([Case].self, from: data)
    else { return [] }
    return list
  }()

  /// The ai.onnx operators (default domain) and the opset each first appeared in, from the ONNX operator
  /// schemas (opsets 1–21; `Upsample`, deprecated since 10, left out).
  static let standardOperators: [String: Int] = [
    "Abs": 1, "Acos": 7, "Acosh": 9, "Add": 1, "AffineGrid": 20, "And": 1, "ArgMax": 1, "ArgMin": 1, "Asin": 7,
    "Asinh": 9, "Atan": 7, "Atanh": 9, "AveragePool": 1, "BatchNormalization": 1, "Bernoulli": 15, "BitShift": 11,
    "BitwiseAnd": 18, "BitwiseNot": 18, "BitwiseOr": 18, "BitwiseXor": 18, "BlackmanWindow": 17, "Cast": 1,
    "CastLike": 15, "Ceil": 1, "Celu": 12, "CenterCropPad": 18, "Clip": 1, "Col2Im": 18, "Compress": 9, "Concat": 1,
    "ConcatFromSequence": 11, "Constant": 1, "ConstantOfShape": 9, "Conv": 1, "ConvInteger": 10, "ConvTranspose": 1,
    "Cos": 7, "Cosh": 9, "CumSum": 11, "DFT": 17, "DeformConv": 19, "DepthToSpace": 1, "DequantizeLinear": 10,
    "Det": 11, "Div": 1, "Dropout": 1, "DynamicQuantizeLinear": 11, "Einsum": 12, "Elu": 1, "Equal": 1, "Erf": 9,
    "Exp": 1, "Expand": 8, "EyeLike": 9, "Flatten": 1, "Floor": 1, "GRU": 1, "Gather": 1, "GatherElements": 11,
    "GatherND": 11, "Gelu": 20, "Gemm": 1, "GlobalAveragePool": 1, "GlobalLpPool": 1, "GlobalMaxPool": 1,
    "Greater": 1, "GreaterOrEqual": 12, "GridSample": 16, "GroupNormalization": 21, "HammingWindow": 17,
    "HannWindow": 17, "HardSigmoid": 1, "HardSwish": 14, "Hardmax": 1, "Identity": 1, "If": 1, "ImageDecoder": 20,
    "InstanceNormalization": 1, "IsInf": 10, "IsNaN": 9, "LRN": 1, "LSTM": 1, "LayerNormalization": 17,
    "LeakyRelu": 1, "Less": 1, "LessOrEqual": 12, "Log": 1, "LogSoftmax": 1, "Loop": 1, "LpNormalization": 1,
    "LpPool": 1, "MatMul": 1, "MatMulInteger": 10, "Max": 1, "MaxPool": 1, "MaxRoiPool": 1, "MaxUnpool": 9,
    "Mean": 1, "MeanVarianceNormalization": 9, "MelWeightMatrix": 17, "Min": 1, "Mish": 18, "Mod": 10, "Mul": 1,
    "Multinomial": 7, "Neg": 1, "NegativeLogLikelihoodLoss": 12, "NonMaxSuppression": 10, "NonZero": 9, "Not": 1,
    "OneHot": 9, "Optional": 15, "OptionalGetElement": 15, "OptionalHasElement": 15, "Or": 1, "PRelu": 1, "Pad": 1,
    "Pow": 1, "QLinearConv": 10, "QLinearMatMul": 10, "QuantizeLinear": 10, "RNN": 1, "RandomNormal": 1,
    "RandomNormalLike": 1, "RandomUniform": 1, "RandomUniformLike": 1, "Range": 11, "Reciprocal": 1, "ReduceL1": 1,
    "ReduceL2": 1, "ReduceLogSum": 1, "ReduceLogSumExp": 1, "ReduceMax": 1, "ReduceMean": 1, "ReduceMin": 1,
    "ReduceProd": 1, "ReduceSum": 1, "ReduceSumSquare": 1, "RegexFullMatch": 20, "Relu": 1, "Reshape": 1,
    "Resize": 10, "ReverseSequence": 10, "RoiAlign": 10, "Round": 11, "STFT": 17, "Scan": 8, "Scatter": 9,
    "ScatterElements": 11, "ScatterND": 11, "Selu": 1, "SequenceAt": 11, "SequenceConstruct": 11,
    "SequenceEmpty": 11, "SequenceErase": 11, "SequenceInsert": 11, "SequenceLength": 11, "SequenceMap": 17,
    "Shape": 1, "Shrink": 9, "Sigmoid": 1, "Sign": 9, "Sin": 7, "Sinh": 9, "Size": 1, "Slice": 1, "Softmax": 1,
    "SoftmaxCrossEntropyLoss": 12, "Softplus": 1, "Softsign": 1, "SpaceToDepth": 1, "Split": 1,
    "SplitToSequence": 11, "Sqrt": 1, "Squeeze": 1, "StringConcat": 20, "StringNormalizer": 10, "StringSplit": 20,
    "Sub": 1, "Sum": 1, "Tan": 7, "Tanh": 1, "TfIdfVectorizer": 9, "ThresholdedRelu": 10, "Tile": 1, "TopK": 1,
    "Transpose": 1, "Trilu": 14, "Unique": 11, "Unsqueeze": 1, "Where": 9, "Xor": 1,
  ]

  func graph(_ spec: String) throws -> Graph {
    spec.hasSuffix(".yaml")
      ? try DefinitionFile(contentsOfFile: repoRoot.appendingPathComponent(spec).path).graph(named: nil)
      : try builtin(spec)
  }

  @Test func manifestIsThere() {
    // Twelve cases: six models at two settings (a missing or unreadable manifest must fail, not test nothing).
    #expect(Self.cases.count == 12)
    #expect(Set(Self.cases.map(\.opset)) == [13, 21])
  }

  @Test(arguments: cases) func exportMatchesONNXRuntime(_ c: Case) throws {
    let g = try graph(c.model)
    let shapes = try Summary(g).shapes
    let weights = SeededInit.weights(for: g, randomStatistics: true)
    let bytes = try ONNXExport.bytes(
      g, shapes: shapes, weights: weights, options: ONNXExport.Options(opset: c.opset, dynamicBatch: c.dynamic_batch))
    let model = try ONNXFile.decode(bytes, name: c.name)
    #expect(model.opsetImport.map(\.version) == [Int64(c.opset)])
    #expect(model.irVersion == Int64(ONNXExport.irVersion(forOpset: c.opset)))

    // Exactly the nodes (constants and attributes included), inputs and outputs of the file ONNX Runtime ran;
    // all operators standard, of the default domain, and in the opset.
    let ran = try ONNXFile.read(Self.folder.appendingPathComponent(c.graph).path)
    let changed = "the export differs from the file ONNX Runtime ran: rerun scripts/make_onnx_export_fixtures.py"
    #expect(model.graph.node.count == ran.graph.node.count, "\(changed)")
    for (mine, theirs) in zip(model.graph.node, ran.graph.node) where mine != theirs {
      Issue.record("node \(mine.name) (\(mine.opType)) is not \(theirs.name) (\(theirs.opType)): \(changed)")
      break
    }
    #expect(model.graph.input == ran.graph.input && model.graph.output == ran.graph.output, "\(changed)")
    #expect(model.graph.valueInfo == ran.graph.valueInfo, "\(changed)")
    #expect(ran.graph.initializer.isEmpty)
    for node in model.graph.node {
      #expect(node.domain.isEmpty, "\(node.name): domain \(node.domain)")
      let since = try #require(Self.standardOperators[node.opType], "\(node.opType) is not a standard operator")
      #expect(since <= c.opset, "\(node.opType) needs opset \(since)")
    }
    #expect(Set(model.graph.node.map(\.name)).count == model.graph.node.count, "node names are unique")

    // The initializers are the state dict (Node.tensors, without num_batches_tracked), values included.
    let declared = g.nodes.flatMap(\.tensors).filter { !$0.name.hasSuffix("num_batches_tracked") }
    #expect(model.graph.initializer.map(\.name) == declared.map(\.name))
    #expect(model.graph.initializer.map { $0.dims.map(Int.init) } == declared.map(\.shape))
    let fixture: [(String, [Int])] = c.initializers.map { pair in
      guard case .name(let n) = pair[0], case .dims(let d) = pair[1] else { return ("", []) }
      return (n, d)
    }
    #expect(fixture.map(\.0) == declared.map(\.name))
    #expect(fixture.map(\.1) == declared.map(\.shape))
    for t in model.graph.initializer {
      let values = t.rawData.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
      #expect(values == weights[t.name]?.data, "\(t.name)")
    }
    // Inputs and outputs: the batch is N or 1, the rest the analyzer's shapes.
    let batchDim = model.graph.input[0].type.tensorType.shape.dim[0]
    #expect(c.dynamic_batch ? batchDim.dimParam == "N" : batchDim.dimValue == 1)
    #expect(model.graph.output.count == g.outputs.count)
    for (o, id) in zip(model.graph.output, g.outputs) {
      #expect(o.type.tensorType.shape.dim.dropFirst().map { Int($0.dimValue) } == shapes[id])
    }

    // The engine's outputs equal ONNX Runtime's on the same input, to 1e-4 of the largest magnitude.
    let net = try Network(graph: g, batch: c.batch, weights: weights)
    let ys = try net.run(seededInput(c.batch * c.input.reduce(1, *)))
    #expect(ys.count == c.outputs.count)
    for (y, file) in zip(ys, c.outputs) {
      let expected = try Npy.read(Self.folder.appendingPathComponent(file).path)
      #expect(expected.data.count == y.count, "\(file)")
      let scale = expected.data.map(abs).max() ?? 0
      #expect(scale > 0)
      let err = maxAbsDiff(y, expected.data) / scale
      #expect(err <= 1e-4, "\(file): max error \(err) of the largest magnitude \(scale)")
    }
  }

  /// Node names follow PyTorch's scopes: a numbered child is written with its parent's segment.
  @Test func nodeNamesReadLikeModulePaths() throws {
    let g = try builtin("mobilenet_v3_small")
    let model = try ONNXExport.model(g, shapes: try Summary(g).shapes, weights: SeededInit.weights(for: g))
    let names = Set(model.graph.node.map(\.name))
    #expect(names.contains("/features/features.0/features.0.0/Conv"))
    #expect(names.contains("/features/features.1/block/block.0/block.0.0/Conv"))
    #expect(names.contains("/classifier/classifier.0/Gemm"))
    #expect(model.graph.output.map(\.name) == ["output"])
  }

  /// Opsets outside 13…21, missing or misshapen weights, and a dilated average pool below opset 19 are one
  /// error each, naming the value.
  @Test func refusals() throws {
    let g = try builtin("lenet5")
    let shapes = try Summary(g).shapes
    var weights = SeededInit.weights(for: g)
    for opset in [12, 22] {
      #expect {
        try ONNXExport.bytes(g, shapes: shapes, weights: weights, options: ONNXExport.Options(opset: opset))
      } throws: { "\($0)".contains("opset \(opset) is not supported") && "\($0)".contains("13 to 21") }
    }
    let key = try #require(weights.keys.sorted().first)
    let saved = weights[key]
    weights[key] = nil
    #expect {
      try ONNXExport.bytes(g, shapes: shapes, weights: weights)
    } throws: { "\($0)".contains("lack 1 tensor") && "\($0)".contains(key) }
    weights[key] = Tensor(shape: [3, 1], data: [0, 0, 0])
    #expect {
      try ONNXExport.bytes(g, shapes: shapes, weights: weights)
    } throws: { "\($0)".contains("`\(key)` has shape 3×1") }
    weights[key] = saved
    weights["extra.weight"] = Tensor(shape: [1], data: [0])
    #expect {
      try ONNXExport.bytes(g, shapes: shapes, weights: weights)
    } throws: { "\($0)".contains("`extra.weight`") }

    // A dilated average pool (no definition-file key writes one; the graph is built directly).
    let window = Pool2D(kind: .avg, kernel: Pair(2), stride: Pair(2), dilation: Pair(2))
    let dilated = Graph(
      name: "dilated", inputShape: [1, 8, 8],
      nodes: [
        Node(id: 0, name: "input", op: .input, inputs: []), Node(id: 1, name: "p", op: .pool(window), inputs: [0]),
      ],
      outputs: [1], modules: [])
    let dilatedShapes = try Summary(dilated).shapes
    #expect {
      try ONNXExport.bytes(dilated, shapes: dilatedShapes, weights: [:], options: ONNXExport.Options(opset: 17))
    } throws: { "\($0)".contains("layer `p`") && "\($0)".contains("opset 19") }
    _ = try ONNXExport.bytes(dilated, shapes: dilatedShapes, weights: [:], options: ONNXExport.Options(opset: 19))
  }

  /// The command: a file that decodes, and user errors (a bad opset, an unwritable or same-file -o) as one
  /// message with status 1 that leaves nothing behind.
  @Test func command() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-export-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let out = dir.appendingPathComponent("lenet5.onnx").path
    let ok = try runZoo(["export", "lenet5", "-o", out, "--opset", "14", "--dynamic-batch"])
    #expect(ok.status == 0, "\(ok.err)")
    #expect(ok.out.contains("Wrote \(out)"))
    let model = try ONNXFile.read(out)
    #expect(model.opsetImport.first?.version == 14)
    #expect(model.graph.input[0].type.tensorType.shape.dim[0].dimParam == "N")

    let badOpset = try runZoo(["export", "lenet5", "-o", dir.appendingPathComponent("a.onnx").path, "--opset", "9"])
    #expect(badOpset.status == 1)
    #expect(badOpset.err.contains("--opset") && badOpset.err.contains("opset 9 is not supported"), "\(badOpset.err)")

    let noFolder = dir.appendingPathComponent("missing/b.onnx").path
    let unwritable = try runZoo(["export", "lenet5", "-o", noFolder])
    #expect(unwritable.status == 1)
    #expect(unwritable.err.contains("there is no folder"), "\(unwritable.err)")

    let definition = dir.appendingPathComponent("net.yaml").path
    try "input: [1, 4, 4]\nnetwork:\n  - {conv: 2, kernel: 3}\nmodels: {m: {}}\n".write(
      toFile: definition, atomically: true, encoding: .utf8)
    let same = try runZoo(["export", definition, "-o", definition])
    #expect(same.status == 1)
    #expect(same.err.contains("same file"), "\(same.err)")
    #expect(try String(contentsOfFile: definition, encoding: .utf8).hasPrefix("input: [1, 4, 4]"))
    #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == ["lenet5.onnx", "net.yaml"])
  }
}
