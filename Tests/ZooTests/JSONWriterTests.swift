import Foundation
import Testing
import ZooFiles
import ZooFormat

@Suite("JSON writer")
struct JSONWriterTests {
  /// Invariant: `JSONValue`'s text is Foundation's for the same value: escapes, non-ASCII text, integer
  /// extremes, decimals, empty containers, nesting, nulls, and keys given out of order (written sorted).
  @Test func equalsFoundationOnEdgeCases() throws {
    let text = "a \"quoted\" back\\slash / slash\nnew\tline \r \u{01}\u{08}\u{0C}\u{1F} ünïcode ×2 ≤ 🙂"
    let doubles: [Double] = [0, 1, 0.1, 0.25, -2.5, 1e-05, 1.5e-7, 123456.789, 1e21, 3.14159265358979, 2.5e300, 1e16]
    let pairs: [(String, JSONValue, ReferenceJSON)] = [
      ("zeta", .int(-1), .int(-1)),
      ("alpha", .string(text), .string(text)),
      ("B", .bool(false), .bool(false)),
      ("a_b", .null, .null),
      ("a10", .ints([Int.max, Int.min, 0, 9, 10, -10]), .array([Int.max, Int.min, 0, 9, 10, -10].map { .int($0) })),
      ("a9", .ints([]), .array([])),
      ("emptyObject", .object([]), .object([:])),
      ("doubles", .array(doubles.map { .double($0) }), .array(doubles.map { .double($0) })),
      (
        "nested",
        .array([.object([("y", .ints([1])), ("x", .array([.bool(true), .null]))]), .array([]), .string("")]),
        .array([.object(["y": .array([.int(1)]), "x": .array([.bool(true), .null])]), .array([]), .string("")])
      ),
      ("ü", .int(1), .int(1)),
    ]
    let ours = JSONValue.object(pairs.map { ($0.0, $0.1) })
    let reference = ReferenceJSON.object(Dictionary(uniqueKeysWithValues: pairs.map { ($0.0, $0.2) }))
    #expect(try ours.text() == reference.foundationText)
    // Scalars and empty containers at the top level.
    #expect(try JSONValue.ints([]).text() == ReferenceJSON.array([]).foundationText)
    #expect(try JSONValue.object([]).text() == ReferenceJSON.object([:]).foundationText)
    #expect(try JSONValue.string(text).text() == ReferenceJSON.string(text).foundationText)
  }

  /// Invariant: a non-finite number is refused, as Foundation refuses it.
  @Test func refusesNonFiniteNumbers() {
    #expect(throws: EncodingError.self) { try JSONValue.array([.double(.nan)]).text() }
    #expect(throws: EncodingError.self) { try JSONValue.object([("x", .double(-.infinity))]).text() }
  }

  /// Invariant: `zoo describe MODEL --json` and `zoo rf MODEL --json` for every built-in model are byte for
  /// byte the text Foundation's encoder writes for the same document read back (the writer builds them
  /// without `Encodable`), and list the model's layers.
  @Test func documentsOfEveryBuiltinModelEqualFoundation() throws {
    let names = Zoo.builtinModelNames
    #expect(names.count >= 50)
    for name in names {
      for command in ["describe", "rf"] {
        let r = try runZoo([command, name, "--json"])
        #expect(r.status == 0, "\(command) \(name): \(r.err)")
        let value = try JSONDecoder().decode(ReferenceJSON.self, from: Data(r.out.utf8))
        #expect(r.out == (try value.foundationText) + "\n", "zoo \(command) \(name) --json")
        guard case .object(let doc) = value, case .array(let layers)? = doc["layers"] else {
          Issue.record("\(command) \(name): no `layers` array")
          continue
        }
        #expect(!layers.isEmpty, "\(command) \(name): no layers")
      }
    }
  }

  /// Invariant: the optional parts of the describe document (`memory`, `shares` with its `top` lists) are
  /// Foundation's text too.
  @Test(arguments: [
    ["describe", "resnet50", "--json", "--shares"],
    ["describe", "googlenet", "--json", "--shares", "--batch", "4", "--optimizer", "adam", "--dtype", "fp16"],
  ])
  func optionalPartsEqualFoundation(_ args: [String]) throws {
    let r = try runZoo(args)
    #expect(r.status == 0, "\(args): \(r.err)")
    let value = try JSONDecoder().decode(ReferenceJSON.self, from: Data(r.out.utf8))
    #expect(r.out == (try value.foundationText) + "\n", "zoo \(args.joined(separator: " "))")
    guard case .object(let doc) = value else {
      Issue.record("not an object")
      return
    }
    #expect(doc["shares"] != nil && doc["memory"] != nil)
  }
}
