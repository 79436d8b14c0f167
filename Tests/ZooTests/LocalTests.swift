import Foundation
import Testing
import ZooAnalysis
import ZooEngine
import ZooFormat
import ZooGraph

/// `local`: locally connected (unshared) and tiled convolutions through the format, shapes, counts,
/// receptive fields and the engine (against PyTorch's unfold + einsum, the reference interpreter, and
/// a shared convolution when the tile is 1×1).
@Suite("Locally connected and tiled convolution")
struct LocalTests {
  func graph(_ network: String, input: [Int]) throws -> Graph {
    let text = "input: \(input)\nnetwork:\n\(network)\nmodels: {m: {}}\n"
    return try DefinitionFile(path: "local.yaml", text: text).graph()
  }

  func message(_ network: String, input: [Int] = [2, 6, 6]) -> String {
    do {
      _ = try graph(network, input: input)
      return ""
    } catch {
      return "\(error)"
    }
  }

  /// scripts/make_fixtures.py's `LocalNet`, with the same layer names.
  static let netText = """
    input: [3, 7, 6]
    network:
      - {local: 4, kernel: 3, padding: 1, name: l1}
      - relu
      - {local: 5, kernel: [3, 2], stride: 2, padding: [1, 0], tile: [2, 3], name: t2}
      - relu
      - {local: 3, kernel: 2, bias: false, name: l3}
    models: {net: {}}
    """

  /// The engine and the reference interpreter equal PyTorch's unfold + einsum (`local_net.npy`) from
  /// the same seeded weights and input, at 1e-4 of the largest magnitude, on one and two threads.
  @Test func networkMatchesPyTorch() throws {
    let g = try DefinitionFile(path: "local_net.yaml", text: Self.netText).graph(named: nil)
    let expected = try Npy.read(fixturesDir.appendingPathComponent("local_net.npy").path)
    #expect(expected.shape == [2, 3, 3, 2])
    let scale = expected.data.map(abs).max()!
    #expect(scale > 0)
    let weights = SeededInit.weights(for: g)
    for threads in [1, 2] {
      let net = try Network(graph: g, batch: 2, weights: weights, threads: threads)
      let y = try net.run(seededInput(net.inputCount))[0]
      let err = maxAbsDiff(y, expected.data) / scale
      #expect(err <= 1e-4, "\(threads) thread(s): max error \(err) of the largest magnitude \(scale)")
    }
    let reference = try ReferenceInterpreter(graph: g, batch: 2, weights: weights).run(seededInput(2 * 3 * 7 * 6))[0]
    let err = zip(reference, expected.data).map { abs($0 - Double($1)) }.max()! / Double(scale)
    #expect(err <= 1e-4, "reference interpreter: max error \(err)")
  }

  /// A 1×1 tile shares one kernel everywhere: the layer is the convolution with that kernel.
  @Test func oneTileIsAConvolution() throws {
    let tiled = try graph("  - {local: 4, kernel: 3, stride: 2, padding: 1, tile: 1, name: c}", input: [3, 9, 8])
    let conv = try graph("  - {conv: 4, kernel: 3, stride: 2, padding: 1, name: c}", input: [3, 9, 8])
    let w = SeededInit.weights(for: conv)
    var lw = w
    lw["c.weight"] = Tensor(shape: [1, 1, 4, 3, 3, 3], data: w["c.weight"]!.data)
    lw["c.bias"] = Tensor(shape: [1, 1, 4], data: w["c.bias"]!.data)
    let x = seededInput(3 * 9 * 8)
    let a = try Network(graph: tiled, weights: lw).run(x)[0]
    let b = try Network(graph: conv, weights: w).run(x)[0]
    #expect(a.count == b.count && maxAbsDiff(a, b) <= 1e-5 * b.map(abs).max()!)
  }

