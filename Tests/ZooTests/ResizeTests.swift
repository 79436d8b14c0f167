import Foundation
import Testing
import ZooAnalysis
import ZooEngine
import ZooFormat
import ZooGraph

/// `adaptive_maxpool` and `upsample` through the format, shapes, counts, training memory, receptive
/// fields and the engine (by hand and against PyTorch). Random graphs reach both through the property
/// test (EnginePropertyTests, RandomGraphs).
@Suite("Adaptive max pooling and upsampling")
struct ResizeTests {
  /// The graph of a one-model definition with `network` on `input`.
  func graph(_ network: String, input: [Int] = [1, 5, 5]) throws -> Graph {
    let text = "input: \(input)\nnetwork:\n\(network)\nmodels: {m: {}}\n"
    return try DefinitionFile(path: "resize.yaml", text: text).graph()
  }

  @Test func adaptiveMaxPoolBins() throws {
    // 5 columns into 3 bins: 0..<2, 1..<4, 3..<5; 5 rows into 2: 0..<3, 2..<5. The maximum of a
    // bin of 0..<25 is its bottom-right element.
    let x = (0..<25).map(Float.init)
    for kernels in PlanOptions.Kernels.supported {
      let y = try runSingle(.adaptiveMaxPool(outH: 2, outW: 3), input: [1, 5, 5], x: x, kernels: kernels)
      #expect(y == [11, 13, 14, 21, 23, 24], "\(kernels)")
    }
    // Reversed, the maximum is the top-left element; a NaN in a bin wins.
    var r = Array(x.reversed())
    r[0] = .nan
    let y = try runSingle(.adaptiveMaxPool(outH: 2, outW: 3), input: [1, 5, 5], x: r)
    #expect(y[0].isNaN && Array(y.dropFirst()) == [23, 21, 14, 13, 11])
  }

  @Test func adaptiveMaxPoolFormatShapesAndCounts() throws {
    let g = try graph("  - {adaptive_maxpool: [2, 3], name: amp}", input: [4, 5, 5])
    let node = try #require(g.nodes.last)
    #expect(node.op == .adaptiveMaxPool(outH: 2, outW: 3) && node.name == "amp")
    #expect(node.op.summary == "adaptive maxpool 2×3")
    let s = try Summary(g)
    #expect(s.shapes[node.id] == [4, 2, 3])
    // Bin sizes: rows 3 + 3, columns 2 + 3 + 2; per channel (6 · 7) elements − 6 outputs comparisons.
    #expect(s.nodeCounts[node.id].flops == 4 * (6 * 7 - 6))
    #expect(s.nodeCounts[node.id].params == 0)
    let square = try graph("  - {adaptive_maxpool: 2}", input: [1, 4, 4])
    #expect(square.nodes.last?.op == .adaptiveMaxPool(outH: 2, outW: 2))
    let ok = "input: [1, 4, 4]\nnetwork:\n  - {adaptive_maxpool: [1, 2]}\nmodels: {m: {}}\n"
    #expect(DefinitionFile.check(path: "ok.yaml", text: ok).isEmpty)
    for bad in ["{adaptive_maxpool: 0}", "{adaptive_maxpool: [2, 2], kernel: 3}", "adaptive_maxpool"] {
      #expect(throws: DefinitionError.self, "\(bad)") { try graph("  - \(bad)") }
    }
  }

  @Test func adaptiveMaxPoolSavesInputAndIndices() {
    let saves = Op.adaptiveMaxPool(outH: 2, outW: 2).backwardSaves
    #expect(saves == Op.pool(Pool2D(kind: .max, kernel: Pair(2), stride: Pair(2))).backwardSaves)
  }

  @Test func adaptiveMaxPoolReceptiveFieldIsAdaptiveAveragePools() throws {
    for size in ["[2, 3]", "5", "1"] {
      let avg = try graph("  - {conv: 2, kernel: 3}\n  - {adaptive_avgpool: \(size)}", input: [1, 12, 12])
      let max = try graph("  - {conv: 2, kernel: 3}\n  - {adaptive_maxpool: \(size)}", input: [1, 12, 12])
      let a = try ReceptiveFields(avg)
      let m = try ReceptiveFields(max)
      #expect(a.nodes.last == m.nodes.last, "\(size)")
      #expect(a.warnings.count == m.warnings.count, "\(size)")
    }
  }
  @Test func upsampleByHand() throws {
    let x: [Float] = [1, 2, 3, 4]
    let nearest = Op.upsample(Upsample(scale: Pair(2)))
    let bilinear = Op.upsample(Upsample(scale: Pair(2), mode: .bilinear))
    let corners = Op.upsample(Upsample(size: Pair(3), mode: .bilinear, alignCorners: true))
    // One axis of [1, 2] bilinear ×2: sources 0 (clamped), 0.25, 0.75, 1.25 (clamped to 1).
    let axis: [Float] = [0, 0.25, 0.75, 1]
    for kernels in PlanOptions.Kernels.supported {
      let n = try runSingle(nearest, input: [1, 2, 2], x: x, kernels: kernels)
      #expect(n == [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4], "\(kernels)")
      let b = try runSingle(bilinear, input: [1, 2, 2], x: x, kernels: kernels)
      #expect(maxAbsDiff(b, axis.flatMap { ty in axis.map { tx in 1 + tx + 2 * ty } }) < 1e-6, "\(kernels)")
      let c = try runSingle(corners, input: [1, 2, 2], x: x, kernels: kernels)
      #expect(c == [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4], "\(kernels)")
    }
  }

