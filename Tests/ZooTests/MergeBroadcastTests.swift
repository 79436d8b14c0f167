import Foundation
import Testing
import ZooAnalysis
import ZooEngine
import ZooFormat
import ZooGraph

/// `mul` and broadcasting `add`/`mul` through every layer: shapes, counts, the format, memory,
/// receptive fields, the engine (by hand and against PyTorch). The engine's paths on random graphs
/// are the property test's business (EnginePropertyTests, RandomGraphs' squeeze-and-excitation,
/// gated and broadcast merges).
@Suite("Element-wise mul and broadcasting merges")
struct MergeBroadcastTests {
  /// The graph of a one-model definition with `network` on `input`.
  func graph(_ network: String, input: [Int] = [2, 2, 2]) throws -> Graph {
    let text = "input: \(input)\nnetwork:\n\(network)\nmodels: {m: {}}\n"
    return try DefinitionFile(path: "merge.yaml", text: text).graph()
  }

  @Test func broadcastShapes() throws {
    #expect(try broadcastShape([[8, 4, 4], [8, 1, 1]]) == [8, 4, 4])
    #expect(try broadcastShape([[8, 1, 1], [8, 4, 4]]) == [8, 4, 4])
    #expect(try broadcastShape([[1, 4, 4], [8, 4, 4], [8, 1, 1]]) == [8, 4, 4])
    #expect(try broadcastShape([[8, 1, 4], [1, 3, 1]]) == [8, 3, 4], "both inputs grow")
    #expect(try broadcastShape([[5], [5]]) == [5])
    #expect(try broadcastShape([[1], [5]]) == [5])
    for bad in [[[8, 4, 4], [4, 1, 1]], [[8, 4, 4], [8, 2, 4]], [[8, 1, 1], [8]]] {
      #expect(throws: ShapeError.self, "\(bad)") { try broadcastShape(bad) }
    }
    do {
      _ = try Op.mul.outputShape([[8, 4, 4], [4, 1, 1]])
      Issue.record("8×4×4 × 4×1×1 broadcast")
    } catch {
      #expect(error.message == "mul needs shapes that broadcast (every axis equal or 1), got 8×4×4 and 4×1×1")
    }
  }

  @Test func mismatchNamesTheLayerAndBothShapes() throws {
    let network = """
        - {conv: 8, kernel: 1}
        - mul:
          - []
          - [{adaptive_avgpool: 1}, {conv: 4, kernel: 1}]
          name: se
      """
    do {
      _ = try graph(network, input: [3, 4, 4])
      Issue.record("a 8×4×4 × 4×1×1 mul was accepted")
    } catch let e as DefinitionError {
      #expect(e.message.contains("layer `se`"), "\(e)")
      #expect(e.message.contains("8×4×4 and 4×1×1"), "\(e)")
      #expect(e.line == 4, "\(e)")  // the `mul` item
    }
  }

  @Test func formatCheckerKnowsMul() throws {
    let ok = "input: [2, 4, 4]\nnetwork:\n  - {mul: [[], [tanh], [sigmoid]], name: gate}\nmodels: {m: {}}\n"
    #expect(DefinitionFile.check(path: "ok.yaml", text: ok).isEmpty)
    let g = try DefinitionFile(path: "ok.yaml", text: ok).graph()
    let mul = try #require(g.nodes.last)
    #expect(mul.op == .mul && mul.name == "gate" && mul.inputs.count == 3)
    let one = "input: [2, 4, 4]\nnetwork:\n  - {mul: [[tanh]]}\nmodels: {m: {}}\n"
    let errors = DefinitionFile.check(path: "one.yaml", text: one)
    #expect(errors.map(\.message) == ["`mul` needs a list of at least two branches"])
    #expect(throws: DefinitionError.self) { try DefinitionFile(path: "one.yaml", text: one).graph() }
    let extra = "input: [2, 4, 4]\nnetwork:\n  - {mul: [[], []], kernel: 3}\nmodels: {m: {}}\n"
    #expect(!DefinitionFile.check(path: "extra.yaml", text: extra).isEmpty)
  }

  @Test func flopsArePerOutputElementPerExtraInput() throws {
    let g = try graph(
      """
        - {conv: 8, kernel: 1}
        - mul: [[], [{adaptive_avgpool: 1}], [sigmoid]]
        - add: [[{adaptive_avgpool: [1, 5]}], []]
      """, input: [3, 5, 5])
    let s = try Summary(g)
    let mul = try #require(g.nodes.first { $0.op == .mul })
    let add = try #require(g.nodes.first { $0.op == .add })
    #expect(s.nodeCounts[mul.id].flops == 2 * 8 * 5 * 5)
    #expect(s.nodeCounts[add.id].flops == 8 * 5 * 5)
    #expect(s.shapes[add.id] == [8, 5, 5])
  }

