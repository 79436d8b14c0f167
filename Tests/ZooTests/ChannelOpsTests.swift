import Foundation
import Testing
import ZooAnalysis
import ZooEngine
import ZooFormat
import ZooGraph

/// ShuffleNet's channel operations, `channel_shuffle` and the `split` item, from the definition
/// format to the engine: PyTorch's output, the permutation itself, the sizes torch.chunk gives, the
/// refusals, counts, receptive fields and buffers.
@Suite("Channel shuffle and split")
struct ChannelOpsTests {
  /// scripts/make_fixtures.py's `ChannelNet`, with the same layer names.
  static let netText = """
    input: [3, 6, 6]
    network:
      - {conv: 8, kernel: 3, padding: 1, name: stem}
      - relu
      - split:
        - []
        - - {conv: 4, kernel: 1, bias: false, name: b_conv1}
          - {bn, name: b_bn1}
          - relu
          - {conv: 4, kernel: 3, padding: 1, groups: 4, bias: false, name: b_dw}
          - {bn, name: b_bn2}
          - {conv: 4, kernel: 1, bias: false, name: b_conv2}
          - {bn, name: b_bn3}
          - relu
      - {channel_shuffle: 2}
      - split: [[], [{conv: 5, kernel: 3, padding: 1, name: mid}, relu], []]
      - split: [[sigmoid], [], [{conv: 3, kernel: 1, name: last}]]
        sizes: [1, 6, 3]
      - {channel_shuffle: 5}
      - flatten
      - {linear: 10, name: fc}
    models: {net: {}}
    """

  /// The engine equals PyTorch (`channel_net.npy`: torch.chunk, torch.split, torch.cat and
  /// torchvision's `channel_shuffle`) from the same seeded weights and input, on every kernel set this
  /// CPU runs, with and without the fusion passes, on one and two threads, at 1e-4 of the largest
  /// magnitude.
  @Test func networkMatchesPyTorch() throws {
    let g = try DefinitionFile(path: "channel_net.yaml", text: Self.netText).graph(named: nil)
    let expected = try Npy.read(fixturesDir.appendingPathComponent("channel_net.npy").path)
    #expect(expected.shape == [2, 10])
    let scale = expected.data.map(abs).max()!
    #expect(scale > 0)
    for kernels in PlanOptions.Kernels.supported {
      for fusions in [Set(Fusion.allCases), []] {
        for threads in [1, 2] {
          let net = try Network(
            graph: g, batch: 2, weights: SeededInit.weights(for: g, randomStatistics: true), threads: threads,
            options: PlanOptions(kernels: kernels, fusions: fusions))
          #expect(net.stepPaths.filter { $0 == "slice" }.count == 8, "\(net.stepPaths)")
          #expect(net.stepPaths.filter { $0 == "channel_shuffle" }.count == 2, "\(net.stepPaths)")
          let y = try net.run(seededInput(net.inputCount))[0]
          let err = maxAbsDiff(y, expected.data) / scale
          #expect(err <= 1e-4, "\(kernels), fusions \(fusions), \(threads) threads: max error \(err) of \(scale)")
        }
      }
    }
  }

  /// A network of shuffles and splits alone: the output is the input permuted, so every value can be
  /// predicted exactly. Channel `k` of the input holds `k` plus a small position term.
  private func permuted(_ layers: [String], channels: Int, batch: Int = 2) throws -> (out: [Float], input: [Float]) {
    let text = "input: [\(channels), 2, 3]\nnetwork:\n" + layers.map { "  - \($0)\n" }.joined() + "models: {m: {}}\n"
    let g = try DefinitionFile(path: "perm.yaml", text: text).graph(named: nil)
    var input: [Float] = []
    for n in 0..<batch {
      for k in 0..<channels {
        for p in 0..<6 { input.append(Float(1000 * n + k) + Float(p) / 10) }
      }
    }
    let net = try Network(graph: g, batch: batch, weights: [:], threads: 2)
    return (try net.run(input)[0], input)
  }

  /// Output channel `j·g + i` is input channel `i·(C/g) + j`, checked on every channel of both samples.
  @Test(arguments: [(12, 3), (12, 4), (6, 2), (5, 5), (7, 1)])
  func shufflePermutation(channels c: Int, groups g: Int) throws {
    let (y, x) = try permuted(["{channel_shuffle: \(g)}"], channels: c)
    #expect(y.count == x.count)
    for n in 0..<2 {
      for i in 0..<g {
        for j in 0..<(c / g) {
          for p in 0..<6 {
            let out = y[(n * c + j * g + i) * 6 + p]
            let inp = x[(n * c + i * (c / g) + j) * 6 + p]
            #expect(out == inp, "C \(c), g \(g): output channel \(j * g + i)")
          }
        }
      }
    }
    // A shuffle in g groups undone by one in C/g groups.
    let (back, x2) = try permuted(["{channel_shuffle: \(g)}", "{channel_shuffle: \(c / g)}"], channels: c)
    #expect(back == x2)
  }

