import Foundation
import SwiftProtobuf
import ZooGraph

/// The node list of an ONNX graph under construction: unique node names in PyTorch's scoped style
/// (`/layer1/layer1.0/conv1/Conv`, then `Conv_1` for a second node of one type in one module), output
/// names derived from them (`…/Conv_output_0`), and constants written as `Constant` nodes so that the
/// initializers stay exactly the model's state dict.
struct ExportBuilder {
  /// The opset the nodes are written for (it decides between attribute and input forms).
  let opset: Int
  private(set) var nodes: [Onnx_NodeProto] = []
  private var taken: Set<String> = []

  init(opset: Int) { self.opset = opset }

  /// The scope PyTorch's exporter writes for module path `path`: one segment per module, a numbered child
  /// written with its parent's segment (`layer1.0.conv1` → `/layer1/layer1.0/conv1`,
  /// `features.3.block.0.0` → `/features/features.3/block/block.0/block.0.0`). The empty path is the root.
  static func scope(_ path: String) -> String {
    guard !path.isEmpty else { return "" }
    var segments: [String] = []
    for part in path.split(separator: ".", omittingEmptySubsequences: false).map(String.init) {
      if let last = segments.last, !part.isEmpty, part.allSatisfy({ $0.isASCII && $0.isNumber }) {
        segments.append(last + "." + part)
      } else {
        segments.append(part)
      }
    }
    return segments.map { "/" + $0 }.joined()
  }

  /// Adds a node of `opType` in module `path` and returns its output names (`outputs` of them).
  @discardableResult
  mutating func add(
    _ opType: String, in path: String, _ inputs: [String], outputs: Int = 1, _ attributes: [Onnx_AttributeProto] = []
  ) -> [String] {
    let base = Self.scope(path) + "/" + opType
    var name = base
    var k = 0
    while taken.contains(name) {
      k += 1
      name = "\(base)_\(k)"
    }
    taken.insert(name)
    var node = Onnx_NodeProto()
    node.name = name
    node.opType = opType
    node.input = inputs
    node.output = (0..<outputs).map { "\(name)_output_\($0)" }
    node.attribute = attributes
    nodes.append(node)
    return node.output
  }

  /// Adds a one-output node and returns its output's name.
  mutating func op(_ opType: String, in path: String, _ inputs: [String], _ attributes: [Onnx_AttributeProto] = [])
    -> String
  {
    add(opType, in: path, inputs, attributes)[0]
  }

  /// A float32 constant of `shape` (a scalar when `shape` is empty).
  mutating func floats(_ values: [Float], shape: [Int], in path: String) -> String {
    op("Constant", in: path, [], [.tensor("value", .floats(values, shape: shape))])
  }

  /// A float32 scalar constant.
  mutating func scalar(_ value: Double, in path: String) -> String {
    floats([Float(value)], shape: [], in: path)
  }

  /// A 1-D int64 constant (shapes, axes, starts and ends, indices).
  mutating func ints(_ values: [Int], in path: String) -> String {
    op("Constant", in: path, [], [.tensor("value", .int64s(values, shape: [values.count]))])
  }

  /// An int64 constant of `shape`.
  mutating func ints(_ values: [Int], shape: [Int], in path: String) -> String {
    op("Constant", in: path, [], [.tensor("value", .int64s(values, shape: shape))])
  }

  /// `Reshape` to `shape` (0 copies the input's dimension: the batch stays dynamic).
  mutating func reshape(_ x: String, _ shape: [Int], in path: String) -> String {
    op("Reshape", in: path, [x, ints(shape, in: path)])
  }

  /// A reduction over `axes`: the axes are an attribute before opset 18 (13 for ReduceSum) and an input
  /// from then on.
  mutating func reduce(_ opType: String, _ x: String, axes: [Int], keepDims: Bool, in path: String) -> String {
    let asInput = opType == "ReduceSum" ? opset >= 13 : opset >= 18
    let keep = Onnx_AttributeProto.int("keepdims", keepDims ? 1 : 0)
    if asInput { return op(opType, in: path, [x, ints(axes, in: path)], [keep]) }
    return op(opType, in: path, [x], [.ints("axes", axes), keep])
  }

