import Foundation
import Testing
import ZooGraph

private func object(_ text: String) throws -> [String: Any] {
  try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any], "not a JSON object")
}

@Suite struct CompareTests {
  @Test func snippetsSideBySide() throws {
    // plain: 256·3·3·256 = 589,824 params (the lecture notes' 524,288 is wrong), × 56·56 = 1,849,688,064 MACs.
    // bottleneck: 256·64 + 64·3·3·64 + 64·256 = 69,632 (8.47× fewer), 218,365,952 MACs.
    // depthwise separable: 256·3·3 + 256·256 = 67,840 (8.69× fewer), 212,746,240 MACs.
    let r = try runZoo(["compare", "plain3x3_256", "bottleneck_256", "depthwise_separable_256"])
    #expect(r.status == 0, "\(r.err)")
    let params = try #require(r.out.split(separator: "\n").first { $0.hasPrefix("Params") })
    #expect(params.contains("589,824") && params.contains("69,632 (÷8.47)") && params.contains("67,840 (÷8.69)"))
    let macs = try #require(r.out.split(separator: "\n").first { $0.hasPrefix("MACs") })
    #expect(
      macs.contains("1,849,688,064") && macs.contains("218,365,952 (÷8.47)") && macs.contains("212,746,240 (÷8.69)"))
    let depth = try #require(r.out.split(separator: "\n").first { $0.hasPrefix("Depth") })
    #expect(depth.contains("3 (×3.00)") && depth.contains("2 (×2.00)"))
    // The explanation: each ratio read back to the layers that make it, and each design's description.
    #expect(r.out.contains("params reduce 16,384 + conv 36,864 + expand 16,384 = 69,632 (÷8.47)"))
    #expect(r.out.contains("params depthwise 2,304 + pointwise 65,536 = 67,840 (÷8.69)"))
    #expect(r.out.contains("MACs   depthwise 7,225,344 + pointwise 205,520,896 = 212,746,240 (÷8.69)"))
    #expect(r.out.contains("ResNet's bottleneck."))
    for line in r.out.split(separator: "\n") where line.count > 100 && !line.hasPrefix("Bytes at") {
      Issue.record("a line of \(line.count) columns: \(line)")
    }
  }

  /// Every snippet is explained against the plain 3×3 layer: breakdown terms that add up to the Params
  /// row, and a description of its own.
  @Test func everySnippetExplainedAgainstThePlainLayer() throws {
    let names = try runZoo(["list", "--json"])
    let list = try #require(try JSONSerialization.jsonObject(with: Data(names.out.utf8)) as? [[String: Any]])
    let snippets = list.filter { $0["family"] as? String == "Snippets" }.compactMap { $0["model"] as? String }
    #expect(snippets.count >= 6)
    for name in snippets where name != "plain3x3_256" {
      let r = try runZoo(["compare", "plain3x3_256", name])
      #expect(r.status == 0, "\(name): \(r.err)")
      let lines = r.out.split(separator: "\n").map(String.init)
      let row = try #require(lines.first { $0.hasPrefix("Params") }, "\(name): no Params row")
      let total = try #require(row.matches(of: /([0-9][0-9,]*) \(/).last.map { String($0.1) })
      let first = try #require(
        lines.firstIndex { $0.hasPrefix("  \(name) ") && $0.contains(" params ") }, "\(name): no breakdown")
      // The params sum runs from its line to the line before "MACs".
      let paramsText = lines[first...].prefix { !$0.contains("MACs") }.joined(separator: " ")
      let terms = paramsText.matches(of: /([a-z][a-z0-9_.]*) ([0-9][0-9,]*)/).filter { $0.1 != "params" }
      let sum = terms.reduce(0) { $0 + (Int($1.2.replacingOccurrences(of: ",", with: "")) ?? 0) }
      #expect(!terms.isEmpty, "\(name): no terms in \(paramsText)")
      #expect(total == grouped(sum), "\(name): the breakdown adds up to \(sum), the table says \(total)")
      let description = try builtin(name).description
      let opening = String(description.prefix { $0 != "." })
      // The description may wrap: compare with runs of spaces and line breaks as one space.
      let words = { (s: String) in s.split(whereSeparator: { $0 == " " || $0 == "\n" }).joined(separator: " ") }
      #expect(words(r.out).contains(words(opening)), "\(name): its description `\(opening)` is not printed")
    }
  }

  @Test func vggAgainstGoogLeNet() throws {
    // 138,357,544 / 6,624,904 = 20.88 times the parameters at 15,470,264,320 / 1,498,376,192 = 10.32
    // times the MACs; VGG-16's three FC layers hold 25,088·4,096 + 4,096 + 4,096·4,096 + 4,096
    // + 4,096·1,000 + 1,000 = 123,642,856 of them.
    let r = try runZoo(["compare", "vgg16", "googlenet"])
    #expect(r.status == 0, "\(r.err)")
    let lines = r.out.split(separator: "\n")
    #expect(lines.contains { $0.hasPrefix("Params") && $0.hasSuffix("6,624,904 (÷20.9)") })
    #expect(lines.contains { $0.hasPrefix("MACs") && $0.hasSuffix("1,498,376,192 (÷10.3)") })
    #expect(lines.contains { $0.contains("in linear layers") && $0.contains("123,642,856 (89.4%)") })
    #expect(lines.contains { $0.hasPrefix("Depth (weight layers)") && $0.hasSuffix("22 (×1.38)") })
  }

  @Test func compareJSONSchema() throws {
    let r = try runZoo([
      "compare", "plain3x3_256", "bottleneck_256", "--json", "--dtype", "fp16", "--optimizer", "adam",
    ])
    #expect(r.status == 0, "\(r.err)")
    let doc = try object(r.out)
    #expect(Set(doc.keys) == ["dtype", "optimizer", "batch", "models"])
    #expect(doc["dtype"] as? String == "fp16" && doc["optimizer"] as? String == "adam")
    let models = try #require(doc["models"] as? [[String: Any]])
    #expect(models.count == 2)
    let b = models[1]
    #expect(
      Set(b.keys) == [
        "model", "family", "input", "output", "params", "macs", "flops", "weight_layers", "receptive_field", "memory",
        "ratios",
      ])
    #expect(b["receptive_field"] as? [Int] == [3, 3], "bottleneck_256: only its 3×3 widens the field")
    #expect(b["params"] as? Int == 69_632)
    let memory = try #require(b["memory"] as? [String: Any])
    #expect(
      Set(memory.keys) == [
        "dtype", "batch", "optimizer", "param_bytes", "inference_peak_bytes", "inference_peak_layer",
        "inference_peak_step", "training_bytes", "training",
      ])
    // fp16: 69,632 × 2 bytes; Adam keeps two states: 4 × 139,264 for weights, gradients and state.
    #expect(memory["param_bytes"] as? Int == 139_264)
    let training = try #require(memory["training"] as? [String: Any])
    #expect(training["optimizer_bytes"] as? Int == 278_528)
    // Saved: the input (reduce), reduce's and conv's outputs (the next convs): 256 + 64 + 64 channels of 56×56, fp16.
    #expect(training["saved_activation_bytes"] as? Int == (256 + 64 + 64) * 3_136 * 2)
    #expect(memory["training_bytes"] as? Int == 4 * 139_264 + 384 * 3_136 * 2)
    let ratios = try #require(b["ratios"] as? [String: Double])
    #expect(abs(ratios["params"]! - 69_632.0 / 589_824.0) < 1e-12)
  }

  @Test func byStageAlignsResNets() throws {
    let r = try runZoo(["compare", "resnet18", "resnet34", "--by", "stage", "--json"])
    #expect(r.status == 0, "\(r.err)")
    let stages = try #require(try object(r.out)["stages"] as? [[String: Any]])
    #expect(
      stages.map { $0["stage"] as? String } == [
        "conv1", "bn1", "relu", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "flatten", "fc",
      ])
    let layer3 = try #require(stages.first { $0["stage"] as? String == "layer3" }?["models"] as? [[String: Any]])
    // resnet18: 2 basic blocks × 2 convs + the downsample conv; resnet34: 6 × 2 + 1.
    #expect(layer3.map { $0["weight_layers"] as? Int } == [5, 13])
    let text = try runZoo(["compare", "resnet18", "resnet34", "--by", "stage"])
    // Totals: 21 weight layers (16 convs in blocks, 3 downsample convs, conv1, fc) against 37.
    #expect(text.out.split(separator: "\n").contains { $0.hasPrefix("total") && $0.contains("37 (×1.76)") })
  }

  @Test func needsTwoModels() throws {
    let r = try runZoo(["compare", "vgg16"])
    #expect(r.status != 0)
    #expect(r.err.contains("at least two models, got 1 (`vgg16`)"))
  }

  @Test func describeMemoryFooterAndJSON() throws {
    let r = try runZoo(["describe", "lenet5", "--optimizer", "adam"])
    #expect(r.status == 0, "\(r.err)")
    #expect(r.out.contains("Parameters:     246,824 bytes"))
    #expect(r.out.contains("Inference peak: 23,520 bytes (23.52 kB) at `pool1`"))
    #expect(r.out.contains("Training:       1,036,336 bytes"))
    let j = try object(try runZoo(["describe", "lenet5", "--json", "--shares"]).out)
    let memory = try #require(j["memory"] as? [String: Any])
    #expect(memory["param_bytes"] as? Int == 246_824)
    #expect(memory["dtype"] as? String == "fp32")
    let shares = try #require(j["shares"] as? [String: Any])
    #expect(Set(shares.keys) == ["stages", "classes", "total", "top"])
    let text = try runZoo(["describe", "alexnet", "--shares"])
    #expect(text.out.contains("Most parameters: op class linear 96.0%"))
    #expect(text.out.contains("Most MACs: op class convolution 91.8%"))
  }
}
