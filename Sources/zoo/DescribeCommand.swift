import ArgumentParser
import Foundation
import ZooAnalysis
import ZooFiles
import ZooFormat
import ZooGraph

struct DescribeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "describe",
    abstract: "Prints every module's output shape, parameters and MACs, and the totals.",
    discussion: """
      Conventions (docs/conventions.md):
        Params  every parameter; BN running statistics are buffers.
        MACs    multiply-accumulates of conv and linear layers: kernel
                elements × input channels per group × output elements;
                bias adds are not counted (torchvision's and the papers'
                convention).
        FLOPs   every arithmetic operation: 2 per MAC plus bias adds,
                BN 2 per element, ReLU 1 per element, max pool k²−1 and
                average pool k² per output, add n−1 per element; concat,
                flatten and dropout 0.
        Memory  parameter bytes at --dtype; the inference peak of
                activation bytes by tensor lifetimes; training bytes
                (docs/memory.md).

      How other tools count: fvcore reports MACs as "flops" and adds BN
      (2 per element) and adaptive pooling (1 per input element); ptflops
      reports MACs plus BN, ReLU, pooling and bias adds; torchinfo's
      "mult-adds" include bias adds and a small BN term.
      """
  )

  @OptionGroup var options: ModelOptions

  @Option(help: "The number of samples per batch; MACs, FLOPs and activations scale with it.")
  var batch: Int = 1

  @Option(help: "Shows modules down to this depth (1 = top-level stages). Totals always cover everything.")
  var depth: Int = 3

  @Flag(help: "Prints one JSON object (schema in docs/json.md) instead of the table.")
  var json = false

  @OptionGroup var memory: MemoryOptions

  @Flag(help: "Prints the shares of parameters, MACs and activation memory per stage, per op class and the top layers.")
  var shares = false

  @Flag(help: "Lists the arguments the model takes, with the values it builds with, instead of the table.")
  var args = false

  @Option(
    help: ArgumentHelp(
      "The table's columns after the layer, comma-separated: type, input, output, params, params-percent, macs, rf (default type,output,params,macs,rf).",
      valueName: "names"))
  var columns: String?

  @Flag(help: "Lists every module of a run of identical ones instead of folding the run into one row.")
  var expand = false

  func validate() throws {
    guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch).") }
    guard depth >= 1 else { throw ValidationError("--depth must be at least 1, got \(depth).") }
    if let columns { _ = try DescribeColumn.parse(columns) }
  }

  func run() throws {
    if args {
      print(try argumentsText(options.model))
      return
    }
    let (graph, notes) = try options.graphAndNotes()
    let summary: Summary
    do {
      summary = try Summary(graph, input: try options.parsedInput(), batch: batch)
    } catch {
      throw ZooError("\(graph.name): \(error)")
    }
    let figures = try MemoryFigures(summary, memory)
    if json {
      var doc = describeDocument(summary)
      if !notes.isEmpty { doc.notes = notes }
      doc.memory = MemoryDocument(summary, figures)
      if shares { doc.shares = SharesDocument(try Shares(summary, liveness: figures.liveness)) }
      print(try jsonString(doc))
    } else if shares {
      printFitted(sharesText(try Shares(summary, liveness: figures.liveness), summary, figures))
    } else {
      printFitted(
        describeTable(
          summary, depth: depth, columns: try columns.map(DescribeColumn.parse) ?? DescribeColumn.defaults,
          fold: !expand)
          + "\n\n" + memoryFooter(summary, figures).joined(separator: "\n")
          + notes.map { "\nNote: " + $0 }.joined())
    }
  }
}

/// A column of `zoo describe`'s table (torchinfo's `col_names`), in the order given to `--columns`.
enum DescribeColumn: String, CaseIterable {
  case type, input, output, params
  case paramsPercent = "params-percent"
  case macs, rf

  var header: String {
    switch self {
    case .type: "Type"
    case .input: "Input"
    case .output: "Output"
    case .params: "Params"
    case .paramsPercent: "Params %"
    case .macs: "MACs"
    case .rf: "RF"
    }
  }

  static let defaults: [DescribeColumn] = [.type, .output, .params, .macs, .rf]

  /// `"input,output,params"` → the columns; the error names the unknown one and lists the valid names.
  static func parse(_ text: String) throws -> [DescribeColumn] {
    try text.split(separator: ",").map { part in
      let name = part.trimmingCharacters(in: .whitespaces).lowercased()
      guard let c = DescribeColumn(rawValue: name) else {
        throw ValidationError(
          "--columns: `\(name)` is not a column; choose from \(allCases.map(\.rawValue).joined(separator: ", ")).")
      }
      return c
    }
  }
}

