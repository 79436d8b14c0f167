import ArgumentParser
import ZooAnalysis
import ZooFormat
import ZooGraph

struct ListCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "list",
    abstract: "Lists every built-in model with its family, input, parameters and MACs.")

  @Flag(help: "Prints a JSON array instead of the table.")
  var json = false

  struct Entry: Encodable {
    var model, family: String
    var input, output: [Int]
    var params, macs: Int
  }

  func run() throws {
    let zoo = try Zoo.builtin()
    var entries: [Entry] = []
    for file in zoo.files {
      for m in file.models {
        let s = try Summary(try file.graph(m))
        entries.append(
          Entry(
            model: m.name, family: file.family, input: s.input, output: s.output, params: s.totals.params,
            macs: s.totals.macs))
      }
    }
    if json {
      print(try jsonString(entries))
      return
    }
    var t = TextTable(headers: ["Model", "Family", "Input", "Params", "MACs"], rightAligned: [3, 4])
    for e in entries {
      t.rows.append([e.model, e.family, format(e.input), grouped(e.params), grouped(e.macs)])
    }
    print(t.render())
  }
}
