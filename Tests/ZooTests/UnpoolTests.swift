import Foundation
import Testing
import ZooAnalysis
import ZooEngine
import ZooFormat
import ZooGraph
import ZooRender

/// `max_unpool` (SegNet's unpooling by a max pool's switches) and `maxout` through the format, shapes,
/// counts, memory (the switch buffers), receptive fields, the diagram and the engine (by hand, against
/// the reference interpreter and against PyTorch). Random graphs reach both through the property test.
@Suite("Max unpooling and maxout")
struct UnpoolTests {
  /// The graph of a one-model definition with `network` on `input`.
  func graph(_ network: String, input: [Int] = [1, 4, 4]) throws -> Graph {
    let text = "input: \(input)\nnetwork:\n\(network)\nmodels: {m: {}}\n"
    return try DefinitionFile(path: "unpool.yaml", text: text).graph()
  }

  /// The error message building `network` gives, or "" when it builds.
  func message(_ network: String, input: [Int] = [2, 6, 6]) -> String {
    do {
      _ = try graph(network, input: input)
      return ""
    } catch {
      return "\(error)"
    }
  }

  /// scripts/make_fixtures.py's `UnpoolNet`, with the same layer names.
  static let netText = """
    input: [3, 11, 9]
    network:
      - {conv: 8, kernel: 3, padding: 1, name: enc1}
      - {bn, name: enc1_bn}
      - relu
      - {maxpool: 2, name: pool1}
      - {conv: 8, kernel: 3, padding: 1, name: enc2}
      - {bn, name: enc2_bn}
      - relu
      - {maxpool: 3, stride: 2, padding: 1, name: pool2}
      - {conv: 8, kernel: 3, padding: 1, name: mid}
      - {max_unpool: pool2, name: unpool2}
      - {conv: 8, kernel: 3, padding: 1, name: dec2}
      - {bn, name: dec2_bn}
      - relu
      - {max_unpool: pool1, name: unpool1}
      - {conv: 6, kernel: 3, padding: 1, name: dec1}
      - {maxout: 3, name: mo}
    models: {net: {}}
    """

  /// A reduced SegNet with overlapping windows and output sizes beyond nn.MaxUnpool2d's default formula,
  /// then maxout, against PyTorch (`unpool_net.npy`) from the same seeded weights and input, on every
  /// kernel set this CPU runs and on one and two threads, at 1e-4 of the largest magnitude; and the
  /// reference interpreter on the same weights.
  @Test func networkMatchesPyTorch() throws {
    let g = try DefinitionFile(path: "unpool_net.yaml", text: Self.netText).graph(named: nil)
    let expected = try Npy.read(fixturesDir.appendingPathComponent("unpool_net.npy").path)
    #expect(expected.shape == [2, 2, 11, 9])
    let scale = expected.data.map(abs).max()!
    #expect(scale > 0)
    let weights = SeededInit.weights(for: g, randomStatistics: true)
    for kernels in PlanOptions.Kernels.supported {
      for threads in [1, 2] {
        let net = try Network(
          graph: g, batch: 2, weights: weights, threads: threads, options: PlanOptions(kernels: kernels))
        let y = try net.run(seededInput(net.inputCount))[0]
        let err = maxAbsDiff(y, expected.data) / scale
        #expect(err <= 1e-4, "\(kernels), \(threads) thread(s): max error \(err) of the largest magnitude \(scale)")
        #expect(net.stepPaths.contains("max_unpool") && net.stepPaths.contains("maxout"), "\(net.stepPaths)")
      }
    }
    let reference = try ReferenceInterpreter(graph: g, batch: 2, weights: weights).run(seededInput(2 * 3 * 11 * 9))[0]
    let err = zip(reference, expected.data).map { abs($0 - Double($1)) }.max()! / Double(scale)
    #expect(err <= 1e-4, "reference interpreter: max error \(err)")
  }

