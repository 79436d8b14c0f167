import ArgumentParser
import Foundation
import ZooGraph
import ZooTeach

struct ExplainParamsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "params",
    abstract: "Counts a convolution's parameters and connections and compares them with layers that share no weights.",
    discussion: """
      Convolution weights = filters · in-channels/groups · kh · kw (+ one bias per filter); a locally connected \
      layer has one weight set per output; a dense layer has inputs · outputs weights (docs/explain.md).
      Lecture examples:
        zoo explain params --input 3x32x32 --filters 6 --kernel 5
            (the notes: 456 parameters against 14,455,392 for a dense layer)
        zoo explain params --input 1x320x280 --filters 1 --kernel 2x1 --no-bias
            (Goodfellow's edge detector: 2 weights against 8,003,072,000)
      """)

  @Option(help: ArgumentHelp("The input of the layer as CxHxW, for example 3x32x32.", valueName: "CxHxW"))
  var input: String

  @Option(help: "The number of filters (output channels).")
  var filters: Int

  @Option(
    help: ArgumentHelp("The kernel size: one number for a square kernel, or HxW such as 2x1.", valueName: "k|HxW"))
  var kernel: String

  @Option(help: "The step between neighbouring kernel positions.")
  var stride = 1

  @Option(help: "The zeros added on each side of the input.")
  var padding = 0

  @Option(help: "The number of channel groups; it must divide the input channels and the filters.")
  var groups = 1

  @Flag(inversion: .prefixedNo, help: "Gives every filter a bias (nn.Conv2d's default).")
  var bias = true

  @OptionGroup var output: ExplainOutputOptions

  func parsedKernel() throws -> Pair {
    let parts = kernel.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
    guard (1...2).contains(parts.count), let dims = parts as? [Int], dims.allSatisfy({ $0 >= 1 }) else {
      throw ValidationError("--kernel must be a positive size k or HxW (for example 5 or 2x1), got `\(kernel)`.")
    }
    return dims.count == 1 ? Pair(dims[0]) : Pair(dims[0], dims[1])
  }

  func validate() throws {
    _ = try parseInputShape(input)
    _ = try parsedKernel()
    guard filters >= 1 else { throw ValidationError("--filters must be at least 1, got \(filters).") }
    guard stride >= 1 else { throw ValidationError("--stride must be at least 1, got \(stride).") }
    guard padding >= 0 else { throw ValidationError("--padding must be 0 or more, got \(padding).") }
    guard groups >= 1 else { throw ValidationError("--groups must be at least 1, got \(groups).") }
  }

  func run() throws {
    let (dims, k) = (try parseInputShape(input), try parsedKernel())
    let w = try teach { () throws(TeachError) in
      try WeightSharing(
        input: dims, filters: filters, kernel: k, stride: stride, padding: padding, groups: groups, bias: bias)
    }
    try output.print(w.worked(columns: outputWidth), w)
  }
}
