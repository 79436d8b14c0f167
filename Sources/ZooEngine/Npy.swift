import Foundation
import ZooFiles
import ZooGraph

/// NumPy `.npy` files of float32 in C order (format versions 1.0, 2.0 and 3.0).
///
/// Layout: the magic `\x93NUMPY`, a major and minor version byte, the header length (2 bytes
/// little-endian in 1.0, 4 bytes in 2.0/3.0), a Python dict literal
/// `{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), }` padded with spaces to a
/// multiple of 64 bytes, then the data.
public enum Npy {
  /// Reads `path`; the dtype must be little-endian float32 and the order C.
  public static func read(_ path: String) throws -> Tensor {
    let bytes: [UInt8]
    do {
      bytes = try Files.read(path, what: "the .npy array")
    } catch {
      throw EngineError(error.description)
    }
    return try parse(bytes, path: path)
  }

  /// Parses a `.npy` file held in memory; `path` names it in errors.
  public static func parse(_ data: Data, path: String) throws -> Tensor { try parse([UInt8](data), path: path) }

  /// Parses a `.npy` file held in memory; `path` names it in errors. The shape's element count and byte
  /// size are computed with overflow checks, and the data must be exactly that size.
  public static func parse(_ bytes: [UInt8], path: String) throws -> Tensor {
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
    guard headerLength <= bytes.count - headerStart else {
      throw EngineError("`\(path)`: the .npy header claims \(headerLength) bytes but the file is \(bytes.count) bytes")
    }
    let headerBytes = bytes[headerStart..<headerStart + headerLength]
    guard headerBytes.allSatisfy({ $0 < 0x80 }) else {
      throw EngineError("`\(path)`: the .npy header is not ASCII text")
    }
    let header = String(decoding: headerBytes, as: UTF8.self)
    let shown = header.trimmingCharacters(in: .whitespacesAndNewlines)
    guard let descr = value(of: "descr", in: header), let order = value(of: "fortran_order", in: header),
      let shapeText = value(of: "shape", in: header)
    else {
      throw EngineError("`\(path)`: cannot parse the .npy header \(shown)")
    }
    let dtype = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\" "))
    guard dtype == "<f4" || dtype == "|f4" else {
      throw EngineError("`\(path)` holds dtype \(dtype); zoo needs float32 ('<f4'), e.g. `x.astype(np.float32)`")
    }
    switch order.trimmingCharacters(in: .whitespaces) {
    case "False": break
    case "True": throw EngineError("`\(path)` is in Fortran order; save a C-ordered array (np.ascontiguousarray)")
    default: throw EngineError("`\(path)`: the .npy header has fortran_order \(order); it must be True or False")
    }
    let trimmed = shapeText.trimmingCharacters(in: .whitespaces)
    guard trimmed.hasPrefix("("), trimmed.hasSuffix(")") else {
      throw EngineError("`\(path)`: the .npy shape \(shapeText) is not a tuple such as (1, 3, 224, 224)")
    }
    let inner = trimmed.dropFirst().dropLast()
    var parts = inner.split(separator: ",", omittingEmptySubsequences: false).map {
      $0.trimmingCharacters(in: .whitespaces)
    }
    if parts.count > 1, parts.last == "" { parts.removeLast() }  // (3,) and (2, 3, )
    if parts == [""] { parts = [] }  // () is a scalar.
    var shape: [Int] = []
    for p in parts {
      guard let d = Int(p), d >= 0 else {
        throw EngineError(
          "`\(path)`: the .npy shape \(shapeText) has an entry `\(p)` that is not an integer in 0...\(Int.max)")
      }
      shape.append(d)
    }
    var count = 1
    for d in shape {
      let (p, o) = count.multipliedReportingOverflow(by: d)
      guard !o else { throw EngineError("`\(path)`: the .npy shape \(shapeText) has more elements than 64 bits count") }
      count = p
    }
    let (byteCount, o) = count.multipliedReportingOverflow(by: 4)
    guard !o else {
      throw EngineError(
        "`\(path)`: the .npy shape \(shapeText) has \(count) float32 elements, more bytes than 64 bits count")
    }
    let start = headerStart + headerLength
    guard bytes.count - start == byteCount else {
      throw EngineError(
        "`\(path)`: shape \(shape) needs \(byteCount) data bytes but the file has \(bytes.count - start)")
    }
    var values = [Float](repeating: 0, count: count)
    values.withUnsafeMutableBytes { dst in
      bytes.withUnsafeBytes { src in
        dst.copyMemory(from: UnsafeRawBufferPointer(rebasing: src[start..<start + byteCount]))
      }
    }
    #if _endian(big)
      for i in 0..<count { values[i] = Float(bitPattern: values[i].bitPattern.byteSwapped) }
    #endif
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
    var data: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59, 1, 0]
    data.append(UInt8(header.utf8.count & 0xFF))
    data.append(UInt8(header.utf8.count >> 8))
    data += header.utf8
    tensor.data.withUnsafeBytes { data.append(contentsOf: $0) }
    do {
      try Files.write(data, to: path, what: "the .npy array")
    } catch {
      throw EngineError(error.description)
    }
  }
}
