/// The `--json` writer of every command: the text Foundation's `JSONEncoder` writes with
/// `[.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]` and `.convertToSnakeCase`, byte for byte
/// (a test holds the two equal on edge cases and on the commands' documents), in about 60% of its instructions.
///
/// `zoo describe densenet201 --json` is 480 KB; through `JSONEncoder` its encoding alone took more
/// instructions than parsing and building the model. This encoder builds one array of nodes with no boxing
/// through Foundation's containers and writes it once.
public enum JSONOutput {
  /// Encodes `value` as pretty-printed JSON with sorted snake-case keys.
  public static func string<T: Encodable>(_ value: T) throws -> String {
    let tree = Tree()
    let root = tree.add(key: "")
    try value.encode(to: TreeEncoder(slot: root, tree: tree, codingPath: []))
    let out = JSONBytes(capacity: 1 << 16)
    tree.write(root, indent: 0, into: out)
    return out.string
  }

  /// `receptiveField` → `receptive_field`, `weightLayers` → `weight_layers`, `peakRSS` → `peak_rss`:
  /// Foundation's `convertToSnakeCase` word splitting, step for step (a word ends before each capital; a
  /// run of capitals is a word up to the capital before the next lower-case letter, so `RSSPeak` becomes
  /// `r_ss_peak` there too), with leading and trailing underscores kept.
  public static func snakeCase(_ key: String) -> String {
    let all = Array(key)
    guard let first = all.firstIndex(where: { $0 != "_" }) else { return key }
    let last = all.lastIndex(where: { $0 != "_" })!
    let c = Array(all[first...last])
    var words: [ArraySlice<Character>] = []
    var wordStart = 0
    var searchStart = 1
    while let upper = c[min(searchStart, c.count)...].firstIndex(where: \.isUppercase) {
      words.append(c[wordStart..<upper])
      guard let lower = c[upper...].firstIndex(where: \.isLowercase) else {
        wordStart = upper
        searchStart = c.count
        break
      }
      if lower == upper + 1 {
        wordStart = upper
      } else {
        words.append(c[upper..<(lower - 1)])
        wordStart = lower - 1
      }
      searchStart = lower + 1
    }
    words.append(c[wordStart...])
    let body = words.map { String($0).lowercased() }.joined(separator: "_")
    return String(all[..<first]) + body + String(all[(last + 1)...])
  }

  /// The document being built, as one array of nodes (no object per value): a container's children
  /// are a linked list through `next`, filled in as the encoder reaches them. `keys` caches the
  /// snake-case form of each coding key (a document repeats a handful of keys thousands of times).
  final class Tree {
    enum Kind { case null, bool, number, string, array, object }
    struct Node {
      var kind = Kind.null
      /// The number's digits, the string, or "true"/"false".
      var text = ""
      /// The key under which this node sits in its object.
      var key: String
      var first = -1
      var last = -1
      var next = -1
    }
    var nodes: [Node] = []
    var keys: [String: String] = [:]

    func snake(_ key: String) -> String {
      if let k = keys[key] { return k }
      let k = JSONOutput.snakeCase(key)
      keys[key] = k
      return k
    }

    /// A new null node; with a `parent`, appended to its children.
    func add(key: String, to parent: Int? = nil) -> Int {
      let i = nodes.count
      nodes.append(Node(key: key))
      if let parent {
        if nodes[parent].last >= 0 { nodes[nodes[parent].last].next = i } else { nodes[parent].first = i }
        nodes[parent].last = i
      }
      return i
    }

    func set(_ i: Int, _ kind: Kind, _ text: String = "") {
      nodes[i].kind = kind
      nodes[i].text = text
    }

    func children(_ i: Int) -> [Int] {
      var out: [Int] = []
      var c = nodes[i].first
      while c >= 0 {
        out.append(c)
        c = nodes[c].next
      }
      return out
    }

    /// Writes node `i` at nesting `indent` with the layout ``JSONValue`` writes (``JSONBytes``).
    func write(_ i: Int, indent: Int, into out: JSONBytes) {
      switch nodes[i].kind {
      case .null: out.append("null")
      case .bool, .number: out.append(utf8Of: nodes[i].text)
      case .string: out.appendQuoted(nodes[i].text)
      case .array, .object:
        let object = nodes[i].kind == .object
        var items = children(i)
        if object { items.sort { nodes[$0].key < nodes[$1].key } }
        out.open(UInt8(ascii: object ? "{" : "["), empty: items.isEmpty)
        for (n, c) in items.enumerated() {
          out.pad(indent + 2)
          if object {
            out.appendQuoted(nodes[c].key)
            out.append(" : ")
          }
          write(c, indent: indent + 2, into: out)
          out.endItem(last: n + 1 == items.count)
        }
        out.close(UInt8(ascii: object ? "}" : "]"), indent: indent)
      }
    }
  }

