import Foundation
import Testing
import ZooAnalysis
import ZooFormat
import ZooGraph

/// One hostile definition: its text and the one error it must end in.
struct HostileCase: CustomTestStringConvertible, Sendable {
  var name: String
  var text: String
  /// Text the error message must contain.
  var message: String
  var line: Int
  /// The column, when the case pins it.
  var column: Int? = nil

  var testDescription: String { name }
}

/// The first model of `text` built, or the error on the way.
private func buildError(_ text: String) -> DefinitionError? {
  do {
    let file = try DefinitionFile(path: "hostile.yaml", text: text)
    _ = try file.graph(named: nil)
    return nil
  } catch {
    return error
  }
}

private let head = "input: [3, 8, 8]\n"

/// Text of `n` layers nested `open`…`close` around `inner`.
private func nested(_ n: Int, _ open: String, _ inner: String, _ close: String) -> String {
  String(repeating: open, count: n) + inner + String(repeating: close, count: n)
}

private let aliasBomb = """
  input: [3, 8, 8]
  args:
    a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]
    b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]
    c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]
    d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]
    e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]
    f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]
    g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]
    h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g, *g]
    i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h, *h]
  network: [relu]
  models: {m: {}}

  """

/// Three blocks whose bodies nest 40 lists deep, each calling the next: within the YAML depth limit,
/// past the builder's.
private let deepBlocks: String = {
  var t = head + "blocks:\n"
  for (name, next) in [("a", "b"), ("b", "c"), ("c", "relu")] {
    t += "  \(name): {body: \(nested(40, "[", next, "]"))}\n"
  }
  return t + "network: [a]\nmodels: {m: {}}\n"
}()

/// A list doubled by thirty `let`s: 2³⁰ elements if nothing stopped it.
private let doubling: String = {
  var t = head + "args: {x0: [1]}\nnetwork:\n"
  for i in 1...30 { t += "  - {let: {x\(i): x\(i - 1) + x\(i - 1)}}\n" }
  return t + "models: {m: {}}\n"
}()

