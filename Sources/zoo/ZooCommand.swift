import ArgumentParser

@main
struct ZooCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "zoo",
    abstract: "Exact shapes, parameters, MACs and receptive fields of the classic convolutional networks.",
    discussion: """
      Models are the built-in zoo (`zoo list`) or your own definition files (docs/format.md).
      Counting conventions are in docs/conventions.md and in `zoo describe --help`.
      """,
    subcommands: [
      ListCommand.self, DescribeCommand.self, CompareCommand.self, RFCommand.self, RenderCommand.self, RunCommand.self,
      BenchCommand.self,
      ExplainCommand.self, ReportCommand.self, CheckCommand.self,
    ]
  )
}
