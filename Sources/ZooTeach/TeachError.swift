/// A worked example that cannot be computed; the message quotes the values involved.
public struct TeachError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// `a + b`, or an error naming `what` when the sum does not fit in 64 bits.
func checkedSum(_ xs: [Int], _ what: String) throws(TeachError) -> Int {
  var r = 0
  for x in xs {
    let (s, o) = r.addingReportingOverflow(x)
    if o { throw TeachError("the \(what) overflows 64-bit integers") }
    r = s
  }
  return r
}

/// The product of `xs`, or an error naming `what` when it does not fit in 64 bits.
func checkedTimes(_ xs: [Int], _ what: String) throws(TeachError) -> Int {
  var r = 1
  for x in xs {
    let (p, o) = r.multipliedReportingOverflow(by: x)
    if o { throw TeachError("the \(what) overflows 64-bit integers") }
    r = p
  }
  return r
}
