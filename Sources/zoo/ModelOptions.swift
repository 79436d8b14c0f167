import ArgumentParser
import Foundation
import ZooFormat
import ZooGraph
import ZooONNX

/// Shell completion of a model argument: the built-in names that start with the word typed, then the
/// definition files (`.yaml`, `.yml`) and folders whose path starts with it.
let modelCompletion = CompletionKind.custom { _, _, prefix in
  var out = Zoo.builtinModelNames.filter { $0.hasPrefix(prefix) }
  let slash = prefix.lastIndex(of: "/")
  let folder = slash.map { String(prefix[...$0]) } ?? ""
  let fm = FileManager.default
  for entry in ((try? fm.contentsOfDirectory(atPath: folder.isEmpty ? "." : folder)) ?? []).sorted() {
    let path = folder + entry
    guard path.hasPrefix(prefix), !entry.hasPrefix(".") || prefix.hasSuffix(".") else { continue }
    var isFolder: ObjCBool = false
    _ = fm.fileExists(atPath: path, isDirectory: &isFolder)
    if isFolder.boolValue {
      out.append(path + "/")
    } else if entry.hasSuffix(".yaml") || entry.hasSuffix(".yml") || isONNX(entry) {
      out.append(path)
    }
  }
  return out
}

/// Options every command that analyses one model shares.
struct ModelOptions: ParsableArguments {
  @Argument(
    help: ArgumentHelp(
      "A built-in model name (see `zoo list`), a definition file (`FILE:MODEL` picks a model of a file) or an ONNX file.",
      valueName: "model|file"), completion: modelCompletion)
  var model: String

  @Option(
    help: ArgumentHelp(
      "The input of one sample as CxHxW, for example 3x320x320. Defaults to the model's own input.",
      valueName: "CxHxW"))
  var input: String?

  @Option(
    name: .customLong("arg"),
    help: ArgumentHelp(
      "Overrides a model argument, for example `--arg aux_logits=true` or `--arg num_classes=10`. Repeatable.",
      valueName: "name=value"))
  var args: [String] = []

  func validate() throws {
    _ = try parsedInput()
    _ = try parsedArgs()
  }

  func parsedInput() throws -> [Int]? { try input.map(parseInputShape) }

  func parsedArgs() throws -> [(String, String)] { try parseArgOverrides(args) }

  /// Builds the graph of the chosen model (an ONNX file's at `--input` when given).
  func graph() throws -> Graph {
    try loadGraph(model, overrides: try parsedArgs(), input: try parsedInput())
  }

  /// The graph and what the importer noted about it (nothing for a built-in model or definition file).
  func graphAndNotes() throws -> (Graph, [String]) {
    guard isONNX(model) else { return (try graph(), []) }
    let imported = try importONNX(model, input: try parsedInput(), overrides: try parsedArgs())
    return (imported.graph, imported.notes)
  }
}

/// Parses repeated `--arg name=value` options into (name, expression) pairs.
func parseArgOverrides(_ args: [String]) throws -> [(String, String)] {
  try args.map { a in
    guard let eq = a.firstIndex(of: "="), eq != a.startIndex else {
      throw ValidationError("--arg takes name=value, got `\(a)`.")
    }
    return (String(a[..<eq]), String(a[a.index(after: eq)...]))
  }
}

/// Parses `--input CxHxW` (for example `3x224x224`).
func parseInputShape(_ text: String) throws -> [Int] {
  let parts = text.lowercased().split(separator: "x", omittingEmptySubsequences: false)
  guard parts.count == 3 else {
    throw ValidationError("--input must be three integers CxHxW (for example 3x224x224), got `\(text)`.")
  }
  var dims: [Int] = []
  for (what, part) in zip(["channel count", "height", "width"], parts) {
    let digits = part.hasPrefix("+") ? part.dropFirst() : part[...]
    guard !digits.isEmpty, digits.allSatisfy({ $0.isASCII && $0.isNumber }) else {
      throw ValidationError(
        "--input must be three integers CxHxW (for example 3x224x224); the \(what) `\(part)` in `\(text)` is not one.")
    }
    guard let v = Int(digits), v <= maxSize else {
      throw ValidationError(
        "--input: the \(what) \(digits) in `\(text)` is too large; the limit is \(maxSize) (2³¹ − 1).")
    }
    guard v >= 1 else { throw ValidationError("--input: the \(what) in `\(text)` must be at least 1, got \(v).") }
    dims.append(v)
  }
  return dims
}

