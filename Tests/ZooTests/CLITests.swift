import Foundation
import Testing

@Suite("zoo command line")
struct CLITests {
  @Test func listShowsEveryModel() throws {
    let r = try runZoo(["list"])
    #expect(r.status == 0)
    #expect(r.out.contains("resnet50") && r.out.contains("25,557,032") && r.out.contains("4,089,184,256"))
    #expect(r.out.split(separator: "\n").count == 41 + 2)
  }

  @Test func describeJSONSchema() throws {
    let r = try runZoo(["describe", "resnet18", "--json"], cwd: URL(fileURLWithPath: "/tmp"))
    #expect(r.status == 0, "\(r.err)")
    let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
    for key in ["model", "input", "output", "totals", "layers", "tensors"] {
      #expect(doc[key] != nil, "missing key \(key)")
    }
    #expect(doc["input"] as? [Int] == [3, 224, 224])
    #expect(doc["output"] as? [Int] == [1000])
    let totals = try #require(doc["totals"] as? [String: Any])
    #expect(totals["params"] as? Int == 11_689_512)
    #expect(totals["trainable_params"] as? Int == 11_689_512)
    #expect(totals["macs"] as? Int == 1_814_073_344)
    let layers = try #require(doc["layers"] as? [[String: Any]])
    let conv1 = try #require(layers.first { $0["name"] as? String == "layer1.0.conv1" })
    #expect(conv1["op"] as? String == "conv" && conv1["output"] as? [Int] == [64, 56, 56])
    #expect(layers.contains { $0["name"] as? String == "layer4" })
    let tensors = try #require(doc["tensors"] as? [[String: Any]])
    #expect(tensors.contains { $0["name"] as? String == "bn1.running_var" && $0["kind"] as? String == "buffer" })
  }

  @Test func describeTableHasThousandsSeparatorsAndTotals() throws {
    let r = try runZoo(["describe", "alexnet_original", "--depth", "1"])
    #expect(r.status == 0)
    #expect(r.out.contains("Params:         60,965,224"))
    #expect(r.out.contains("MACs:           724,406,816"))
    #expect(r.out.contains("fc6") && r.out.contains("37,752,832"))
  }

  @Test func describeAUserFile() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-cli-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let file = dir.appendingPathComponent("my_net.yaml")
    try
      "input: [1, 28, 28]\nnetwork:\n  - {conv: 8, kernel: 3}\n  - relu\n  - flatten\n  - {linear: 10}\nmodels: {my_net: {}}\n"
      .write(to: file, atomically: true, encoding: .utf8)
    let r = try runZoo(["describe", file.path, "--json"])
    #expect(r.status == 0, "\(r.err)")
    let expected: Int = (8 * 9 + 8) + (8 * 26 * 26 * 10 + 10)
    #expect(r.out.contains("\"params\" : \(expected)"))
  }

  @Test func badInputGivesOneClearErrorAndNonZeroExit() throws {
    let unknown = try runZoo(["describe", "resnet19"])
    #expect(unknown.status != 0)
    #expect(unknown.err.contains("unknown model `resnet19`") && unknown.err.contains("resnet18"))
    let small = try runZoo(["describe", "vgg16", "--input", "3x16x16"])
    #expect(small.status != 0)
    #expect(small.err.contains("features.30"), "\(small.err)")
    let badInput = try runZoo(["describe", "vgg16", "--input", "3x16"])
    #expect(badInput.status != 0 && badInput.err.contains("CxHxW"))
    let missing = try runZoo(["describe", "/nonexistent/net.yaml"])
    #expect(missing.status != 0 && missing.err.contains("/nonexistent/net.yaml"))
    let overflow = try runZoo(["describe", "resnet18", "--input", "3x2000000000x2000000000", "--batch", "100000"])
    #expect(overflow.status != 0 && overflow.err.contains("overflows"), "\(overflow.err)")
  }

  @Test func auxiliaryClassifiersThroughArg() throws {
    let r = try runZoo(["describe", "googlenet", "--arg", "aux_logits=true", "--depth", "1"])
    #expect(r.status == 0, "\(r.err)")
    #expect(r.out.contains("aux1") && r.out.contains("(+2 auxiliary)"))
    let bad = try runZoo(["describe", "googlenet", "--arg", "aux_logit=true"])
    #expect(bad.status != 0 && bad.err.contains("did you mean `aux_logits`"), "\(bad.err)")
  }
}
