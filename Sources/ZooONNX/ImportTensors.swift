import Foundation
import ZooGraph

/// Where one entry of an integer constant came from: dimension `axis` (0 is the batch) of the value of
/// graph node `node`, as `Shape` reports it. The importer keeps this so that a `Resize` to
/// `Shape(y)[2:]` becomes an upsample `like` `y`, and a `Reshape` to `[Shape(x)[0], -1]` a flatten.
struct DimOrigin: Hashable {
  var node: Int
  var axis: Int
}

/// A tensor whose values the importer knows: an initializer, a `Constant`, or the result of folding a
/// subgraph that computes shapes.
struct Constant {
  enum Values {
    case float([Float])
    case int([Int])
  }
  var shape: [Int]
  var values: Values
  /// For integer constants: the origin of each entry, when it is a dimension of a graph node's value.
  var origins: [DimOrigin?]?

  init(shape: [Int], values: Values, origins: [DimOrigin?]? = nil) {
    self.shape = shape
    self.values = values
    self.origins = origins
  }

  var count: Int {
    switch values {
    case .float(let f): f.count
    case .int(let i): i.count
    }
  }

  var isInt: Bool {
    if case .int = values { return true }
    return false
  }

  /// The values as integers (floats truncated toward zero, clamped to Int's range).
  var ints: [Int] {
    switch values {
    case .int(let i): return i
    case .float(let f):
      return f.map { v in
        guard v.isFinite else { return v > 0 ? Int.max : Int.min }
        return v >= 9.2e18 ? Int.max : v <= -9.2e18 ? Int.min : Int(v)
      }
    }
  }

  /// The values as floats.
  var floats: [Float] {
    switch values {
    case .float(let f): f
    case .int(let i): i.map(Float.init)
    }
  }

  /// The origin of entry `i`, if known.
  func origin(_ i: Int) -> DimOrigin? {
    guard let origins, i < origins.count else { return nil }
    return origins[i]
  }
}

/// The ONNX element types the importer reads: floats (float32, float16, bfloat16, float64, converted to
/// float32) and integers and booleans (for shapes and indices).
enum ElementType {
  static func name(_ code: Int32) -> String {
    switch code {
    case 1: "float32"
    case 2: "uint8"
    case 3: "int8"
    case 4: "uint16"
    case 5: "int16"
    case 6: "int32"
    case 7: "int64"
    case 8: "string"
    case 9: "bool"
    case 10: "float16"
    case 11: "float64"
    case 12: "uint32"
    case 13: "uint64"
    case 14: "complex64"
    case 15: "complex128"
    case 16: "bfloat16"
    default: "type \(code)"
    }
  }

  /// Bytes per element in `raw_data`, or nil for a type the importer does not read.
  static func size(_ code: Int32) -> Int? {
    switch code {
    case 1, 6, 12: 4
    case 2, 3, 9: 1
    case 4, 5, 10, 16: 2
    case 7, 11, 13: 8
    default: nil
    }
  }

  static func isFloat(_ code: Int32) -> Bool { [1, 10, 11, 16].contains(code) }
}

/// Converts IEEE half-precision bits to a float (exact: every half is a float).
func halfToFloat(_ h: UInt16) -> Float {
  let sign = UInt32(h >> 15) << 31
  let exponent = Int((h >> 10) & 0x1f)
  let mantissa = UInt32(h & 0x3ff)
  if exponent == 0 {
    // Zero or subnormal: mantissa · 2⁻²⁴.
    let v = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
    return sign != 0 ? -v : v
  }
  if exponent == 31 {
    return Float(bitPattern: sign | 0x7f80_0000 | (mantissa << 13))
  }
  return Float(bitPattern: sign | (UInt32(exponent + 112) << 23) | (mantissa << 13))
}

/// Reads `TensorProto`s: their dimensions checked, their data from the typed fields, `raw_data` or an
/// external-data file beside the model.
struct TensorReader {
  /// The model file, for messages.
  var file: String
  /// The folder external-data locations are relative to.
  var directory: String
  /// The largest tensor read, in elements.
  static let maxElements = 1 << 31

  func error(_ what: String, _ message: String) -> ONNXError {
    ONNXError("`\(file)`: \(what): \(message)")
  }

  /// Checked element count of `dims`.
  func elementCount(_ dims: [Int64], what: String) throws(ONNXError) -> Int {
    var n = 1
    for d in dims {
      guard d >= 0 else { throw error(what, "dimension \(d) is negative (dims \(dims))") }
      guard d <= Int64(Self.maxElements) else {
        throw error(what, "dimension \(d) is too large (dims \(dims)); the limit is \(Self.maxElements) elements")
      }
      let (p, o) = n.multipliedReportingOverflow(by: Int(d))
      guard !o, p <= Self.maxElements else {
        throw error(what, "dims \(dims) hold more than \(Self.maxElements) elements")
      }
      n = p
    }
    return n
  }

