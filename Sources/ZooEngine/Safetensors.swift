import Foundation

#if canImport(Glibc)
  import Glibc
#endif

/// Reads a `.safetensors` file: an 8-byte little-endian header length `N`, `N` bytes of JSON
/// (`{"key": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, "__metadata__": {..}}`),
/// then the data; offsets are relative to the first byte after the header.
///
/// Everything is validated before a byte of data is read: the header length against the file size,
/// the JSON, every dtype, shape and offset pair (`begin ≤ end ≤` data size, `end − begin` = elements ×
/// dtype size, no two tensors overlapping). F32 is read as is; F16 and BF16 are widened to float32.
/// Tensors are read with `pread` straight into their arrays, so the file is never held in memory twice.
public enum Safetensors {
  struct Entry {
    var key: String
    var dtype: String
    var shape: [Int]
    var begin: Int
    var end: Int
  }

  /// Loads every tensor of `path`, except those whose key ends in `num_batches_tracked` (any dtype).
  public static func load(_ path: String) throws -> [String: Tensor] {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else {
      throw EngineError("cannot open the weight file `\(path)`: \(String(cString: strerror(errno)))")
    }
    defer { close(fd) }
    var st = stat()
    guard fstat(fd, &st) == 0 else { throw EngineError("cannot read `\(path)`: \(String(cString: strerror(errno)))") }
    let fileSize = Int(st.st_size)
    guard fileSize >= 8 else {
      throw EngineError(
        "`\(path)` is not a safetensors file: it has \(fileSize) bytes, fewer than the 8-byte header length")
    }
    var lengthBytes = [UInt8](repeating: 0, count: 8)
    try readExactly(fd, into: &lengthBytes, count: 8, at: 0, path: path)
    let headerLength = lengthBytes.enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
    guard headerLength <= UInt64(fileSize - 8) else {
      throw EngineError(
        "`\(path)`: the header claims \(headerLength) bytes but the file has only \(fileSize - 8) after the length "
          + "(truncated, or not a safetensors file)")
    }
    var header = [UInt8](repeating: 0, count: Int(headerLength))
    try readExactly(fd, into: &header, count: header.count, at: 8, path: path)
    let dataStart = 8 + Int(headerLength)
    let dataSize = fileSize - dataStart
    let entries = try parseHeader(header, path: path, dataSize: dataSize)

    var table: [String: Tensor] = [:]
    for e in entries where !e.key.hasSuffix("num_batches_tracked") {
      let count = e.shape.reduce(1, *)
      var data = [Float](repeating: 0, count: count)
      switch e.dtype {
      case "F32":
        try data.withUnsafeMutableBytes { raw in
          try readExactly(fd, raw.baseAddress!, count: count * 4, at: dataStart + e.begin, path: path)
        }
        #if _endian(big)
          for i in 0..<count { data[i] = Float(bitPattern: data[i].bitPattern.byteSwapped) }
        #endif
      case "F16", "BF16":
        var half = [UInt16](repeating: 0, count: count)
        try half.withUnsafeMutableBytes { raw in
          try readExactly(fd, raw.baseAddress!, count: count * 2, at: dataStart + e.begin, path: path)
        }
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
    let json: Any
    do {
      json = try JSONSerialization.jsonObject(with: Data(header))
    } catch {
      throw EngineError("`\(path)`: the safetensors header is not valid JSON (\(error.localizedDescription))")
    }
    guard let object = json as? [String: Any] else {
      throw EngineError("`\(path)`: the safetensors header is not a JSON object")
    }
    let sizes = ["F32": 4, "F16": 2, "BF16": 2, "F64": 8, "I64": 8, "I32": 4, "I16": 2, "I8": 1, "U8": 1, "BOOL": 1]
    var entries: [Entry] = []
    for (key, value) in object where key != "__metadata__" {
      guard let info = value as? [String: Any], let dtype = info["dtype"] as? String,
        let shapeValues = info["shape"] as? [Any], let offsetValues = info["data_offsets"] as? [Any]
      else {
        throw EngineError("`\(path)`: the header entry of `\(key)` lacks dtype, shape or data_offsets")
      }
      let shape = shapeValues.compactMap { ($0 as? NSNumber)?.intValue }
      let offsets = offsetValues.compactMap { ($0 as? NSNumber)?.intValue }
      guard shape.count == shapeValues.count, shape.allSatisfy({ $0 >= 0 }) else {
        throw EngineError("`\(path)`: tensor `\(key)` has an invalid shape \(shapeValues)")
      }
      guard offsets.count == 2, offsets[0] >= 0, offsets[0] <= offsets[1], offsets[1] <= dataSize else {
        throw EngineError(
          "`\(path)`: tensor `\(key)` has data_offsets \(offsetValues) outside the \(dataSize) data bytes")
      }
      guard let size = sizes[dtype] else {
        throw EngineError("`\(path)`: tensor `\(key)` has an unknown dtype \(dtype)")
      }
      var elements = 1
      for d in shape {
        let (p, o) = elements.multipliedReportingOverflow(by: d)
        guard !o else { throw EngineError("`\(path)`: tensor `\(key)` has an impossible shape \(shape)") }
        elements = p
      }
      guard offsets[1] - offsets[0] == elements * size else {
        throw EngineError(
          "`\(path)`: tensor `\(key)` (\(dtype), shape \(shape)) needs \(elements * size) bytes but its data_offsets "
            + "\(offsets) span \(offsets[1] - offsets[0])")
      }
      entries.append(Entry(key: key, dtype: dtype, shape: shape, begin: offsets[0], end: offsets[1]))
    }
    entries.sort { $0.begin != $1.begin ? $0.begin < $1.begin : $0.end < $1.end }
    for (a, b) in zip(entries, entries.dropFirst()) where b.begin < a.end {
      throw EngineError("`\(path)`: tensors `\(a.key)` and `\(b.key)` overlap in the data section")
    }
    return entries
  }

  private static func readExactly(_ fd: Int32, into bytes: inout [UInt8], count: Int, at offset: Int, path: String)
    throws
  {
    try bytes.withUnsafeMutableBytes { try readExactly(fd, $0.baseAddress!, count: count, at: offset, path: path) }
  }

  private static func readExactly(
    _ fd: Int32, _ buffer: UnsafeMutableRawPointer, count: Int, at offset: Int, path: String
  )
    throws
  {
    var done = 0
    while done < count {
      let n = pread(fd, buffer + done, count - done, off_t(offset + done))
      if n < 0 && errno == EINTR { continue }
      guard n > 0 else {
        throw EngineError("`\(path)`: read failed at byte \(offset + done) (file truncated?)")
      }
      done += n
    }
  }

  /// Writes `tensors` as an F32 safetensors file (keys sorted, as the Python library does).
  public static func save(_ tensors: [String: Tensor], to path: String) throws {
    var header = "{"
    var offset = 0
    let keys = tensors.keys.sorted()
    for (i, k) in keys.enumerated() {
      let t = tensors[k]!
      let bytes = t.data.count * 4
      header +=
        (i > 0 ? "," : "")
        + "\"\(k)\":{\"dtype\":\"F32\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + bytes)]}"
      offset += bytes
    }
    header += "}"
    while (8 + header.utf8.count) % 8 != 0 { header += " " }
    var data = Data()
    var n = UInt64(header.utf8.count).littleEndian
    data.append(Data(bytes: &n, count: 8))
    data.append(Data(header.utf8))
    for k in keys {
      tensors[k]!.data.withUnsafeBytes { data.append(contentsOf: $0) }
    }
    do {
      try data.write(to: URL(fileURLWithPath: path))
    } catch {
      throw EngineError("cannot write `\(path)`: \(error.localizedDescription)")
    }
  }
}
