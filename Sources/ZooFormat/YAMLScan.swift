import CYaml

/// Limits on the shape of a definition's YAML, checked on libyaml's event stream (which keeps its own
/// stacks on the heap) before Yams builds the tree (which it does, and later frees, by recursion).
///
/// The depth limit keeps every recursive walk over the tree (Yams' composer, the builder, the checker)
/// far inside the stack; the node limit stops an alias bomb (`&a [*b, *b, …]` nested a few times, a
/// thousand bytes that stand for a billion values) before anything expands it.
public enum YAMLLimits {
  /// The deepest lists and mappings may nest inside one another. The built-in zoo nests at most 11 deep.
  public static let maxDepth = 100
  /// The most YAML nodes a file may have once every alias (`*name`) is replaced by what it names.
  /// The largest built-in file has about 2,000.
  public static let maxNodes = 250_000
  /// The largest definition file, in bytes.
  public static let maxBytes = 8 << 20
}

/// Checks the nesting depth and the node count after alias expansion of `text`, throwing the first
/// limit passed with its figure (counted over the whole file) and the limit. Syntax errors are left
/// for Yams to report.
func checkYAMLShape(_ text: String, path: String) throws(DefinitionError) {
  var bytes = Array(text.utf8)
  if bytes.isEmpty { return }
  bytes.append(0)
  let problem = bytes.withUnsafeBufferPointer { buf in scan(buf.baseAddress!, count: buf.count - 1) }
  guard let problem else { return }
  throw DefinitionError(file: path, line: problem.line, column: problem.column, message: problem.message)
}

private struct ShapeProblem {
  var line: Int
  var column: Int
  var message: String
}

private func scan(_ input: UnsafePointer<UInt8>, count: Int) -> ShapeProblem? {
  var parser = yaml_parser_t()
  guard yaml_parser_initialize(&parser) == 1 else { return nil }
  defer { yaml_parser_delete(&parser) }
  yaml_parser_set_input_string(&parser, input, count)
  yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING)

  // Expanded sizes: of every open collection so far, and of every anchored node.
  var open: [(size: Int, anchor: String?)] = []
  var anchors: [String: Int] = [:]
  var total = 0
  var deepest = 0
  var deepAt: yaml_mark_t? = nil
  var bigAt: yaml_mark_t? = nil

  func name(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
    p.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
  }
  func add(_ n: Int, at mark: yaml_mark_t) {
    let (t, o) = total.addingReportingOverflow(n)
    total = o ? Int.max : t
    if total > YAMLLimits.maxNodes, bigAt == nil { bigAt = mark }
    if !open.isEmpty {
      let (s, o2) = open[open.count - 1].size.addingReportingOverflow(n)
      open[open.count - 1].size = o2 ? Int.max : s
    }
  }

  var event = yaml_event_t()
  scanning: while true {
    // A syntax error ends the scan; Yams reports it in its words.
    guard yaml_parser_parse(&parser, &event) == 1 else { break }
    defer { yaml_event_delete(&event) }
    let mark = event.start_mark
    switch event.type {
    case YAML_STREAM_END_EVENT:
      break scanning
    case YAML_SCALAR_EVENT:
      add(1, at: mark)
      if let a = name(event.data.scalar.anchor) { anchors[a] = 1 }
    case YAML_ALIAS_EVENT:
      add(name(event.data.alias.anchor).flatMap { anchors[$0] } ?? 1, at: mark)
    case YAML_SEQUENCE_START_EVENT, YAML_MAPPING_START_EVENT:
      let anchor =
        event.type == YAML_SEQUENCE_START_EVENT
        ? name(event.data.sequence_start.anchor) : name(event.data.mapping_start.anchor)
      add(1, at: mark)
      open.append((size: 1, anchor: anchor))
      if open.count > deepest { deepest = open.count }
      if open.count > YAMLLimits.maxDepth, deepAt == nil { deepAt = mark }
    case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
      guard let done = open.popLast() else { break }
      if let a = done.anchor { anchors[a] = done.size }
      // The collection's own size was counted as it grew; only the parent's running size needs it.
      if !open.isEmpty {
        let (s, o) = open[open.count - 1].size.addingReportingOverflow(done.size - 1)
        open[open.count - 1].size = o ? Int.max : s
      }
    default:
      break
    }
  }
  if let m = deepAt {
    return ShapeProblem(
      line: Int(m.line) + 1, column: Int(m.column) + 1,
      message: "lists and mappings nest \(deepest) levels deep; the limit is \(YAMLLimits.maxDepth)")
  }
  if let m = bigAt {
    let figure = total == Int.max ? "more than \(Int.max)" : String(total)
    return ShapeProblem(
      line: Int(m.line) + 1, column: Int(m.column) + 1,
      message: "the file has \(figure) YAML values once its aliases (*name) are expanded; the limit is "
        + "\(YAMLLimits.maxNodes)")
  }
  return nil
}
