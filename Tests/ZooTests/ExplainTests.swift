import Foundation
import Testing
import ZooAnalysis
import ZooGraph
import ZooTeach

@Suite("Explain")
struct ExplainTests {
  // MARK: output size

  @Test func lectureOutputSize() throws {
    let s = try OutputSize(input: 5, kernel: 3, stride: 2, padding: 1)
    #expect(s.output == 3)
    #expect(s.pluggedIn == "floor((5 + 2·1 − 3)/2) + 1 = 3")
    // The notes' other example, 5×5 input, 3×3 kernel, padding 1, stride 1: "same" size 5 (not 3).
    #expect(try OutputSize(input: 5, kernel: 3, stride: 1, padding: 1).output == 5)
  }

  @Test func dilationAndCeilMode() throws {
    let d = try OutputSize(input: 5, kernel: 3, stride: 2, padding: 1, dilation: 2)
    #expect(d.span == 5)
    #expect(d.output == 2)
    #expect(d.pluggedIn == "floor((5 + 2·1 − 2·(3 − 1) − 1)/2) + 1 = 2")
    // GoogLeNet's maxpool 3/2 ceil on 112: 56, where floor gives 55.
    #expect(try OutputSize(input: 112, kernel: 3, stride: 2, ceilMode: true).output == 56)
    #expect(try OutputSize(input: 112, kernel: 3, stride: 2).output == 55)
    // PyTorch drops a last window that would start in the right padding.
    let dropped = try OutputSize(input: 5, kernel: 2, stride: 2, padding: 1, ceilMode: true)
    #expect(dropped.steps == 3)
    #expect(dropped.droppedLastWindow)
    #expect(dropped.output == 3)
  }

  @Test func outputSizeErrorsQuoteTheValues() {
    #expect(throws: TeachError.self) { try OutputSize(input: 2, kernel: 5) }
    do {
      _ = try OutputSize(input: 2, kernel: 5)
    } catch {
      #expect(error.message.contains("2 + 2·0 = 2"))
    }
    #expect(throws: TeachError.self) { try OutputSize(input: Int.max, kernel: 3, padding: Int.max / 2) }
  }

  @Test func sizeCommand() throws {
    let r = try runZoo(["explain", "size", "--input", "5", "--kernel", "3", "--padding", "1", "--stride", "2"])
    #expect(r.status == 0)
    #expect(r.out.contains("floor((5 + 2·1 − 3)/2) + 1 = 3"))
    #expect(r.out.contains("Output: 3 "))
    let j = try runZoo([
      "explain", "size", "--input", "5", "--kernel", "3", "--padding", "1", "--stride", "2", "--json",
    ])
    let doc = try #require(try JSONSerialization.jsonObject(with: Data(j.out.utf8)) as? [String: Any])
    let size = try #require(doc["size"] as? [String: Any])
    #expect(size["output"] as? Int == 3)
    #expect(doc["plugged_in"] as? String == "floor((5 + 2·1 − 3)/2) + 1 = 3")
    let bad = try runZoo(["explain", "size", "--input", "5", "--kernel", "3", "--stride", "0"])
    #expect(bad.status != 0)
    #expect(bad.err.contains("--stride must be at least 1, got 0"))
  }

  // MARK: worked convolution

  static let image = "1 2 3 4 5; 6 7 8 2 3; 2 5 9 9 5; 4 8 8 2 1"
  static let kernel = "1 1 1; 2 1 2; 3 2 1"

  @Test func lectureConvolution() throws {
    let c = try WorkedConvolution(
      image: try Matrix(parsing: Self.image, what: "image"), kernel: try Matrix(parsing: Self.kernel, what: "kernel"))
    #expect(c.output.nested == [[66, 77, 86], [84, 96, 79]])
    #expect(c.products(row: 0, col: 0).nested == [[1, 2, 3], [12, 7, 16], [6, 10, 9]])
    // Padding 1, stride 2 (checked with numpy): the window at (1, 2) reaches into the padding.
    let p = try WorkedConvolution(image: c.image, kernel: c.kernel, stride: 2, padding: 1)
    #expect(p.output.nested == [[24, 54, 25], [41, 96, 36]])
    #expect(p.window(row: 1, col: 2).nested == [[2, 3, 0], [9, 5, 0], [2, 1, 0]])
  }

  @Test func matrixParsingErrors() {
    #expect(throws: TeachError.self) { try Matrix(parsing: "1 2; 3", what: "image") }
    #expect(throws: TeachError.self) { try Matrix(parsing: "1 a", what: "image") }
    #expect(throws: TeachError.self) { try Matrix(parsing: " ; ", what: "image") }
    #expect((try? Matrix(parsing: "-1 0.5,2\n3 4 5", what: "kernel"))?.nested == [[-1, 0.5, 2], [3, 4, 5]])
  }

