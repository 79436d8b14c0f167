import ArgumentParser
import ZooEngine
import ZooGraph

extension PlanOptions.Kernels: ExpressibleByArgument {}
extension PlanOptions.ISA: ExpressibleByArgument {}

/// Options of the commands that run a model (`zoo run`, `zoo bench`): which model, its argument
/// overrides, the threads and the kernels. Each command adds its own `--input` (the shape CxHxW).
struct EngineOptions: ParsableArguments {
  @Argument(
    help: ArgumentHelp(
      "A built-in model name (see `zoo list`), a definition file (`FILE:MODEL` picks a model of a file) or an ONNX file.",
      valueName: "model|file"), completion: modelCompletion)
  var model: String

  @Option(
    help: "The number of threads for the BLAS and the engine's parallel loops, at most the number of online CPUs.")
  var threads: Int = 2

  @Option(
    name: .customLong("arg"),
    help: ArgumentHelp(
      "Overrides a model argument, for example `--arg num_classes=10`. Repeatable.", valueName: "name=value"))
  var args: [String] = []

  @Option(
    help: ArgumentHelp(
      """
      The kernels that run convolutions and linear layers: `engine` (the engine's own) or `blas` \
      (im2col and OpenBLAS). The default is the engine's.
      """, valueName: "kernels"))
  var kernels: PlanOptions.Kernels?

  @Option(
    help: ArgumentHelp(
      """
      The instruction-set tier of the engine's kernels: `avx512`, `avx2`, `neon` or `generic`. The default \
      is `ZOO_ISA` when set, else the fastest tier this CPU runs; a tier the CPU lacks is refused.
      """, valueName: "tier"))
  var isa: PlanOptions.ISA?

  @Option(
    help: ArgumentHelp(
      """
      The most memory the compiled plan may take (activations, weights and scratch), in bytes or with a \
      decimal unit (`512M`, `16G`, as the sizes `zoo` prints). The default is three quarters of the \
      physical memory.
      """, valueName: "size"))
  var memoryLimit: String?

  func validate() throws {
    if let isa, !isa.isSupported {
      throw ValidationError(
        "--isa \(isa) needs instructions this CPU (or build) lacks; it runs: "
          + PlanOptions.ISA.supported.map(\.rawValue).joined(separator: ", ") + ".")
    }
    _ = try memoryLimitBytes()
    guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads).") }
    _ = try parseArgOverrides(args)
  }

  /// `--memory-limit` in bytes, or nil for the default.
  func memoryLimitBytes() throws -> Int? {
    guard let text = memoryLimit else { return nil }
    let units: [Character: Int] = ["K": 1_000, "M": 1_000_000, "G": 1_000_000_000, "T": 1_000_000_000_000]
    var digits = Substring(text.uppercased())
    if digits.hasSuffix("B") { digits = digits.dropLast() }
    var scale = 1
    if let unit = digits.last, let u = units[unit] {
      scale = u
      digits = digits.dropLast()
    }
    guard let n = Int(digits), n > 0 else {
      throw ValidationError("--memory-limit must be a positive size such as 512M or 16G, got `\(text)`.")
    }
    let (bytes, overflow) = n.multipliedReportingOverflow(by: scale)
    guard !overflow else { throw ValidationError("--memory-limit `\(text)` is beyond 64-bit integers.") }
    return bytes
  }

  /// The plan options these flags ask for; `winograd` as the command decides.
  func planOptions(winograd: PlanOptions.Winograd? = nil) throws -> PlanOptions {
    PlanOptions(
      kernels: kernels, isa: isa, winograd: winograd,
      memoryLimit: try memoryLimitBytes() ?? PlanOptions.defaultMemoryLimit)
  }

  /// Builds the graph of the chosen model (an ONNX file's for the sample shape `input` when given).
  func graph(input: [Int]? = nil) throws -> Graph {
    try loadGraph(model, overrides: try parseArgOverrides(args), input: input)
  }
}
