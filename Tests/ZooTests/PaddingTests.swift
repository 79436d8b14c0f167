import Foundation
import Testing
import ZooAnalysis
import ZooEngine
import ZooFormat
import ZooGraph

/// Padding modes, four-sided and `same` padding of `conv`, the `pad` and `crop` ops, `from`, and
/// `upsample`'s `like`, through the format, shapes, counts, receptive fields (against a float64
/// measurement) and the engine (against PyTorch). Random graphs reach them through the property test.
@Suite("Padding, pad, crop")
struct PaddingTests {
  func graph(_ network: String, input: [Int] = [1, 6, 6]) throws -> Graph {
    let text = "input: \(input)\nnetwork:\n\(network)\nmodels: {m: {}}\n"
    return try DefinitionFile(path: "pad.yaml", text: text).graph()
  }

  /// The network of scripts/make_fixtures.py's `PadNet`.
  static let padNet = """
    input: [3, 9, 8]
    network:
      - {conv: 4, kernel: 3, padding: 1, padding_mode: reflect, name: reflect}
      - relu
      - {conv: 4, kernel: 3, padding: 2, padding_mode: replicate, name: replicate}
      - {conv: 4, kernel: [3, 5], padding: [1, 2], padding_mode: circular, name: circular}
      - {conv: 4, kernel: 4, padding: same, padding_mode: reflect, name: same}
      - {conv: 4, kernel: 3, padding: [1, 0, 2, 0], name: asym}
      - {pad: [0, 3, 1, 2], mode: reflect}
      - {pad: [2, 0, 1, 1], value: 0.5, name: const}
      - {pad: [1, 2, 2, 1], mode: circular}
      - {pad: [1, 0, 0, 1], mode: replicate}
      - {crop: const}
      - {identity, name: ten}
      - {crop: asym, offset: [3, 4]}
      - {conv: 2, kernel: 1, name: head}
      - {upsample: null, like: input, mode: bilinear}
    models: {net: {}}
    """

