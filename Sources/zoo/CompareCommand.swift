import ArgumentParser
import Foundation
import ZooAnalysis
import ZooGraph

struct CompareCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "compare",
    abstract: "Puts models, definition files or snippets side by side, with ratios to the first.",
    discussion: """
      Rows: input and output shapes, parameters, MACs, FLOPs, parameter bytes, the inference peak of \
      activation memory, the training figure (weights, gradients, optimiser state and the activations \
      kept for the backward pass), and the depth in weight layers (conv and linear layers on the \
      longest path; batch norm excluded). Ratios: ×r means r times the first column's value, ÷r means \
      r times less. Memory model: docs/memory.md. For small models (snippets and single blocks, at most \
      12 layers with weights) the parameters and MACs are also written as sums over those layers, with each \
      model's description, so every ratio can be read back to the layers that make it.

      Examples:
        zoo compare vgg16 googlenet resnet50 densenet121
        zoo compare plain3x3_256 bottleneck_256 depthwise_separable_256
        zoo compare resnet18 resnet34 --by stage
      """
  )

  enum Grouping: String, ExpressibleByArgument, CaseIterable {
    case stage
  }

  @Argument(
    help: ArgumentHelp(
      "Two or more built-in model names or definition files; `FILE:MODEL` picks a model of a file.",
      valueName: "model|file"), completion: modelCompletion)
  var models: [String] = []

  @Option(
    help: ArgumentHelp(
      "The input of one sample as CxHxW for every model, for example 3x320x320. Defaults to each model's own input.",
      valueName: "CxHxW"))
  var input: String?

  @Option(
    name: .customLong("arg"),
    help: ArgumentHelp(
      "Overrides an argument of every model, for example `--arg num_classes=10`. Repeatable.",
      valueName: "name=value"))
  var args: [String] = []

  @Option(help: "The number of samples per batch; MACs, FLOPs and activation memory scale with it.")
  var batch: Int = 1

  @OptionGroup var memory: MemoryOptions

  @Option(
    help: ArgumentHelp(
      "Groups the rows: `stage` prints one row per stage (top-level module or layer), aligned by name across the models.",
      valueName: "grouping"))
  var by: Grouping?

  @Flag(help: "Prints one JSON object (schema in docs/memory.md) instead of the table.")
  var json = false

  func validate() throws {
    guard models.count >= 2 else {
      throw ValidationError(
        "compare needs at least two models, got \(models.count)\(models.isEmpty ? "" : " (`\(models[0])`)").")
    }
    guard batch >= 1 else { throw ValidationError("--batch must be at least 1, got \(batch).") }
    _ = try parsedInput()
    _ = try parseArgOverrides(args)
  }

  func parsedInput() throws -> [Int]? { try input.map(parseInputShape) }

  func run() throws {
    let shape = try parsedInput()
    var entries: [ComparedModel] = []
    for spec in models {
      let graph = try loadGraph(spec, overrides: isONNX(spec) ? [] : try parseArgOverrides(args), input: shape)
      let summary: Summary
      do {
        summary = try Summary(graph, input: shape, batch: batch)
      } catch {
        throw ZooError("\(graph.name): \(error)")
      }
      let fields: ReceptiveFields
      do {
        fields = try ReceptiveFields(summary)
      } catch {
        throw ZooError("\(graph.name): \(error)")
      }
      entries.append(
        ComparedModel(summary: summary, memory: try MemoryFigures(summary, memory), fields: fields))
    }
    if json {
      print(try jsonString(CompareDocument(entries, options: memory, batch: batch, byStage: by == .stage)))
    } else if by == .stage {
      printFitted(compareStagesTable(entries))
    } else {
      printFitted(compareTable(entries, options: memory, batch: batch))
    }
  }
}

/// One column of `zoo compare`.
struct ComparedModel {
  var summary: Summary
  var memory: MemoryFigures
  var fields: ReceptiveFields

  var name: String { summary.graph.name }
  var depth: Int { summary.graph.weightDepth }
  /// The receptive field of the last layer that is not global (the final feature map), `[h, w]`.
  var receptiveField: [Int]? {
    // The input's own 1-pixel field is no answer (a snippet that upsamples first has no exact field).
    guard let f = fields.nodes.dropFirst().last(where: { !$0.global && !$0.approximate }) else { return nil }
    return [f.h.size, f.w.size]
  }
  /// Parameters of the fully connected (and RBF) layers.
  var linearParams: Int {
    summary.graph.nodes.filter { $0.op.opClass == .linear }.reduce(0) { $0 + summary.nodeCounts[$1.id].params }
  }
}

