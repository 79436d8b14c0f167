import Foundation
import Testing
import ZooFiles

private func foundationJSON<T: Encodable>(_ value: T, snakeCase: Bool = true) throws -> String {
  let encoder = JSONEncoder()
  encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
  if snakeCase { encoder.keyEncodingStrategy = .convertToSnakeCase }
  return String(decoding: try encoder.encode(value), as: UTF8.self)
}

/// Keys, values and nesting that the documents have, and the edge cases they could have.
private struct Sample: Encodable {
  struct Inner: Encodable {
    var peakRSS: Int
    var RSSPeak: Int
    var top1Accuracy: Double?
    var macsPerURLRequest: [Int]
  }
  var receptiveField: [Int]
  var weightLayers: Int
  var empty: [Int] = []
  var emptyObject: [String: Int] = [:]
  var missing: Int? = nil
  var nulls: [Int?] = [1, nil, 3]
  var text = "a \"quoted\" back\\slash / slash\nnew\tline \u{01} ünïcode ×2 ≤"
  var doubles: [Double] = [0, -0.0, 1, 0.1, 0.25, 1e-05, 1.5e-7, 123456.789, 1e21, 3.14159265358979, 2.5e300, 1e16]
  var floats: [Float] = [0.1, 1, 1e-8, 16_777_216]
  var ints: [Int] = [0, -1, Int.max, Int.min]
  var flag = true
  var inner = [Inner(peakRSS: 1, RSSPeak: 2, top1Accuracy: nil, macsPerURLRequest: [])]
  var map = ["b": 1, "a_b": 2, "a": 3, "B": 4, "a10": 5, "a9": 6]
}

@Suite("JSON output")
struct JSONOutputTests {
  /// Invariant: the project's writer produces exactly Foundation's text (keys converted to snake case
  /// and sorted, numbers, escapes, empty containers, nils) for every kind of value the documents hold.
  @Test func equalsFoundationOnEdgeCases() throws {
    let sample = Sample(receptiveField: [3, 3], weightLayers: 18)
    #expect(try JSONOutput.string(sample) == foundationJSON(sample))
    for key in [
      "receptiveField", "peakRSS", "RSSPeak", "top1Accuracy", "macsPerURLRequest", "a", "already_snake", "x2Y",
    ] {
      #expect(
        try JSONOutput.string(OneKey(key: key)) == foundationJSON(OneKey(key: key)),
        "snake case of \(key): ours is \(JSONOutput.snakeCase(key))")
    }
  }

  /// Invariant: a non-finite number is refused, as Foundation refuses it.
  @Test func refusesNonFiniteNumbers() {
    #expect(throws: EncodingError.self) { try JSONOutput.string([Double.nan]) }
    #expect(throws: EncodingError.self) { try JSONOutput.string(["x": Double.infinity]) }
  }

  /// Invariant: every command's `--json` document, read back and written by Foundation, is the same text.
  @Test(arguments: [
    ["describe", "densenet201", "--json"],
    ["describe", "lenet5_original", "--json", "--optimizer", "adam", "--batch", "8"],
    ["describe", "resnet50", "--json", "--shares"], ["rf", "googlenet", "--json"],
    ["compare", "resnet18", "vgg16", "mobilenet_v3_small", "--json"], ["list", "--json"],
  ])
  func commandDocumentsEqualFoundation(_ args: [String]) throws {
    let r = try runZoo(args)
    #expect(r.status == 0, "\(args): \(r.err)")
    let value = try JSONDecoder().decode(ReferenceJSON.self, from: Data(r.out.utf8))
    #expect(r.out == (try foundationJSON(value, snakeCase: false)) + "\n", "zoo \(args.joined(separator: " "))")
  }
}

/// A one-key struct per key, so Foundation's key strategy sees a coding key (dictionary keys are not
/// converted).
private struct OneKey: Encodable {
  var key: String
  struct Key: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
  }
  func encode(to encoder: any Encoder) throws {
    var c = encoder.container(keyedBy: Key.self)
    try c.encode(0, forKey: Key(stringValue: key))
  }
}