  /// `Slice` of `axes` from `starts` to `ends` (exclusive).
  mutating func slice(_ x: String, starts: [Int], ends: [Int], axes: [Int], in path: String) -> String {
    op("Slice", in: path, [x, ints(starts, in: path), ints(ends, in: path), ints(axes, in: path)])
  }

  /// Renames the output `old` of the latest node that produced it to `new` (a graph output's name); false
  /// when no node produced it (the value is the graph input).
  mutating func rename(_ old: String, to new: String) -> Bool {
    guard let i = nodes.lastIndex(where: { $0.output.contains(old) }) else { return false }
    nodes[i].output = nodes[i].output.map { $0 == old ? new : $0 }
    for j in nodes.indices where j > i {
      nodes[j].input = nodes[j].input.map { $0 == old ? new : $0 }
    }
    return true
  }
}

extension Onnx_AttributeProto {
  static func int(_ name: String, _ value: Int) -> Self {
    var a = Self()
    a.name = name
    a.type = .int
    a.i = Int64(value)
    return a
  }

  static func ints(_ name: String, _ values: [Int]) -> Self {
    var a = Self()
    a.name = name
    a.type = .ints
    a.ints = values.map(Int64.init)
    return a
  }

  static func float(_ name: String, _ value: Double) -> Self {
    var a = Self()
    a.name = name
    a.type = .float
    a.f = Float(value)
    return a
  }

  static func string(_ name: String, _ value: String) -> Self {
    var a = Self()
    a.name = name
    a.type = .string
    a.s = Data(value.utf8)
    return a
  }

  static func tensor(_ name: String, _ value: Onnx_TensorProto) -> Self {
    var a = Self()
    a.name = name
    a.type = .tensor
    a.t = value
    return a
  }
}

extension Onnx_TensorProto {
  /// A float32 tensor, its values little-endian in `raw_data`.
  static func floats(_ values: [Float], shape: [Int], name: String = "") -> Self {
    precondition(values.count == shape.reduce(1, *), "a tensor's values fill its shape")
    var t = Self()
    if !name.isEmpty { t.name = name }
    t.dims = shape.map(Int64.init)
    t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
    #if _endian(little)
      t.rawData = values.withUnsafeBytes { Data($0) }
    #else
      var bytes = Data(capacity: values.count * 4)
      for v in values { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
      t.rawData = bytes
    #endif
    return t
  }

  /// An int64 tensor, its values little-endian in `raw_data`.
  static func int64s(_ values: [Int], shape: [Int]) -> Self {
    precondition(values.count == shape.reduce(1, *), "a tensor's values fill its shape")
    var t = Self()
    t.dims = shape.map(Int64.init)
    t.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
    var bytes = Data(capacity: values.count * 8)
    for v in values { withUnsafeBytes(of: Int64(v).littleEndian) { bytes.append(contentsOf: $0) } }
    t.rawData = bytes
    return t
  }
}

extension Onnx_ValueInfoProto {
  /// A float32 value of `shape` whose first dimension is `batch` (a number, or the name of a dynamic one).
  static func float(_ name: String, batch: String?, shape: [Int]) -> Self {
    var v = Self()
    v.name = name
    var tensor = Onnx_TypeProto.Tensor()
    tensor.elemType = Int32(Onnx_TensorProto.DataType.float.rawValue)
    var s = Onnx_TensorShapeProto()
    var first = Onnx_TensorShapeProto.Dimension()
    if let batch { first.dimParam = batch } else { first.dimValue = 1 }
    s.dim =
      [first]
      + shape.map { n in
        var d = Onnx_TensorShapeProto.Dimension()
        d.dimValue = Int64(n)
        return d
      }
    tensor.shape = s
    var type = Onnx_TypeProto()
    type.tensorType = tensor
    v.type = type
    return v
  }
}
