import ZooGraph

/// The built-in definitions (embedded in the binary) and user files, and the models they define.
public struct Zoo: @unchecked Sendable {
  public var files: [DefinitionFile]

  public init(files: [DefinitionFile]) { self.files = files }

  /// The zoo embedded in the binary (generated from `zoo/*.yaml` by `scripts/embed-zoo.sh`).
  public static func builtin() throws(DefinitionError) -> Zoo {
    var files: [DefinitionFile] = []
    for (name, text) in builtinSources {
      var file = try DefinitionFile(path: "zoo/\(name)", text: text)
      file.isBuiltin = true
      files.append(file)
    }
    return Zoo(files: files)
  }

  /// Every built-in model name, in file order, without parsing a file (from the generated index).
  public static var builtinModelNames: [String] { builtinModelIndex.map(\.model) }

  /// The built-in file and entry defining `name`, matched as ``find(_:)`` matches, parsing only that
  /// one file (`zoo describe densenet201` need not parse the other eighteen).
  public static func findBuiltin(_ name: String) throws(DefinitionError) -> (DefinitionFile, DefinitionFile.ModelEntry)?
  {
    let key = loose(name)
    let hit =
      builtinModelIndex.first { $0.model == name }
      ?? {
        let near = builtinModelIndex.filter { loose($0.model) == key }
        return near.count == 1 ? near[0] : nil
      }()
    guard let hit, let text = builtinText(path: "zoo/\(hit.file)") else { return nil }
    var file = try DefinitionFile(path: "zoo/\(hit.file)", text: text)
    file.isBuiltin = true
    guard let entry = file.models.first(where: { $0.name == hit.model }) else { return nil }
    return (file, entry)
  }

  /// Every built-in model's family, paper and figures at its own input, in file order, as
  /// `scripts/embed-zoo.sh` measured them (so `zoo list` builds nothing; a test holds them equal to the
  /// models built now).
  public static var builtinFigures: [BuiltinFigures] { storedBuiltinFigures }

  /// The text of a built-in definition file by its path (`zoo/resnet.yaml`), as embedded.
  public static func builtinText(path: String) -> String? {
    builtinSources.first { "zoo/\($0.name)" == path }?.text
  }

  /// Every model name, in file order.
  public var modelNames: [String] { files.flatMap { $0.models.map(\.name) } }

  /// The file and entry defining `name`: the exact name, or else the one name that equals it ignoring
  /// case, `_`, `-` and `.` (`ResNet50`, `MobileNet-V2`, `wide_resnet50-2`).
  public func find(_ name: String) -> (DefinitionFile, DefinitionFile.ModelEntry)? {
    for f in files {
      if let m = f.models.first(where: { $0.name == name }) { return (f, m) }
    }
    let key = Self.loose(name)
    var found: [(DefinitionFile, DefinitionFile.ModelEntry)] = []
    for f in files {
      for m in f.models where Self.loose(m.name) == key { found.append((f, m)) }
    }
    return found.count == 1 ? found[0] : nil
  }

  /// `name` lowercased without `_`, `-` and `.`: the spelling differences ``find(_:)`` forgives.
  static func loose(_ name: String) -> String {
    String(name.lowercased().filter { $0 != "_" && $0 != "-" && $0 != "." })
  }
}

extension DefinitionFile {
  /// Builds the graph of one model of this file.
  ///
  /// - Parameters:
  ///   - input: the input shape `[C, H, W]` to build at; nil for the file's or model's `input:`.
  ///   - overrides: argument values replacing the model's (`--arg aux_logits=true`), as expressions.
  public func graph(_ model: ModelEntry, input: [Int]? = nil, overrides: [(String, String)] = [])
    throws(DefinitionError) -> Graph
  {
    var values: [(String, Value)] = []
    for (k, text) in overrides {
      do {
        let v = try Evaluator(lookup: { n in self.blocks[n] != nil ? .block(n) : nil }, names: { self.blockOrder })
          .eval(try ExpressionParser.parse(text))
        values.append((k, v))
      } catch {
        throw DefinitionError(
          file: "--arg", line: 0, column: error.offset + 1,
          message: "\(error.message) (at character \(error.offset + 1) of the value)",
          cause: "--arg \(clip(k))=\(clip(text))")
      }
    }
    do {
      var b = Builder(file: self)
      return try b.build(model, input: input, overrides: values)
    } catch {
      guard !values.isEmpty else { throw error }
      // Blame the --arg values when the model builds without them: the one that fails alone, or all.
      var plain = Builder(file: self)
      guard (try? plain.build(model, input: input, overrides: [])) != nil else { throw error }
      var culprits: [Int] = []
      for i in values.indices {
        var single = Builder(file: self)
        if (try? single.build(model, input: input, overrides: [values[i]])) == nil { culprits.append(i) }
      }
      if culprits.isEmpty { culprits = Array(values.indices) }
      var e = error
      e.cause = culprits.map { "--arg \(clip(overrides[$0].0))=\(clip(overrides[$0].1))" }.joined(separator: " ")
      e.context = "\(model.name)" + (e.context.map { "'s \($0)" } ?? "")
      throw e
    }
  }

  /// The arguments `model` takes and the values it builds with (`zoo describe MODEL --args`).
  public func arguments(_ model: ModelEntry) throws(DefinitionError) -> [ModelArgument] {
    try Builder(file: self).arguments(model)
  }

  /// The first model of the file, for `zoo describe my_net.yaml`.
  public func graph(named name: String? = nil) throws(DefinitionError) -> Graph {
    let m = name.flatMap { n in models.first { $0.name == n } } ?? models[0]
    return try graph(m)
  }
}

/// One argument of a model: its name, the value the model builds with (nil: required and not given),
/// and whether the model sets it rather than taking the default.
public struct ModelArgument: Sendable {
  public var name: String
  public var value: Value?
  public var setByModel: Bool
}

/// What `zoo list` shows of a built-in model, stored in the binary by `scripts/embed-zoo.sh`.
public struct BuiltinFigures: Sendable, Equatable {
  public var model, family, paper: String
  /// `[C, H, W]` of one sample, and the main output's shape.
  public var input, output: [Int]
  public var params, macs: Int

  public init(model: String, family: String, paper: String, input: [Int], output: [Int], params: Int, macs: Int) {
    self.model = model
    self.family = family
    self.paper = paper
    self.input = input
    self.output = output
    self.params = params
    self.macs = macs
  }
}

/// The last four-digit year from 1950 to 2099 in a paper reference (`… CVPR 2016` → 2016).
/// (A scan, not a regex: compiling one took `zoo list` twice the instructions of everything else.)
public func paperYear(_ paper: String) -> Int? {
  let b = Array(paper.utf8)
  var year: Int?
  var i = 0
  while i + 4 <= b.count {
    let digits = b[i..<(i + 4)].map { Int($0) - 48 }
    if digits.allSatisfy({ (0...9).contains($0) }) {
      let y = digits.reduce(0) { $0 * 10 + $1 }
      if (1950...2099).contains(y) {
        year = y
        i += 4
        continue
      }
    }
    i += 1
  }
  return year
}
