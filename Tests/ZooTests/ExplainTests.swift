import Foundation
import Testing
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
}