/// Runs of identical sibling modules, as the diagrams fold them: for the index of a module row whose next
/// two or more siblings are the same (kind, parameters, MACs, output shape and layer count), the indices
/// of those followers. The first of a run is shown in full; the followers become one row.
func identicalRuns(_ s: Summary) -> [Int: [Int]] {
  func parent(_ path: String) -> String { path.lastIndex(of: ".").map { String(path[..<$0]) } ?? "" }
  var children: [String: [Int]] = [:]
  for (i, r) in s.rows.enumerated() { children[parent(r.path), default: []].append(i) }
  struct Signature: Equatable {
    var kind: String
    var params, macs, layers: Int
    var output: [Int]
  }
  func signature(_ i: Int) -> Signature? {
    let r = s.rows[i]
    guard r.node == nil else { return nil }
    return Signature(
      kind: r.kind, params: r.counts.params, macs: r.counts.macs, layers: r.nodes.count, output: r.output)
  }
  var runs: [Int: [Int]] = [:]
  for list in children.values {
    var k = 0
    while k < list.count {
      guard let sig = signature(list[k]) else {
        k += 1
        continue
      }
      var end = k + 1
      while end < list.count, signature(list[end]) == sig { end += 1 }
      if end - k >= 3 { runs[list[k]] = Array(list[(k + 1)..<end]) }
      k = end
    }
  }
  return runs
}

func describeTable(
  _ s: Summary, depth: Int, columns: [DescribeColumn] = DescribeColumn.defaults, fold: Bool = true
) -> String {
  let headers = ["Layer"] + columns.map(\.header)
  let numeric: Set<DescribeColumn> = [.params, .paramsPercent, .macs, .rf]
  var table = TextTable(
    headers: headers,
    rightAligned: Set(columns.enumerated().filter { numeric.contains($0.element) }.map { $0.offset + 1 }))
  let fields = columns.contains(.rf) ? try? ReceptiveFields(s) : nil
  // With a batch, shapes carry it in front, as PyTorch's do: 8×64×112×112.
  func shape(_ x: [Int]) -> String { s.batch > 1 ? format([s.batch] + x) : format(x) }
  let total = s.totals.params
  // Inside a lone top-level wrapper (DenseNet's `features`) depths count from its children, as the
  // gallery and `compare --by stage` count stages.
  let wrapper = s.loneWrapper
  let stageDepths = s.rows.map { s.stageDepth($0) }
  let runs = fold ? identicalRuns(s) : [:]
  // The followers of a folded run (one row for all of them) and the prefixes of their sub-rows.
  var folded: [Int: [Int]] = [:]
  for followers in runs.values { folded[followers[0]] = followers }
  var skip: [String] = []
  var foldedAny = false
  for (i, row) in s.rows.enumerated() where stageDepths[i] <= depth {
    if skip.contains(where: { row.path == $0 || row.path.hasPrefix($0 + ".") }) { continue }
    let indent = String(repeating: "  ", count: row.depth - 1)
    if let followers = folded[i] {
      // One row for n identical modules: their paths, n × kind, and their summed figures.
      let last = s.rows[followers.last!]
      skip += followers.map { s.rows[$0].path }
      foldedAny = true
      let params = followers.reduce(0) { $0 + s.rows[$1].counts.params }
      let macs = followers.reduce(0) { $0 + s.rows[$1].counts.macs }
      var cells = [indent + "\(row.path) … \(last.path)"]
      for c in columns {
        switch c {
        case .type: cells.append("\(followers.count) × \(row.kind)")
        case .input:
          cells.append(row.nodes.first.flatMap { s.graph.nodes[$0].inputs.first }.map { shape(s.shapes[$0]) } ?? "–")
        case .output: cells.append(shape(last.output))
        case .params: cells.append(params == 0 ? "–" : grouped(params))
        case .paramsPercent: cells.append(params == 0 || total == 0 ? "–" : percent(Double(params) / Double(total)))
        case .macs: cells.append(macs == 0 ? "–" : grouped(macs))
        case .rf: cells.append(fields.map { fieldSize($0.rows[followers.last!].field) } ?? "?")
        }
      }
      table.rows.append(cells)
      continue
    }
    let hidden = row.node == nil && row.path != wrapper && stageDepths[i] == depth && row.nodes.count > 0
    var cells = [indent + row.path + (hidden ? " …" : "")]
    for c in columns {
      switch c {
      case .type: cells.append(row.node.map { s.graph.nodes[$0].op.summary } ?? row.kind)
      case .input:
        // A module's input: its first layer's first input.
        let first = row.node ?? row.nodes.first
        cells.append(first.flatMap { s.graph.nodes[$0].inputs.first }.map { shape(s.shapes[$0]) } ?? "–")
      case .output: cells.append(shape(row.output))
      case .params: cells.append(row.counts.params == 0 ? "–" : grouped(row.counts.params))
      case .paramsPercent:
        cells.append(
          row.counts.params == 0 || total == 0 ? "–" : percent(Double(row.counts.params) / Double(total)))
      case .macs: cells.append(row.counts.macs == 0 ? "–" : grouped(row.counts.macs))
      case .rf: cells.append(fields.map { fieldSize($0.rows[i].field) } ?? "?")
      }
    }
    table.rows.append(cells)
  }
  let t = s.totals
  let g = s.graph
  var lines = [
    "\(g.name) (\(g.family)) · input \(format(s.input)) · batch \(s.batch)", "", table.render(), "",
    "Output:         \(format(s.output))" + (g.outputs.count > 1 ? " (+\(g.outputs.count - 1) auxiliary)" : ""),
    Style.header.apply("Params:         \(grouped(t.params)) (\(compact(t.params)))")
      + " — trainable \(grouped(t.trainableParams)), non-trainable \(grouped(t.params - t.trainableParams))",
    "Buffers:        \(grouped(t.bufferElements)) elements (BN running statistics)",
    Style.header.apply("MACs:           \(grouped(t.macs)) (\(compact(t.macs)))"),
    "FLOPs:          \(grouped(t.flops)) (\(compact(t.flops)))",
    "Activations:    \(grouped(t.outputElements)) output elements in all",
    "",
    "MACs count conv and linear multiply-accumulates, no bias; see `zoo describe --help`.",
    "RF is the receptive field in input pixels (H×W when they differ); `zoo rf` explains it.",
  ]
  if depth < (s.rows.map { s.stageDepth($0) }.max() ?? 0) {
    lines.append("Modules marked … hold more layers; use --depth to see them.")
  }
  if foldedAny {
    lines.append("A row `a … b` of `n × kind` stands for n modules identical to the one above it (figures summed);")
    lines.append("--expand lists them.")
  }
  return lines.joined(separator: "\n")
}