  @Test func convCommand() throws {
    let r = try runZoo(["explain", "conv", "--image", Self.image, "--kernel", Self.kernel])
    #expect(r.status == 0)
    #expect(r.out.contains("  66 77 86\n  84 96 79"))
    #expect(r.out.contains("1 + 2 + 3 + 12 + 7 + 16 + 6 + 10 + 9 = 66"))
    let j = try runZoo(["explain", "conv", "--image", Self.image, "--kernel", Self.kernel, "--at", "1,1", "--json"])
    let doc = try #require(try JSONSerialization.jsonObject(with: Data(j.out.utf8)) as? [String: Any])
    #expect(doc["value"] as? Int == 96)
    #expect(doc["output"] as? [[Int]] == [[66, 77, 86], [84, 96, 79]])
    let outside = try runZoo(["explain", "conv", "--image", Self.image, "--kernel", Self.kernel, "--at", "2,0"])
    #expect(outside.status != 0)
    #expect(outside.err.contains("--at 2,0 is outside the 2×3 output"))
  }

  // MARK: parameters and weight sharing

  @Test func lectureWeightSharing() throws {
    // 32×32×3 input, six 5×5 filters: 456 parameters; a dense layer to the same 28×28×6 output ~14M.
    let w = try WeightSharing(input: [3, 32, 32], filters: 6, kernel: Pair(5))
    #expect(w.output == [6, 28, 28])
    #expect(w.convolution.params == 456)
    #expect(w.dense.weights == 3072 * 4704)
    #expect(w.dense.weights == 14_450_688)
    #expect(w.dense.params == 14_455_392)
    #expect(w.macs == 352_800)
    #expect(w.flops == 710_304)  // zoo describe's convention: 2·MACs + bias adds
  }

  @Test func goodfellowEdgeDetector() throws {
    // Goodfellow, Deep Learning ch. 9: 320×280 input, 2×1 kernel, 319×280 output.
    let w = try WeightSharing(input: [1, 320, 280], filters: 1, kernel: Pair(2, 1), bias: false)
    #expect(w.output == [1, 319, 280])
    #expect(w.convolution.weights == 2)
    #expect(w.convolution.operations == 267_960)  // 319·280·3
    #expect(w.locallyConnected.weights == 178_640)  // the sparse matrix: 2·319·280
    #expect(w.dense.weights == 8_003_072_000)  // 319·280·320·280 > 8e9
    #expect(w.dense.operations == 16_006_054_680)  // > 16e9
  }

  @Test func leNetC1Connections() throws {
    // LeCun 1998: C1 has 156 trainable parameters and 122,304 connections.
    let w = try WeightSharing(input: [1, 32, 32], filters: 6, kernel: Pair(5))
    #expect(w.convolution.params == 156)
    #expect(w.connections == 122_304)
  }