/// `v / base` as `×r` (more) or `÷r` (less), with three significant figures at most below 1,000 and
/// thousands separators from there on (`×37,142`, as the ratios of `zoo explain`).
func ratioText(_ v: Int, _ base: Int) -> String {
  guard base != 0 else { return v == 0 ? "×1" : "" }
  guard v != 0 else { return "×0" }
  let r = Double(v) / Double(base)
  let (sign, x) = r >= 1 ? ("×", r) : ("÷", 1 / r)
  if x >= 999.5 { return sign + grouped(Int(x.rounded())) }
  let digits = x >= 100 ? "%.0f" : x >= 10 ? "%.1f" : "%.2f"
  return sign + String(format: digits, x)
}

/// The table turned on its side, for more models than fit across the terminal: one row per model, the
/// figures in units (`138.36 M`, `15.47 G`, `553.43 MB`), each with its ratio to the first model.
func compareSideTable(_ ms: [ComparedModel], options: MemoryOptions, batch: Int) -> String {
  let base = ms[0]
  var first = true
  func cell(_ m: ComparedModel, _ value: (ComparedModel) -> Int, _ text: (Int) -> String) -> String {
    let v = value(m)
    return first ? text(v) : "\(text(v)) \(ratioText(v, value(base)))"
  }
  var t = TextTable(
    headers: ["Model", "Params", "MACs", "Inference peak", "Training", "RF", "Depth"],
    rightAligned: [1, 2, 3, 4, 5, 6])
  for m in ms {
    let rf = m.receptiveField.map { $0[0] == $0[1] ? "\($0[0]) px" : "\($0[0])×\($0[1]) px" } ?? "–"
    t.rows.append([
      m.name, cell(m, { $0.summary.totals.params }, compact), cell(m, { $0.summary.totals.macs }, compact),
      cell(m, { $0.memory.liveness.peakBytes }, byteText), cell(m, { $0.memory.training.totalBytes }, byteText),
      rf, cell(m, { $0.depth }, String.init),
    ])
    first = false
  }
  let o = options
  return [
    t.render(), "",
    "Turned on its side to fit \(outputWidth) columns (COLUMNS); --json has every figure.",
    "Bytes at \(o.dtype.rawValue), batch \(batch); training: weights, gradients, \(o.optimizer.rawValue) state and "
      + "saved activations.",
    "Memory model: docs/memory.md. Depth: weight layers on the longest path.",
    "×r: r times the first model; ÷r: r times less.",
  ].joined(separator: "\n")
}

/// The side-by-side table: one row per figure, one column per model; turned on its side
/// (``compareSideTable(_:options:batch:)``) when it is wider than the terminal.
func compareTable(_ ms: [ComparedModel], options: MemoryOptions, batch: Int) -> String {
  var t = TextTable(headers: [""] + ms.map(\.name), rightAligned: Set(1...ms.count))
  func row(_ label: String, _ value: (ComparedModel) -> Int, text: (Int) -> String = grouped) {
    let base = value(ms[0])
    t.rows.append(
      [label]
        + ms.enumerated().map { i, m in
          let v = value(m)
          return i == 0 ? text(v) : "\(text(v)) (\(ratioText(v, base)))"
        })
  }
  t.rows.append(["Family"] + ms.map(\.summary.graph.family))
  t.rows.append(["Input"] + ms.map { format($0.summary.input) })
  t.rows.append(["Output"] + ms.map { format($0.summary.output) })
  row("Params") { $0.summary.totals.params }
  t.rows.append(
    ["  in linear layers"]
      + ms.map { m in
        let linear = m.linearParams
        let total = m.summary.totals.params
        return "\(grouped(linear)) (\(percent(total == 0 ? 0 : Double(linear) / Double(total))))"
      })
  row("MACs") { $0.summary.totals.macs }
  row("FLOPs") { $0.summary.totals.flops }
  row("Param bytes") { $0.memory.training.paramBytes }
  row("Inference peak") { $0.memory.liveness.peakBytes }
  t.rows.append(["  at layer"] + ms.map { $0.summary.graph.nodes[$0.memory.liveness.peakNode].name })
  row("Training bytes") { $0.memory.training.totalBytes }
  row("  saved activations") { $0.memory.training.savedActivationBytes }
  t.rows.append(
    ["Receptive field"]
      + ms.map { m in
        guard let rf = m.receptiveField else { return "–" }
        return rf[0] == rf[1] ? "\(rf[0]) px" : "\(rf[0])×\(rf[1]) px"
      })
  row("Depth (weight layers)") { $0.depth }
  if t.width > outputWidth { return compareSideTable(ms, options: options, batch: batch) }
  let o = options
  var lines = [t.render(), ""]
  let breakdown = compareBreakdown(ms)
  if !breakdown.isEmpty { lines += breakdown + [""] }
  return
    (lines + [
      "Bytes at \(o.dtype.rawValue), batch \(batch); training: weights, gradients, \(o.optimizer.rawValue) state and "
        + "saved activations.",
      "Memory model: docs/memory.md. ×r: r times the first column; ÷r: r times less.",
    ]).joined(separator: "\n")
}

