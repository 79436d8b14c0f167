import ArgumentParser
import Foundation
import ZooFormat

/// The version `zoo --version` prints.
let zooVersion = "0.2.0"

@main
struct ZooCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "zoo",
    abstract: "Exact shapes, parameters, MACs and receptive fields of the classic convolutional networks.",
    discussion: """
      Models are the built-in zoo (`zoo list`) or your own definition files (docs/format.md).
      Counting conventions are in docs/conventions.md and in `zoo describe --help`.
      A user error (a bad option, model, file or value) prints one message and exits with status 1.
      """,
    version: zooVersion,
    subcommands: [
      ListCommand.self, ShowCommand.self, DescribeCommand.self, CompareCommand.self, RFCommand.self, RenderCommand.self,
      RunCommand.self, ExportCommand.self,
      BenchCommand.self,
      ExplainCommand.self, ReportCommand.self, CheckCommand.self,
    ]
  )

  /// Parses and runs like ArgumentParser's `main()`, with two differences: a misspelt subcommand gets a
  /// did-you-mean, and every user error exits with status 1 (ArgumentParser's usage errors would exit 64).
  static func main() {
    let arguments = Array(CommandLine.arguments.dropFirst())
    if let word = arguments.first, let message = unknownSubcommandMessage(word) {
      FileHandle.standardError.write(Data("Error: \(message)\n".utf8))
      Foundation.exit(1)
    }
    do {
      var command = try parseAsRoot(arguments)
      try command.run()
    } catch {
      let code = exitCode(for: error)
      if code == .validationFailure {
        FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
        Foundation.exit(1)
      }
      exit(withError: error)
    }
  }

  /// The message for a first argument that is neither an option, a subcommand nor `help`; nil otherwise.
  static func unknownSubcommandMessage(_ word: String) -> String? {
    let names = configuration.subcommands.compactMap { $0.configuration.commandName } + ["help"]
    guard !word.hasPrefix("-"), !names.contains(word) else { return nil }
    let near = closeNames(word, among: names, limit: 2)
    let list = names.dropLast().joined(separator: ", ")
    guard !near.isEmpty else { return "`\(word)` is not a zoo command; the commands are \(list)." }
    return "`\(word)` is not a zoo command; did you mean \(near.map { "`\($0)`" }.joined(separator: " or "))? "
      + "(the commands are \(list))"
  }
}
