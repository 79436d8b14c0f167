/// A failure of the engine on the user's input: a bad file, a missing weight, a wrong shape.
/// The message names the file or key and the values involved.
public struct EngineError: Error, Sendable, CustomStringConvertible {
  public var description: String
  public init(_ description: String) { self.description = description }
}
