import Foundation

/// NumPy `.npy` files of float32 in C order (format versions 1.0, 2.0 and 3.0).
///
/// Layout: the magic `\x93NUMPY`, a major and minor version byte, the header length (2 bytes
/// little-endian in 1.0, 4 bytes in 2.0/3.0), a Python dict literal
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), }` padded with spaces to a
/// multiple of 64 bytes, then the data.
public enum Npy {
  /// Reads `path`; the dtype must be little-endian float32 and the order C.
  public static func read(_ path: String) throws -> Tensor {
    let data: Data
    do {
      data = try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw EngineError("cannot read `\(path)`: \(error.localizedDescription)")
    }
    return try parse(data, path: path)
  }

  public static func parse(_ data: Data, path: String) throws -> Tensor {
    let bytes = [UInt8](data)
    let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]
    guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
      throw EngineError("`\(path)` is not a .npy file (no \\x93NUMPY magic)")
    }
    let major = bytes[6]
    let (headerStart, headerLength): (Int, Int)
    switch major {
    case 1: (headerStart, headerLength) = (10, Int(bytes[8]) | Int(bytes[9]) << 8)
    case 2, 3:
      guard bytes.count >= 12 else { throw EngineError("`\(path)`: truncated .npy header") }
      headerStart = 12
      headerLength = (0..<4).reduce(0) { $0 | Int(bytes[8 + $1]) << (8 * $1) }
    default:
      throw EngineError("`\(path)`: unsupported .npy format version \(major)")
    }
    guard headerStart + headerLength <= bytes.count else {
      throw EngineError("`\(path)`: the .npy header claims \(headerLength) bytes but the file is \(bytes.count) bytes")
    }
    let header = String(decoding: bytes[headerStart..<headerStart + headerLength], as: UTF8.self)
    guard let descr = value(of: "descr", in: header), let order = value(of: "fortran_order", in: header),
      let shapeText = value(of: "shape", in: header)
    else {
      throw EngineError(
        "`\(path)`: cannot parse the .npy header \(header.trimmingCharacters(in: .whitespacesAndNewlines))")
    }
    let dtype = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\" "))
    guard dtype == "<f4" || dtype == "|f4" else {
      throw EngineError("`\(path)` holds dtype \(dtype); zoo needs float32 ('<f4'), e.g. `x.astype(np.float32)`")
    }
    guard order.trimmingCharacters(in: .whitespaces) == "False" else {
      throw EngineError("`\(path)` is in Fortran order; save a C-ordered array (np.ascontiguousarray)")
    }
    let inner = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() "))
    let parts = inner.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    let shape = parts.compactMap { Int($0) }
    guard shape.count == parts.count, shape.allSatisfy({ $0 >= 0 }) else {
      throw EngineError("`\(path)`: cannot parse the .npy shape \(shapeText)")
    }
    let count = shape.reduce(1, *)
    let start = headerStart + headerLength
    guard bytes.count - start == count * 4 else {
      throw EngineError(
        "`\(path)`: shape \(shape) needs \(count * 4) data bytes but the file has \(bytes.count - start)")
    }
    var values = [Float](repeating: 0, count: count)
    values.withUnsafeMutableBytes { dst in
      bytes.withUnsafeBytes { src in
        dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[start..<start + count * 4]))
      }
    }
    return Tensor(shape: shape, data: values)
  }

  /// The text after `'key':` up to the next top-level comma or the closing brace.
  private static func value(of key: String, in header: String) -> String? {
    guard let r = header.range(of: "'\(key)':") ?? header.range(of: "\"\(key)\":") else { return nil }
    var depth = 0
    var out = ""
    for ch in header[r.upperBound...] {
      if ch == "(" { depth += 1 }
      if ch == ")" { depth -= 1 }
      if depth == 0 && (ch == "," || ch == "}") { break }
      out.append(ch)
      if depth == 0 && ch == ")" { break }
    }
    return out.trimmingCharacters(in: .whitespaces)
  }

  /// Writes `tensor` as a version 1.0 `.npy` file.
  public static func write(_ tensor: Tensor, to path: String) throws {
    let shape =
      tensor.shape.count == 1
      ? "(\(tensor.shape[0]),)" : "(" + tensor.shape.map(String.init).joined(separator: ", ") + ")"
    var header = "{'descr': '<f4', 'fortran_order': False, 'shape': \(shape), }"
    while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
    header += "\n"
    var data = Data([0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0])
    data.append(UInt8(header.utf8.count & 0xFF))
    data.append(UInt8(header.utf8.count >> 8))
    data.append(Data(header.utf8))
    tensor.data.withUnsafeBytes { data.append(contentsOf: $0) }
    do {
      try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    } catch {
      throw EngineError("cannot write `\(path)`: \(error.localizedDescription)")
    }
  }
}