  @Test func shapesAndCounts() throws {
    let g = try DefinitionFile(path: "pad_net.yaml", text: Self.padNet).graph(named: nil)
    let s = try Summary(g)
    let byName = Dictionary(uniqueKeysWithValues: g.nodes.map { ($0.name, $0.id) })
    let expected: [String: [Int]] = [
      "reflect": [4, 9, 8], "replicate": [4, 11, 10], "circular": [4, 11, 10], "same": [4, 11, 10],
      "asym": [4, 10, 10], "pad": [4, 13, 13], "const": [4, 15, 15], "pad_1": [4, 18, 18], "pad_2": [4, 19, 19],
      "crop": [4, 15, 15], "crop_1": [4, 10, 10], "upsample": [2, 9, 8],
    ]
    for (name, shape) in expected { #expect(s.shapes[byName[name]!] == shape, "\(name)") }
    // `same` with kernel 4: 3 in all, 1 before and 2 after; a mode other than zeros pads first.
    guard case .conv(let same) = g.nodes[byName["same"]!].op else {
      Issue.record("same is a conv")
      return
    }
    #expect(same.prePad == Padding2D(top: 1, bottom: 2, left: 1, right: 2, mode: .reflect) && same.padding == Pair(0))
    guard case .conv(let asym) = g.nodes[byName["asym"]!].op else {
      Issue.record("asym is a conv")
      return
    }
    #expect(asym.prePad == Padding2D(top: 1, bottom: 0, left: 2, right: 0))
    #expect(g.nodes[byName["asym"]!].op.summary == "conv 3×3, 4, pad zeros [1, 0, 2, 0]")
    // Padding costs no MACs: a padded convolution's MACs count its output positions only; pads and
    // crops count nothing.
    #expect(s.nodeCounts[byName["same"]!].macs == 4 * 4 * 16 * 11 * 10)
    #expect(s.nodeCounts[byName["reflect"]!].macs == 4 * 3 * 9 * 9 * 8)
    for name in ["pad", "const", "pad_1", "crop", "crop_1"] {
      #expect(s.nodeCounts[byName[name]!].flops == 0 && s.nodeCounts[byName[name]!].macs == 0, "\(name)")
    }
    // A symmetric zero padding stays the convolution's own.
    let plain = try graph("  - {conv: 2, kernel: 3, padding: [1, 1, 2, 2]}\n  - {conv: 2, kernel: 3, padding: same}")
    for node in plain.nodes.dropFirst() {
      guard case .conv(let c) = node.op else { continue }
      #expect(c.prePad == nil && c.padding == Pair(1, node.id == 1 ? 2 : 1), "\(node.name)")
    }
    // Another input size: the crop and the like-upsampling follow.
    let t = try Summary(g, input: [3, 12, 11])
    #expect(t.output == [2, 12, 11])
  }

  /// Hostile values: one error naming the layer and the value.
  @Test func refusals() throws {
    let cases: [(String, [Int], [String])] = [
      ("{conv: 2, kernel: 3, padding: -1, name: c}", [1, 6, 6], ["`padding`", "-1"]),
      ("{conv: 2, kernel: 3, padding: [1, 2, 3], name: c}", [1, 6, 6], ["`padding`", "[1, 2, 3]"]),
      ("{conv: 2, kernel: 3, padding: 6, padding_mode: reflect, name: c}", [1, 6, 6], ["layer `c`", "reflect", "6"]),
      (
        "{conv: 2, kernel: 3, padding: 7, padding_mode: circular, name: c}", [1, 6, 6], ["layer `c`", "circular", "7"]
      ),
      ("{conv: 2, kernel: 3, padding: 1, padding_mode: mirror, name: c}", [1, 6, 6], ["padding_mode", "`mirror`"]),
      ("{conv: 2, kernel: 3, stride: 2, padding: same, name: c}", [1, 6, 6], ["layer `c`", "same", "stride 2"]),
      ("{conv: 2, kernel: 3, padding: valid, name: c}", [1, 6, 6], ["layer `c`", "`valid`"]),
      ("{pad: [1, -2, 0, 0], name: p}", [1, 6, 6], ["layer `p`", "-2"]),
      ("{pad: 3, mode: reflect, name: p}", [1, 3, 6], ["layer `p`", "reflect", "3", "height 3"]),
      ("{pad: 1, mode: wrap, name: p}", [1, 6, 6], ["layer `p`", "`wrap`"]),
      ("{pad: 1, mode: reflect, value: 2, name: p}", [1, 6, 6], ["layer `p`", "value"]),
      ("{pad: 2147483648, name: p}", [1, 6, 6], ["layer `p`", "2147483648"]),
      ("{identity, name: a}\n  - {maxpool: 2}\n  - {crop: a, name: k}", [1, 6, 6], ["layer `k`", "3×3", "6×6"]),
      (
        "{identity, name: a}\n  - {pad: 1}\n  - {crop: a, offset: [3, 0], name: k}", [1, 6, 6],
        ["layer `k`", "[3, 0]", "8×8"]
      ),
      ("{crop: nowhere, name: k}", [1, 6, 6], ["`nowhere`"]),
      ("{crop: a, offset: -1, name: k}\n  - {identity, name: a}", [1, 6, 6], ["`a`"]),
      ("{identity, name: a}\n  - {crop: a, offset: -1, name: k}", [1, 6, 6], ["layer `k`", "offset", "-1"]),
      ("{upsample: 2, like: input, name: u}", [1, 6, 6], ["layer `u`", "exactly one"]),
      ("{upsample: null, like: elsewhere}", [1, 6, 6], ["`elsewhere`"]),
    ]
    for (layer, input, words) in cases {
      do {
        _ = try graph("  - \(layer)", input: input)
        Issue.record("accepted \(layer)")
      } catch let e as DefinitionError {
        for w in words { #expect(e.description.contains(w), "\(layer): \(e)") }
      }
    }
    // `zoo check` knows the new keys and values.
    let ok = """
      input: [1, 6, 6]
      network:
        - {conv: 2, kernel: 3, padding: same, padding_mode: circular, name: a}
        - {conv: 2, kernel: 3, padding: [0, 1, 2, 0]}
        - {pad: [1, 2], mode: replicate, value: 0}
        - {crop: a, offset: [1, 0]}
        - {from: a}
        - {upsample: null, like: input}
      models: {m: {}}
      """
    #expect(DefinitionFile.check(path: "ok.yaml", text: ok).isEmpty)
    let bad =
      "input: [1, 6, 6]\nnetwork:\n  - {conv: 2, kernel: 3, padding: [1, 2, 3]}\n  - {pad: 1, mode: wrap}\n"
      + "models: {m: {}}\n"
    #expect(DefinitionFile.check(path: "bad.yaml", text: bad).count == 2)
  }

  /// `from` restarts the chain at a named layer: a U-Net skip, cropped to the upsampled map and
  /// concatenated; names inside a block resolve there first.
  @Test func fromAndCropInBranches() throws {
    let text = """
      input: [2, 12, 12]
      blocks:
        down:
          body:
            - {conv: 4, kernel: 3, name: conv}
            - {maxpool: 2, name: pool}
            - {from: conv}
            - {crop: pool, name: back}
      network:
        - {conv: 3, kernel: 3, name: enc}
        - {maxpool: 2, name: pool}
        - {conv_transpose: 3, kernel: 2, stride: 2, name: up}
        - concat:
          - - {from: enc}
            - {crop: up}
          - []
        - {down, name: d}
      models: {m: {}}
      """
    let g = try DefinitionFile(path: "skip.yaml", text: text).graph(named: nil)
    let s = try Summary(g)
    let crop = try #require(g.nodes.first { $0.name == "crop" })
    #expect(g.nodes[crop.inputs[0]].name == "enc" && g.nodes[crop.inputs[1]].name == "up")
    #expect(s.shapes[crop.id] == [3, 10, 10])
    #expect(s.shapes[g.nodes.first { $0.name == "concat" }!.id] == [6, 10, 10])
    #expect(crop.op.summary == "crop centre")
    // Inside the block `pool` is the block's own layer `d.pool`, not the network's `pool`.
    let back = try #require(g.nodes.first { $0.name == "d.back" })
    #expect(g.nodes[back.inputs[0]].name == "d.conv" && g.nodes[back.inputs[1]].name == "d.pool")
    #expect(s.shapes[back.id] == [4, 4, 4])
  }

  /// The engine's pad kernel against hand-written planes, every mode.
  @Test func padByHand() throws {
    let x: [Float] = [1, 2, 3, 4, 5, 6]  // 2 × 3
    let cases: [(PadMode, [Float])] = [
      (.zeros, [0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 0]),
      (.reflect, [5, 4, 5, 6, 5, 2, 1, 2, 3, 2, 5, 4, 5, 6, 5]),
      (.replicate, [1, 1, 2, 3, 3, 1, 1, 2, 3, 3, 4, 4, 5, 6, 6]),
      (.circular, [6, 4, 5, 6, 4, 3, 1, 2, 3, 1, 6, 4, 5, 6, 4]),
    ]
    for kernels in PlanOptions.Kernels.supported {
      for (mode, want) in cases {
        let p = Padding2D(top: 1, bottom: 0, left: 1, right: 1, mode: mode)
        let y = try runSingle(.pad(p), input: [1, 2, 3], x: x, kernels: kernels)
        #expect(y == want, "\(mode) \(kernels)")
      }
    }
  }

  /// The receptive field of padded layers, against a float64 measurement. A 1-D stack (input `n × 1`)
  /// of convolutions with four-sided paddings of every mode and pads and crops; with positive weights
  /// and inputs, input row `i` matters to unit `u` exactly when raising it raises the unit. Every unit's
  /// measured rows equal the rows its window reads once each padded position is mapped to the row the
  /// mode copies (zeros: none; reflect, replicate, circular: the definitions of `F.pad`), and the window
  /// is the field's span `u·stride − P … u·stride − P + size − 1`.
  @Test(arguments: [
    "{conv: 1, kernel: [3, 1], padding: [2, 0, 0, 0]}|{conv: 1, kernel: [3, 1], stride: [2, 1], padding: [0, 1, 0, 0]}",
    "{conv: 1, kernel: [3, 1], padding: [1, 2, 0, 0], padding_mode: reflect}|{conv: 1, kernel: [2, 1], padding: [1, 0, 0, 0]}",
    "{pad: [3, 1, 0, 0], mode: replicate}|{conv: 1, kernel: [3, 1], stride: [2, 1]}|{conv: 1, kernel: [4, 1], padding: [2, 1, 0, 0], padding_mode: circular}",
    "{conv: 1, kernel: [4, 1], padding: same, padding_mode: reflect}|{conv: 1, kernel: [3, 1], stride: [2, 1], padding: [0, 2, 0, 0], padding_mode: replicate}",
    "{identity, name: a}|{pad: [4, 2, 0, 0]}|{conv: 1, kernel: [3, 1]}|{crop: a, offset: [1, 0]}",
    "{identity, name: a}|{pad: [2, 5, 0, 0], mode: reflect}|{conv: 1, kernel: [3, 1], padding: [0, 0, 0, 0]}|{crop: a}",
  ])
  func receptiveFieldMatchesMeasurement(stack: String) throws {
    let n = 9
    let layers = stack.split(separator: "|").map(String.init)
    let g = try graph(layers.map { "  - \($0)" }.joined(separator: "\n"), input: [1, n, 1])
    let rf = try ReceptiveFields(g)
    let field = rf.output.h
    // Measured: the reference interpreter in float64.
    var weights: [String: Tensor] = [:]
    var r = SplitMixRandom(11)
    for node in g.nodes {
      for t in node.tensors {
        weights[t.name] = Tensor(shape: t.shape, data: (0..<t.elements).map { _ in Float(r.uniform(0.5, 1.5)) })
      }
    }
    let interp = try ReferenceInterpreter(graph: g, batch: 1, weights: weights)
    let base = [Float](repeating: 1, count: n)
    let y0 = interp.run(base)[0]
    var measured = [Set<Int>](repeating: [], count: y0.count)
    for i in 0..<n {
      var x = base
      x[i] += 1
      let y = interp.run(x)[0]
      for u in 0..<y.count where abs(y[u] - y0[u]) > 1e-12 { measured[u].insert(i) }
    }
    // Propagated: the window's rows layer by layer, each padded row mapped to the row it copies.
    let shapes = rf.summary.shapes
    for u in 0..<y0.count {
      var rows: Set<Int> = [u]
      var lowest = u
      var highest = u
      for node in g.nodes.dropFirst().reversed() {
        let n0 = shapes[node.inputs[0]][1]
        func mapped(_ i: Int, _ p: Padding2D) -> Int? {
          let j = i - p.top
          if (0..<n0).contains(j) { return j }
          switch p.mode {
          case .zeros: return nil
          case .reflect: return j < 0 ? -j : 2 * (n0 - 1) - j
          case .replicate: return j < 0 ? 0 : n0 - 1
          case .circular: return (j + n0) % n0
          }
        }
        var below: Set<Int> = []
        switch node.op {
        case .conv(let c):
          let p = c.prePad ?? Padding2D(c.padding.h)
          for o in rows {
            for a in 0..<c.kernel.h { if let j = mapped(o * c.stride.h + a, p) { below.insert(j) } }
          }
          (lowest, highest) = (lowest * c.stride.h - p.top, highest * c.stride.h - p.top + c.kernel.h - 1)
        case .pad(let p):
          below = Set(rows.compactMap { mapped($0, p) })
          (lowest, highest) = (lowest - p.top, highest - p.top)
        case .crop(let c):
          let out = shapes[node.id]
          let at = c.start(n0, 1, to: out[1], 1)
          below = Set(rows.map { $0 + at.h })
          (lowest, highest) = (lowest + at.h, highest + at.h)
        default:
          below = rows
        }
        rows = below
      }
      #expect(measured[u] == rows, "\(stack) unit \(u): measured \(measured[u].sorted()), windows \(rows.sorted())")
      #expect(field.span(of: u) == lowest...highest, "\(stack) unit \(u): span \(field.span(of: u))")
    }
    #expect(!rf.output.approximate && rf.warnings.isEmpty && measured.contains { !$0.isEmpty })
  }

  /// PadNet against PyTorch (`pad_net.npy`; scripts/make_fixtures.py --padding) from the same seeded
  /// weights and input, on every kernel set this CPU runs, at 1e-4 of the largest magnitude.
  @Test func networkMatchesPyTorch() throws {
    let g = try DefinitionFile(path: "pad_net.yaml", text: Self.padNet).graph(named: nil)
    let expected = try Npy.read(fixturesDir.appendingPathComponent("pad_net.npy").path)
    #expect(expected.shape == [2, 2, 9, 8])
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