private let hostileCases: [HostileCase] = [
  HostileCase(
    name: "1,000 nested named seqs",
    text: head + "network:\n  - " + nested(1000, "{seq: [", "relu", "]}")
      + "\nmodels: {m: {}}\n",
    message: "lists and mappings nest 2002 levels deep; the limit is 100", line: 3),
  HostileCase(
    name: "5,000 nested lists", text: head + "network: " + nested(5000, "[", "relu", "]") + "\nmodels: {m: {}}\n",
    message: "lists and mappings nest 5001 levels deep; the limit is 100", line: 2, column: 109),
  HostileCase(
    name: "20,000 nested parentheses",
    text: head + "network: [{conv: '" + nested(20000, "(", "1", ")") + "', kernel: 1}]\nmodels: {m: {}}\n",
    message: "the expression nests more than 100 levels deep", line: 2),
  HostileCase(
    name: "a long chain of operands",
    text: head + "network: [{conv: '"
      + Array(repeating: "1", count: 5000).joined(separator: " + ") + "', kernel: 1}]\nmodels: {m: {}}\n",
    message: "the expression nests more than 100 levels deep", line: 2),
  HostileCase(
    name: "billion laughs", text: aliasBomb,
    message: "the file has 1234567923 YAML values once its aliases (*name) are expanded; the limit is 250000",
    line: 8),
  HostileCase(
    name: "block bodies nested past the builder's depth", text: deepBlocks,
    message: "layers nest more than 64 deep here", line: 4),
  HostileCase(
    name: "Int.min // -1",
    text: head + "network: [{conv: '(-9223372036854775807 - 1) // -1', kernel: 1}]\nmodels: {m: {}}\n",
    message: "integer overflow in -9223372036854775808 // -1", line: 2, column: 46),
  HostileCase(
    name: "Int.min / -1",
    text: head + "network: [{conv: '(-9223372036854775807 - 1) / -1', kernel: 1}]\nmodels: {m: {}}\n",
    message: "integer overflow in -9223372036854775808 / -1", line: 2, column: 46),
  HostileCase(
    name: "2 ** 63", text: head + "network: [{conv: '2 ** 63', kernel: 1}]\nmodels: {m: {}}\n",
    message: "integer overflow in 2 ** 63", line: 2, column: 21),
  HostileCase(
    name: "3 ** 9223372036854775807",
    text: head + "network: [{conv: '3 ** 9223372036854775807', kernel: 1}]\nmodels: {m: {}}\n",
    message: "integer overflow in 3 ** 9223372036854775807", line: 2),
  HostileCase(
    name: "an integer literal past 64 bits",
    text: head + "network: [{conv: 8, kernel: 99999999999999999999999}]\nmodels: {m: {}}\n",
    message: "the integer 99999999999999999999999 is too large (the limit is 9223372036854775807)", line: 2, column: 29),
  HostileCase(
    name: "1e999", text: head + "network: [{leaky_relu: 1e999}]\nmodels: {m: {}}\n",
    message: "the number 1e999 is too large to be finite", line: 2),
  HostileCase(
    name: "a product past the finite doubles", text: head + "network: [{leaky_relu: '1e308 * 10'}]\nmodels: {m: {}}\n",
    message: "does not give a finite number", line: 2),
  HostileCase(
    name: ".nan", text: head + "network: [{dropout: .nan}]\nmodels: {m: {}}\n",
    message: "`.nan` is not a finite number", line: 2, column: 21),
  HostileCase(
    name: "-.inf", text: head + "network: [{leaky_relu: -.inf}]\nmodels: {m: {}}\n",
    message: "`-.inf` is not a finite number", line: 2),
  HostileCase(
    name: "a YAML 1.1 integer compared with a string",
    text: head + "args: {version: 1_0}\nnetwork:\n  - if: version == \"1_0\"\n    then: [relu]\nmodels: {m: {}}\n",
    message: "cannot compare an integer (10) with a string (\"1_0\") using `==`", line: 4, column: 17),
  HostileCase(
    name: "a list compared with a number",
    text: head + "network:\n  - if: '[1] != 1'\n    then: [relu]\nmodels: {m: {}}\n",
    message: "cannot compare a list ([1]) with an integer (1) using `!=`", line: 3),
  HostileCase(
    name: "a huge kernel", text: head + "network: [{conv: 8, kernel: 4294967296}]\nmodels: {m: {}}\n",
    message: "must be in 1...2147483647, got 4294967296", line: 2),
  HostileCase(
    name: "negative channels", text: head + "network: [{conv: -8, kernel: 3}]\nmodels: {m: {}}\n",
    message: "`out` must be ≥ 1, got -8", line: 2),
  HostileCase(
    name: "a zero kernel", text: head + "network: [{maxpool: 0}]\nmodels: {m: {}}\n",
    message: "`kernel` must be in 1...2147483647, got 0", line: 2),
  HostileCase(
    name: "an input of 2^31 channels", text: head + "network: [relu]\nmodels: {m: {input: [2147483648, 8, 8]}}\n",
    message: "`input` channels 2147483648 is too large; the limit is 2147483647", line: 3),
  HostileCase(name: "an empty file", text: "", message: "the file is empty", line: 1),
  HostileCase(name: "only a comment", text: "# nothing here\n", message: "the file is empty", line: 1),
  HostileCase(
    name: "a byte-order mark in the middle", text: head + "network: [relu]\u{FEFF}\nmodels: {m: {}}\n",
    message: "a byte-order mark (U+FEFF) in the middle of the file", line: 2, column: 16),
  HostileCase(
    name: "a tab indent", text: head + "network:\n\t- relu\nmodels: {m: {}}\n",
    message: "a tab: YAML indents with spaces only", line: 3, column: 1),
  HostileCase(
    name: "a NUL byte", text: head + "network: [relu]\nmodels: {m: {}}\n\u{0}\n",
    message: "control characters are not allowed (U+0000)", line: 4, column: 1),
  HostileCase(
    name: "two documents", text: head + "network: [relu]\nmodels: {m: {}}\n---\nfoo: 1\n",
    message: "expected a single document", line: 4),
  HostileCase(
    name: "duplicate keys in a layer", text: head + "network: [{conv: 8, kernel: 3, kernel: 5}]\nmodels: {m: {}}\n",
    message: "duplicate key `kernel`", line: 2, column: 32),
  HostileCase(
    name: "blocks calling each other",
    text: head + "blocks:\n  a: {body: [b]}\n  b: {body: [a]}\nnetwork: [a]\nmodels: {m: {}}\n",
    message: "block calls nest more than 32 deep (… a → b → a → b → a)", line: 4),
  HostileCase(
    name: "a block calling itself", text: head + "blocks:\n  a: {body: [relu, a]}\nnetwork: [a]\nmodels: {m: {}}\n",
    message: "block calls nest more than 32 deep", line: 3),
  HostileCase(
    name: "a 10⁶-character layer name",
    text: head + "network: [{relu, name: " + String(repeating: "x", count: 1_000_000) + "}]\nmodels: {m: {}}\n",
    message: "has 1000000 characters; the limit is 256", line: 2, column: 24),
  HostileCase(
    name: "a 10⁶-character op",
    text: head + "network: [" + String(repeating: "x", count: 1_000_000) + "]\nmodels: {m: {}}\n",
    message: "unknown op or block `xxxxxxxx", line: 2, column: 11),
  HostileCase(
    name: "a costly expression in a long loop",
    text: head + "network: [{repeat: 200000, body: [{conv: 'len(range(1000000))', kernel: 1}]}]\nmodels: {m: {}}\n",
    message: "evaluating the definition takes more than 20000000 steps", line: 2),
  HostileCase(
    name: "a list doubled thirty times", text: doubling, message: "passes the limit of 1000000", line: 23),
  HostileCase(
    name: "range past the list limit",
    text: head + "network: [{for: i, in: 'range(2000000)', body: [relu]}]\nmodels: {m: {}}\n",
    message: "range(2000000) would make a list of more than 1000000 elements", line: 2),
  HostileCase(
    name: "a let with another key", text: head + "network: [{let: {a: 1}, relu: ~}]\nmodels: {m: {}}\n",
    message: "a `let` item takes no other keys", line: 2),
  HostileCase(
    name: "a let outside a list", text: head + "network:\n  - if: true\n    then: {let: {a: 1}}\nmodels: {m: {}}\n",
    message: "must be an item of a list of layers", line: 4),
  HostileCase(
    name: "a loop variable that is not a name",
    text: head + "network: [{repeat: 2, as: 3, body: [relu]}]\nmodels: {m: {}}\n",
    message: "`as` takes a variable name", line: 2),
]

