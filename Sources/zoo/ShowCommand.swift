import ArgumentParser
import ZooFormat

struct ShowCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "show",
    abstract: "Prints the built-in definition of a model, to start your own from.",
    discussion: """
      Prints the whole family file (its blocks are shared by the family's models), as embedded in the \
      binary. Save it, edit it, and read it back with `zoo describe my_net.yaml:MODEL`; the format is in \
      docs/format.md.

      Example:
        zoo show resnet50 > my_resnet.yaml
      """)

  @Argument(
    help: ArgumentHelp("A built-in model name (see `zoo list`).", valueName: "model"), completion: modelCompletion)
  var model: String

  func run() throws {
    let zoo: Zoo
    do { zoo = try Zoo.builtin() } catch { throw ZooError(error.description) }
    guard let (file, entry) = zoo.find(model) else {
      throw ZooError(unknownModelMessage(model, among: zoo.modelNames))
    }
    guard let text = Zoo.builtinText(path: file.path) else {
      throw ZooError("the text of `\(file.path)` is not embedded in this binary")
    }
    let others = file.models.map(\.name).filter { $0 != entry.name }
    var header = "\(file.path): the built-in definition of \(entry.name)."
    if !others.isEmpty { header += " The file also defines \(others.joined(separator: ", "))." }
    header += " Save it, edit it, and read it back with `zoo describe FILE.yaml:\(entry.name)` (docs/format.md)."
    for line in wrapWords(header, width: 98) { print("# " + line) }
    print(text, terminator: text.hasSuffix("\n") ? "" : "\n")
  }
}
