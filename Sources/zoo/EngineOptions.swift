import ArgumentParser
import ZooGraph

/// Options of the commands that run a model (`zoo run`, `zoo bench`): which model, its argument
/// overrides, and the threads. (`--input` means a file there, so `ModelOptions` does not fit.)
struct EngineOptions: ParsableArguments {
  @Argument(
    help: ArgumentHelp(
      "A built-in model name (see `zoo list`) or a definition file; `FILE:MODEL` picks a model of a file.",
      valueName: "model|file"))
  var model: String

  @Option(
    help: "The number of threads for the BLAS and the engine's parallel loops, at most the number of online CPUs.")
  var threads: Int = 2

  @Option(
    name: .customLong("arg"),
    help: ArgumentHelp(
      "Overrides a model argument, for example `--arg num_classes=10`. Repeatable.", valueName: "name=value"))
  var args: [String] = []

  func validate() throws {
    guard threads >= 1 else { throw ValidationError("--threads must be at least 1, got \(threads).") }
    _ = try parseArgOverrides(args)
  }

  /// Builds the graph of the chosen model.
  func graph() throws -> Graph { try loadGraph(model, overrides: try parseArgOverrides(args)) }
}