/// A user-facing failure: printed as `Error: …` with a non-zero exit.
struct ZooError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// "`x` is not in the zoo", with only the close names (none when nothing is close).
func unknownModelMessage(_ name: String, among names: [String]) -> String {
  let near = closeNames(name, among: names, limit: 3)
  let list = "`zoo list` shows the \(names.count) built-in models"
  guard !near.isEmpty else { return "`\(name)` is not in the zoo (\(list))" }
  return "`\(name)` is not in the zoo; did you mean \(near.map { "`\($0)`" }.joined(separator: ", "))? (\(list))"
}

/// Finds a built-in model by name or a model of a definition file (`path.yaml` or `path.yaml:model`).
func loadEntry(_ spec: String) throws -> (DefinitionFile, DefinitionFile.ModelEntry) {
  if isONNX(spec) {
    throw ZooError(
      "`\(spec)` is an ONNX file: it has no definition or arguments (describe, rf, render, compare and run read it)")
  }
  do {
    if let (path, name) = fileSpec(spec) {
      let file = try DefinitionFile(contentsOfFile: path)
      guard let name else { return (file, file.models[0]) }
      guard let m = file.models.first(where: { $0.name == name }) else {
        throw ZooError(
          "`\(path)` has no model `\(name)`; it defines \(file.models.map(\.name).joined(separator: ", "))")
      }
      return (file, m)
    }
    guard let found = try Zoo.findBuiltin(spec) else {
      throw ZooError(
        unknownModelMessage(spec, among: Zoo.builtinModelNames) + "; a definition file needs a .yaml extension")
    }
    return found
  } catch let e as DefinitionError {
    throw ZooError(e.description)
  }
}

/// Whether a model argument names an ONNX file (by its `.onnx` extension).
func isONNX(_ spec: String) -> Bool { spec.lowercased().hasSuffix(".onnx") }

/// Imports an ONNX file for the sample shape `input` (needed when the file leaves a dimension symbolic).
/// `--arg` overrides are refused: an ONNX graph is fixed.
func importONNX(_ path: String, input: [Int]?, overrides: [(String, String)] = []) throws -> ONNXImport {
  guard overrides.isEmpty else {
    throw ZooError(
      "--arg sets arguments of built-in models and definition files; `\(path)` is an ONNX file, whose graph is fixed")
  }
  do {
    return try ONNXImport.load(path, input: input)
  } catch {
    throw ZooError(error.description)
  }
}

/// Loads a built-in model by name, a definition file (`path.yaml` or `path.yaml:model`) or an ONNX file
/// (built for `input` when given).
func loadGraph(_ spec: String, overrides: [(String, String)] = [], input: [Int]? = nil) throws -> Graph {
  if isONNX(spec) { return try importONNX(spec, input: input, overrides: overrides).graph }
  let (file, model) = try loadEntry(spec)
  do {
    return try file.graph(model, overrides: overrides)
  } catch {
    throw ZooError(error.description)
  }
}

private func fileSpec(_ spec: String) -> (String, String?)? {
  let fm = FileManager.default
  if spec.hasSuffix(".yaml") || spec.hasSuffix(".yml") || fm.fileExists(atPath: spec) { return (spec, nil) }
  if let colon = spec.lastIndex(of: ":") {
    let path = String(spec[..<colon])
    if path.hasSuffix(".yaml") || path.hasSuffix(".yml") {
      return (path, String(spec[spec.index(after: colon)...]))
    }
  }
  return nil
}
