import ArgumentParser
import ZooFormat

struct CheckCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "check",
    abstract: "Checks definition files without building them, including branches and blocks no model uses.",
    discussion: """
      Every model, block and branch of each file is checked: unknown ops, blocks, keys and arguments,
      missing required arguments, literal values of the wrong type or range, expression syntax, and
      unknown names and functions in expressions. An `if` branch that is not taken and a block that no
      model uses are checked as well. Each problem is printed as `file:line:column: message`, and the
      exit status is non-zero when there is any.

      Shape errors depend on the input size, so they need a build: `zoo describe FILE` finds them.
      With no file, or with --builtin, the built-in zoo is checked.
      """)

  @Argument(help: ArgumentHelp("The definition files to check.", valueName: "file"))
  var files: [String] = []

  @Flag(help: "Checks the built-in zoo (also the default when no file is given).")
  var builtin = false

  func run() throws {
    var problems: [DefinitionError] = []
    var checked: [(name: String, models: Int)] = []
    if builtin || files.isEmpty {
      do {
        for file in try Zoo.builtin().files {
          let found = file.check()
          problems += found
          checked.append((file.path, file.models.count))
        }
      } catch {
        problems.append(error)
      }
    }
    for path in files {
      do {
        let file = try DefinitionFile(contentsOfFile: path)
        problems += file.check()
        checked.append((path, file.models.count))
      } catch {
        problems.append(error)
      }
    }
    for p in problems { print(p.description) }
    if problems.isEmpty {
      let models = checked.reduce(0) { $0 + $1.models }
      print("No problems in \(checked.count) file\(checked.count == 1 ? "" : "s") (\(models) models).")
    } else {
      throw ZooError("\(problems.count) problem\(problems.count == 1 ? "" : "s") found.")
    }
  }
}