  /// By hand: a 2×2 pool and its unpool put every window's maximum back in place and zero the rest;
  /// a tie goes to the first element of the window (row-major), a NaN wins.
  @Test func unpoolPutsMaximaBack() throws {
    let g = try graph("  - {maxpool: 2, name: p}\n  - {max_unpool: p}")
    let x: [Float] = [
      1, 5, 2, 2,
      3, 4, 2, 2,
      9, 0, 7, .nan,
      0, 8, 7, 1,
    ]
    for kernels in PlanOptions.Kernels.supported {
      let net = try Network(graph: g, weights: [:], options: PlanOptions(kernels: kernels))
      let y = try net.run(x)[0]
      let want: [Float] = [
        0, 5, 2, 0,
        0, 0, 0, 0,
        9, 0, 0, .nan,
        0, 0, 0, 0,
      ]
      #expect(y.count == 16)
      for i in 0..<16 {
        #expect(y[i] == want[i] || (y[i].isNaN && want[i].isNaN), "\(kernels) element \(i): \(y[i])")
      }
    }
  }

  /// Shapes, the summary, 0 MACs and 0 FLOPs, no parameters; the output is the pool's input size even
  /// where nn.MaxUnpool2d's formula (n − 1)·s − 2p + k gives less (7 → 3 → 5 with a 3×3/2 pool).
  @Test func shapesAndCounts() throws {
    let g = try graph(
      "  - {conv: 4, kernel: 3, padding: 1}\n  - {maxpool: 3, stride: 2, name: p}\n  - {max_unpool: p, name: u}",
      input: [2, 7, 6])
    let s = try Summary(g, batch: 2)
    let u = try #require(g.nodes.last)
    #expect(u.op == .maxUnpool(MaxUnpool(pool: 2, window: Pool2D(kind: .max, kernel: Pair(3), stride: Pair(2)))))
    #expect(s.shapes[2] == [4, 3, 2] && s.shapes[u.id] == [4, 7, 6])
    #expect(s.nodeCounts[u.id].macs == 0 && s.nodeCounts[u.id].flops == 0 && s.nodeCounts[u.id].params == 0)
    #expect(u.op.summary == "max_unpool 3×3/2" && u.op.kindName == "max_unpool")
    // A different input size re-derives the output from the pool's input.
    #expect(try Summary(g, input: [2, 9, 9]).shapes[u.id] == [4, 9, 9])
  }

  /// Each way to name the wrong pool is one error naming the layer and what is wrong.
  @Test func refusals() {
    let unknown = message("  - {maxpool: 2, name: p}\n  - {max_unpool: q, name: up}")
    #expect(unknown.contains("layer `up`") && unknown.contains("no earlier layer is called that"), "\(unknown)")
    #expect(unknown.contains("unpool.yaml:4:"), "\(unknown)")
    let avg = message("  - {avgpool: 2, name: p}\n  - {max_unpool: p, name: up}")
    #expect(avg.contains("layer `up`") && avg.contains("`p` is a `avgpool`, not a `maxpool`"), "\(avg)")
    let conv = message("  - {conv: 2, kernel: 1, name: p}\n  - {max_unpool: p, name: up}")
    #expect(conv.contains("`p` is a `conv`"), "\(conv)")
    let later = message("  - {max_unpool: p, name: up}\n  - {maxpool: 2, name: p}")
    #expect(later.contains("layer `up`") && later.contains("the pool `p` comes later (line 4)"), "\(later)")
    let channels = message("  - {maxpool: 2, name: p}\n  - {conv: 3, kernel: 1}\n  - {max_unpool: p, name: up}")
    #expect(channels.contains("layer `up`") && channels.contains("the channels differ"), "\(channels)")
    let size = message("  - {maxpool: 2, name: p}\n  - {maxpool: 2}\n  - {max_unpool: p, name: up}")
    #expect(size.contains("layer `up`") && size.contains("the sizes differ"), "\(size)")
    let bare = message("  - max_unpool")
    #expect(bare.contains("`max_unpool` needs the name of the max pool"), "\(bare)")
    let key = message("  - {maxpool: 2, name: p}\n  - {max_unpool: p, kernel: 2}")
    #expect(key.contains("kernel"), "\(key)")
    #expect(message("  - {maxpool: 2, name: p}\n  - {max_unpool: p}") == "")
    // Inside a module the name is looked up there first, then outwards; a full path works anywhere.
    let nested = """
        - seq:
            - {maxpool: 2, name: p}
            - {max_unpool: p}
          name: enc
        - {maxpool: 2, name: q}
        - seq:
            - {max_unpool: q}
            - {maxpool: 2}
            - {max_unpool: enc.p}
          name: dec
      """
    #expect(message(nested, input: [1, 8, 8]) == "")
    // `zoo check` takes the item without building it.
    let text = "input: [1, 4, 4]\nnetwork:\n  - {maxpool: 2, name: p}\n  - {max_unpool: p}\nmodels: {m: {}}\n"
    #expect(DefinitionFile.check(path: "ok.yaml", text: text).isEmpty)
    let badText = "input: [1, 4, 4]\nnetwork:\n  - {max_unpool: [1, 2]}\nmodels: {m: {}}\n"
    #expect(DefinitionFile.check(path: "bad.yaml", text: badText).count == 1)
  }

