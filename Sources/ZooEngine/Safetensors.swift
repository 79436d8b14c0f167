import Foundation
import ZooFiles
import ZooGraph

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Reads a `.safetensors` file: an 8-byte little-endian header length `N`, `N` bytes of JSON
/// (`{"key": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}`),
/// then the data; offsets are relative to the first byte after the header.
///
/// Everything is validated before a byte of data is read, as the format's reference implementation
/// does: the header length against the file size (and at most 100 MB), the header as UTF-8 JSON with no
/// duplicate keys, `__metadata__` as an object of strings, every dtype (one the format defines), shape
/// (non-negative integers whose product and byte size fit in 64 bits) and offset pair (integers, `begin ≤
/// end`, `end − begin` = elements × dtype size), and the tensors must tile the data section in order with
/// no gap, overlap or trailing byte. Errors name the file, the key and the value. F32 is read as is; F16
/// and BF16 are widened to float32. Tensors are read with `pread` straight into their arrays, so the file
/// is never held in memory twice.
public enum Safetensors {
  struct Entry {
    var key: String
    var dtype: String
    var shape: [Int]
    var begin: Int
    var end: Int
  }

  /// The bytes per element of every dtype the format defines.
  static let dtypeSizes: [String: Int] = [
    "F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I64": 8, "I32": 4, "I16": 2, "I8": 1,
    "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1,
  ]

  /// The largest header accepted, as in the reference implementation.
  public static let maxHeaderBytes = 100_000_000

  /// Loads every tensor of `path`, except those whose key ends in `num_batches_tracked` (any dtype).
  public static func load(_ path: String) throws -> [String: Tensor] {
    let fd = open(path, O_RDONLY | O_CLOEXEC)
    guard fd >= 0 else {
      throw EngineError("cannot read the weight file `\(path)`: \(Files.problem(errno, path: path))")
    }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else {
      throw EngineError("cannot read the weight file `\(path)`: \(Files.problem(errno, path: path))")
    }
    guard (st.st_mode & S_IFMT) == S_IFREG else {
      let what = (st.st_mode & S_IFMT) == S_IFDIR ? "a folder" : "a device, pipe or socket"
      throw EngineError("cannot read the weight file `\(path)`: it is \(what), not a file")
    }
    return try decode(size: Int(st.st_size), name: path) { buffer, count, offset in
      var done = 0
      while done < count {
        let n = pread(fd, buffer + done, count - done, off_t(offset + done))
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else {
          throw EngineError(
            "`\(path)`: read failed at byte \(offset + done)"
              + (n < 0 ? " (\(Files.problem(errno, path: path)))" : " (the file shrank while being read)"))
        }
        done += n
      }
    }
  }

  /// Parses a safetensors file held in memory; `name` stands for the file in errors.
  public static func parse(_ bytes: [UInt8], name: String) throws -> [String: Tensor] {
    try bytes.withUnsafeBytes { src in
      try decode(size: src.count, name: name) { buffer, count, offset in
        buffer.copyMemory(from: src.baseAddress! + offset, byteCount: count)
      }
    }
  }

