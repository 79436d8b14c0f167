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
}