  /// Fills node `slot` with a primitive; false when `value` is not one (it then encodes itself).
  static func primitive(_ value: some Encodable, into slot: Int, of tree: Tree, at path: () -> [any CodingKey]) throws
    -> Bool
  {
    switch value {
    case let v as String: tree.set(slot, .string, v)
    case let v as Int: tree.set(slot, .number, String(v))
    case let v as Double: tree.set(slot, .number, try JSONValue.numberText(v, at: path()))
    case let v as Bool: tree.set(slot, .bool, v ? "true" : "false")
    case let v as Float: tree.set(slot, .number, try JSONValue.numberText(v, at: path()))
    case let v as Int64: tree.set(slot, .number, String(v))
    case let v as Int32: tree.set(slot, .number, String(v))
    case let v as UInt64: tree.set(slot, .number, String(v))
    case let v as UInt: tree.set(slot, .number, String(v))
    default: return false
    }
    return true
  }

  /// `path` is computed only for an error or a value that encodes itself (most values are primitives).
  static func encode(
    _ value: some Encodable, into slot: Int, of tree: Tree, at path: @autoclosure () -> [any CodingKey]
  ) throws {
    if try primitive(value, into: slot, of: tree, at: path) { return }
    if let dictionary = value as? [String: any Encodable] {
      // A dictionary's own keys are data, not coding keys: Foundation writes them unconverted.
      tree.set(slot, .object)
      for (key, element) in dictionary {
        try encode(element, into: tree.add(key: key, to: slot), of: tree, at: path())
      }
    } else {
      try value.encode(to: TreeEncoder(slot: slot, tree: tree, codingPath: path()))
    }
  }

  struct TreeEncoder: Encoder {
    let slot: Int
    let tree: Tree
    var codingPath: [any CodingKey]
    var userInfo: [CodingUserInfoKey: Any] { [:] }

    func container<Key: CodingKey>(keyedBy type: Key.Type) -> KeyedEncodingContainer<Key> {
      tree.nodes[slot].kind = .object
      return KeyedEncodingContainer(Keyed<Key>(slot: slot, tree: tree, codingPath: codingPath))
    }

    func unkeyedContainer() -> any UnkeyedEncodingContainer {
      tree.nodes[slot].kind = .array
      return Unkeyed(slot: slot, tree: tree, codingPath: codingPath)
    }

    func singleValueContainer() -> any SingleValueEncodingContainer {
      Single(slot: slot, tree: tree, codingPath: codingPath)
    }
  }

  struct Keyed<Key: CodingKey>: KeyedEncodingContainerProtocol {
    let slot: Int
    let tree: Tree
    var codingPath: [any CodingKey]

    func child(_ key: Key) -> Int { tree.add(key: tree.snake(key.stringValue), to: slot) }

    mutating func encodeNil(forKey key: Key) throws { _ = child(key) }
    mutating func encode<T: Encodable>(_ value: T, forKey key: Key) throws {
      try JSONOutput.encode(value, into: child(key), of: tree, at: codingPath + [key])
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type, forKey key: Key)
      -> KeyedEncodingContainer<NestedKey>
    {
      TreeEncoder(slot: child(key), tree: tree, codingPath: codingPath + [key]).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer(forKey key: Key) -> any UnkeyedEncodingContainer {
      TreeEncoder(slot: child(key), tree: tree, codingPath: codingPath + [key]).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder {
      preconditionFailure("the CLI's documents do not encode a superclass")
    }
    mutating func superEncoder(forKey key: Key) -> any Encoder {
      preconditionFailure("the CLI's documents do not encode a superclass")
    }
  }

  struct Unkeyed: UnkeyedEncodingContainer {
    let slot: Int
    let tree: Tree
    var codingPath: [any CodingKey]
    var count = 0

    mutating func next() -> Int {
      count += 1
      return tree.add(key: "", to: slot)
    }

    mutating func encodeNil() throws { _ = next() }
    mutating func encode<T: Encodable>(_ value: T) throws {
      try JSONOutput.encode(value, into: next(), of: tree, at: codingPath)
    }
    mutating func nestedContainer<NestedKey: CodingKey>(keyedBy keyType: NestedKey.Type)
      -> KeyedEncodingContainer<NestedKey>
    {
      TreeEncoder(slot: next(), tree: tree, codingPath: codingPath).container(keyedBy: keyType)
    }
    mutating func nestedUnkeyedContainer() -> any UnkeyedEncodingContainer {
      TreeEncoder(slot: next(), tree: tree, codingPath: codingPath).unkeyedContainer()
    }
    mutating func superEncoder() -> any Encoder {
      preconditionFailure("the CLI's documents do not encode a superclass")
    }
  }

  struct Single: SingleValueEncodingContainer {
    let slot: Int
    let tree: Tree
    var codingPath: [any CodingKey]
    mutating func encodeNil() throws { tree.set(slot, .null) }
    mutating func encode<T: Encodable>(_ value: T) throws {
      try JSONOutput.encode(value, into: slot, of: tree, at: codingPath)
    }
  }
}