  /// The validation and conversion shared by ``load(_:)`` and ``parse(_:name:)``; `read` copies
  /// `count` bytes from file offset `offset` (always within the file once validated).
  static func decode(
    size fileSize: Int, name path: String, read: (UnsafeMutableRawPointer, Int, Int) throws -> Void
  ) throws -> [String: Tensor] {
    guard fileSize >= 8 else {
      throw EngineError(
        "`\(path)` is not a safetensors file: it has \(fileSize) bytes, fewer than the 8-byte header length")
    }
    var lengthBytes = [UInt8](repeating: 0, count: 8)
    try lengthBytes.withUnsafeMutableBytes { try read($0.baseAddress!, 8, 0) }
    let headerLength = lengthBytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    guard headerLength <= UInt64(fileSize - 8) else {
      throw EngineError(
        "`\(path)`: the header claims \(headerLength) bytes but the file has only \(fileSize - 8) after the length "
          + "(truncated, or not a safetensors file)")
    }
    guard headerLength <= UInt64(maxHeaderBytes) else {
      throw EngineError(
        "`\(path)`: the header claims \(headerLength) bytes, more than the \(maxHeaderBytes) a safetensors header may have"
      )
    }
    var header = [UInt8](repeating: 0, count: Int(headerLength))
    try header.withUnsafeMutableBytes { raw in
      if raw.count > 0 { try read(raw.baseAddress!, raw.count, 8) }
    }
    let dataStart = 8 + Int(headerLength)
    let dataSize = fileSize - dataStart
    let entries = try parseHeader(header, path: path, dataSize: dataSize)

    var table: [String: Tensor] = [:]
    for e in entries where !e.key.hasSuffix("num_batches_tracked") {
      let count = e.shape.reduce(1, *)  // Checked in parseHeader: count × size = end − begin ≤ dataSize.
      var data = [Float](repeating: 0, count: count)
      switch e.dtype {
      case "F32":
        if count > 0 { try data.withUnsafeMutableBytes { try read($0.baseAddress!, count * 4, dataStart + e.begin) } }
        #if _endian(big)
          for i in 0..<count { data[i] = Float(bitPattern: data[i].bitPattern.byteSwapped) }
        #endif
      case "F16", "BF16":
        var half = [UInt16](repeating: 0, count: count)
        if count > 0 { try half.withUnsafeMutableBytes { try read($0.baseAddress!, count * 2, dataStart + e.begin) } }
        for i in 0..<count {
          let h = UInt16(littleEndian: half[i])
          data[i] = e.dtype == "BF16" ? Float(bitPattern: UInt32(h) << 16) : Float(Float16(bitPattern: h))
        }
      default:
        throw EngineError("`\(path)`: tensor `\(e.key)` has dtype \(e.dtype); only F32, F16 and BF16 are supported")
      }
      table[e.key] = Tensor(shape: e.shape, data: data)
    }
    return table
  }

