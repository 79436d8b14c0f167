/// A value in a definition file: what an argument or an expression evaluates to.
public enum Value: Sendable, Equatable, CustomStringConvertible {
  case null
  case bool(Bool)
  case int(Int)
  case double(Double)
  case string(String)
  case list([Value])
  /// A reference to a block of the same file, so a block can be passed as an argument
  /// (`block: bottleneck`).
  case block(String)

  public var description: String {
    switch self {
    case .null: "null"
    case .bool(let b): b ? "true" : "false"
    case .int(let i): String(i)
    case .double(let d): String(d)
    case .string(let s): "\"\(s)\""
    case .list(let l): "[" + l.map(\.description).joined(separator: ", ") + "]"
    case .block(let b): "block `\(b)`"
    }
  }

  var typeName: String {
    switch self {
    case .null: "null"
    case .bool: "a boolean"
    case .int: "an integer"
    case .double: "a number"
    case .string: "a string"
    case .list: "a list"
    case .block: "a block"
    }
  }

  var truthy: Bool {
    switch self {
    case .null: false
    case .bool(let b): b
    case .int(let i): i != 0
    case .double(let d): d != 0
    case .string(let s): !s.isEmpty
    case .list(let l): !l.isEmpty
    case .block: true
    }
  }
}
