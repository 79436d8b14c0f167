import ArgumentParser
import Foundation
import ZooAnalysis
import ZooFormat
import ZooGraph

struct ListCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "list",
    abstract: "Lists the built-in models with their family, year, input, parameters and MACs.",
    discussion: """
      Examples:
        zoo list                  every model
        zoo list resnet           names containing `resnet` (any case)
        zoo list 'vgg1?_bn'       a pattern with * and ?
        zoo list --family DenseNet
      The year is that of the family's paper (`--json` carries the paper).
      """)

  @Argument(
    help: ArgumentHelp(
      "Shows only the models whose name contains this text, or matches it as a pattern with * and ?; any case.",
      valueName: "pattern"))
  var pattern: String?

  @Option(help: "Shows only the models of this family (any case), for example ResNet.")
  var family: String?

  @Flag(help: "Prints a JSON array instead of the table.")
  var json = false

  @Flag(
    help: ArgumentHelp(
      "Builds and measures every model instead of reading the figures stored in the binary (scripts/embed-zoo.sh stores them; a test checks they are current)."
    ))
  var fresh = false

  struct Entry: Encodable {
    var model, family: String
    var year: Int?
    var paper: String
    var input, output: [Int]
    var params, macs: Int
  }

  func run() throws {
    let all = fresh ? try measuredFigures() : Zoo.builtinFigures
    let families = all.map(\.family).reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
    if let family, !families.contains(where: { $0.lowercased() == family.lowercased() }) {
      let near = closeNames(family, among: families, limit: 2)
      throw ZooError(
        "no family `\(family)`"
          + (near.isEmpty ? "" : "; did you mean \(near.map { "`\($0)`" }.joined(separator: " or "))?")
          + " The families are \(families.joined(separator: ", "))")
    }
    let entries = all.filter { f in
      (family.map { $0.lowercased() == f.family.lowercased() } ?? true)
        && (pattern.map { nameMatches(f.model, $0) } ?? true)
    }.map {
      Entry(
        model: $0.model, family: $0.family, year: paperYear($0.paper), paper: $0.paper, input: $0.input,
        output: $0.output, params: $0.params, macs: $0.macs)
    }
    if json {
      print(try jsonString(entries))
      return
    }
    guard !entries.isEmpty else {
      throw ZooError(
        "no model matches `\(pattern ?? "")`\(family.map { " in \($0)" } ?? ""); `zoo list` shows them all")
    }
    var t = TextTable(headers: ["Model", "Family", "Year", "Input", "Params", "MACs"], rightAligned: [2, 4, 5])
    for e in entries {
      t.rows.append([
        e.model, e.family, e.year.map(String.init) ?? "–", format(e.input), grouped(e.params), grouped(e.macs),
      ])
    }
    print(t.render())
  }

  /// Every built-in model built and measured now (what the stored figures are made from).
  func measuredFigures() throws -> [BuiltinFigures] {
    let zoo: Zoo
    do { zoo = try Zoo.builtin() } catch { throw ZooError(error.description) }
    return try zoo.files.flatMap { file in
      try file.models.map { m in
        let s: Summary
        do { s = try Summary(try file.graph(m)) } catch { throw ZooError("\(m.name): \(error)") }
        return BuiltinFigures(
          model: m.name, family: file.family, paper: file.paper, input: s.input, output: s.output,
          params: s.totals.params, macs: s.totals.macs)
      }
    }
  }
}

/// Whether `name` contains `pattern`, or matches it with `*` (any run) and `?` (one character); any case.
func nameMatches(_ name: String, _ pattern: String) -> Bool {
  let (n, p) = (Array(name.lowercased()), Array(pattern.lowercased()))
  guard p.contains("*") || p.contains("?") else { return name.lowercased().contains(pattern.lowercased()) }
  // Glob matching with backtracking to the last star.
  var (i, j, star, mark) = (0, 0, -1, 0)
  while i < n.count {
    if j < p.count && (p[j] == "?" || p[j] == n[i]) {
      i += 1
      j += 1
    } else if j < p.count && p[j] == "*" {
      star = j
      mark = i
      j += 1
    } else if star >= 0 {
      j = star + 1
      mark += 1
      i = mark
    } else {
      return false
    }
  }
  while j < p.count && p[j] == "*" { j += 1 }
  return j == p.count
}