  /// Shapes, parameters (one kernel and bias per position, or per tile) and MACs (the convolution's).
  @Test func shapesAndCounts() throws {
    let g = try graph(
      "  - {local: 16, kernel: 3, name: u}\n  - {local: 16, kernel: 3, tile: 2, name: t}", input: [8, 10, 10])
    let s = try Summary(g)
    #expect(s.shapes[1] == [16, 8, 8] && s.shapes[2] == [16, 6, 6])
    #expect(g.nodes[1].tensors.map(\.shape) == [[8, 8, 16, 8, 3, 3], [8, 8, 16]])
    #expect(g.nodes[2].tensors.map(\.shape) == [[2, 2, 16, 16, 3, 3], [2, 2, 16]])
    #expect(s.nodeCounts[1].params == 64 * (16 * 8 * 9 + 16))
    #expect(s.nodeCounts[2].params == 4 * (16 * 16 * 9 + 16))
    #expect(s.nodeCounts[1].macs == 16 * 8 * 9 * 64 && s.nodeCounts[2].macs == 16 * 16 * 9 * 36)
    #expect(s.nodeCounts[1].flops == 2 * s.nodeCounts[1].macs + 16 * 64)
    #expect(g.nodes[1].op.summary == "local 3×3, 16" && g.nodes[2].op.summary == "tiled 3×3, 16, tile 2")
    #expect(g.nodes[1].op.kindName == "local" && g.nodes[1].op.opClass == .convolution)
    // The receptive field is the convolution's.
    let conv = try graph("  - {conv: 16, kernel: 3}\n  - {conv: 16, kernel: 3}", input: [8, 10, 10])
    #expect(try ReceptiveFields(g).output == ReceptiveFields(conv).output)
    // A tiled layer takes another input size; an unshared one refuses it, saying why.
    #expect(try Summary(g, input: [8, 10, 10]).shapes[2] == [16, 6, 6])
    let tiledOnly = try graph("  - {local: 4, kernel: 3, tile: 2, name: t}", input: [8, 10, 10])
    #expect(try Summary(tiledOnly, input: [8, 14, 12]).shapes[1] == [4, 12, 10])
    #expect {
      try Summary(g, input: [8, 12, 12])
    } throws: { error in
      let m = "\(error)"
      return m.contains("`u`") && m.contains("made for a 8×8 output") && m.contains("gives 10×10")
        && m.contains("depends on the input size")
    }
  }

  /// Goodfellow, Bengio & Courville's Figure 9.16 in one dimension: outputs that each see two
  /// neighbouring inputs have their own two weights when locally connected, share two kernels in a
  /// cycle when tiled (tile 2: a b c d a b c d …), and share one kernel when convolved.
  @Test func figure916() throws {
    func params(_ op: String) throws -> Int {
      try Summary(graph("  - {\(op): 1, kernel: [1, 2], bias: false}", input: [1, 1, 6])).totals.params
    }
    #expect(try params("local") == 5 * 2)
    #expect(
      try Summary(graph("  - {local: 1, kernel: [1, 2], tile: [1, 2], bias: false}", input: [1, 1, 6])).totals
        .params == 2 * 2)
    #expect(try params("conv") == 2)
  }

  /// Hostile values give one error naming the layer.
  @Test func refusals() {
    let big = message("  - {local: 2, kernel: 3, tile: [5, 2], name: t}")
    #expect(big.contains("layer `t`") && big.contains("larger than the 4×4 output"), "\(big)")
    let empty = message("  - {local: 2, kernel: 7, name: t}")
    #expect(empty.contains("layer `t`") && empty.contains("empty"), "\(empty)")
    #expect(message("  - {local: 2, kernel: 3, tile: 0}").contains("`tile`"))
    #expect(message("  - {local: 0, kernel: 3}").contains("`out` must be ≥ 1"))
    #expect(message("  - flatten\n  - {local: 2, kernel: 1}").contains("C×H×W"))
    let text = "input: [1, 4, 4]\nnetwork:\n  - {local: 2, kernel: 3, tile: 2}\nmodels: {m: {}}\n"
    #expect(DefinitionFile.check(path: "ok.yaml", text: text).isEmpty)
    let bad = "input: [1, 4, 4]\nnetwork:\n  - {local: 2, kernel: 3, tile: 1.5}\nmodels: {m: {}}\n"
    #expect(DefinitionFile.check(path: "bad.yaml", text: bad).count == 1)
  }
}
