import Foundation
import Testing
import ZooAnalysis
import ZooEngine
import ZooFormat
import ZooGraph

/// `conv_transpose` (`nn.ConvTranspose2d`) from the definition format to the engine: PyTorch's output
/// and counts, the refusals, and the receptive field against a measured dependence.
@Suite("Transposed convolution")
struct ConvTransposeTests {
  /// scripts/make_fixtures.py's `ConvTransposeNet`, with the same layer names.
  static let netText = """
    input: [6, 5, 7]
    network:
      - {conv_transpose: 8, kernel: 3, stride: 2, padding: 1, output_padding: 1, name: t1}
      - relu
      - {conv_transpose: 8, kernel: 3, padding: 2, dilation: 2, groups: 4, name: t2}
      - {bn, name: b2}
      - silu
      - {conv_transpose: 4, kernel: [4, 3], stride: [2, 3], padding: [1, 0], output_padding: [0, 2], bias: false, name: t3}
      - {conv_transpose: 2, kernel: 2, stride: 2, output_padding: 2, dilation: 3, name: t4}
    models: {net: {}}
    """

  /// The engine equals PyTorch (`conv_transpose_net.npy`) from the same seeded weights and input, on
  /// every kernel set this CPU runs, with and without the fusion passes, at 1e-4 of the largest magnitude.
  @Test func networkMatchesPyTorch() throws {
    let g = try DefinitionFile(path: "conv_transpose_net.yaml", text: Self.netText).graph(named: nil)
    let expected = try Npy.read(fixturesDir.appendingPathComponent("conv_transpose_net.npy").path)
    #expect(expected.shape == [2, 2, 44, 92])
    let scale = expected.data.map(abs).max()!
    #expect(scale > 0)
    for kernels in PlanOptions.Kernels.supported {
      for fusions in [Set(Fusion.allCases), []] {
        for threads in [1, 2] {
          let net = try Network(
            graph: g, batch: 2, weights: SeededInit.weights(for: g, randomStatistics: true), threads: threads,
            options: PlanOptions(kernels: kernels, fusions: fusions))
          if !fusions.isEmpty {
            #expect(net.stepPaths.first == "conv_transpose+relu", "the ReLU runs in the epilogue: \(net.stepPaths)")
          }
          let y = try net.run(seededInput(net.inputCount))[0]
          let err = maxAbsDiff(y, expected.data) / scale
          #expect(err <= 1e-4, "\(kernels), fusions \(fusions), \(threads) threads: max error \(err) of \(scale)")
        }
      }
    }
  }

  /// Shapes, parameters and MACs equal PyTorch's, fvcore's conv handle and torch's flop counter
  /// (`conv_transpose_counts.json`, written by scripts/make_fixtures.py).
  @Test func countsMatchTorchAndFvcore() throws {
    let g = try DefinitionFile(path: "conv_transpose_net.yaml", text: Self.netText).graph(named: nil)
    let data = try Data(contentsOf: fixturesDir.appendingPathComponent("conv_transpose_counts.json"))
    let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let layers = try #require(json["layers"] as? [String: [String: Any]])
    #expect(layers.count == 4)
    let s = try Summary(g)
    for (name, want) in layers {
      let id = try #require(g.nodes.firstIndex { $0.name == name }, "no layer \(name)")
      let c = s.nodeCounts[id]
      #expect(s.shapes[id] == want["output"] as? [Int], "\(name) output")
      #expect(c.params == want["params"] as? Int, "\(name) params")
      #expect(c.macs == want["fvcore_macs"] as? Int, "\(name) MACs")
      #expect(2 * c.macs == want["torch_flop_counter_flops"] as? Int, "\(name) 2·MACs")
      guard case .convTranspose(let t) = g.nodes[id].op else {
        Issue.record("\(name) is not a transposed convolution")
        continue
      }
      #expect(c.flops == 2 * c.macs + (t.bias ? s.shapes[id].reduce(1, *) : 0))
      #expect(g.nodes[id].tensors[0].shape == [t.inChannels, t.outChannels / t.groups, t.kernel.h, t.kernel.w])
    }
    #expect(g.nodes[1].op.summary == "conv_transpose 3×3/2, 8")
  }