  static func parseHeader(_ header: [UInt8], path: String, dataSize: Int) throws -> [Entry] {
    guard let text = String(validating: header, as: UTF8.self) else {
      let at = utf8ErrorOffset(header)
      throw EngineError("`\(path)`: the safetensors header is not UTF-8 text (an invalid byte at header byte \(at))")
    }
    let root: JSON
    do {
      var parser = JSONParser(Array(text.utf8))
      root = try parser.document()
    } catch {
      let message = (error as? JSONParser.Failure)?.message ?? "\(error)"
      throw EngineError("`\(path)`: the safetensors header is not valid JSON: \(message)")
    }
    guard case .object(let members) = root else {
      throw EngineError("`\(path)`: the safetensors header is not a JSON object")
    }
    var entries: [Entry] = []
    for (key, value) in members {
      if key == "__metadata__" {
        guard case .object(let meta) = value else {
          throw EngineError("`\(path)`: `__metadata__` must be an object of strings, not \(value.kind)")
        }
        for (k, v) in meta {
          guard case .string = v else {
            throw EngineError("`\(path)`: `__metadata__` entry `\(k)` must be a string, not \(v.kind)")
          }
        }
        continue
      }
      guard case .object(let fields) = value else {
        throw EngineError("`\(path)`: the header entry of `\(key)` is \(value.kind), not an object")
      }
      var info: [String: JSON] = [:]
      for (k, v) in fields {
        guard ["dtype", "shape", "data_offsets"].contains(k) else {
          throw EngineError("`\(path)`: tensor `\(key)` has an unknown field `\(k)`")
        }
        info[k] = v
      }
      guard case .string(let dtype)? = info["dtype"], case .array(let shapeValues)? = info["shape"],
        case .array(let offsetValues)? = info["data_offsets"]
      else {
        throw EngineError("`\(path)`: the header entry of `\(key)` lacks dtype, shape or data_offsets")
      }
      guard let size = dtypeSizes[dtype] else {
        throw EngineError(
          "`\(path)`: tensor `\(key)` has an unknown dtype `\(dtype)` (the format defines "
            + dtypeSizes.keys.sorted().joined(separator: ", ") + ")")
      }
      var shape: [Int] = []
      for v in shapeValues {
        guard case .number(let t) = v, let d = Int(t), d >= 0 else {
          throw EngineError(
            "`\(path)`: tensor `\(key)` has a shape entry \(v.text) that is not an integer in 0...\(Int.max) "
              + "(shape \(JSON.array(shapeValues).text))")
        }
        shape.append(d)
      }
      var offsets: [Int] = []
      for v in offsetValues {
        guard case .number(let t) = v, let d = Int(t), d >= 0 else {
          throw EngineError(
            "`\(path)`: tensor `\(key)` has a data offset \(v.text) that is not an integer in 0...\(Int.max) "
              + "(data_offsets \(JSON.array(offsetValues).text))")
        }
        offsets.append(d)
      }
      guard offsets.count == 2 else {
        throw EngineError(
          "`\(path)`: tensor `\(key)` has data_offsets \(JSON.array(offsetValues).text); it needs two: [begin, end]")
      }
      var elements = 1
      for d in shape {
        let (p, o) = elements.multipliedReportingOverflow(by: d)
        guard !o else {
          throw EngineError("`\(path)`: tensor `\(key)` has shape \(shape), whose element count overflows 64 bits")
        }
        elements = p
      }
      let (bytes, o) = elements.multipliedReportingOverflow(by: size)
      guard !o else {
        throw EngineError(
          "`\(path)`: tensor `\(key)` has shape \(shape) of \(elements) \(dtype) elements, whose byte size overflows 64 bits"
        )
      }
      guard offsets[0] <= offsets[1], offsets[1] <= dataSize else {
        throw EngineError(
          "`\(path)`: tensor `\(key)` has data_offsets \(offsets) outside the \(dataSize) data bytes")
      }
      guard offsets[1] - offsets[0] == bytes else {
        throw EngineError(
          "`\(path)`: tensor `\(key)` (\(dtype), shape \(shape)) needs \(bytes) bytes but its data_offsets "
            + "\(offsets) span \(offsets[1] - offsets[0])")
      }
      entries.append(Entry(key: key, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1]))
    }
    entries.sort { $0.begin != $1.begin ? $0.begin < $1.begin : $0.end < $1.end }
    var next = 0
    var previous: Entry? = nil
    for e in entries {
      if e.begin < next, let p = previous {
        throw EngineError(
          "`\(path)`: tensors `\(p.key)` [\(p.begin), \(p.end)] and `\(e.key)` [\(e.begin), \(e.end)] overlap in the data section"
        )
      }
      if e.begin > next {
        throw EngineError(
          "`\(path)`: data bytes \(next)..<\(e.begin) belong to no tensor (before `\(e.key)`); "
            + "a safetensors data section has no holes")
      }
      next = e.end
      previous = e
    }
    guard next == dataSize else {
      throw EngineError(
        "`\(path)`: the tensors end at data byte \(next) but the data section has \(dataSize) bytes "
          + "(trailing bytes, or a tensor missing from the header)")
    }
    return entries
  }

  /// The offset of the first byte that breaks UTF-8 in `bytes`.
  static func utf8ErrorOffset(_ bytes: [UInt8]) -> Int {
    var it = bytes.makeIterator()
    var decoder = UTF8()
    var offset = 0
    while case .scalarValue(let s) = decoder.decode(&it) { offset += UTF8.width(s) }
    return offset
  }

  /// Writes `tensors` as an F32 safetensors file (keys sorted, as the Python library does), atomically.
  public static func save(_ tensors: [String: Tensor], to path: String) throws {
    var header = "{"
    var offset = 0
    let keys = tensors.keys.sorted()
    for (i, k) in keys.enumerated() {
      let t = tensors[k]!
      let bytes = t.data.count * 4
      header +=
        (i > 0 ? "," : "")
        + "\(JSON.string(k).text):{\"dtype\":\"F32\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}"
      offset += bytes
    }
    header += "}"
    while (8 + header.utf8.count) % 8 != 0 { header += " " }
    var data = [UInt8]()
    data.reserveCapacity(8 + header.utf8.count + offset)
    let n = UInt64(header.utf8.count)
    for i in 0..<8 { data.append(UInt8(truncatingIfNeeded: n >> (8 * UInt64(i)))) }
    data += header.utf8
    for k in keys {
      tensors[k]!.data.withUnsafeBytes { data.append(contentsOf: $0) }
    }
    do {
      try Files.write(data, to: path, what: "the weight file")
    } catch {
      throw EngineError(error.description)
    }
  }
}