@Suite("hostile definitions end in one clear error")
struct HostileDefinitionTests {
  @Test(arguments: hostileCases)
  func endsInOneError(_ c: HostileCase) throws {
    let e = try #require(buildError(c.text), "\(c.name) built without an error")
    #expect(e.file == "hostile.yaml")
    #expect(e.message.contains(c.message), "\(e)")
    #expect(e.line == c.line, "\(e)")
    if let column = c.column { #expect(e.column == column, "\(e)") }
    #expect(e.description.hasPrefix("hostile.yaml:\(e.line):\(e.column): "), "\(e)")
    #expect(e.description.count < 600, "the message quotes too much: \(e.description.prefix(200))…")
  }

  /// Integer arithmetic near Int64's edges: the exact value, never a trap or a loop.
  @Test(
    arguments: [
      ("1 ** 9223372036854775807", 1), ("(-1) ** 9223372036854775807 + 2", 1), ("0 ** 9223372036854775807 + 1", 1),
      ("0 ** 0", 1), ("2 ** 30", 1 << 30), ("(-2) ** 63 == -9223372036854775807 - 1", 1),
      ("(-9223372036854775807 - 1) % -1 + 1", 1), ("7 // -2 + 5", 1), ("-7 // 2 + 5", 1), ("-7 % 3", 2),
      ("7 % -3 + 3", 1),
      ("9007199254740993 // 1 - 9007199254740992", 1), ("-9223372036854775807 // 9223372036854775807 + 2", 1),
      ("(-9223372036854775807 - 1) // 9223372036854775807 + 3", 1), ("len(range(1000000)) // 1000000", 1),
    ] as [(String, Int)])
  func integerEdges(_ expression: String, _ expected: Int) throws {
    // Booleans from comparisons become channel counts through `1 if … else 0`.
    let value = expression.contains("==") ? "1 if \(expression) else 0" : expression
    let text = head + "network: [{conv: '\(value)', kernel: 1, name: c}]\nmodels: {m: {}}\n"
    let g = try DefinitionFile(path: "edges.yaml", text: text).graph(named: nil)
    guard case .conv(let conv) = try #require(g.nodes.first { $0.name == "c" }).op else {
      Issue.record("c is not a conv")
      return
    }
    #expect(conv.outChannels == expected, "\(expression)")
  }