  /// A transposed convolution writes a buffer of its own (it is never in place, even on a 1×1 kernel
  /// whose output has its input's size), and the activation after it may take its buffer over.
  @Test func ownBuffer() throws {
    let text =
      "input: [4, 6, 6]\nnetwork:\n  - {conv_transpose: 4, kernel: 1, name: t}\n  - {relu, name: r}\nmodels: {m: {}}\n"
    let g = try DefinitionFile(path: "own.yaml", text: text).graph(named: nil)
    let l = try Liveness(try Summary(g))
    #expect(l.bufferOf[1] != l.bufferOf[0])
    #expect(l.buffers[l.bufferOf[1]].bytes == 4 * 6 * 6 * 4)
    #expect(l.bufferOf[2] == l.bufferOf[1])
  }

  /// `output_padding` must stay below `max(stride, dilation)`, as PyTorch requires; empty outputs
  /// and groups that do not divide the channels are refused too, with the values in the message.
  @Test func refusals() throws {
    func message(_ layer: String) -> String {
      let text = "input: [4, 6, 6]\nnetwork:\n  - \(layer)\nmodels: {m: {}}\n"
      do {
        _ = try DefinitionFile(path: "bad.yaml", text: text).graph(named: nil)
        return ""
      } catch {
        return "\(error)"
      }
    }
    let op = message("{conv_transpose: 4, kernel: 3, stride: 2, output_padding: 2, name: up}")
    #expect(
      op.contains("layer `up`: `output_padding` 2") && op.contains("stride (2)") && op.contains("bad.yaml:3:5"),
      "\(op)")
    let dil = message("{conv_transpose: 4, kernel: 3, output_padding: [0, 1], name: up}")
    #expect(dil.contains("`output_padding` 1 (width)"), "\(dil)")
    #expect(message("{conv_transpose: 4, kernel: 3, dilation: 2, output_padding: 1, name: up}") == "")
    let empty = message("{conv_transpose: 4, kernel: 1, padding: 3, name: up}")
    #expect(empty.contains("empty") && empty.contains("layer `up`"), "\(empty)")
    let groups = message("{conv_transpose: 6, kernel: 3, groups: 4, name: up}")
    #expect(groups.contains("groups = 4"), "\(groups)")
  }

  // MARK: - Receptive field

  /// A stack along H only (W is 1): `(kind, kernel, stride, padding, dilation)`, kind `c` or `t`.
  private func stack(_ layers: [(Character, Int, Int, Int, Int)], height: Int) throws -> Graph {
    var text = "input: [1, \(height), 1]\nnetwork:\n"
    for (i, l) in layers.enumerated() {
      let (kind, k, s, p, d) = l
      let op = kind == "c" ? "conv" : "conv_transpose"
      text +=
        "  - {\(op): 1, kernel: [\(k), 1], stride: [\(s), 1], padding: [\(p), 0], dilation: [\(d), 1], name: l\(i)}\n"
    }
    return try DefinitionFile(path: "stack.yaml", text: text + "models: {m: {}}\n").graph(named: nil)
  }

  /// For every unit of the last layer, the input rows it depends on, measured in float64 with the
  /// reference interpreter: positive weights and inputs, so a row matters exactly when raising it
  /// raises the unit.
  private func measuredDependence(_ g: Graph) throws -> [Set<Int>] {
    var weights: [String: Tensor] = [:]
    var r = SplitMixRandom(7)
    for node in g.nodes {
      for t in node.tensors {
        weights[t.name] = Tensor(shape: t.shape, data: (0..<t.elements).map { _ in Float(r.uniform(0.5, 1.5)) })
      }
    }
    let interp = try ReferenceInterpreter(graph: g, batch: 1, weights: weights)
    let n = g.inputShape[1]
    let base = [Float](repeating: 1, count: n)
    let y0 = interp.run(base)[0]
    var deps = [Set<Int>](repeating: [], count: y0.count)
    for i in 0..<n {
      var x = base
      x[i] += 1
      let y = interp.run(x)[0]
      for u in 0..<y.count where y[u] != y0[u] { deps[u].insert(i) }
    }
    return deps
  }

  /// The rows unit `u` of the last layer reads, back-propagated as sets from the layers' definitions
  /// (a transposed convolution's unit `o` reads the cells `i` with `i·s − p + a·d = o`); `clipped` drops
  /// positions outside each layer's extent, as the computation does, otherwise they stay (padding).
  private func propagated(
    _ layers: [(Character, Int, Int, Int, Int)], lengths: [Int], unit u: Int, clipped: Bool
  ) -> Set<Int> {
    var set: Set<Int> = [u]
    for (index, l) in layers.enumerated().reversed() {
      let (kind, k, s, p, d) = l
      var below: Set<Int> = []
      for o in set {
        for a in 0..<k {
          if kind == "c" {
            below.insert(o * s - p + a * d)
          } else {
            let t = o + p - a * d
            if ((t % s) + s) % s == 0 { below.insert(t >= 0 ? t / s : -((-t) / s)) }
          }
        }
      }
      set = clipped ? below.filter { (0..<lengths[index]).contains($0) } : below
    }
    return set
  }

  /// Checks a stack: the float64 measurement equals the clipped set back-propagation for every unit
  /// (so the set model of the transposed convolution is the real dependence), and returns, per unit,
  /// the unclipped hull with the recurrence's span.
  private func check(_ layers: [(Character, Int, Int, Int, Int)], height n: Int) throws -> (
    ReceptiveFields, [(hull: ClosedRange<Int>, span: ClosedRange<Int>)]
  ) {
    let g = try stack(layers, height: n)
    let rf = try ReceptiveFields(g)
    let lengths = rf.summary.shapes.map { $0[1] }
    let deps = try measuredDependence(g)
    var rows: [(hull: ClosedRange<Int>, span: ClosedRange<Int>)] = []
    for (u, d) in deps.enumerated() {
      #expect(
        d == propagated(layers, lengths: lengths, unit: u, clipped: true),
        "\(layers) unit \(u): measured \(d.sorted())")
      let all = propagated(layers, lengths: lengths, unit: u, clipped: false)
      if let lo = all.min(), let hi = all.max() { rows.append((lo...hi, rf.output.h.span(of: u))) }
    }
    #expect(deps.contains { !$0.isEmpty }, "\(layers): no unit depends on the input")
    return (rf, rows)
  }

  /// With stride 1 a transposed convolution is a sliding window and the field is exact: every unit's
  /// span equals the hull of what it reads.
  @Test func strideOneIsExact() throws {
    for layers in [
      [("c", 3, 1, 1, 1), ("t", 3, 1, 0, 1), ("c", 3, 1, 1, 1)],
      [("c", 3, 2, 1, 1), ("t", 4, 1, 2, 2), ("t", 2, 1, 5, 1)],
      [("t", 5, 1, 4, 1), ("c", 3, 3, 0, 1), ("t", 3, 1, 1, 3)],
    ] as [[(Character, Int, Int, Int, Int)]] {
      let (rf, rows) = try check(layers, height: 24)
      #expect(rf.warnings.isEmpty && !rf.output.approximate, "\(layers): \(rf.warnings)")
      for (u, r) in rows.enumerated() {
        #expect(r.hull == r.span, "\(layers) unit \(u): reads \(r.hull), field \(r.span)")
      }
    }
  }

  /// A conv, a stride-2 (or 3) transposed conv and a conv: the field is the smallest (size, stride,
  /// padding) window holding what every unit reads, marked approximate with a warning: every unit's
  /// hull lies inside its span, and some unit reaches each end (the envelope is tight).
  @Test func stridedIsATightEnvelope() throws {
    for layers in [
      [("c", 3, 2, 1, 1), ("t", 3, 2, 1, 1), ("c", 3, 1, 1, 1)],
      [("c", 3, 2, 1, 1), ("t", 4, 2, 1, 1), ("c", 3, 1, 1, 1)],
      [("c", 3, 4, 1, 1), ("t", 3, 2, 1, 2), ("c", 3, 1, 1, 1)],
      [("c", 5, 6, 2, 1), ("t", 3, 3, 0, 1), ("c", 3, 1, 1, 1)],
    ] as [[(Character, Int, Int, Int, Int)]] {
      let (rf, rows) = try check(layers, height: 48)
      #expect(rf.output.approximate && rf.warnings.count == 1, "\(layers): \(rf.warnings)")
      for (u, r) in rows.enumerated() {
        #expect(
          r.span.lowerBound <= r.hull.lowerBound && r.hull.upperBound <= r.span.upperBound,
          "\(layers) unit \(u): reads \(r.hull), outside the field \(r.span)")
      }
      #expect(rows.contains { $0.hull.lowerBound == $0.span.lowerBound }, "\(layers): no unit reaches the first row")
      #expect(rows.contains { $0.hull.upperBound == $0.span.upperBound }, "\(layers): no unit reaches the last row")
    }
  }

  /// When the stride does not divide the effective stride (a stride-2 transposed convolution on the
  /// input), the field is given as the whole input with a warning instead of a wrong number.
  @Test func fractionalStrideIsGlobal() throws {
    let rf = try ReceptiveFields(try stack([("t", 3, 2, 1, 1)], height: 8))
    #expect(rf.output.global && rf.output.approximate)
    #expect(rf.warnings.first?.message.contains("H 1/2") == true, "\(rf.warnings)")
  }
}
