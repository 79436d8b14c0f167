import Foundation
import Testing
import ZooAnalysis
import ZooGraph

/// The segmentation families (zoo/fcn.yaml, zoo/unet.yaml) against their papers: sizes, parameter counts by
/// hand, the Caffe crop offsets, and U-Net's receptive field against a float64 back-propagation measurement.
/// fcn_resnet50's counts and state-dict keys are checked with the other torchvision models (ReferenceTests),
/// and its forward pass and U-Net's against PyTorch in EngineModelTests.
@Suite("Segmentation networks")
struct SegmentationTests {
  /// U-Net: 572×572 → 388×388 with 2 classes, and its parameters by hand. A 3×3 convolution from i to o
  /// channels has 9·i·o + o parameters, a 2×2 up-convolution 4·i·o + o:
  /// - contracting path: 640 + 36,928 (64); 73,856 + 147,584 (128); 295,168 + 590,080 (256);
  ///   1,180,160 + 2,359,808 (512) = 4,684,224;
  /// - bottom: 4,719,616 + 9,438,208 (1024) = 14,157,824;
  /// - expanding path, up-convolution then two 3×3 on the concatenation: 2,097,664 + 4,719,104 + 2,359,808;
  ///   524,544 + 1,179,904 + 590,080; 131,200 + 295,040 + 147,584; 32,832 + 73,792 + 36,928 = 12,188,480;
  /// - the 1×1 head: 64·2 + 2 = 130;
  /// in all 4,684,224 + 14,157,824 + 12,188,480 + 130 = 31,030,658.
  @Test func unetShapesAndParameters() throws {
    let g = try builtin("unet")
    let s = try Summary(g)
    #expect(g.inputShape == [1, 572, 572] && s.output == [2, 388, 388])
    #expect(s.totals.params == 31_030_658)
    let byName = Dictionary(uniqueKeysWithValues: g.nodes.map { ($0.name, $0.id) })
    // The crops of the paper's Fig. 1: 64 → 56, 136 → 104, 280 → 200, 568 → 392.
    for (level, from, to) in [(4, 64, 56), (3, 136, 104), (2, 280, 200), (1, 568, 392)] {
      let crop = try #require(byName["up\(level).crop"])
      #expect(s.shapes[g.nodes[crop].inputs[0]][1] == from && s.shapes[crop][1] == to, "up\(level)")
      #expect(s.shapes[byName["up\(level).concat"]!][0] == 2 * s.shapes[crop][0])
    }
  }

  /// U-Net's field against back-propagation (Fixtures/reference/unet_receptive_field.json, made by
  /// scripts/measure_unet_rf.py at 252×252): every output unit's measured rows and columns lie in the span
  /// `zoo rf` gives, and the span is the smallest such window (some unit reaches each end).
  @Test func unetReceptiveFieldAgainstBackPropagation() throws {
    struct Unit: Decodable {
      var unit: Int
      var rows: [Int]
      var cols: [Int]
    }
    struct File: Decodable {
      var input: [Int]
      var units: [Unit]
    }
    let data = try Data(contentsOf: referenceDir.appendingPathComponent("unet_receptive_field.json"))
    let file = try JSONDecoder().decode(File.self, from: data)
    #expect(file.units.count >= 32)
    let rf = try ReceptiveFields(try builtin("unet"), input: Array(file.input.dropFirst()))
    let field = rf.output
    #expect(!field.global && field.h == field.w)
    #expect(field.h.size == 215 && field.h.stride == 1 && field.h.centreOffset == 92)
    var reachesFirst = false
    var reachesLast = false
    for u in file.units {
      let span = field.h.span(of: u.unit)
      for measured in [u.rows, u.cols] {
        #expect(span.contains(measured[0]) && span.contains(measured[1]), "unit \(u.unit): \(measured) ⊄ \(span)")
        reachesFirst = reachesFirst || measured[0] == span.lowerBound
        reachesLast = reachesLast || measured[1] == span.upperBound
      }
    }
    #expect(reachesFirst && reachesLast, "the span is wider than every unit's field")
    // The measured fields: 188 or 204 pixels.
    #expect(Set(file.units.map { $0.rows[1] - $0.rows[0] + 1 }) == [188, 204])
  }

  /// FCN-32s, 16s and 8s: the output is the input's size at any input, the paper's 404-pixel field at
  /// score_fr, and the Caffe offsets (19, 5 and 27; 5, 9 and 31) are the ones that align every map with the
  /// input: each fused pair agrees on the centre (no warning), and the final crop's unit u is centred on
  /// input pixel u.
  @Test(arguments: ["fcn32s", "fcn16s", "fcn8s"]) func fcnCropsAlignWithTheInput(_ name: String) throws {
    let g = try builtin(name)
    for side in [500, 224, 333] {
      let rf = try ReceptiveFields(g, input: [3, side, side])
      #expect(rf.summary.output == [21, side, side], "\(name) at \(side)")
      #expect(rf.output.h.centreOffset == 0 && rf.output.h.stride == 1, "\(name) at \(side)")
      #expect(!rf.warnings.contains { $0.message.contains("centre") }, "\(name): \(rf.warnings)")
      let scoreFr = try #require(g.nodes.first { $0.name == "score_fr" })
      #expect(rf.nodes[scoreFr.id].h.size == 404)
    }
  }

  /// FCN parameters: VGG-16's 138,357,544 without fc8 (4,097,000) and with score_fr (4096·21 + 21 = 86,037) is
  /// 134,346,581 (the paper's "134M"); then the bias-free transposed convolutions (21·21·k²) and the 1×1 score
  /// layers (512·21 + 21 = 10,773; 256·21 + 21 = 5,397).
  @Test func fcnParameters() throws {
    let base = 138_357_544 - 4_097_000 + 86_037
    let want = [
      "fcn32s": base + 441 * 64 * 64,
      "fcn16s": base + 441 * 4 * 4 + 10_773 + 441 * 32 * 32,
      "fcn8s": base + 441 * 4 * 4 + 10_773 + 441 * 4 * 4 + 5_397 + 441 * 16 * 16,
    ]
    for (name, params) in want {
      #expect(try Summary(try builtin(name)).totals.params == params, "\(name)")
    }
    #expect(base == 134_346_581)
  }
}