/// A JSON value as the safetensors header needs it: numbers keep their text, objects their order.
enum JSON {
  case object([(String, JSON)])
  case array([JSON])
  case string(String)
  case number(String)
  case bool(Bool)
  case null

  var kind: String {
    switch self {
    case .object: return "an object"
    case .array: return "an array"
    case .string: return "a string"
    case .number: return "a number"
    case .bool: return "a boolean"
    case .null: return "null"
    }
  }

  /// The value as (compact) JSON text, for error messages.
  var text: String {
    switch self {
    case .object(let m): return "{" + m.map { "\(JSON.string($0.0).text): \($0.1.text)" }.joined(separator: ", ") + "}"
    case .array(let a): return "[" + a.map(\.text).joined(separator: ", ") + "]"
    case .string(let s):
      var out = "\""
      for u in s.unicodeScalars {
        switch u {
        case "\"": out += "\\\""
        case "\\": out += "\\\\"
        case "\n": out += "\\n"
        case "\r": out += "\\r"
        case "\t": out += "\\t"
        default:
          if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
        }
      }
      return out + "\""
    case .number(let t): return t
    case .bool(let b): return b ? "true" : "false"
    case .null: return "null"
    }
  }
}

/// A strict JSON parser (RFC 8259) over UTF-8 bytes: duplicate keys in an object, nesting deeper than
/// 64 levels, and anything after the document except whitespace are errors.
struct JSONParser {
  struct Failure: Error {
    var message: String
  }
  let bytes: [UInt8]
  var i = 0
  var depth = 0
  static let maxDepth = 64

  init(_ bytes: [UInt8]) { self.bytes = bytes }

  mutating func document() throws -> JSON {
    let v = try value()
    skipSpace()
    guard i == bytes.count else { throw fail("unexpected text after the JSON value") }
    return v
  }

  func fail(_ what: String) -> Failure { Failure(message: "\(what) at header byte \(i)") }

  mutating func skipSpace() {
    while i < bytes.count, [0x20, 0x09, 0x0A, 0x0D].contains(bytes[i]) { i += 1 }
  }