  @Test func nonUTF8BytesNameTheOffset() throws {
    let bytes = Array((head + "network: [relu]\n# caf").utf8) + [0xE9] + Array(" \nmodels: {m: {}}\n".utf8)
    #expect {
      _ = try DefinitionFile(path: "latin1.yaml", bytes: bytes)
    } throws: { error in
      let e = error as? DefinitionError
      return e?.line == 3 && e?.column == 6 && e?.message.contains("byte 38 (0xE9)") == true
        && e?.message.contains("not UTF-8") == true
    }
  }

  @Test func aLeadingByteOrderMarkIsAllowed() throws {
    let g = try DefinitionFile(path: "bom.yaml", text: "\u{FEFF}" + head + "network: [relu]\nmodels: {m: {}}\n")
      .graph(named: nil)
    #expect(g.nodes.count == 2)
  }

  @Test func manyLayersBuildAndDescribeInLinearTime() throws {
    let text = head + "network: [{repeat: 20000, body: [relu]}]\nmodels: {m: {}}\n"
    let g = try DefinitionFile(path: "relus.yaml", text: text).graph(named: nil)
    let s = try Summary(g)
    let live = try Liveness(s)
    #expect(g.nodes.count == 20_001)
    // Every ReLU works in place, so the buffers are the input's and the first ReLU's.
    #expect(live.buffers.count == 2 && live.peakBytes == 2 * 3 * 8 * 8 * 4)
  }
}

@Suite("zoo check: every branch and block, without building")
struct DefinitionCheckTests {
  @Test func theZooOnDiskIsClean() throws {
    let dir = repoRoot.appendingPathComponent("zoo")
    let files = try FileManager.default.contentsOfDirectory(atPath: dir.path).filter { $0.hasSuffix(".yaml") }.sorted()
    #expect(files.count >= 7)
    for name in files {
      let file = try DefinitionFile(contentsOfFile: dir.appendingPathComponent(name).path)
      let problems = file.check()
      #expect(problems.isEmpty, "zoo/\(name): \(problems.map(\.description).joined(separator: "\n"))")
    }
  }

  @Test func everyProblemWithItsPosition() throws {
    let text = """
      input: [3, 32, 32]
      args: {width: 16, depth: ~}
      blocks:
        unused:
          args: {out: ~}
          body:
            - {convv: out, kernel: 3}
            - {conv: out, kernal: 3}
      network:
        - if: false
          then: [{frobnicate: 3}]
          else: [{conv: width, kernel: 2.5}]
        - {linear: "widht + (", bias: 1}
        - {conv: 8, kernel: 3, name: "a{nope}"}
        - {repeat: depth, body: [{conv: 'width * undefined_name', kernel: 1}]}
        - {conv: 'lenn(width)', kernel: 1}
        - {repeat: 2, as: i, foo: 1, body: []}
      models: {m: {depth: 1}, n: {wdth: 3}}

      """
    let problems = DefinitionFile.check(path: "broken.yaml", text: text).map(\.description)
    let expected = [
      "broken.yaml:7:9: unknown op or block `convv` — did you mean `conv`?",
      "broken.yaml:8:9: `conv` is missing the argument `kernel`",
      "broken.yaml:8:29: unknown argument `kernal` — did you mean `kernel`? of `conv`",
      "broken.yaml:11:12: unknown op or block `frobnicate`",
      "broken.yaml:12:34: `kernel` must be an integer in 1...2147483647 or [height, width], got 2.5",
      "broken.yaml:13:24: in `widht + (`: the expression ends too early",
      "broken.yaml:13:33: `bias` must be true or false, got 1",
      "broken.yaml:14:32: in the name `a{nope}`: unknown name `nope`",
      "broken.yaml:15:44: in `width * undefined_name`: unknown name `undefined_name`",
      "broken.yaml:16:13: in `lenn(width)`: unknown function `lenn` — did you mean `len`?",
      "broken.yaml:17:29: unknown key `foo` in `repeat`",
      "broken.yaml:18:35: unknown key `wdth` — did you mean `width`? in model `n`",
      "broken.yaml:18:28: model `n` does not give the required argument `depth`",
    ].sorted { a, b in
      let pa = a.split(separator: ":").dropFirst().prefix(2).map { Int($0)! }
      let pb = b.split(separator: ":").dropFirst().prefix(2).map { Int($0)! }
      return pa.lexicographicallyPrecedes(pb)
    }
    #expect(problems == expected, "\(problems.joined(separator: "\n"))")
  }

