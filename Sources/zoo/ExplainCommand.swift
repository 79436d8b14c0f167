import ArgumentParser
import Foundation
import ZooGraph
import ZooTeach

struct ExplainCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "explain",
    abstract: "Works the lecture notes' exercises: the formula, the numbers plugged in, and the answer.",
    discussion: """
      Examples:
        zoo explain size --input 5 --kernel 3 --padding 1 --stride 2
        zoo explain conv --image "1 2 3 4 5; 6 7 8 2 3; 2 5 9 9 5; 4 8 8 2 1" \\
                         --kernel "1 1 1; 2 1 2; 3 2 1"
        zoo explain params --input 3x32x32 --filters 6 --kernel 5
        zoo explain rf --kernels 3,3,3
        zoo explain transpose --stride 2
        zoo explain unpool
        zoo explain depthwise --input 256x56x56 --filters 256 --kernel 3 --no-bias
        zoo explain gated
        zoo explain local --input 16x63x63 --filters 16 --kernel 9 --padding 0 --tile 2
      Every subcommand takes --json for a machine-readable answer (docs/explain.md).
      """,
    subcommands: [
      ExplainSizeCommand.self, ExplainConvCommand.self, ExplainParamsCommand.self, ExplainRFCommand.self,
      ExplainTransposeCommand.self, ExplainUnpoolCommand.self, ExplainDepthwiseCommand.self,
      ExplainGatedCommand.self, ExplainLocalCommand.self,
    ]
  )
}

/// The output choice every `zoo explain` subcommand shares.
struct ExplainOutputOptions: ParsableArguments {
  @Flag(help: "Prints the answer as one JSON object instead of the worked text.")
  var json = false

  /// Prints the worked lines, or `document` as JSON with snake_case keys.
  func print<T: Encodable>(_ lines: [String], _ document: T) throws {
    if json {
      Swift.print(try jsonString(document))
    } else {
      printFitted(lines.joined(separator: "\n"))
    }
  }
}

/// Runs a ZooTeach computation, turning its error into a user-facing one.
func teach<T>(_ body: () throws(TeachError) -> T) throws -> T {
  do { return try body() } catch { throw ZooError(error.message) }
}

/// `"3,3,3"` → `[3, 3, 3]`; the error names the option and quotes the value.
func intList(_ text: String, option: String) throws -> [Int] {
  let parts = text.split(separator: ",", omittingEmptySubsequences: false).map {
    $0.trimmingCharacters(in: .whitespaces)
  }
  let values = parts.compactMap { Int($0) }
  guard values.count == parts.count, !values.isEmpty else {
    throw ValidationError("\(option) takes comma-separated integers such as 3,3,3, got `\(text)`.")
  }
  return values
}

/// The layer that the depthwise, gated and local lessons size: one convolution's input, filters and
/// window. The defaults are the lecture's 256-channel 3×3 layer on 56×56.
struct ExplainLayerOptions: ParsableArguments {
  @Option(help: ArgumentHelp("The input of the layer as CxHxW.", valueName: "CxHxW"))
  var input = "256x56x56"

  @Option(help: "The number of filters (output channels).")
  var filters = 256

  @Option(help: "The kernel size (square).")
  var kernel = 3

  @Option(help: "The step between neighbouring kernel positions.")
  var stride = 1

  @Option(help: "The zeros added on each side of the input.")
  var padding = 1

  @Flag(inversion: .prefixedNo, help: "Gives every filter a bias (nn.Conv2d's default).")
  var bias = true

  func validate() throws {
    _ = try parseInputShape(input)
    guard filters >= 1 else { throw ValidationError("--filters must be at least 1, got \(filters).") }
    guard kernel >= 1 else { throw ValidationError("--kernel must be at least 1, got \(kernel).") }
    guard stride >= 1 else { throw ValidationError("--stride must be at least 1, got \(stride).") }
    guard padding >= 0 else { throw ValidationError("--padding must be 0 or more, got \(padding).") }
  }

  var shape: [Int] { get throws { try parseInputShape(input) } }
}
