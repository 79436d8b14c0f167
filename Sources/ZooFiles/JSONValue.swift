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
    var out: [UInt8] = []
    out.reserveCapacity(1 << 16)
    try write(into: &out, indent: 0)
    return String(decoding: out, as: UTF8.self)
  }

  /// Appends the value's text at nesting `indent` (in spaces) to `out`.
  public func write(into out: inout [UInt8], indent: Int) throws {
    switch self {
    case .null: out.append(contentsOf: "null".utf8)
    case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
    case .int(let i): Self.appendInteger(i, to: &out)
    case .double(let d):
      guard d.isFinite else {
        throw EncodingError.invalidValue(
          d, EncodingError.Context(codingPath: [], debugDescription: "\(d) is not a JSON number"))
      }
      var s = d.description
      if s.hasSuffix(".0") { s.removeLast(2) }
      out.append(contentsOf: s.utf8)
    case .string(let s): JSONOutput.writeString(s, into: &out)
    case .ints(let values):
      Self.open(UInt8(ascii: "["), count: values.count, into: &out)
      for (n, v) in values.enumerated() {
        Self.pad(indent + 2, into: &out)
        Self.appendInteger(v, to: &out)
        if n + 1 < values.count { out.append(UInt8(ascii: ",")) }
        out.append(UInt8(ascii: "\n"))
      }
      Self.close(UInt8(ascii: "]"), indent: indent, into: &out)
    case .array(let values):
      Self.open(UInt8(ascii: "["), count: values.count, into: &out)
      for (n, v) in values.enumerated() {
        Self.pad(indent + 2, into: &out)
        try v.write(into: &out, indent: indent + 2)
        if n + 1 < values.count { out.append(UInt8(ascii: ",")) }
        out.append(UInt8(ascii: "\n"))
      }
      Self.close(UInt8(ascii: "]"), indent: indent, into: &out)
    case .object(let members):
      Self.open(UInt8(ascii: "{"), count: members.count, into: &out)
      var sorted = true
      for i in members.indices.dropFirst() where !(members[i - 1].0 < members[i].0) {
        sorted = false
        break
      }
      let order = sorted ? Array(members.indices) : members.indices.sorted { members[$0].0 < members[$1].0 }
      for (n, i) in order.enumerated() {
        Self.pad(indent + 2, into: &out)
        JSONOutput.writeString(members[i].0, into: &out)
        out.append(contentsOf: " : ".utf8)
        try members[i].1.write(into: &out, indent: indent + 2)
        if n + 1 < members.count { out.append(UInt8(ascii: ",")) }
        out.append(UInt8(ascii: "\n"))
      }
      Self.close(UInt8(ascii: "}"), indent: indent, into: &out)
    }
  }

  /// An opening bracket and its newline; an empty container gets a second newline, as Foundation writes it.
  private static func open(_ bracket: UInt8, count: Int, into out: inout [UInt8]) {
    out.append(bracket)
    out.append(UInt8(ascii: "\n"))
    if count == 0 { out.append(UInt8(ascii: "\n")) }
  }

  private static func close(_ bracket: UInt8, indent: Int, into out: inout [UInt8]) {
    pad(indent, into: &out)
    out.append(bracket)
  }

  private static let spaces = [UInt8](repeating: UInt8(ascii: " "), count: 64)

  private static func pad(_ n: Int, into out: inout [UInt8]) {
    if n <= spaces.count {
      out.append(contentsOf: spaces[..<n])
    } else {
      out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: n))
    }
  }

  /// The decimal digits of `value`, with a minus sign when negative (`Int.min` included).
  static func appendInteger(_ value: Int, to out: inout [UInt8]) {
    if value < 0 { out.append(UInt8(ascii: "-")) }
    var magnitude = value.magnitude
    if magnitude < 10 {
      out.append(UInt8(ascii: "0") + UInt8(magnitude))
      return
    }
    let start = out.count
    while magnitude > 0 {
      out.append(UInt8(ascii: "0") + UInt8(magnitude % 10))
      magnitude /= 10
    }
    out[start...].reverse()
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
