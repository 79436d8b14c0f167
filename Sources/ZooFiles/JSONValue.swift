/// A JSON document as plain values, for the commands whose `--json` documents are large (`zoo describe`
/// writes half a megabyte for DenseNet-201): built directly, without `Encodable`'s generic containers and
/// dynamic casts, and written in one pass as the same text ``JSONOutput/string(_:)`` writes (Foundation's
/// `JSONEncoder` with `[.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]`), byte for byte.
///
/// Keys are written as given (a document spells them in snake case itself) and sorted when written; a
/// document that lists an object's keys in sorted order is written without sorting.
public enum JSONValue: Sendable {
  case null
  case bool(Bool)
  case int(Int)
  /// A finite number; writing a NaN or an infinity throws, as `JSONEncoder` refuses them.
  case double(Double)
  case string(String)
  /// An array of integers (a shape, a receptive field), held without a value per element.
  case ints([Int])
  case array([JSONValue])
  /// An object's members; the keys must differ.
  case object([(String, JSONValue)])

  /// `value` as an integer array, or `null` when it is nil (an optional field written as null).
  public static func ints(_ value: [Int]?) -> JSONValue { value.map { .ints($0) } ?? .null }

  /// The document as pretty-printed JSON with sorted keys, without a final newline.
  public func text() throws -> String {
    let out = JSONBytes(capacity: 1 << 16)
    try write(into: out, indent: 0)
    return out.string
  }

  /// `1.0` → `1`, `0.25` → `0.25`, `1e-05` as Swift writes it (a `Float` as `Float` writes it); NaN and
  /// infinities are refused, as `JSONEncoder` refuses them, with `path` in the error.
  static func numberText<F: BinaryFloatingPoint & LosslessStringConvertible>(
    _ x: F, at path: [any CodingKey] = []
  ) throws -> String {
    guard x.isFinite else {
      throw EncodingError.invalidValue(
        x, EncodingError.Context(codingPath: path, debugDescription: "\(x) is not a JSON number"))
    }
    var s = x.description
    if s.hasSuffix(".0") { s.removeLast(2) }
    return s
  }

  /// Appends the value's text at nesting `indent` (in spaces) to `out`.
  func write(into out: JSONBytes, indent: Int) throws {
    switch self {
    case .null: out.append("null")
    case .bool(let b): out.append(b ? "true" : "false")
    case .int(let i): out.appendInteger(i)
    case .double(let d): out.append(utf8Of: try Self.numberText(d))
    case .string(let s): out.appendQuoted(s)
    case .ints(let values):
      out.open(UInt8(ascii: "["), empty: values.isEmpty)
      for (n, v) in values.enumerated() {
        out.pad(indent + 2)
        out.appendInteger(v)
        out.endItem(last: n + 1 == values.count)
      }
      out.close(UInt8(ascii: "]"), indent: indent)
    case .array(let values):
      out.open(UInt8(ascii: "["), empty: values.isEmpty)
      for (n, v) in values.enumerated() {
        out.pad(indent + 2)
        try v.write(into: out, indent: indent + 2)
        out.endItem(last: n + 1 == values.count)
      }
      out.close(UInt8(ascii: "]"), indent: indent)
    case .object(let members):
      out.open(UInt8(ascii: "{"), empty: members.isEmpty)
      var sorted = true
      for i in members.indices.dropFirst() where !(members[i - 1].0 < members[i].0) {
        sorted = false
        break
      }
      func member(_ m: (String, JSONValue), last: Bool) throws {
        out.pad(indent + 2)
        out.appendQuoted(m.0)
        out.append(" : ")
        try m.1.write(into: out, indent: indent + 2)
        out.endItem(last: last)
      }
      if sorted {
        for (n, m) in members.enumerated() { try member(m, last: n + 1 == members.count) }
      } else {
        let order = members.indices.sorted { members[$0].0 < members[$1].0 }
        for (n, i) in order.enumerated() { try member(members[i], last: n + 1 == members.count) }
      }
      out.close(UInt8(ascii: "}"), indent: indent)
    }
  }
}

/// The bytes of a document being written: one growing buffer that appends without an array's checks
/// on every byte.
final class JSONBytes {
  private var base: UnsafeMutablePointer<UInt8>
  private var count = 0
  private var capacity: Int