/// The `--json` document. Keys are stable; docs/json.md describes them.
struct DescribeDocument {
  struct Totals {
    var params, trainableParams, nonTrainableParams, bufferElements, macs, flops, activationElements: Int
  }
  struct Layer {
    var name: String
    var op: String
    var kind: String
    var depth: Int
    var output: [Int]
    var params: Int
    var macs: Int
    var flops: Int
    /// Receptive-field size `[h, w]` in input pixels; absent when the field is the whole input.
    var receptiveField: [Int]?
  }
  struct Tensor {
    var name: String
    var shape: [Int]
    var kind: String
    var trainable: Bool
  }
  var model: String
  var family: String
  var input: [Int]
  var batch: Int
  var output: [Int]
  var totals: Totals
  var layers: [Layer]
  var tensors: [Tensor]
  /// Memory figures (docs/memory.md); set by `describe`.
  var memory: MemoryDocument? = nil
  /// What the ONNX importer noted (batch norm folded by the exporter, dimensions fixed by --input).
  var notes: [String]? = nil
  /// Present with `--shares`.
  var shares: SharesDocument? = nil
}

func describeDocument(_ s: Summary) -> DescribeDocument {
  let t = s.totals
  let fields = try? ReceptiveFields(s)
  return DescribeDocument(
    model: s.graph.name, family: s.graph.family, input: s.input, batch: s.batch, output: s.output,
    totals: .init(
      params: t.params, trainableParams: t.trainableParams, nonTrainableParams: t.params - t.trainableParams,
      bufferElements: t.bufferElements, macs: t.macs, flops: t.flops, activationElements: t.outputElements),
    layers: s.rows.enumerated().map { i, r in
      let f = fields?.rows[i].field
      return DescribeDocument.Layer(
        name: r.path, op: r.node.map { s.graph.nodes[$0].op.kindName } ?? r.kind,
        kind: r.node == nil ? "module" : "layer", depth: r.depth, output: r.output, params: r.counts.params,
        macs: r.counts.macs, flops: r.counts.flops,
        receptiveField: f.flatMap { $0.global ? nil : [$0.h.size, $0.w.size] })
    },
    tensors: s.graph.nodes.flatMap(\.tensors).map {
      DescribeDocument.Tensor(name: $0.name, shape: $0.shape, kind: $0.kind.rawValue, trainable: $0.trainable)
    })
}

func describeJSON(_ s: Summary) throws -> String {
  try jsonString(describeDocument(s))
}

func jsonString<T: Encodable>(_ value: T) throws -> String { try JSONOutput.string(value) }

/// `zoo describe MODEL --args`: each argument, its value for this model, and where the value comes from.
func argumentsText(_ spec: String) throws -> String {
  let (file, model) = try loadEntry(spec)
  let arguments: [ModelArgument]
  do { arguments = try file.arguments(model) } catch { throw ZooError(error.description) }
  guard !arguments.isEmpty else { return "\(model.name) takes no arguments." }
  var t = TextTable(headers: ["Argument", "Value", "From"], rightAligned: [])
  for a in arguments {
    t.rows.append([
      a.name, a.value.map(\.description) ?? "(required)", a.setByModel ? "the model" : "the default",
    ])
  }
  return "\(model.name) (\(file.family.isEmpty ? file.path : file.family)): change one with --arg NAME=VALUE.\n\n"
    + t.render()
}