  @Test func upsampleFormatShapesAndCounts() throws {
    let g = try graph(
      """
        - {upsample: [2, 3], name: up}
        - {upsample: null, size: [7, 4], mode: bilinear, align_corners: true}
        - {upsample: 1, mode: bilinear}
      """, input: [4, 3, 2])
    let s = try Summary(g)
    let ups = g.nodes.filter { $0.op.kindName == "upsample" }
    #expect(ups.map { s.shapes[$0.id] } == [[4, 6, 6], [4, 7, 4], [4, 7, 4]])
    #expect(ups.map { s.nodeCounts[$0.id].flops } == [0, 7 * 4 * 7 * 4, 7 * 4 * 7 * 4])
    #expect(ups.allSatisfy { s.nodeCounts[$0.id].params == 0 && $0.op.backwardSaves == Op.flatten.backwardSaves })
    #expect(ups[0].op == .upsample(Upsample(scale: Pair(2, 3))) && ups[0].name == "up")
    let refusals = [
      ("{upsample: 2, mode: nearest, align_corners: true}", "align_corners"),
      ("{upsample: 2, size: [4, 4]}", "exactly one"),
      ("{upsample: null}", "exactly one"),
      ("{upsample: 2, mode: bicubic}", "mode"),
      ("{upsample: 0}", "scale_factor"),
    ]
    for (bad, word) in refusals {
      do {
        _ = try graph("  - \(bad)")
        Issue.record("accepted \(bad)")
      } catch let e as DefinitionError {
        #expect(e.message.contains(word), "\(bad): \(e)")
      }
    }
  }

  @Test func upsampleReceptiveFields() throws {
    // Nearest ×2 after a stride-2 layer: the jump halves back to 1; two neighbouring units read the
    // same input, so the window is the smallest linear one containing both (size 3 + 1), approximate.
    let strided = try ReceptiveFields(
      try graph("  - {conv: 1, kernel: 3, stride: 2, padding: 1}\n  - {upsample: 2}", input: [1, 8, 8]))
    let f = try #require(strided.nodes.last)
    #expect(f.h.stride == 1 && f.w.stride == 1 && f.h.size == 4, "\(f)")
    #expect(f.approximate && strided.warnings.count == 1)
    // Directly on the input the field would move half a pixel per unit: the whole input, with a warning.
    for layer in ["{upsample: 2}", "{upsample: 2, mode: bilinear}", "{upsample: null, size: [5, 5]}"] {
      let rf = try ReceptiveFields(try graph("  - \(layer)", input: [1, 4, 4]))
      #expect(rf.nodes.last?.approximate == true, "\(layer)")
      #expect(rf.warnings.count == 1, "\(layer)")
    }
  }

  /// Nearest ×2, bilinear to a size without and with align_corners and adaptive max pooling to a
  /// size that does not divide the input, against PyTorch (`resize_net.npy`; scripts/make_fixtures.py's
  /// `ResizeNet`) from the same seeded weights and input, on every kernel set this CPU runs, at 1e-4
  /// of the largest magnitude.
  @Test func networkMatchesPyTorch() throws {
    let text = """
      input: [3, 6, 5]
      network:
        - {conv: 4, kernel: 3, padding: 1, name: stem}
        - relu
        - {upsample: 2}
        - {conv: 4, kernel: 3, padding: 1, name: mid}
        - {upsample: null, size: [15, 13], mode: bilinear}
        - {adaptive_maxpool: [4, 5]}
        - {upsample: null, size: [7, 9], mode: bilinear, align_corners: true}
        - flatten
        - {linear: 10, name: fc}
      models: {net: {}}
      """
    let g = try DefinitionFile(path: "resize_net.yaml", text: text).graph(named: nil)
    let expected = try Npy.read(fixturesDir.appendingPathComponent("resize_net.npy").path)
    #expect(expected.shape == [2, 10])
    let scale = expected.data.map(abs).max()!
    #expect(scale > 0)
    for kernels in PlanOptions.Kernels.supported {
      let net = try Network(
        graph: g, batch: 2, weights: SeededInit.weights(for: g, randomStatistics: true),
        options: PlanOptions(kernels: kernels))
      let y = try net.run(seededInput(net.inputCount))[0]
      let err = maxAbsDiff(y, expected.data) / scale
      #expect(err <= 1e-4, "\(kernels): max error \(err) of the largest magnitude \(scale)")
    }
  }
}