  /// The switches live from the pool to the last unpool: 4 bytes per pool output element whatever the
  /// dtype, in the analyzer's peak and in the engine's plan (replayed by ``simulate(_:graph:shapes:batch:)``).
  @Test func switchesAreCountedAndPlanned() throws {
    let g = try DefinitionFile(path: "unpool_net.yaml", text: Self.netText).graph(named: nil)
    let s = try Summary(g, batch: 2)
    for dtype in [DType.fp32, .fp16] {
      let l = try Liveness(s, dtype: dtype)
      let pool1 = try #require(g.nodes.firstIndex { $0.name == "pool1" })
      let b = try #require(l.switchBufferOf[pool1])
      #expect(l.buffers[b].holdsSwitches && l.buffers[b].bytes == 8 * 5 * 4 * 2 * 4)
      #expect(l.buffers[b].lastUse == g.nodes.firstIndex { $0.name == "unpool1" })
      // At the unpool of pool2 both switch buffers are live.
      let unpool2 = try #require(g.nodes.firstIndex { $0.name == "unpool2" })
      let activations = l.live(at: unpool2).filter { !l.buffers[$0].holdsSwitches }.reduce(0) {
        $0 + l.buffers[$1].bytes
      }
      #expect(l.liveBytes[unpool2] == activations + 8 * (5 * 4 + 3 * 2) * 2 * 4)
    }
    let plan = MemoryPlan(try Liveness(s))
    let sim = simulate(plan, graph: g, shapes: s.shapes, batch: 2)
    #expect(sim.violations.isEmpty, "\(sim.violations.prefix(5))")
    #expect(plan.peakBytes == sim.peakBytes && plan.arenaBytes >= sim.peakBytes)
    // Without an unpool the pool keeps no switches.
    let plain = try graph("  - {maxpool: 2, name: p}")
    #expect(try Liveness(Summary(plain)).switchBufferOf.isEmpty)
    // Training: the pool's int64 indices, counted once, nothing more for the unpool.
    #expect(
      Op.maxUnpool(MaxUnpool(pool: 1, window: Pool2D(kind: .max, kernel: Pair(2), stride: Pair(2))))
        .backwardSaves == Op.identity.backwardSaves)
  }

  /// The receptive field of an unpool is its pool's window transposed; every input row a unit
  /// depends on (measured in float64 by perturbing each input row, switches moving included) lies in
  /// the unit's span; at stride 1 the span is exact (some unit reaches each end), at stride 2 an
  /// envelope marked approximate, as for a transposed convolution.
  @Test func receptiveFieldContainsTheMeasuredDependence() throws {
    for (k, s, p) in [(3, 2, 1), (2, 2, 0), (3, 1, 1)] {
      let g = try graph(
        """
          - {maxpool: [\(k), 1], stride: [\(s), 1], padding: [\(p), 0], name: p}
          - {conv: 1, kernel: [3, 1], padding: [1, 0], name: c}
          - {max_unpool: p, name: u}
        """, input: [1, 20, 1])
      let rf = try ReceptiveFields(g)
      // Pool: (k, s, p); conv at jump s: size k + 2s, padding p + s; unpool: the window transposed
      // (jump s / s = 1): size + (k − 1), padding + (k − 1 − p).
      let f = rf.output.h
      #expect(f.stride == 1 && f.size == k + 2 * s + k - 1 && f.padding == p + s + k - 1 - p, "\(k), \(s), \(p): \(f)")
      #expect(rf.output.approximate == (s > 1), "\(k), \(s), \(p)")
      var weights: [String: Tensor] = [:]
      for node in g.nodes {
        for t in node.tensors {
          weights[t.name] = Tensor(shape: t.shape, data: Array(repeating: 0.5, count: t.elements))
        }
      }
      let interp = try ReferenceInterpreter(graph: g, batch: 1, weights: weights)
      var lo = Int.max
      var hi = Int.min
      // A few orderings of distinct values, so that switches point every way.
      for step in [7, 13, 3] {
        let base = (0..<20).map { Float(1 + ($0 * step) % 20) }
        let y0 = interp.run(base)[0]
        for i in 0..<20 {
          var x = base
          x[i] += 25
          let y = interp.run(x)[0]
          for u in 0..<20 where y[u] != y0[u] {
            #expect(
              f.span(of: u).contains(i), "\(k), \(s), \(p): unit \(u) depends on row \(i), field \(f.span(of: u))")
            lo = min(lo, i - u)
            hi = max(hi, i - u)
          }
        }
      }
      // At stride 1 the field is exact and some unit reaches each end; at stride 2 it is an envelope.
      #expect(
        s > 1 || (lo == -f.padding && hi == f.size - 1 - f.padding),
        "\(k), \(s), \(p): measured \(lo)...\(hi), field \(f)")
    }
  }

  /// The diagram draws the switches as a dashed edge from the pool to the unpool.
  @Test func diagramDrawsTheSwitches() throws {
    let g = try DefinitionFile(path: "unpool_net.yaml", text: Self.netText).graph(named: nil)
    let dot = diagramDOT(try Summary(g))
    let dashed = dot.split(separator: "\n").filter { $0.contains("switches") && $0.contains("style=dashed") }
    #expect(dashed.count == 2, "\(dashed)")
  }

  /// Maxout by hand (a NaN wins, as in torch.amax), its shape rule and error, counts and training saves.
  @Test func maxout() throws {
    let x: [Float] = [1, -2, 3, 0, 5, -6, .nan, 8, 2, 2, 2, 2]  // [4, 1, 3]: channels 0..3
    let y = try runSingle(.maxout(2), input: [4, 1, 3], x: x)
    #expect(y[0] == 1 && y[1] == 5 && y[2] == 3 && y[3].isNaN && y[4] == 8 && y[5] == 2, "\(y)")
    let g = try graph("  - {conv: 6, kernel: 1}\n  - {maxout: 3, name: mo}", input: [2, 5, 5])
    let s = try Summary(g)
    #expect(s.shapes[2] == [2, 5, 5])
    #expect(s.nodeCounts[2].flops == 2 * 2 * 25 && s.nodeCounts[2].macs == 0)
    #expect(g.nodes[2].op.summary == "maxout 3")
    let bad = message("  - {conv: 5, kernel: 1}\n  - {maxout: 2, name: mo}")
    #expect(bad.contains("layer `mo`") && bad.contains("5 channels and groups of 2"), "\(bad)")
    #expect(message("  - {maxout: 0}").contains("`k` must be ≥ 1"))
    let saves = Op.maxout(2).backwardSaves
    #expect(saves.inputs && saves.output && saves.extraBytesPerOutputElement == 0)
    #expect(
      try ReceptiveFields(g).output == ReceptiveFields(graph("  - {conv: 6, kernel: 1}", input: [2, 5, 5])).output)
  }
}