  /// Decodes `t`; `what` names it in errors (`initializer \`fc.weight\``).
  func read(_ t: Onnx_TensorProto, what: String) throws(ONNXError) -> Constant {
    let n = try elementCount(t.dims, what: what)
    let shape = t.dims.map { Int($0) }
    let code = t.dataType
    guard let size = ElementType.size(code) else {
      throw error(what, "element type \(ElementType.name(code)) is not one the importer reads")
    }
    var raw: [UInt8]? = nil
    if t.dataLocation == .external {
      raw = try external(t, bytes: n * size, what: what)
    } else if t.hasRawData {
      guard t.rawData.count == n * size else {
        throw error(
          what,
          "raw_data holds \(t.rawData.count) bytes; dims \(t.dims) of \(ElementType.name(code)) need \(n * size)")
      }
      raw = [UInt8](t.rawData)
    }
    func typed<T>(_ field: [T], _ name: String) throws(ONNXError) -> [T] {
      guard field.count == n else {
        throw error(what, "\(name) holds \(field.count) values; dims \(t.dims) need \(n)")
      }
      return field
    }
    if let raw {
      return raw.withUnsafeBytes { buf in
        func load<T>(_: T.Type, _ i: Int) -> T { buf.loadUnaligned(fromByteOffset: i * size, as: T.self) }
        switch code {
        case 1:
          return Constant(
            shape: shape, values: .float((0..<n).map { Float(bitPattern: UInt32(littleEndian: load(UInt32.self, $0))) })
          )
        case 10:
          return Constant(
            shape: shape, values: .float((0..<n).map { halfToFloat(UInt16(littleEndian: load(UInt16.self, $0))) }))
        case 16:
          return Constant(
            shape: shape,
            values: .float((0..<n).map { Float(bitPattern: UInt32(UInt16(littleEndian: load(UInt16.self, $0))) << 16) })
          )
        case 11:
          return Constant(
            shape: shape,
            values: .float((0..<n).map { Float(Double(bitPattern: UInt64(littleEndian: load(UInt64.self, $0)))) }))
        case 7:
          return Constant(shape: shape, values: .int((0..<n).map { Int(Int64(littleEndian: load(Int64.self, $0))) }))
        case 13:
          return Constant(
            shape: shape,
            values: .int((0..<n).map { Int(truncatingIfNeeded: UInt64(littleEndian: load(UInt64.self, $0))) }))
        case 6:
          return Constant(shape: shape, values: .int((0..<n).map { Int(Int32(littleEndian: load(Int32.self, $0))) }))
        case 12:
          return Constant(shape: shape, values: .int((0..<n).map { Int(UInt32(littleEndian: load(UInt32.self, $0))) }))
        case 5:
          return Constant(shape: shape, values: .int((0..<n).map { Int(Int16(littleEndian: load(Int16.self, $0))) }))
        case 4:
          return Constant(shape: shape, values: .int((0..<n).map { Int(UInt16(littleEndian: load(UInt16.self, $0))) }))
        case 3: return Constant(shape: shape, values: .int((0..<n).map { Int(load(Int8.self, $0)) }))
        default: return Constant(shape: shape, values: .int((0..<n).map { Int(load(UInt8.self, $0)) }))
        }
      }
    }
    switch code {
    case 1: return Constant(shape: shape, values: .float(try typed(t.floatData, "float_data")))
    case 10:
      return Constant(
        shape: shape,
        values: .float(try typed(t.int32Data, "int32_data").map { halfToFloat(UInt16(truncatingIfNeeded: $0)) }))
    case 16:
      return Constant(
        shape: shape,
        values: .float(
          try typed(t.int32Data, "int32_data").map { Float(bitPattern: UInt32(UInt16(truncatingIfNeeded: $0)) << 16) }))
    case 11: return Constant(shape: shape, values: .float(try typed(t.doubleData, "double_data").map { Float($0) }))
    case 7: return Constant(shape: shape, values: .int(try typed(t.int64Data, "int64_data").map { Int($0) }))
    case 12, 13:
      return Constant(
        shape: shape, values: .int(try typed(t.uint64Data, "uint64_data").map { Int(truncatingIfNeeded: $0) }))
    default: return Constant(shape: shape, values: .int(try typed(t.int32Data, "int32_data").map { Int($0) }))
    }
  }

  /// The `bytes` bytes of an external-data tensor: its `location` relative to the model's folder (an
  /// absolute path or one that climbs out with `..` is refused), at `offset`, checked against the
  /// file's size and the tensor's `length`.
  func external(_ t: Onnx_TensorProto, bytes: Int, what: String) throws(ONNXError) -> [UInt8] {
    var entries: [String: String] = [:]
    for e in t.externalData { entries[e.key] = e.value }
    guard let location = entries["location"], !location.isEmpty else {
      throw error(what, "its data is external but names no `location`")
    }
    let parts = location.split(separator: "/", omittingEmptySubsequences: true)
    guard !location.hasPrefix("/"), !location.contains("\\"), !parts.contains(".."), !location.contains("\0") else {
      throw error(
        what,
        "external-data location `\(location)` must be a path inside the model's folder (no absolute path, no `..`)")
    }
    func number(_ key: String) throws(ONNXError) -> Int? {
      guard let s = entries[key] else { return nil }
      guard let v = Int(s), v >= 0 else { throw error(what, "external-data \(key) `\(s)` is not a byte count") }
      return v
    }
    let offset = try number("offset") ?? 0
    let length = try number("length")
    if let length, length != bytes {
      throw error(what, "external-data length \(length) differs from the \(bytes) bytes its dims and type need")
    }
    let path = (directory as NSString).appendingPathComponent(location)
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw error(what, "cannot open its external-data file `\(path)`")
    }
    defer { try? handle.close() }
    let size: UInt64
    do { size = try handle.seekToEnd() } catch { throw self.error(what, "cannot read `\(path)`: \(error)") }
    let (end, o) = offset.addingReportingOverflow(bytes)
    guard !o, UInt64(end) <= size else {
      throw error(
        what, "external data at offset \(offset) for \(bytes) bytes runs past the end of `\(path)` (\(size) bytes)")
    }
    do {
      try handle.seek(toOffset: UInt64(offset))
      let data = try handle.read(upToCount: bytes) ?? Data()
      guard data.count == bytes else { throw error(what, "`\(path)` ended early") }
      return [UInt8](data)
    } catch let e as ONNXError {
      throw e
    } catch {
      throw self.error(what, "cannot read `\(path)`: \(error)")
    }
  }
}