  init(capacity: Int) {
    self.capacity = max(capacity, 64)
    base = .allocate(capacity: self.capacity)
  }

  deinit { base.deallocate() }

  /// The text written so far.
  var string: String { String(decoding: UnsafeBufferPointer(start: base, count: count), as: UTF8.self) }

  /// Makes room for `n` more bytes.
  private func reserve(_ n: Int) {
    guard count + n > capacity else { return }
    var grown = capacity * 2
    while grown < count + n { grown *= 2 }
    let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: grown)
    bigger.initialize(from: base, count: count)
    base.deallocate()
    base = bigger
    capacity = grown
  }

  func append(_ byte: UInt8) {
    reserve(1)
    base[count] = byte
    count += 1
  }

  func append(_ bytes: UnsafeBufferPointer<UInt8>) {
    guard let start = bytes.baseAddress, bytes.count > 0 else { return }
    reserve(bytes.count)
    (base + count).initialize(from: start, count: bytes.count)
    count += bytes.count
  }

  func append(_ text: StaticString) {
    append(UnsafeBufferPointer(start: text.utf8Start, count: text.utf8CodeUnitCount))
  }

  func append(utf8Of s: String) {
    var s = s
    s.withUTF8 { append($0) }
  }

  /// `n` spaces.
  func pad(_ n: Int) {
    reserve(n)
    (base + count).initialize(repeating: UInt8(ascii: " "), count: n)
    count += n
  }

  /// An opening bracket and its newline; an empty container gets a second newline, as Foundation writes it.
  func open(_ bracket: UInt8, empty: Bool) {
    append(bracket)
    append(UInt8(ascii: "\n"))
    if empty { append(UInt8(ascii: "\n")) }
  }

  func close(_ bracket: UInt8, indent: Int) {
    pad(indent)
    append(bracket)
  }

  /// The end of an array element or object member: a comma unless it is the last, and a newline.
  func endItem(last: Bool) {
    if !last { append(UInt8(ascii: ",")) }
    append(UInt8(ascii: "\n"))
  }

  /// The decimal digits of `value`, with a minus sign when negative (`Int.min` included).
  func appendInteger(_ value: Int) {
    var magnitude = value.magnitude
    var digits = 1
    var rest = magnitude
    while rest >= 10 {
      rest /= 10
      digits += 1
    }
    reserve(digits + 1)
    if value < 0 {
      base[count] = UInt8(ascii: "-")
      count += 1
    }
    var i = count + digits
    repeat {
      i -= 1
      base[i] = UInt8(ascii: "0") + UInt8(magnitude % 10)
      magnitude /= 10
    } while magnitude > 0
    count += digits
  }

  /// `s` as a JSON string: quoted, with `"`, `\` and control characters escaped as Foundation escapes them
  /// (`/` and non-ASCII text as they are).
  func appendQuoted(_ s: String) {
    var s = s
    s.withUTF8 { bytes in
      append(UInt8(ascii: "\""))
      var clean = bytes.startIndex
      for (i, byte) in bytes.enumerated() where byte < 0x20 || byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\")
      {
        append(UnsafeBufferPointer(rebasing: bytes[clean..<i]))
        clean = i + 1
        switch byte {
        case UInt8(ascii: "\""): append("\\\"")
        case UInt8(ascii: "\\"): append("\\\\")
        case UInt8(ascii: "\n"): append("\\n")
        case UInt8(ascii: "\r"): append("\\r")
        case UInt8(ascii: "\t"): append("\\t")
        case 0x08: append("\\b")
        case 0x0C: append("\\f")
        default:
          let hex: StaticString = "0123456789abcdef"
          append("\\u00")
          append(hex.utf8Start[Int(byte >> 4)])
          append(hex.utf8Start[Int(byte & 15)])
        }
      }
      append(UnsafeBufferPointer(rebasing: bytes[clean...]))
      append(UInt8(ascii: "\""))
    }
  }
}

/// A document that can give itself as a ``JSONValue``.
public protocol JSONRepresentable {
  var json: JSONValue { get }
}

extension JSONOutput {
  /// The text of `value`'s JSON document, as ``JSONValue/text()`` writes it.
  public static func string(_ value: some JSONRepresentable) throws -> String { try value.json.text() }
}