  /// `split` without `sizes` follows torch.chunk: ⌈C/N⌉ channels per piece, the last smaller. A
  /// split whose branches are all the identity reproduces its input; one that drops the identity of a
  /// branch (a sigmoid on piece 2) changes only that piece's channels.
  @Test func chunkSizes() throws {
    for (c, n, want) in [(7, 4, [2, 2, 2, 1]), (8, 3, [3, 3, 2]), (6, 2, [3, 3]), (2, 2, [1, 1])] {
      let branches = (0..<n).map { i in i == 1 ? "[{identity, name: piece}]" : "[]" }.joined(separator: ", ")
      let text = "input: [\(c), 2, 2]\nnetwork:\n  - split: [\(branches)]\nmodels: {m: {}}\n"
      let g = try DefinitionFile(path: "chunk.yaml", text: text).graph(named: nil)
      let s = try Summary(g)
      let slices = g.nodes.compactMap { node -> Int? in
        if case .channelSlice(_, let count) = node.op { count } else { nil }
      }
      #expect(slices == want, "C \(c) into \(n)")
      #expect(s.shapes.last == [c, 2, 2])
      let (y, x) = try permuted(["split: [\(branches)]"], channels: c)
      #expect(y == x, "C \(c) into \(n)")
    }
    let (y, x) = try permuted(["split: [[], [sigmoid]]", "{channel_shuffle: 2}"], channels: 4)
    // Channels 0, 1 kept; 2, 3 through the sigmoid; then interleaved 0, 2, 1, 3.
    for p in 0..<6 {
      #expect(y[0 * 6 + p] == x[0 * 6 + p])
      #expect(abs(y[1 * 6 + p] - 1 / (1 + exp(-x[2 * 6 + p]))) < 1e-6)
      #expect(y[2 * 6 + p] == x[1 * 6 + p])
      #expect(abs(y[3 * 6 + p] - 1 / (1 + exp(-x[3 * 6 + p]))) < 1e-6)
    }
  }

  /// Refusals name the file position, the layer and the numbers: groups that do not divide the
  /// channels, sizes that do not add up, a chunk that gives fewer pieces than branches, a size list
  /// of the wrong length, one branch.
  @Test func refusals() throws {
    func message(_ layer: String, channels: Int = 8) -> String {
      let text = "input: [\(channels), 4, 4]\nnetwork:\n  - \(layer)\nmodels: {m: {}}\n"
      do {
        _ = try DefinitionFile(path: "bad.yaml", text: text).graph(named: nil)
        return ""
      } catch {
        return "\(error)"
      }
    }
    let shuffle = message("{channel_shuffle: 3, name: sh}")
    #expect(
      shuffle.contains("layer `sh`") && shuffle.contains("8 channels") && shuffle.contains("3 groups")
        && shuffle.contains("bad.yaml:3:5"), "\(shuffle)")
    let zero = message("{channel_shuffle: 0}")
    #expect(zero.contains("`groups` must be ≥ 1"), "\(zero)")
    let sizes = message("{split: [[], []], sizes: [3, 4], name: sp}")
    #expect(sizes.contains("layer `sp`") && sizes.contains("7") && sizes.contains("8"), "\(sizes)")
    let chunk = message("{split: [[], [], [], []]}", channels: 5)
    #expect(chunk.contains("5 channels") && chunk.contains("4 branches") && chunk.contains("3 pieces"), "\(chunk)")
    let count = message("{split: [[], []], sizes: [8]}")
    #expect(count.contains("each of the 2 branches"), "\(count)")
    let one = message("{split: [[]]}")
    #expect(one.contains("at least two branches"), "\(one)")
    let key = message("{split: [[], []], size: [4, 4]}")
    #expect(key.contains("size"), "\(key)")
    #expect(message("{split: [[], []], sizes: [5, 3]}") == "")
    // The checker (`zoo check`) takes the same items without building.
    let ok = DefinitionFile.check(
      path: "ok.yaml",
      text: "input: [8, 4, 4]\nnetwork:\n  - {split: [[], [relu]], sizes: [5, 3]}\n"
        + "  - {channel_shuffle: 2}\nmodels: {m: {}}\n")
    #expect(ok.isEmpty, "\(ok)")
    let bad = DefinitionFile.check(
      path: "bad.yaml", text: "input: [8, 4, 4]\nnetwork:\n  - {split: [[], [relu]], size: [5, 3]}\nmodels: {m: {}}\n")
    #expect(!bad.isEmpty)
  }

  /// No parameters and no FLOPs (they only move values); the receptive field passes through; every
  /// slice and shuffle writes a buffer of its own of its output's size.
  @Test func countsFieldsAndBuffers() throws {
    let text = """
      input: [8, 9, 9]
      network:
        - {conv: 8, kernel: 3, name: c}
        - split: [[], [{conv: 4, kernel: 3, padding: 1, name: d}]]
        - {channel_shuffle: 4, name: sh}
      models: {m: {}}
      """
    let g = try DefinitionFile(path: "rf.yaml", text: text).graph(named: nil)
    let s = try Summary(g)
    for node in g.nodes {
      switch node.op {
      case .channelShuffle, .channelSlice:
        #expect(s.nodeCounts[node.id].params == 0 && s.nodeCounts[node.id].flops == 0, "\(node.name)")
      default: break
      }
    }
    let rf = try ReceptiveFields(g)
    let conv = try #require(g.nodes.first { $0.name == "c" })
    let d = try #require(g.nodes.first { $0.name == "d" })
    let sh = try #require(g.nodes.first { $0.name == "sh" })
    #expect(rf.nodes[sh.id].h.size == 5 && rf.nodes[sh.id].w.size == 5)
    #expect(rf.nodes[sh.id] == rf.nodes[d.id])
    #expect(rf.nodes[conv.id].h.size == 3)
    let l = try Liveness(s)
    for node in g.nodes {
      guard case .channelSlice(_, let count) = node.op else { continue }
      #expect(l.bufferOf[node.id] != l.bufferOf[node.inputs[0]])
      #expect(l.buffers[l.bufferOf[node.id]].bytes == count * 7 * 7 * 4)
    }
    #expect(l.bufferOf[sh.id] != l.bufferOf[sh.inputs[0]])
  }
}