  @Test func groupedAndOverflowingLayers() throws {
    // The lecture's 256→256 3×3 conv: 589,824 weights (the notes' 524,288 is wrong); depthwise: 2,304.
    let plain = try WeightSharing(input: [256, 56, 56], filters: 256, kernel: Pair(3), padding: 1, bias: false)
    #expect(plain.convolution.weights == 589_824)
    let depthwise = try WeightSharing(
      input: [256, 56, 56], filters: 256, kernel: Pair(3), padding: 1, groups: 256, bias: false)
    #expect(depthwise.convolution.weights == 2_304)
    #expect(throws: TeachError.self) { try WeightSharing(input: [3, 8, 8], filters: 4, kernel: Pair(3), groups: 2) }
    #expect(throws: TeachError.self) {
      try WeightSharing(input: [3, 3_000_000_000, 3_000_000_000], filters: 64, kernel: Pair(3))
    }
  }

  @Test func paramsCommand() throws {
    let r = try runZoo(["explain", "params", "--input", "3x32x32", "--filters", "6", "--kernel", "5"])
    #expect(r.status == 0)
    #expect(r.out.contains("params  = 450 + 6 = 456"))
    #expect(r.out.contains("14,455,392"))
    let g = try runZoo(
      ["explain", "params", "--input", "1x320x280", "--filters", "1", "--kernel", "2x1", "--no-bias", "--json"])
    let doc = try #require(try JSONSerialization.jsonObject(with: Data(g.out.utf8)) as? [String: Any])
    let conv = try #require(doc["convolution"] as? [String: Any])
    let dense = try #require(doc["dense"] as? [String: Any])
    #expect(conv["weights"] as? Int == 2)
    #expect(conv["operations"] as? Int == 267_960)
    #expect(dense["weights"] as? Int == 8_003_072_000)
    let bad = try runZoo(["explain", "params", "--input", "32x32", "--filters", "6", "--kernel", "5"])
    #expect(bad.status != 0)
    #expect(bad.err.contains("got `32x32`"))
  }

  // MARK: receptive field of a stack

  @Test func stackReceptiveField() throws {
    let rf = try StackReceptiveField(kernels: [3, 3, 3])
    #expect(rf.steps.map(\.size) == [3, 5, 7])
    let strided = try StackReceptiveField(kernels: [7, 3, 3, 3], strides: [2, 2, 1, 1], dilations: [1, 1, 2, 4])
    #expect(strided.steps.map(\.size) == [7, 11, 27, 59])
    #expect(strided.jump == 4)
    #expect(throws: TeachError.self) { try StackReceptiveField(kernels: [3, 3], strides: [1]) }
    #expect(throws: TeachError.self) {
      try StackReceptiveField(kernels: [3, 3, 3], strides: [Int.max / 2, Int.max / 2, 1])
    }
  }

  @Test func rfCommand() throws {
    let r = try runZoo(["explain", "rf", "--kernels", "3,3,3"])
    #expect(r.status == 0)
    #expect(r.out.contains("r1 = 1 + (3 − 1)·1 = 3"))
    #expect(r.out.contains("r2 = 3 + (3 − 1)·1 = 5"))
    #expect(r.out.contains("r3 = 5 + (3 − 1)·1 = 7"))
    #expect(r.out.contains("Receptive field: 7×7"))
    let j = try runZoo(["explain", "rf", "--kernels", "3,3,3", "--strides", "2,2,2", "--json"])
    let doc = try #require(try JSONSerialization.jsonObject(with: Data(j.out.utf8)) as? [String: Any])
    #expect(doc["size"] as? Int == 15)
    #expect(doc["jump"] as? Int == 8)
  }

  // MARK: transposed convolution

  @Test func transposedConvolutionMatchesPyTorch() throws {
    // torch.nn.functional.conv_transpose2d of [[1, 2], [3, 4]] with [[1, 1, 1], [1, 2, 1], [1, 1, 1]]
    // (PyTorch 2.15), at stride 2, and at stride 2 with padding 1 and output_padding 1.
    let x = try Matrix(parsing: "1 2; 3 4", what: "image")
    let w = try Matrix(parsing: "1 1 1; 1 2 1; 1 1 1", what: "kernel")
    let t = try WorkedTransposedConvolution(image: x, kernel: w, stride: 2)
    #expect(
      t.output.nested == [
        [1, 1, 3, 2, 2], [1, 2, 3, 4, 2], [4, 4, 10, 6, 6], [3, 6, 7, 8, 4], [3, 3, 7, 4, 4],
      ])
    let p = try WorkedTransposedConvolution(image: x, kernel: w, stride: 2, padding: 1, outputPadding: 1)
    #expect(p.output.nested == [[2, 3, 4, 2], [4, 10, 6, 6], [6, 7, 8, 4], [3, 7, 4, 4]])
    // 1 value in, 9 out: input (1, 1) = 4 lands at rows 1–3, columns 1–3 after cropping 1.
    let block = p.scattered(row: 1, col: 1)
    #expect(block.block.nested == [[4, 4, 4], [4, 8, 4], [4, 4, 4]])
    #expect(block.top == 1 && block.left == 1)
  }

  /// The scatter (each input returns a block) equals the gather form the lesson also prints (a stride-1
  /// convolution of the zero-spread input with the kernel turned by 180°), computed by WorkedConvolution.
  @Test func transposedConvolutionEqualsSpreadConvolution() throws {
    var rng = SplitMixRandom(7)
    var compared = 0
    for trial in 0..<200 {
      let (n, m) = (rng.int(1...4), rng.int(1...4))
      let (kh, kw) = (rng.int(1...4), rng.int(1...4))
      let s = rng.int(1...3)
      let p = rng.int(0...(min(kh, kw) - 1))
      let image = Matrix(rows: n, cols: m, values: (0..<n * m).map { _ in Double(rng.int(-5...5)) })
      let kernel = Matrix(rows: kh, cols: kw, values: (0..<kh * kw).map { _ in Double(rng.int(-3...3)) })
      // Sizes PyTorch refuses (nothing left after cropping the padding) are skipped.
      guard let t = try? WorkedTransposedConvolution(image: image, kernel: kernel, stride: s, padding: p) else {
        continue
      }
      compared += 1
      let spread = try #require(t.spreadInput)
      let gather = try WorkedConvolution(image: spread, kernel: t.flippedKernel)
      #expect(
        gather.output == t.output,
        "trial \(trial): scatter and gather disagree for \(n)×\(m) image, \(kh)×\(kw) kernel, s \(s), p \(p)")
    }
    #expect(compared > 150, "only \(compared) of 200 random cases had an output")
  }

  @Test func transposedConvolutionErrors() {
    let x = Matrix(rows: 1, cols: 1, values: [1])
    let w = Matrix(rows: 2, cols: 2, values: [1, 1, 1, 1])
    #expect(throws: TeachError.self) { try WorkedTransposedConvolution(image: x, kernel: w, padding: 1) }
    #expect(throws: TeachError.self) { try WorkedTransposedConvolution(image: x, kernel: w, outputPadding: 1) }
  }

  @Test func transposeCommand() throws {
    let r = try runZoo(["explain", "transpose"])
    #expect(r.status == 0)
    #expect(r.out.contains("the kernel takes 1 value and returns 9"))
    #expect(r.out.contains("height: (2 − 1)·2 − 2·0 + (3 − 1) + 0 + 1 = 5"))
    #expect(r.out.contains("   4  4 10  6  6"))
    let j = try runZoo(["explain", "transpose", "--at", "1,0", "--json"])
    let doc = try #require(try JSONSerialization.jsonObject(with: Data(j.out.utf8)) as? [String: Any])
    #expect(doc["block"] as? [[Int]] == [[3, 3, 3], [3, 6, 3], [3, 3, 3]])
    #expect(doc["block_top"] as? Int == 2)
    let bad = try runZoo(["explain", "transpose", "--output-padding", "2"])
    #expect(bad.status != 0)
    #expect(bad.err.contains("--output-padding must be 0 or more and below the stride 2, got 2"))
  }

  // MARK: unpooling

  @Test func lectureUnpooling() throws {
    let u = try WorkedUnpooling(image: try Matrix(parsing: Self.image, what: "image"), kernel: 2)
    #expect(u.pooled.nested == [[7, 8], [8, 9]])
    // The 9s at (2, 2) and (2, 3) tie: the first in row order wins, as PyTorch's max_pool2d returns.
    #expect(u.switches.map { [$0.row, $0.col] } == [[1, 1], [1, 2], [3, 1], [2, 2]])
    #expect(u.switches.map(\.index) == [6, 7, 16, 12])
    #expect(u.unpooled.nested == [[0, 0, 0, 0, 0], [0, 7, 8, 0, 0], [0, 0, 9, 0, 0], [0, 8, 0, 0, 0]])
    #expect(u.defaultUnpoolSize == [4, 4])
    #expect(u.uncovered.cols == 1 && u.uncovered.rows == 0)
  }

  /// Invariants of every round trip: the unpooled map holds exactly the pooled values, each at its
  /// switch, the switch lies in its window and holds the window's maximum.
  @Test func unpoolingInvariants() throws {
    var rng = SplitMixRandom(11)
    for trial in 0..<200 {
      let (n, m) = (rng.int(2...6), rng.int(2...6))
      let k = rng.int(1...min(n, m))
      let s = rng.int(1...3)
      let image = Matrix(rows: n, cols: m, values: (0..<n * m).map { _ in Double(rng.int(0...4)) })
      let u = try WorkedUnpooling(image: image, kernel: k, stride: s)
      for (i, sw) in u.switches.enumerated() {
        let (r0, c0) = (i / u.pooled.cols * s, i % u.pooled.cols * s)
        #expect((r0..<r0 + k).contains(sw.row) && (c0..<c0 + k).contains(sw.col), "trial \(trial): switch outside")
        var best = -Double.infinity
        for r in r0..<r0 + k { for c in c0..<c0 + k { best = max(best, image[r, c]) } }
        #expect(u.pooled.values[i] == best, "trial \(trial): pooled value is not the window's maximum")
        #expect(u.unpooled.values[sw.index] == best, "trial \(trial): value not at its switch")
      }
      let placed = Set(u.switches.map(\.index))
      for (i, v) in u.unpooled.values.enumerated() where !placed.contains(i) {
        #expect(v == 0, "trial \(trial): a position without a switch holds \(v)")
      }
    }
  }

  @Test func unpoolCommand() throws {
    let r = try runZoo(["explain", "unpool"])
    #expect(r.status == 0)
    #expect(r.out.contains("  7 8      (1, 1) (1, 2)"))
    #expect(r.out.contains("No window covers the last 1 column"))
    #expect(r.out.contains("(out − 1)·s + k = 4×4"))
    let bad = try runZoo(["explain", "unpool", "--kernel", "5"])
    #expect(bad.status != 0)
    #expect(bad.err.contains("does not fit"))
  }

  // MARK: depthwise, gated, locally connected

  @Test func depthwiseSeparableMatchesTheSnippets() throws {
    let d = try DepthwiseSeparable(input: [256, 56, 56], filters: 256, kernel: 3, padding: 1, bias: false)
    // The zoo's snippets, counted from their definitions: plain3x3_256 and depthwise_separable_256.
    let plain = try Summary(try builtin("plain3x3_256"))
    let separable = try Summary(try builtin("depthwise_separable_256"))
    #expect(d.full.params == plain.totals.params)
    #expect(d.full.macs == plain.totals.macs)
    #expect(d.separable.params == separable.totals.params)
    #expect(d.separable.macs == separable.totals.macs)
    #expect(d.separable.params == 256 * 9 + 256 * 256)
    // MobileNet's ratio 1/N + 1/D_K² (Howard et al. 2017, eq. 5) without biases.
    #expect(abs(Double(d.separable.macs) / Double(d.full.macs) - (1.0 / 256 + 1.0 / 9)) < 1e-12)
  }

  @Test func gatedConvolutionDoublesTheLayer() throws {
    let g = try GatedConvolution(input: [256, 56, 56], filters: 256, kernel: 3, padding: 1)
    #expect(g.plainParams == 256 * 256 * 9 + 256)
    #expect(g.gatedParams == 2 * g.plainParams)
    #expect(g.gateMultiplications == 256 * 56 * 56)
    // The gated snippet is a bias-free 3×3 conv then `gated_conv`: its gated part has our gated params.
    let snippet = try Summary(try builtin("plain3x3_gated_256"))
    #expect(snippet.totals.params - 256 * 256 * 9 == g.gatedParams)
  }

  @Test func deepFaceLocallyConnectedLayer() throws {
    // DeepFace L4 (Taigman et al. 2014): 16 filters of 9×9×16 on 63×63 give 55×55 outputs.
    let l = try LocalConnection(input: [16, 63, 63], filters: 16, kernel: 9, padding: 0, tile: 2)
    #expect(l.output == [16, 55, 55])
    #expect(l.convolution.weights == 16 * 16 * 81)
    #expect(l.locallyConnected.weights == 55 * 55 * 20_736)
    #expect(l.locallyConnected.biases == 55 * 55 * 16)
    #expect(l.tiled?.weights == 4 * 20_736)
    #expect(l.macs == l.locallyConnected.weights)  // every weight used once per sample
    // A period at least the output size shares nothing: tiled equals locally connected.
    let wide = try LocalConnection(input: [16, 63, 63], filters: 16, kernel: 9, padding: 0, tile: 55)
    #expect(wide.tiled?.params == wide.locallyConnected.params)
    #expect(throws: TeachError.self) { try LocalConnection(input: [1, 4, 4], filters: 1, kernel: 3, tile: 0) }
  }

  @Test func newLessonCommands() throws {
    let d = try runZoo(["explain", "depthwise", "--no-bias"])
    #expect(d.status == 0)
    #expect(d.out.contains("pointwise params = F · C = 256 · 256 = 65,536"))
    let g = try runZoo(["explain", "gated", "--json"])
    let doc = try #require(try JSONSerialization.jsonObject(with: Data(g.out.utf8)) as? [String: Any])
    #expect(doc["gated_params"] as? Int == 1_180_160)
    let l = try runZoo([
      "explain", "local", "--input", "16x63x63", "--filters", "16", "--kernel", "9", "--padding", "0",
    ])
    #expect(l.status == 0)
    #expect(l.out.contains("3,025 · 20,736 = 62,726,400 weights"))
    let bad = try runZoo(["explain", "local", "--tile", "0"])
    #expect(bad.status != 0)
    #expect(bad.err.contains("--tile must be at least 1, got 0"))
    // Every lesson fits 100 columns.
    for args in [["transpose"], ["unpool"], ["depthwise"], ["gated"], ["local", "--tile", "2"]] {
      let r = try runZoo(["explain"] + args)
      for line in r.out.split(separator: "\n") where line.count > 100 {
        Issue.record("explain \(args[0]): a line of \(line.count) columns: \(line)")
      }
    }
  }
}
