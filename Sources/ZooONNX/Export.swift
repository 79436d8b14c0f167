import Foundation
import SwiftProtobuf
import ZooGraph

/// Writing a graph and its weights as an ONNX model (`zoo export`).
///
/// Every op becomes standard ONNX operators of the default domain: one operator where one matches
/// (`Conv`, `Gemm`, `BatchNormalization`, `Resize`, …), otherwise an exact decomposition (LeNet-5's
/// subsampling and RBF layers, connection tables, locally connected and tiled convolutions, adaptive
/// pools with uneven bins). The shapes are the analyzer's at the export input size; the batch is 1 or a
/// dynamic dimension `N`. Initializers are the state dict under torchvision's keys (``Node/tensors``), all
/// float32, without batch norm's `num_batches_tracked`: a training counter no inference op reads, which
/// ONNX Runtime would drop as an unused initializer (and `torch.onnx.export` leaves out too).
public enum ONNXExport {
  /// The opsets the exporter writes. 13 is the first with the forms used here (`Split`, `Squeeze` and
  /// `ReduceSum` axes as inputs, `Resize` without `roi`); 21 is the last this exporter was checked with.
  public static let opsets = 13...21
  /// The opset written when none is asked for.
  public static let defaultOpset = 17

  /// What to write besides the graph.
  public struct Options: Sendable {
    /// The ai.onnx opset (one of ``ONNXExport/opsets``).
    public var opset: Int
    /// Whether the batch dimension is the symbolic `N` (any batch) rather than 1.
    public var dynamicBatch: Bool
    /// The `producer_version` written in the file.
    public var producerVersion: String

    public init(opset: Int = ONNXExport.defaultOpset, dynamicBatch: Bool = false, producerVersion: String = "") {
      self.opset = opset
      self.dynamicBatch = dynamicBatch
      self.producerVersion = producerVersion
    }
  }

  /// The IR version a model of `opset` declares: the first that has that opset (so older runtimes that
  /// know the opset accept the file).
  public static func irVersion(forOpset opset: Int) -> Int {
    switch opset {
    case ...14: 7
    case 15...18: 8
    case 19...20: 9
    default: 10
    }
  }

  /// The error for an opset outside ``opsets``.
  public static func checkOpset(_ opset: Int) throws(ONNXError) {
    guard opsets.contains(opset) else {
      throw ONNXError(
        "opset \(opset) is not supported: zoo export writes opsets \(opsets.lowerBound) to \(opsets.upperBound) "
          + "(default \(defaultOpset))")
    }
  }

  /// The model `graph` with weights `weights` (state-dict keys; `num_batches_tracked` is ignored) as an ONNX
  /// `ModelProto`. `shapes` are the analyzer's per-sample output shapes of every node at the export input
  /// (`Summary(graph, input:).shapes`), the first being the input's.
  public static func model(
    _ graph: Graph, shapes: [[Int]], weights: [String: Tensor], options: Options = Options()
  ) throws(ONNXError) -> Onnx_ModelProto {
    try checkOpset(options.opset)
    precondition(shapes.count == graph.nodes.count, "one shape per node")
    let initializers = try self.initializers(graph, weights: weights)
    var lowering = Lowering(graph: graph, shapes: shapes, opset: options.opset, dynamicBatch: options.dynamicBatch)
    try lowering.run()

    var g = Onnx_GraphProto()
    g.name = graph.name
    if !graph.description.isEmpty { g.docString = graph.description }
    g.node = lowering.builder.nodes
    g.initializer = initializers
    let batch = options.dynamicBatch ? "N" : nil
    g.input = [.float(Lowering.inputName, batch: batch, shape: shapes[0])]
    g.output = zip(lowering.outputNames, graph.outputs).map { name, id in .float(name, batch: batch, shape: shapes[id])
    }
    // The analyzer's shape of every layer's result, so that viewers show them and `onnx.checker`'s full check
    // compares them with ONNX's own shape inference.
    let outputs = Set(lowering.outputNames)
    g.valueInfo = graph.nodes.dropFirst().compactMap { node in
      let name = lowering.values[node.id]
      return outputs.contains(name) ? nil : .float(name, batch: batch, shape: shapes[node.id])
    }

    var m = Onnx_ModelProto()
    m.irVersion = Int64(irVersion(forOpset: options.opset))
    m.producerName = "zoo"
    if !options.producerVersion.isEmpty { m.producerVersion = options.producerVersion }
    var opsetID = Onnx_OperatorSetIdProto()
    opsetID.domain = ""
    opsetID.version = Int64(options.opset)
    m.opsetImport = [opsetID]
    m.graph = g
    var family = Onnx_StringStringEntryProto()
    family.key = "family"
    family.value = graph.family
    m.metadataProps = graph.family.isEmpty ? [] : [family]
    return m
  }

  /// The serialized model (see ``model(_:shapes:weights:options:)``).
  public static func bytes(
    _ graph: Graph, shapes: [[Int]], weights: [String: Tensor], options: Options = Options()
  ) throws(ONNXError) -> [UInt8] {
    let m = try model(graph, shapes: shapes, weights: weights, options: options)
    let bytes: [UInt8]
    do {
      bytes = try m.serializedBytes()
    } catch {
      throw ONNXError("\(graph.name) could not be encoded as ONNX: \(error)")
    }
    guard bytes.count <= ONNXFile.maxBytes else {
      throw ONNXError(
        "\(graph.name) takes \(bytes.count) bytes as ONNX, more than the \(ONNXFile.maxBytes) protobuf allows in one "
          + "file")
    }
    return bytes
  }

  /// The state dict as initializers in graph order, checked against the graph: every tensor present with
  /// its shape (a scalar and a one-element vector are the same) and nothing else besides
  /// `num_batches_tracked`.
  static func initializers(_ graph: Graph, weights: [String: Tensor]) throws(ONNXError) -> [Onnx_TensorProto] {
    var expected: Set<String> = []
    var out: [Onnx_TensorProto] = []
    var missing: [String] = []
    for node in graph.nodes {
      for t in node.tensors where !t.name.hasSuffix("num_batches_tracked") {
        expected.insert(t.name)
        guard let w = weights[t.name] else {
          missing.append("`\(t.name)` \(format(t.shape))")
          continue
        }
        let same = w.shape == t.shape || (w.shape.reduce(1, *) == 1 && t.elements == 1)
        guard same, w.data.count == t.elements else {
          throw ONNXError(
            "the weights' tensor `\(t.name)` has shape \(format(w.shape)) but \(graph.name) expects \(format(t.shape))")
        }
        out.append(.floats(w.data, shape: t.shape, name: t.name))
      }
    }
    if !missing.isEmpty {
      throw ONNXError(
        "the weights lack \(missing.count) tensor(s) \(graph.name) needs: "
          + missing.prefix(5).joined(separator: ", ") + (missing.count > 5 ? ", …" : ""))
    }
    let unexpected = weights.keys.filter { !expected.contains($0) && !$0.hasSuffix("num_batches_tracked") }.sorted()
    if !unexpected.isEmpty {
      throw ONNXError(
        "the weights have \(unexpected.count) tensor(s) \(graph.name) does not have: "
          + unexpected.prefix(5).map { "`\($0)`" }.joined(separator: ", ") + (unexpected.count > 5 ? ", …" : ""))
    }
    return out
  }

  /// The ONNX operator types (default domain) a model uses, sorted.
  public static func operatorTypes(_ model: Onnx_ModelProto) -> [String] {
    Array(Set(model.graph.node.map(\.opType))).sorted()
  }
}
