import ArgumentParser
import Foundation
import ZooGraph
import ZooTeach

struct ExplainSizeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "size",
    abstract: "Works out the output size of a convolution or pooling layer along one axis.",
    discussion: "out = floor((n + 2·p − d·(k − 1) − 1)/s) + 1, or ceil in pooling's ceil mode (docs/explain.md).")

  @Option(help: "The input size along the axis (height or width).")
  var input: Int

  @Option(help: "The kernel (window) size.")
  var kernel: Int

  @Option(help: "The zeros added on each side.")
  var padding = 0

  @Option(help: "The step between neighbouring windows.")
  var stride = 1

  @Option(help: "The spacing between kernel taps; 1 is an ordinary kernel.")
  var dilation = 1

  @Flag(help: "Rounds the division up, as pooling with ceil_mode=True does.")
  var ceil = false

  @OptionGroup var output: ExplainOutputOptions

  func validate() throws {
    guard input >= 1 else { throw ValidationError("--input must be at least 1, got \(input).") }
    guard kernel >= 1 else { throw ValidationError("--kernel must be at least 1, got \(kernel).") }
    guard padding >= 0 else { throw ValidationError("--padding must be 0 or more, got \(padding).") }
    guard stride >= 1 else { throw ValidationError("--stride must be at least 1, got \(stride).") }
    guard dilation >= 1 else { throw ValidationError("--dilation must be at least 1, got \(dilation).") }
  }

  struct Document: Encodable {
    var size: OutputSize
    var formula: String
    var pluggedIn: String
  }

  func run() throws {
    let s = try teach { () throws(TeachError) in
      try OutputSize(
        input: input, kernel: kernel, stride: stride, padding: padding, dilation: dilation, ceilMode: ceil)
    }
    try output.print(s.worked(columns: outputWidth), Document(size: s, formula: s.formula, pluggedIn: s.pluggedIn))
  }
}
