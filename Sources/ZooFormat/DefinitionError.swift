@preconcurrency import Yams

/// An error in a definition file, pointing at `file:line:column`.
public struct DefinitionError: Error, Sendable, CustomStringConvertible {
  public var file: String
  public var line: Int
  public var column: Int
  public var message: String

  public init(file: String, line: Int, column: Int, message: String) {
    self.file = file
    self.line = line
    self.column = column
    self.message = message
  }

  public var description: String { "\(file):\(line):\(column): \(message)" }
}

extension Node {
  var line: Int { mark?.line ?? 1 }
  var column: Int { mark?.column ?? 1 }

  /// The scalar text, or nil when the node is a mapping or a sequence.
  var scalarText: String? {
    if case .scalar(let s) = self { return s.string }
    return nil
  }

  /// A plain scalar that means "no value": empty, `~` or `null`.
  var isNull: Bool {
    guard case .scalar(let s) = self, s.style == .plain || s.style == .any else { return false }
    return s.string.isEmpty || s.string == "~" || s.string == "null"
  }

  /// A short description for error messages.
  var shortDescription: String {
    switch self {
    case .scalar(let s): return "`\(s.string)`"
    case .mapping: return "a mapping"
    case .sequence: return "a list"
    }
  }
}