  /// Hand-computed: `x` is 1…8 as `2×2×2`; channel means 2.5 and 6.5, column means (per channel)
  /// 2, 3 and 6, 7.
  @Test(arguments: PlanOptions.Kernels.supported) func engineByHand(kernels: PlanOptions.Kernels) throws {
    let x: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]
    let cases: [(String, [Float])] = [
      ("  - mul: [[], [{adaptive_avgpool: 1}]]", [2.5, 5, 7.5, 10, 32.5, 39, 45.5, 52]),
      ("  - mul: [[{adaptive_avgpool: 1}], []]", [2.5, 5, 7.5, 10, 32.5, 39, 45.5, 52]),
      ("  - add: [[], [{adaptive_avgpool: [1, 2]}]]", [3, 5, 5, 7, 11, 13, 13, 15]),
      ("  - add: [[{adaptive_avgpool: [2, 1]}], []]", [2.5, 3.5, 6.5, 7.5, 10.5, 11.5, 14.5, 15.5]),
      ("  - mul: [[], [], [{adaptive_avgpool: 1}]]", [2.5, 10, 22.5, 40, 162.5, 234, 318.5, 416]),
      ("  - mul: [[], [{adaptive_avgpool: 1}]]\n  - relu6", [2.5, 5, 6, 6, 6, 6, 6, 6]),
      ("  - add: [[{adaptive_avgpool: 1}], [{adaptive_avgpool: [1, 2]}]]", [4.5, 5.5, 12.5, 13.5]),
    ]
    for (network, want) in cases {
      let g = try graph(network)
      for fusions in [Set(Fusion.allCases), []] {
        let net = try Network(
          graph: g, weights: SeededInit.weights(for: g), options: PlanOptions(kernels: kernels, fusions: fusions))
        let y = try net.run(x)[0]
        #expect(y == want, "\(network) \(net.stepPaths)")
      }
    }
  }

  @Test func channelBroadcastMatchesTheReferenceInterpreter() throws {
    // 1×H×W gates and C×1×W rows: the general broadcast loop, on a batch of 3, on every kernel set.
    let g = try graph(
      """
        - {conv: 6, kernel: 3, padding: 1}
        - mul: [[], [{conv: 1, kernel: 1}, sigmoid]]
        - add: [[{adaptive_avgpool: [1, 7]}], [], [{conv: 1, kernel: 1}]]
        - relu
      """, input: [3, 5, 7])
    let weights = SeededInit.weights(for: g)
    let x = seededInput(3 * 3 * 5 * 7)
    let want = try ReferenceInterpreter(graph: g, batch: 3, weights: weights).run(x)[0]
    let scale = want.map(abs).max()!
    for kernels in PlanOptions.Kernels.supported {
      let net = try Network(graph: g, batch: 3, weights: weights, threads: 2, options: PlanOptions(kernels: kernels))
      let y = try net.run(x)[0]
      let err = zip(y, want).map { abs(Double($0) - $1) }.max()! / scale
      #expect(err <= 1e-5, "\(kernels): \(err)")
    }
  }

  @Test func inPlaceOnlyWhenTheFirstInputHasTheOutputShape() throws {
    let gate = "[{adaptive_avgpool: 1}, {conv: 8, kernel: 1}, sigmoid]"
    for (first, inPlace) in [(true, true), (false, false)] {
      let branches = first ? "[[relu], \(gate)]" : "[\(gate), [relu]]"
      let g = try graph("  - {conv: 8, kernel: 3, padding: 1}\n  - mul: \(branches)", input: [3, 6, 6])
      let live = try Liveness(try Summary(g))
      let mul = try #require(g.nodes.first { $0.op == .mul })
      #expect(live.aliasesInput(mul.id) == inPlace, "feature map first: \(first)")
      // The engine writes where the plan says and computes the same product either way.
      let net = try Network(graph: g, weights: SeededInit.weights(for: g))
      let y = try net.run(seededInput(3 * 36))[0]
      let want = try ReferenceInterpreter(graph: g, batch: 1, weights: SeededInit.weights(for: g)).run(
        seededInput(3 * 36))[0]
      #expect(zip(y, want).allSatisfy { abs(Double($0) - $1) <= 1e-5 })
    }
  }

  /// A squeeze-and-excitation block: the gate follows a global pool, so the product's every unit
  /// depends on the whole input; the convolutions before it keep their local fields, and a set
  /// back-propagation through the graph agrees.
  @Test func squeezeExcitationReceptiveField() throws {
    let g = try graph(
      """
        - {conv: 8, kernel: 3, padding: 1, name: c1}
        - mul:
          - []
          - [{adaptive_avgpool: 1}, {conv: 2, kernel: 1}, relu, {conv: 8, kernel: 1}, sigmoid]
          name: se
        - {conv: 8, kernel: 3, padding: 1, name: c2}
      """, input: [3, 9, 9])
    let rf = try ReceptiveFields(g)
    let node = { (name: String) in g.nodes.first { $0.name == name }!.id }
    #expect(
      rf.nodes[node("c1")]
        == ReceptiveField(h: AxisField(size: 3, stride: 1, padding: 1), w: AxisField(size: 3, stride: 1, padding: 1)))
    #expect(rf.nodes[node("se")].global && !rf.nodes[node("se")].approximate)
    #expect(rf.nodes[node("c2")].global)
    #expect(rf.warnings.isEmpty, "\(rf.warnings)")
    // By back-propagation: unit (0, 0) of the product reads every input pixel through the gate.
    var needed: [Int: Set<[Int]>] = [node("se"): [[0, 0]]]
    for id in stride(from: node("se"), through: 1, by: -1) {
      guard let here = needed.removeValue(forKey: id) else { continue }
      let n = g.nodes[id]
      let inShape = rf.summary.shapes[n.inputs[0]]
      for i in n.inputs {
        let s = rf.summary.shapes[i]
        var below: Set<[Int]> = []
        switch n.op {
        case .conv(let c):
          for p in here {
            for a in 0..<c.kernel.h {
              for b in 0..<c.kernel.w { below.insert([p[0] - c.padding.h + a, p[1] - c.padding.w + b]) }
            }
          }
        case .adaptiveAvgPool:
          for r in 0..<inShape[1] { for q in 0..<inShape[2] { below.insert([r, q]) } }
        case .mul:
          below = Set(here.map { [s[1] == 1 ? 0 : $0[0], s[2] == 1 ? 0 : $0[1]] })
        default:
          below = here
        }
        needed[i, default: []].formUnion(below)
      }
    }
    let seen = needed[0] ?? []
    let inside = seen.filter { (0..<9).contains($0[0]) && (0..<9).contains($0[1]) }
    #expect(inside.count == 81, "unit (0, 0) of the product depends on \(inside.count) of 81 pixels")
  }

  @Test func broadcastFromALocalFieldIsAnApproximateWholeField() throws {
    // A 3×3 convolution with stride 7 on 7×7 leaves one unit that sees 3 of 7 pixels per axis; every
    // unit of the product reads it, and the product reports the whole input as an upper bound.
    let g = try graph(
      "  - mul: [[{conv: 2, kernel: 3, padding: 1}], [{conv: 2, kernel: 3, stride: 7}]]", input: [1, 7, 7])
    let rf = try ReceptiveFields(g)
    #expect(rf.output.global && rf.output.approximate)
    #expect(rf.warnings.count == 1)
    #expect(rf.warnings.first?.message.contains("upper bound") == true, "\(rf.warnings)")
  }

  /// A squeeze-and-excitation block, a gated convolution, a `1×H×W` broadcast add (fused ReLU) and a
  /// mul of three inputs, one `C×1×W`, against PyTorch (`merge_net.npy`; scripts/make_fixtures.py's
  /// `MergeNet`) from the same seeded weights and input, on every kernel set this CPU runs, at 1e-4
  /// of the largest magnitude.
  @Test func networkMatchesPyTorch() throws {
    let text = """
      input: [3, 8, 8]
      network:
        - {conv: 8, kernel: 3, padding: 1, name: stem}
        - relu
        - mul:
          - []
          - - {adaptive_avgpool: 1}
            - {conv: 2, kernel: 1, name: se_reduce}
            - relu
            - {conv: 8, kernel: 1, name: se_expand}
            - sigmoid
        - mul:
          - [{conv: 6, kernel: 3, padding: 1, name: feature}, tanh]
          - [{conv: 6, kernel: 3, padding: 1, name: gate}, sigmoid]
        - add: [[{conv: 1, kernel: 1, name: spatial}], []]
        - relu
        - mul: [[], [sigmoid], [{adaptive_avgpool: [1, 8]}]]
        - flatten
        - {linear: 10, name: fc}
      models: {net: {}}
      """
    let g = try DefinitionFile(path: "merge_net.yaml", text: text).graph(named: nil)
    let expected = try Npy.read(fixturesDir.appendingPathComponent("merge_net.npy").path)
    #expect(expected.shape == [2, 10])
    let scale = expected.data.map(abs).max()!
    #expect(scale > 0)
    for kernels in PlanOptions.Kernels.supported {
      for fusions in [Set(Fusion.allCases), []] {
        let net = try Network(
          graph: g, batch: 2, weights: SeededInit.weights(for: g, randomStatistics: true),
          options: PlanOptions(kernels: kernels, fusions: fusions))
        if !fusions.isEmpty {
          #expect(net.stepPaths.contains("add+relu"), "the broadcast add runs alone: \(net.stepPaths)")
        }
        let y = try net.run(seededInput(net.inputCount))[0]
        let err = maxAbsDiff(y, expected.data) / scale
        #expect(err <= 1e-4, "\(kernels) \(fusions.count) passes: max error \(err) of the largest magnitude \(scale)")
      }
    }
  }
}