  mutating func value() throws -> JSON {
    skipSpace()
    guard i < bytes.count else { throw fail("the header ends where a value should be") }
    switch bytes[i] {
    case UInt8(ascii: "{"):
      depth += 1
      defer { depth -= 1 }
      guard depth <= Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth) levels") }
      i += 1
      var members: [(String, JSON)] = []
      var seen = Set<String>()
      skipSpace()
      if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
        i += 1
        return .object(members)
      }
      while true {
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a key in quotes") }
        let keyStart = i
        let key = try string()
        guard seen.insert(key).inserted else {
          i = keyStart
          throw fail("duplicate key \(JSON.string(key).text)")
        }
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected `:` after a key") }
        i += 1
        members.append((key, try value()))
        skipSpace()
        guard i < bytes.count else { throw fail("the header ends inside an object") }
        if bytes[i] == UInt8(ascii: ",") {
          i += 1
          continue
        }
        guard bytes[i] == UInt8(ascii: "}") else { throw fail("expected `,` or `}`") }
        i += 1
        return .object(members)
      }
    case UInt8(ascii: "["):
      depth += 1
      defer { depth -= 1 }
      guard depth <= Self.maxDepth else { throw fail("nesting deeper than \(Self.maxDepth) levels") }
      i += 1
      var items: [JSON] = []
      skipSpace()
      if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
        i += 1
        return .array(items)
      }
      while true {
        items.append(try value())
        skipSpace()
        guard i < bytes.count else { throw fail("the header ends inside an array") }
        if bytes[i] == UInt8(ascii: ",") {
          i += 1
          continue
        }
        guard bytes[i] == UInt8(ascii: "]") else { throw fail("expected `,` or `]`") }
        i += 1
        return .array(items)
      }
    case UInt8(ascii: "\""): return .string(try string())
    case UInt8(ascii: "t"): return try literal("true", .bool(true))
    case UInt8(ascii: "f"): return try literal("false", .bool(false))
    case UInt8(ascii: "n"): return try literal("null", .null)
    default: return try number()
    }
  }

  mutating func literal(_ word: String, _ v: JSON) throws -> JSON {
    let w = Array(word.utf8)
    guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else { throw fail("unexpected character") }
    i += w.count
    return v
  }

  mutating func number() throws -> JSON {
    let start = i
    func digits(_ i: inout Int, _ bytes: [UInt8]) -> Int {
      let s = i
      while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 { i += 1 }
      return i - s
    }
    if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
    guard i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 else { throw fail("unexpected character") }
    if bytes[i] == 0x30 { i += 1 } else { _ = digits(&i, bytes) }
    if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
      i += 1
      guard digits(&i, bytes) > 0 else { throw fail("a number has no digits after `.`") }
    }
    if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
      i += 1
      if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
      guard digits(&i, bytes) > 0 else { throw fail("a number has no digits in its exponent") }
    }
    return .number(String(decoding: bytes[start..<i], as: UTF8.self))
  }

  mutating func string() throws -> String {
    i += 1  // The opening quote.
    var scalars = String.UnicodeScalarView()
    var run = i
    func flush(_ scalars: inout String.UnicodeScalarView, _ from: Int, _ to: Int, _ bytes: [UInt8]) {
      scalars.append(contentsOf: String(decoding: bytes[from..<to], as: UTF8.self).unicodeScalars)
    }
    while true {
      guard i < bytes.count else { throw fail("the header ends inside a string") }
      let b = bytes[i]
      if b == UInt8(ascii: "\"") {
        flush(&scalars, run, i, bytes)
        i += 1
        return String(scalars)
      }
      if b < 0x20 { throw fail("a control character inside a string") }
      if b != UInt8(ascii: "\\") {
        i += 1
        continue
      }
      flush(&scalars, run, i, bytes)
      i += 1
      guard i < bytes.count else { throw fail("the header ends inside a string") }
      let e = bytes[i]
      i += 1
      switch e {
      case UInt8(ascii: "\""): scalars.append("\"")
      case UInt8(ascii: "\\"): scalars.append("\\")
      case UInt8(ascii: "/"): scalars.append("/")
      case UInt8(ascii: "b"): scalars.append("\u{08}")
      case UInt8(ascii: "f"): scalars.append("\u{0C}")
      case UInt8(ascii: "n"): scalars.append("\n")
      case UInt8(ascii: "r"): scalars.append("\r")
      case UInt8(ascii: "t"): scalars.append("\t")
      case UInt8(ascii: "u"):
        var code = try hex4()
        if (0xD800..<0xDC00).contains(code) {
          guard i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"), bytes[i + 1] == UInt8(ascii: "u") else {
            throw fail("a lone surrogate \\u escape")
          }
          i += 2
          let low = try hex4()
          guard (0xDC00..<0xE000).contains(low) else { throw fail("a lone surrogate \\u escape") }
          code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
        } else if (0xDC00..<0xE000).contains(code) {
          throw fail("a lone surrogate \\u escape")
        }
        scalars.append(Unicode.Scalar(code)!)
      default:
        i -= 1
        throw fail("an unknown escape in a string")
      }
      run = i
    }
  }

  mutating func hex4() throws -> UInt32 {
    guard i + 4 <= bytes.count else { throw fail("the header ends inside a \\u escape") }
    var v: UInt32 = 0
    for _ in 0..<4 {
      let c = bytes[i]
      let d: UInt32
      switch c {
      case 0x30...0x39: d = UInt32(c - 0x30)
      case 0x41...0x46: d = UInt32(c - 0x41 + 10)
      case 0x61...0x66: d = UInt32(c - 0x61 + 10)
      default: throw fail("a bad \\u escape")
      }
      v = v << 4 | d
      i += 1
    }
    return v
  }
}
