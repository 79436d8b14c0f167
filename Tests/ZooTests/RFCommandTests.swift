import Foundation
import Testing

@Suite("zoo rf command")
struct RFCommandTests {
  @Test("--json has a row for every module path with [h, w] figures; global rows carry null")
  func json() throws {
    let r = try runZoo(["rf", "resnet50", "--json"])
    #expect(r.status == 0, "\(r.err)")
    let doc = try #require(try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any])
    #expect(doc["model"] as? String == "resnet50")
    let layers = try #require(doc["layers"] as? [[String: Any]])
    let byName = Dictionary(layers.map { ($0["name"] as! String, $0) }, uniquingKeysWith: { a, _ in a })
    let layer3 = try #require(byName["layer3"])
    #expect(layer3["receptive_field"] as? [Int] == [267, 267])
    #expect(layer3["stride"] as? [Int] == [16, 16])
    #expect(layer3["padding"] as? [Int] == [133, 133])
    #expect(layer3["kind"] as? String == "module")
    #expect(byName["layer3.5.conv2"]?["kind"] as? String == "layer")
    let fc = try #require(byName["fc"])
    #expect(fc["global"] as? Bool == true)
    #expect(fc["receptive_field"] is NSNull)
    #expect((doc["warnings"] as? [Any])?.isEmpty == true)
  }

  @Test("The table names the stage where the field outgrows the input; describe gains an RF column")
  func table() throws {
    let r = try runZoo(["rf", "resnet18", "--depth", "1"])
    #expect(r.status == 0, "\(r.err)")
    #expect(r.out.contains("* The field is larger than the 224×224 input, first at `layer4`."), "\(r.out)")
    #expect(r.out.contains("100.0%*"), "\(r.out)")
    let d = try runZoo(["describe", "resnet18", "--depth", "1"])
    #expect(d.out.contains("layer4 …"), "\(d.out)")
    let line = try #require(d.out.split(separator: "\n").first { $0.hasPrefix("layer4") })
    #expect(line.hasSuffix("435"), "\(line)")
  }

  @Test("A bad --depth is a usage error")
  func badDepth() throws {
    let r = try runZoo(["rf", "alexnet", "--depth", "0"])
    #expect(r.status != 0)
    #expect(r.err.contains("--depth must be at least 1, got 0."))
  }
}
