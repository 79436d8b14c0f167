@preconcurrency import Yams

/// An error in a definition file, pointing at `file:line:column`.
///
/// When the error comes from something the user gave on the command line (`--arg name=value`),
/// ``cause`` names it and the description leads with it, keeping the file position as context.
public struct DefinitionError: Error, Sendable, CustomStringConvertible {
  public var file: String
  public var line: Int
  public var column: Int
  public var message: String
  /// What the user gave that led to the error, such as `--arg num_classes=0`; nil when the file itself is at fault.
  public var cause: String?
  /// Where the error is, in words, for a `cause`d error: such as "resnet18's layer `fc`".
  public var context: String?
  /// Whether ``file`` is a built-in definition (embedded in the binary, not a file the user has).
  public var builtin: Bool

  public init(
    file: String, line: Int, column: Int, message: String, cause: String? = nil, context: String? = nil,
    builtin: Bool = false
  ) {
    self.file = file
    self.line = line
    self.column = column
    self.message = message
    self.cause = cause
    self.context = context
    self.builtin = builtin
  }

  /// `file:line:column`, with "in the built-in zoo" for an embedded file.
  public var location: String { "\(file):\(line):\(column)" + (builtin ? " in the built-in zoo" : "") }

  public var description: String {
    guard let cause else {
      // Line 0: the error is about the file as a whole (it cannot be read).
      guard line > 0 else { return "\(file): \(message)" }
      return "\(file):\(line):\(column): \(message)" + (builtin ? " (in the built-in zoo)" : "")
    }
    // Line 0: the error is in the given value itself, not at a place in a file.
    guard line > 0 else { return "\(cause): \(message)" }
    return "\(cause): \(message) (at " + (context.map { "\($0), " } ?? "") + "\(location))"
  }
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
    case .scalar(let s): return "`\(clip(s.string))`"
    case .mapping: return "a mapping"
    case .sequence: return "a list"
    }
  }
}
