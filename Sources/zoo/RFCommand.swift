import ArgumentParser
import Foundation
import ZooAnalysis
import ZooFiles
import ZooGraph
import ZooPlot

struct RFCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rf",
    abstract: "Prints the receptive field of every module: size, effective stride, padding, centre and coverage.",
    discussion: "Output unit u of a layer sees the input pixels u*stride - padding ... u*stride - padding + size - 1 "
      + "(0-based, unclipped). Sizes are per axis (H×W when they differ).\n\n"
      + "Where several paths meet (add, concat) the field spans all of them; paths that disagree on the stride or "
      + "the centre are reported as warnings. After flatten, linear layers and global pooling every output sees "
      + "the whole input: such rows say `global`.\n\n"
      + "Coverage is the share of the input the centre unit's field covers; `*` marks a field larger than "
      + "the input; `~` marks an approximate field (see the warnings). Details and a worked example: "
      + "docs/receptive-fields.md."
  )

  @OptionGroup var options: ModelOptions

  @Option(help: "Shows modules down to this depth (1 = top-level stages).")
  var depth: Int = 3

  @Flag(help: "Prints one JSON object with a row for every module path instead of the table.")
  var json = false

  @Option(
    help: ArgumentHelp(
      "Also draws receptive-field size and effective stride against depth to this file (.svg or .png).",
      valueName: "file"))
  var chart: String?

  @Option(
    help: ArgumentHelp(
      "Also draws which input pixels one unit of the first layers sees, layer by layer (.svg or .png).",
      valueName: "file"))
  var diagram: String?

  func validate() throws {
    guard depth >= 1 else { throw ValidationError("--depth must be at least 1, got \(depth).") }
    for (flag, path) in [("--chart", chart), ("--diagram", diagram)] {
      if let path, !(path.lowercased().hasSuffix(".svg") || path.lowercased().hasSuffix(".png")) {
        throw ValidationError("\(flag) needs a file ending in .svg or .png, got `\(path)`.")
      }
    }
  }

  func run() throws {
    do {
      try Files.requireDistinct(
        outputs: [("--chart", chart), ("--diagram", diagram)].compactMap { f, p in p.map { (f, $0) } },
        inputs: definitionInputs(options.model))
    } catch { throw ZooError(error.description) }
    let graph = try options.graph()
    let rf: ReceptiveFields
    do {
      rf = try ReceptiveFields(graph, input: try options.parsedInput())
    } catch {
      throw ZooError("\(graph.name): \(error)")
    }
    do {
      if let chart { try writeReceptiveFieldChart(rf, to: chart) }
      if let diagram { try writeReceptiveFieldDiagram(rf, to: diagram) }
    } catch {
      throw ZooError("\(graph.name): \(error)")
    }
    if json { print(try jsonString(rfDocument(rf))) } else { printFitted(rfTable(rf, depth: depth)) }
  }
}

/// `195` when both axes agree, else `7×1` (height × width).
func axisPair(_ h: Int, _ w: Int) -> String { h == w ? "\(h)" : "\(h)×\(w)" }

/// `0`, `0.5`, `-2`; `0.5×0` when the axes differ.
func centrePair(_ f: ReceptiveField) -> String {
  func one(_ x: Double) -> String { x == x.rounded() ? String(Int(x)) : String(x) }
  return f.h.centreOffset == f.w.centreOffset
    ? one(f.h.centreOffset) : "\(one(f.h.centreOffset))×\(one(f.w.centreOffset))"
}

/// The receptive-field cell of a row: `195`, `~227`, `global`.
func fieldSize(_ f: ReceptiveField) -> String {
  f.global ? "global" : (f.approximate ? "~" : "") + axisPair(f.h.size, f.w.size)
}

func rfTable(_ rf: ReceptiveFields, depth: Int) -> String {
  let s = rf.summary
  var table = TextTable(
    headers: ["Layer", "Type", "Output", "RF", "Stride", "Padding", "Centre", "Coverage"],
    rightAligned: [3, 4, 5, 6, 7])
  for (i, row) in rf.rows.enumerated() where row.depth <= depth {
    let indent = String(repeating: "  ", count: row.depth - 1)
    let summaryRow = s.rows[i]
    let type = summaryRow.node.map { s.graph.nodes[$0].op.summary } ?? summaryRow.kind
    let f = row.field
    let cells: [String] =
      f.global
      ? ["global", "–", "–", "–", percent(1)]
      : [
        fieldSize(f), axisPair(f.h.stride, f.w.stride), axisPair(f.h.padding, f.w.padding), centrePair(f),
        percent(row.coverage) + (row.outgrowsInput ? "*" : ""),
      ]
    table.rows.append([indent + row.path, type, format(s.shapes[row.node])] + cells)
  }
  var lines = ["\(s.graph.name) · receptive fields · input \(format(s.input))", "", table.render(), ""]
  if !rf.output.global {
    lines.append(
      "Output field: \(fieldSize(rf.output)) pixels, stride \(axisPair(rf.output.h.stride, rf.output.w.stride))")
  }
  if let first = rf.rows.first(where: { $0.outgrowsInput }) {
    lines.append(
      "* The field is larger than the \(s.input[1])×\(s.input[2]) input, first at `\(first.path)`.")
  }
  if let g = rf.globalFrom {
    lines.append("From `\(g.path)` on, every output sees the whole input (global).")
  }
  for w in rf.warnings { lines += fitted(["Warning: \(w)"]).map { Style.warning.apply($0) } }
  lines.append("Unit u sees input pixels u·stride − padding … u·stride − padding + RF − 1; see `zoo rf --help`.")
  return lines.joined(separator: "\n")
}

/// The `zoo rf --json` document: a row for every module path (leaf layers and blocks). Its keys are in
/// DocumentJSON.swift.
struct RFDocument {
  struct Layer {
    var name: String
    var kind: String
    var depth: Int
    var output: [Int]
    var global: Bool
    var approximate: Bool
    /// `[h, w]`, written as `receptive_field` (as in `zoo describe --json` and `zoo compare --json`); null
    /// for global rows, as are `stride`, `padding` and `centre`.
    var size: [Int]?
    var stride: [Int]?
    var padding: [Int]?
    var centre: [Double]?
    var coverage: Double
    var outgrowsInput: Bool
  }
  struct Warning {
    var layer: String
    var message: String
  }
  var model: String
  var input: [Int]
  var layers: [Layer]
  var warnings: [Warning]
}

func rfDocument(_ rf: ReceptiveFields) -> RFDocument {
  let s = rf.summary
  return RFDocument(
    model: s.graph.name, input: s.input,
    layers: zip(rf.rows, s.rows).map { row, srow in
      let f = row.field
      return RFDocument.Layer(
        name: row.path, kind: srow.node == nil ? "module" : "layer", depth: row.depth, output: s.shapes[row.node],
        global: f.global, approximate: f.approximate,
        size: f.global ? nil : [f.h.size, f.w.size], stride: f.global ? nil : [f.h.stride, f.w.stride],
        padding: f.global ? nil : [f.h.padding, f.w.padding],
        centre: f.global ? nil : [f.h.centreOffset, f.w.centreOffset], coverage: row.coverage,
        outgrowsInput: row.outgrowsInput)
    },
    warnings: rf.warnings.map { RFDocument.Warning(layer: $0.layer, message: $0.message) })
}