  @Test func aFileThatDoesNotParseGivesItsOneError() throws {
    let problems = DefinitionFile.check(path: "bad.yaml", text: "input: [3, 32, 32\nnetwork: [relu]\nmodels: {m: {}}\n")
    #expect(problems.count == 1 && problems[0].message.hasPrefix("YAML syntax"), "\(problems)")
  }
}

@Suite("hostile input through the command line")
struct HostileCLITests {
  @Test func aFolderIsNotADefinitionFile() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-dir-\(UUID().uuidString).yaml")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let r = try runZoo(["describe", dir.path])
    #expect(r.status != 0)
    #expect(r.err.contains("\(dir.path): this is a folder, not a definition file"), "\(r.err)")
    #expect(!r.err.contains("NSCocoaErrorDomain") && !r.err.contains("could not be completed"), "\(r.err)")
  }

  @Test func notUTF8NamesTheByte() throws {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-latin1-\(UUID().uuidString).yaml")
    try Data(Array("input: [3, 8, 8]\nnetwork: [relu]  # caf".utf8) + [0xE9] + Array("\nmodels: {m: {}}\n".utf8))
      .write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    let r = try runZoo(["describe", file.path])
    #expect(r.status != 0)
    #expect(r.err.contains("\(file.path):2:23: the file is not UTF-8 text: byte 39 (0xE9)"), "\(r.err)")
    #expect(!r.err.contains("correct format"), "\(r.err)")
  }

  @Test func anArgumentThatBreaksABuiltinModelIsNamed() throws {
    let r = try runZoo(["describe", "resnet18", "--arg", "num_classes=0"])
    #expect(r.status != 0)
    #expect(
      r.err.contains(
        "--arg num_classes=0: `out` must be ≥ 1, got 0 (at resnet18's layer `fc`, zoo/resnet.yaml:"),
      "\(r.err)")
    #expect(r.err.contains("in the built-in zoo)"), "\(r.err)")
    let syntax = try runZoo(["describe", "resnet18", "--arg", "num_classes=10 +"])
    #expect(
      syntax.status != 0 && syntax.err.contains("--arg num_classes=10 +: the expression ends too early"),
      "\(syntax.err)")
  }

  @Test func aTooLargeInputSaysSo() throws {
    let r = try runZoo(["describe", "resnet18", "--input", "2147483648x224x224"])
    #expect(r.status != 0)
    #expect(
      r.err.contains("the channel count 2147483648") && r.err.contains("too large; the limit is 2147483647"), "\(r.err)"
    )
  }

  @Test func checkTheBuiltinZooAndABrokenFile() throws {
    let clean = try runZoo(["check"])
    #expect(clean.status == 0, "\(clean.out)\(clean.err)")
    #expect(clean.out.contains("No problems in 19 files"), "\(clean.out)")
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-broken-\(UUID().uuidString).yaml")
    try "input: [3, 8, 8]\nnetwork:\n  - if: false\n    then: [{convv: 8, kernel: 3}]\nmodels: {m: {}}\n"
      .write(to: file, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: file) }
    let broken = try runZoo(["check", file.path])
    #expect(broken.status != 0)
    #expect(
      broken.out.contains("\(file.path):4:12: unknown op or block `convv` — did you mean `conv`?"), "\(broken.out)")
    // The branch is not taken, so a build does not see it.
    #expect(try runZoo(["describe", file.path]).status == 0)
  }

  @Test func twentyThousandReLUsDescribe() throws {
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-relus-\(UUID().uuidString).yaml")
    try "input: [3, 8, 8]\nnetwork: [{repeat: 20000, body: [relu]}]\nmodels: {m: {}}\n"
      .write(to: file, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(at: file) }
    let r = try runZoo(["describe", file.path, "--depth", "1"])
    #expect(r.status == 0, "\(r.err)")
    #expect(r.out.contains("relu_19999"), "\(r.out.suffix(400))")
  }
}
