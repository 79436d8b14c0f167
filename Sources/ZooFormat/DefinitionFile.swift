@preconcurrency import Yams

/// One parsed definition file: its blocks, its network and its models.
///
/// Layout (docs/format.md):
/// ```yaml
/// family: ResNet
/// paper: He et al., Deep Residual Learning for Image Recognition, CVPR 2016
/// input: [3, 224, 224]          # default input of every model
/// args: {num_classes: 1000}     # network arguments and their defaults (~ = required)
/// blocks: {name: {args: {...}, let: {...}, body: [...]}}
/// network: [...]                # the layers of the whole network
/// models: {resnet18: {block: basic, layers: [2, 2, 2, 2]}}
/// ```
public struct DefinitionFile: @unchecked Sendable {
  public var path: String
  public var family: String
  public var description: String
  public var paper: String
  var defaultInput: Node?
  var args: [(String, Node)]
  var blocks: [String: BlockDef]
  var blockOrder: [String]
  var network: Node?
  public var models: [ModelEntry]

  /// A parameterised group of layers.
  struct BlockDef: @unchecked Sendable {
    var name: String
    var args: [(String, Node)]
    var lets: [(String, Node)]
    var body: Node
    var node: Node
  }

  /// A model of the file: a name, argument values for the network (or for the block it `use`s).
  public struct ModelEntry: @unchecked Sendable {
    public var name: String
    public var description: String?
    var use: String?
    var input: Node?
    var args: [(String, Node)]
    var node: Node
  }

  public init(path: String, text: String) throws(DefinitionError) {
    self.path = path
    let root: Node
    do {
      guard let r = try Yams.compose(yaml: text) else {
        throw DefinitionError(file: path, line: 1, column: 1, message: "the file is empty")
      }
      root = r
    } catch let e as DefinitionError {
      throw e
    } catch let e as YamlError {
      throw Self.convert(e, path: path)
    } catch {
      throw DefinitionError(file: path, line: 1, column: 1, message: "cannot read YAML: \(error)")
    }
    func fail(_ n: Node, _ m: String) -> DefinitionError {
      DefinitionError(file: path, line: n.line, column: n.column, message: m)
    }
    guard case .mapping = root else {
      throw fail(root, "a definition file is a mapping with `models:` (and `blocks:`, `network:`)")
    }
    let known = ["family", "description", "paper", "input", "args", "blocks", "network", "models"]
    var family = ""
    var description = ""
    var paper = ""
    var args: [(String, Node)] = []
    var blocks: [String: BlockDef] = [:]
    var blockOrder: [String] = []
    var models: [ModelEntry] = []
    for (k, v) in try Self.pairs(root, path) {
      switch k {
      case "family": family = v.scalarText ?? ""
      case "description": description = v.scalarText ?? ""
      case "paper": paper = v.scalarText ?? ""
      case "input": defaultInput = v
      case "args": args = try Self.pairs(v, path)
      case "network": network = v
      case "blocks":
        for (name, b) in try Self.pairs(v, path) {
          guard case .mapping = b else { throw fail(b, "block `\(name)` must be a mapping with `body:`") }
          var def = BlockDef(name: name, args: [], lets: [], body: b, node: b)
          var hasBody = false
          for (bk, bv) in try Self.pairs(b, path) {
            switch bk {
            case "args": def.args = try Self.pairs(bv, path)
            case "let": def.lets = try Self.pairs(bv, path)
            case "body":
              def.body = bv
              hasBody = true
            default:
              throw fail(bv, Self.unknownKey(bk, in: "block `\(name)`", known: ["args", "let", "body"]))
            }
          }
          guard hasBody else { throw fail(b, "block `\(name)` has no `body:`") }
          blocks[name] = def
          blockOrder.append(name)
        }
      case "models":
        for (name, m) in try Self.pairs(v, path) {
          var entry = ModelEntry(name: name, args: [], node: m)
          if !m.isNull {
            for (mk, mv) in try Self.pairs(m, path) {
              switch mk {
              case "use": entry.use = mv.scalarText
              case "input": entry.input = mv
              case "description": entry.description = mv.scalarText
              default: entry.args.append((mk, mv))
              }
            }
          }
          models.append(entry)
        }
      default:
        throw fail(v, Self.unknownKey(k, in: "a definition file", known: known))
      }
    }
    guard !models.isEmpty else { throw fail(root, "the file defines no `models:`") }
    self.family = family
    self.description = description
    self.paper = paper
    self.args = args
    self.blocks = blocks
    self.blockOrder = blockOrder
    self.models = models
    for m in models where m.use == nil && network == nil {
      throw fail(m.node, "model `\(m.name)` has no `use:` block and the file has no `network:`")
    }
    for m in models {
      if let use = m.use, blocks[use] == nil {
        throw fail(m.node, Self.unknown("block", use, known: blockOrder))
      }
    }
  }

  /// The key/value pairs of a mapping in file order; duplicate keys are errors.
  static func pairs(_ node: Node, _ path: String) throws(DefinitionError) -> [(String, Node)] {
    if node.isNull { return [] }
    guard case .mapping(let m) = node else {
      throw DefinitionError(
        file: path, line: node.line, column: node.column,
        message: "expected a mapping (`key: value`), found \(node.shortDescription)")
    }
    var seen: Set<String> = []
    var out: [(String, Node)] = []
    for (k, v) in m {
      guard let key = k.scalarText else {
        throw DefinitionError(
          file: path, line: k.line, column: k.column, message: "keys must be plain names")
      }
      guard seen.insert(key).inserted else {
        throw DefinitionError(
          file: path, line: k.line, column: k.column, message: "duplicate key `\(key)`")
      }
      out.append((key, v))
    }
    return out
  }

  static func unknownKey(_ k: String, in what: String, known: [String]) -> String {
    unknown("key", k, known: known) + " in \(what)"
  }

  static func unknown(_ kind: String, _ name: String, known: [String]) -> String {
    var m = "unknown \(kind) `\(name)`"
    if let s = closest(name, among: known) { m += " — did you mean `\(s)`?" }
    return m
  }

  static func convert(_ e: YamlError, path: String) -> DefinitionError {
    switch e {
    case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
      .composer(let context, let problem, let mark, _):
      let c = context.map { "\($0.text) " } ?? ""
      return DefinitionError(
        file: path, line: mark.line, column: mark.column, message: "YAML syntax: \(c)\(problem)")
    default:
      return DefinitionError(file: path, line: 1, column: 1, message: "cannot read YAML: \(e)")
    }
  }
}