/// A model's top-level rows: name, weight layers, parameters, MACs.
private func stageRows(_ s: Summary) -> [(name: String, layers: Int, params: Int, macs: Int)] {
  s.stageRows.map { r in
    let layers = r.nodes.filter { s.graph.nodes[$0].isWeightLayer }.count
    return (r.path, layers, r.counts.params, r.counts.macs)
  }
}

/// Stage names of all models in one order: each model's stages in its own order, a new name placed
/// after the name that precedes it in its model.
func alignedStageNames(_ lists: [[String]]) -> [String] {
  var names: [String] = []
  for list in lists {
    var at = 0
    for name in list {
      if let i = names.firstIndex(of: name) {
        at = i + 1
      } else {
        names.insert(name, at: at)
        at += 1
      }
    }
  }
  return names
}

func compareStagesTable(_ ms: [ComparedModel]) -> String {
  let per = ms.map { stageRows($0.summary) }
  let names = alignedStageNames(per.map { $0.map(\.name) })
  var headers = ["Stage"]
  for m in ms { headers += ["\(m.name) layers", "params", "MACs"] }
  var t = TextTable(headers: headers, rightAligned: Set(1..<headers.count))
  for name in names {
    let base = per[0].first { $0.name == name }
    var row = [name]
    for (i, list) in per.enumerated() {
      guard let st = list.first(where: { $0.name == name }) else {
        row += ["–", "–", "–"]
        continue
      }
      func cell(_ v: Int, _ b: Int?) -> String {
        let text = v == 0 ? "–" : grouped(v)
        guard i > 0, let b, v != 0 || b != 0 else { return text }
        return "\(text) (\(ratioText(v, b)))"
      }
      row += [cell(st.layers, base?.layers), cell(st.params, base?.params), cell(st.macs, base?.macs)]
    }
    t.rows.append(row)
  }
  var total = ["total"]
  for (i, m) in ms.enumerated() {
    let b = ms[0]
    let cells = [
      (m.summary.graph.weightLayerCount, b.summary.graph.weightLayerCount),
      (m.summary.totals.params, b.summary.totals.params), (m.summary.totals.macs, b.summary.totals.macs),
    ]
    total += cells.map { v, base in i == 0 ? grouped(v) : "\(grouped(v)) (\(ratioText(v, base)))" }
  }
  t.rows.append(total)
  return [
    t.render(), "",
    "Stages are the top-level modules and layers (a lone `features` wrapper is opened), matched by name;",
    "layers are weight layers (conv, linear).",
    "×r: r times the first model's stage; ÷r: r times less.",
  ].joined(separator: "\n")
}

/// `zoo compare --json`.
struct CompareDocument: Encodable {
  struct Model: Encodable {
    var model, family: String
    var input, output: [Int]
    var params, macs, flops: Int
    /// Conv and linear layers on the longest path (`Depth (weight layers)` in the table); `depth` in the
    /// other commands' JSON is the nesting of a module path.
    var weightLayers: Int
    /// The final feature map's receptive field `[h, w]` (null when every layer is global).
    var receptiveField: [Int]?
    var memory: MemoryDocument
    /// Each figure divided by the first model's.
    var ratios: [String: Double]
  }
  struct Stage: Encodable {
    struct Cell: Encodable { var weightLayers, params, macs: Int }
    var stage: String
    /// One per model, in argument order; null where the model has no such stage.
    var models: [Cell?]
  }
  var dtype, optimizer: String
  var batch: Int
  var models: [Model]
  var stages: [Stage]?

  init(_ ms: [ComparedModel], options: MemoryOptions, batch: Int, byStage: Bool) {
    dtype = options.dtype.rawValue
    optimizer = options.optimizer.rawValue
    self.batch = batch
    func figures(_ m: ComparedModel) -> [String: Int] {
      [
        "params": m.summary.totals.params, "macs": m.summary.totals.macs, "flops": m.summary.totals.flops,
        "param_bytes": m.memory.training.paramBytes, "inference_peak_bytes": m.memory.liveness.peakBytes,
        "training_bytes": m.memory.training.totalBytes, "weight_layers": m.depth,
      ]
    }
    let base = figures(ms[0])
    models = ms.map { m in
      var ratios: [String: Double] = [:]
      for (k, v) in figures(m) {
        if let b = base[k], b != 0 { ratios[k] = Double(v) / Double(b) }
      }
      let s = m.summary
      return Model(
        model: s.graph.name, family: s.graph.family, input: s.input, output: s.output, params: s.totals.params,
        macs: s.totals.macs, flops: s.totals.flops, weightLayers: m.depth, receptiveField: m.receptiveField,
        memory: MemoryDocument(s, m.memory),
        ratios: ratios)
    }
    if byStage {
      let per = ms.map { stageRows($0.summary) }
      stages = alignedStageNames(per.map { $0.map(\.name) }).map { name in
        Stage(
          stage: name,
          models: per.map { list in
            list.first { $0.name == name }.map {
              Stage.Cell(weightLayers: $0.layers, params: $0.params, macs: $0.macs)
            }
          })
      }
    }
  }
}
