import Foundation
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
  /// Where to read the paper (`links:`): arXiv or DOI addresses, in the order of the papers named.
  public var links: [String] = []
  /// Whether the file is part of the built-in zoo (embedded in the binary), for error messages.
  public var isBuiltin = false
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

  /// Parses a definition from its text; `path` is the name errors show. This is the one entry point
  /// from text: it has no side effects beyond its result, and every problem, however hostile the
  /// text, ends in a thrown ``DefinitionError`` (limits: ``YAMLLimits``).
  public init(path: String, text: String) throws(DefinitionError) {
    self.path = path
    let root: Node
    let size = text.utf8.count
    guard size <= YAMLLimits.maxBytes else {
      throw DefinitionError(
        file: path, line: 1, column: 1,
        message: "the file has \(size) bytes; the limit is \(YAMLLimits.maxBytes)")
    }
    // A byte-order mark is allowed at the start and nowhere else.
    var text = text
    if text.hasPrefix("\u{FEFF}") { text.removeFirst() }
    if let bom = text.firstIndex(of: "\u{FEFF}") {
      let (line, column) = Self.position(of: bom, in: text)
      throw DefinitionError(
        file: path, line: line, column: column, message: "a byte-order mark (U+FEFF) in the middle of the file")
    }
    try checkYAMLShape(text, path: path)
    do {
      // No tag resolution: the definitions read scalars as text and give them meaning themselves, and the
      // default resolver's regular expressions cost more to compile than the rest of the parse.
      guard let r = try Yams.compose(yaml: text, .basic) else {
        throw DefinitionError(file: path, line: 1, column: 1, message: "the file is empty")
      }
      root = r
    } catch let e as DefinitionError {
      throw e
    } catch let e as YamlError {
      throw Self.convert(e, path: path, text: text)
    } catch {
      throw DefinitionError(file: path, line: 1, column: 1, message: "cannot read YAML: \(error)")
    }
    func fail(_ n: Node, _ m: String) -> DefinitionError {
      DefinitionError(file: path, line: n.line, column: n.column, message: m)
    }
    guard case .mapping = root else {
      throw fail(root, "a definition file is a mapping with `models:` (and `blocks:`, `network:`)")
    }
    let known = ["family", "description", "paper", "links", "input", "args", "blocks", "network", "models"]
    var family = ""
    var description = ""
    var paper = ""
    var links: [String] = []
    var args: [(String, Node)] = []
    var blocks: [String: BlockDef] = [:]
    var blockOrder: [String] = []
    var models: [ModelEntry] = []
    for (k, v) in try Self.pairs(root, path) {
      switch k {
      case "family": family = v.scalarText ?? ""
      case "description": description = v.scalarText ?? ""
      case "paper": paper = v.scalarText ?? ""
      case "links":
        let items: [Node]
        if case .sequence(let seq) = v { items = Array(seq) } else { items = [v] }
        for item in items {
          guard let url = item.scalarText, url.hasPrefix("https://"), !url.contains(" ") else {
            throw fail(item, "`links:` lists the paper's addresses, each starting with https:// (arXiv or DOI)")
          }
          links.append(url)
        }
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
    self.links = links
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

  /// Parses a definition from raw bytes, which must be UTF-8; an invalid byte is reported with its
  /// offset, line and column.
  public init(path: String, bytes: [UInt8]) throws(DefinitionError) {
    guard bytes.count <= YAMLLimits.maxBytes else {
      throw DefinitionError(
        file: path, line: 1, column: 1,
        message: "the file has \(bytes.count) bytes; the limit is \(YAMLLimits.maxBytes)")
    }
    if let bad = firstInvalidUTF8(bytes) {
      var line = 1
      var lineStart = 0
      for (i, b) in bytes[..<bad].enumerated() where b == UInt8(ascii: "\n") {
        line += 1
        lineStart = i + 1
      }
      let column = String(decoding: bytes[lineStart..<bad], as: UTF8.self).count + 1
      throw DefinitionError(
        file: path, line: line, column: column,
        message: "the file is not UTF-8 text: byte \(bad) (0x\(String(bytes[bad], radix: 16, uppercase: true))) "
          + "does not begin a valid UTF-8 character; save the file as UTF-8")
    }
    try self.init(path: path, text: String(decoding: bytes, as: UTF8.self))
  }

  /// Reads and parses the definition file at `path`, with errors in plain words: no such file, a
  /// folder, not readable, too large, not UTF-8.
  public init(contentsOfFile path: String) throws(DefinitionError) {
    func fail(_ m: String) -> DefinitionError { DefinitionError(file: path, line: 0, column: 0, message: m) }
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
      throw fail("no such file")
    }
    guard !isDirectory.boolValue else { throw fail("this is a folder, not a definition file") }
    guard let handle = FileHandle(forReadingAtPath: path) else {
      throw fail("the file cannot be opened for reading (check its permissions)")
    }
    defer { try? handle.close() }
    let data: Data?
    do {
      // One byte past the limit tells a file at the limit from a larger one (also for devices and pipes).
      data = try handle.read(upToCount: YAMLLimits.maxBytes + 1)
    } catch {
      throw fail("the file cannot be read (\((error as NSError).localizedFailureReason ?? "an I/O error"))")
    }
    let bytes = [UInt8](data ?? Data())
    guard bytes.count <= YAMLLimits.maxBytes else {
      throw fail("the file is larger than the limit of \(YAMLLimits.maxBytes) bytes")
    }
    try self.init(path: path, bytes: bytes)
  }

  /// The 1-based line and column (in characters) of `index` in `text`.
  static func position(of index: String.Index, in text: String) -> (line: Int, column: Int) {
    var line = 1
    var column = 1
    for c in text[..<index] {
      if c == "\n" || c == "\r\n" {
        line += 1
        column = 1
      } else {
        column += 1
      }
    }
    return (line, column)
  }

  /// The key/value pairs of a mapping in file order; duplicate keys are errors.
  static func pairs(_ node: Node, _ path: String) throws(DefinitionError) -> [(String, Node)] {
    if node.isNull { return [] }
    guard case .mapping(let m) = node else {
      throw DefinitionError(
        file: path, line: node.line, column: node.column,
        message: "expected a mapping (`key: value`), found \(node.shortDescription)")
    }
    // Layers have a few keys: a scan finds a repeat sooner than hashing; long mappings use a set.
    var seen: Set<String> = []
    let small = m.count <= 16
    var out: [(String, Node)] = []
    out.reserveCapacity(m.count)
    for (k, v) in m {
      guard let key = k.scalarText else {
        throw DefinitionError(
          file: path, line: k.line, column: k.column, message: "keys must be plain names")
      }
      guard small ? !out.contains(where: { $0.0 == key }) : seen.insert(key).inserted else {
        throw DefinitionError(
          file: path, line: k.line, column: k.column, message: "duplicate key `\(clip(key))`")
      }
      out.append((key, v))
    }
    return out
  }

  static func unknownKey(_ k: String, in what: String, known: [String]) -> String {
    unknown("key", k, known: known) + " in \(what)"
  }

  static func unknown(_ kind: String, _ name: String, known: [String]) -> String {
    var m = "unknown \(kind) `\(clip(name))`"
    if let s = closest(name, among: known) { m += " — did you mean `\(s)`?" }
    return m
  }

  static func convert(_ e: YamlError, path: String, text: String) -> DefinitionError {
    switch e {
    case .scanner(let context, let problem, let mark, _), .parser(let context, let problem, let mark, _),
      .composer(let context, let problem, let mark, _):
      let c = context.map { "\($0.text) " } ?? ""
      var hint = ""
      // libyaml's "cannot start any token" for a tab says nothing of tabs.
      let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
      if mark.line >= 1, mark.line <= lines.count {
        let line = lines[mark.line - 1]
        if let ch = line.dropFirst(mark.column - 1).first, ch == "\t" {
          hint = " (a tab: YAML indents with spaces only)"
        }
      }
      return DefinitionError(
        file: path, line: mark.line, column: mark.column, message: "YAML syntax: \(c)\(problem)\(hint)")
    case .reader(let problem, let offset, let value, _):
      // The offset counts bytes of the UTF-8 text.
      var line = 1
      var column = 1
      if let offset {
        let bytes = Array(text.utf8.prefix(offset))
        let lineStart = (bytes.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 }) ?? 0
        line = bytes.reduce(1) { $0 + ($1 == UInt8(ascii: "\n") ? 1 : 0) }
        column = String(decoding: bytes[lineStart...], as: UTF8.self).count + 1
      }
      let what = value >= 0 ? String(format: " (U+%04X)", Int(value)) : ""
      return DefinitionError(
        file: path, line: line, column: column, message: "YAML cannot read the text: \(problem)\(what)")
    default:
      return DefinitionError(file: path, line: 1, column: 1, message: "cannot read YAML: \(e)")
    }
  }
}

/// The offset of the first byte of `bytes` that does not begin (or continue) a valid UTF-8 character.
func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
  var i = 0
  let n = bytes.count
  while i < n {
    let b = bytes[i]
    if b < 0x80 {
      i += 1
      continue
    }
    let length: Int
    var low: UInt8 = 0x80
    var high: UInt8 = 0xBF
    switch b {
    case 0xC2...0xDF: length = 2
    case 0xE0:
      length = 3
      low = 0xA0
    case 0xE1...0xEC, 0xEE...0xEF: length = 3
    case 0xED:
      length = 3
      high = 0x9F
    case 0xF0:
      length = 4
      low = 0x90
    case 0xF1...0xF3: length = 4
    case 0xF4:
      length = 4
      high = 0x8F
    default: return i
    }
    guard i + length <= n else { return i }
    // The second byte has the tighter range (no overlong forms, no surrogates, nothing past U+10FFFF).
    guard bytes[i + 1] >= low && bytes[i + 1] <= high else { return i }
    for k in 2..<max(length, 2) where bytes[i + k] & 0xC0 != 0x80 { return i }
    i += length
  }
  return nil
}
