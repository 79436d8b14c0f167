import Foundation
import Testing
import ZooEngine
import ZooGraph

/// A two-node graph: the input, then `op`.
func singleOp(_ op: Op, input: [Int], name: String = "layer") -> Graph {
  Graph(
    name: "single", inputShape: input,
    nodes: [Node(id: 0, name: "input", op: .input, inputs: []), Node(id: 1, name: name, op: op, inputs: [0])],
    outputs: [1], modules: [])
}

/// Runs a one-op graph on `x` with the given weights.
func runSingle(
  _ op: Op, input: [Int], batch: Int = 1, x: [Float], weights: [String: Tensor] = [:], threads: Int = 2,
  kernels: PlanOptions.Kernels? = nil, winograd: PlanOptions.Winograd? = nil
) throws -> [Float] {
  let net = try Network(
    graph: singleOp(op, input: input), batch: batch, weights: weights, threads: threads,
    options: PlanOptions(kernels: kernels, winograd: winograd))
  return try net.run(x)[0]
}

/// A small deterministic PRNG for test data (xorshift64*), values in [-1, 1).
struct TestRandom {
  var state: UInt64
  init(_ seed: UInt64) { state = seed | 1 }
  mutating func next() -> Float {
    state ^= state >> 12
    state ^= state << 25
    state ^= state >> 27
    return Float((state &* 2_685_821_657_736_338_717) >> 40) * 0x1p-23 - 1
  }
  mutating func array(_ n: Int) -> [Float] { (0..<n).map { _ in next() } }
  mutating func int(_ range: ClosedRange<Int>) -> Int {
    range.lowerBound + Int((next() + 1) / 2 * Float(range.count)) % range.count
  }
}

/// The definition of convolution, loop by loop (batch, out channel, y, x, in channel, ky, kx).
func naiveConv(_ c: Conv2D, x: [Float], batch: Int, h: Int, w: Int, weight: [Float], bias: [Float]?) -> [Float] {
  let oh = windowOutputSize(h, kernel: c.kernel.h, stride: c.stride.h, padding: c.padding.h, dilation: c.dilation.h)
  let ow = windowOutputSize(w, kernel: c.kernel.w, stride: c.stride.w, padding: c.padding.w, dilation: c.dilation.w)
  let cg = c.inChannels / c.groups
  let og = c.outChannels / c.groups
  var y = [Float](repeating: 0, count: batch * c.outChannels * oh * ow)
  for n in 0..<batch {
    for o in 0..<c.outChannels {
      let g = o / og
      for oy in 0..<oh {
        for ox in 0..<ow {
          var acc: Double = Double(bias?[o] ?? 0)
          for ci in 0..<cg {
            for ky in 0..<c.kernel.h {
              for kx in 0..<c.kernel.w {
                let iy = oy * c.stride.h - c.padding.h + ky * c.dilation.h
                let ix = ox * c.stride.w - c.padding.w + kx * c.dilation.w
                guard iy >= 0, iy < h, ix >= 0, ix < w else { continue }
                let xv = x[((n * c.inChannels + g * cg + ci) * h + iy) * w + ix]
                let wv = weight[((o * cg + ci) * c.kernel.h + ky) * c.kernel.w + kx]
                acc += Double(xv) * Double(wv)
              }
            }
          }
          y[((n * c.outChannels + o) * oh + oy) * ow + ox] = Float(acc)
        }
      }
    }
  }
  return y
}

func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
  zip(a, b).reduce(0) { max($0, abs($1.0 - $1.1)) }
}

@Suite("Engine kernels")
struct EngineKernelTests {
  let lecture: [Float] = [1, 2, 3, 4, 5, 6, 7, 8, 2, 3, 2, 5, 9, 9, 5, 4, 8, 8, 2, 1]
  let lectureKernel: [Float] = [1, 1, 1, 2, 1, 2, 3, 2, 1]

  @Test func lectureNotesConvolution() throws {
    // The lecture notes' 4×5 image and 3×3 kernel: 66 at the first position (1+2+3 + 12+7+16 + 6+10+9),
    // 77 at the second (2+3+4 + 14+8+4 + 15+18+9).
    let conv = Conv2D(inChannels: 1, outChannels: 1, kernel: Pair(3), bias: false)
    let y = try runSingle(
      .conv(conv), input: [1, 4, 5], x: lecture,
      weights: ["layer.weight": Tensor(shape: [1, 1, 3, 3], data: lectureKernel)])
    #expect(y == [66, 77, 86, 84, 96, 79])
  }

  @Test func lectureNotesConvolutionStridedAndPadded() throws {
    // Padding 1, stride 2: the first window hangs over the zero border, so only 1 2 / 6 7 meet
    // the kernel's lower-right 2×2 (1 2 / 2 1): 1 + 4 + 12 + 7 = 24.
    let conv = Conv2D(inChannels: 1, outChannels: 1, kernel: Pair(3), stride: Pair(2), padding: Pair(1), bias: true)
    let y = try runSingle(
      .conv(conv), input: [1, 4, 5], x: lecture,
      weights: [
        "layer.weight": Tensor(shape: [1, 1, 3, 3], data: lectureKernel), "layer.bias": Tensor(shape: [1], data: [0.5]),
      ])
    #expect(y == [24, 54, 25, 41, 96, 36].map { $0 + 0.5 })
  }

  @Test func sobelOnARamp() throws {
    // A horizontal ramp x[i, j] = 3j: Sobel-x gives (1+2+1)·(3·2) = 24 everywhere, Sobel-y gives 0.
    let ramp = (0..<36).map { Float(3 * ($0 % 6)) }
    let sobel = Conv2D(inChannels: 1, outChannels: 2, kernel: Pair(3), bias: false)
    let sx: [Float] = [-1, 0, 1, -2, 0, 2, -1, 0, 1]
    let sy: [Float] = [-1, -2, -1, 0, 0, 0, 1, 2, 1]
    let y = try runSingle(
      .conv(sobel), input: [1, 6, 6], x: ramp, weights: ["layer.weight": Tensor(shape: [2, 1, 3, 3], data: sx + sy)])
    #expect(Array(y[0..<16]) == Array(repeating: 24, count: 16))
    #expect(Array(y[16..<32]) == Array(repeating: 0, count: 16))
  }

  @Test func maxPoolCeilMode() throws {
    // 0…24 in a 5×5 grid, 2×2 windows with stride 2, ceil mode: the last row and column of windows
    // hang over the edge and see only the real values.
    let x = (0..<25).map(Float.init)
    let y = try runSingle(
      .pool(Pool2D(kind: .max, kernel: Pair(2), stride: Pair(2), ceilMode: true)), input: [1, 5, 5], x: x)
    #expect(y == [6, 8, 9, 16, 18, 19, 21, 23, 24])
    let floor = try runSingle(.pool(Pool2D(kind: .max, kernel: Pair(2), stride: Pair(2))), input: [1, 5, 5], x: x)
    #expect(floor == [6, 8, 16, 18])
  }

  @Test func averagePoolCeilModeAndPadding() throws {
    let x = (0..<25).map(Float.init)
    // Ceil mode without padding: the overhanging windows divide by the values they hold, e.g. the
    // corner (24) alone, the right column (4 + 9) / 2 = 6.5.
    let a = try runSingle(
      .pool(Pool2D(kind: .avg, kernel: Pair(2), stride: Pair(2), ceilMode: true)), input: [1, 5, 5], x: x)
    #expect(a == [3, 5, 6.5, 13, 15, 16.5, 20.5, 22.5, 24])
    // 3×3, stride 2, padding 1: counting the padding, the corner is (0+1+5+6)/9 = 4/3.
    let b = try runSingle(
      .pool(Pool2D(kind: .avg, kernel: Pair(3), stride: Pair(2), padding: Pair(1), ceilMode: true)), input: [1, 5, 5],
      x: x)
    let expected: [Float] = [4.0 / 3, 3, 8.0 / 3, 7, 12, 9, 8, 13, 28.0 / 3]
    #expect(maxAbsDiff(b, expected) < 1e-5)
    // Without counting it: (0+1+5+6)/4 = 3.
    let c = try runSingle(
      .pool(
        Pool2D(kind: .avg, kernel: Pair(3), stride: Pair(2), padding: Pair(1), ceilMode: true, countIncludePad: false)),
      input: [1, 5, 5], x: x)
    #expect(maxAbsDiff(c, [3, 4.5, 6, 10.5, 12, 13.5, 18, 19.5, 21]) < 1e-5)
  }

  @Test func adaptiveAveragePoolBins() throws {
    // 5 columns into 3 bins: 0..<2, 1..<4, 3..<5; 5 rows into 2: 0..<3, 2..<5.
    let x = (0..<25).map(Float.init)
    let y = try runSingle(.adaptiveAvgPool(outH: 2, outW: 3), input: [1, 5, 5], x: x)
    #expect(y == [5.5, 7, 8.5, 15.5, 17, 18.5])
  }

  @Test func localResponseNorm() throws {
    // Channels 1, 3, 5, 7 at one position, size 3, α = 1, β = 0.5, k = 1:
    // channel 0 sees channels 0…1: 1 / √(1 + (1 + 9)/3) = 0.48038.
    let x: [Float] = [1, 2, 3, 4, 5, 6, 7, 8]
    let y = try runSingle(.lrn(size: 3, alpha: 1, beta: 0.5, k: 1), input: [4, 1, 2], x: x)
    let expected: [Float] = [0.4804, 0.7223, 0.8429, 0.9020, 0.9339, 0.9527, 1.3817, 1.3653]
    #expect(maxAbsDiff(y, expected) < 1e-4)
    #expect(abs(y[0] - 1 / (1 + Float(10) / 3).squareRoot()) < 1e-6)
  }

  @Test func batchNormAndActivations() throws {
    // BN as its own step (its input is the graph input, so it cannot be folded): per channel
    // γ (x − μ) / √(σ² + ε) + β.
    let bn = Op.batchNorm(channels: 2, eps: 0)
    let w: [String: Tensor] = [
      "layer.weight": Tensor(shape: [2], data: [2, 1]), "layer.bias": Tensor(shape: [2], data: [1, -1]),
      "layer.running_mean": Tensor(shape: [2], data: [1, 0]), "layer.running_var": Tensor(shape: [2], data: [4, 1]),
    ]
    let y = try runSingle(bn, input: [2, 1, 2], x: [3, 5, 2, -2], weights: w)
    #expect(y == [3, 5, 1, -3])
    #expect(try runSingle(.activation(.relu), input: [4], x: [-1, 0, 2, -3]) == [0, 0, 2, 0])
    #expect(try runSingle(.activation(.leakyReLU(slope: 0.1)), input: [2], x: [-2, 3]) == [-0.2, 3])
    let s = try runSingle(.activation(.sigmoid), input: [1], x: [0])
    #expect(s == [0.5])
    let t = try runSingle(.activation(.scaledTanh(a: 1.7159, s: 2.0 / 3)), input: [1], x: [1])
    #expect(abs(t[0] - 1.7159 * Float(tanh(2.0 / 3))) < 1e-6)
    let soft = try runSingle(.softmax, input: [3], x: [0, log(2), log(5)])
    #expect(maxAbsDiff(soft, [0.125, 0.25, 0.625]) < 1e-6)
  }

  @Test func linearLayer() throws {
    // y = W x + b with W = [[1, 2, 3], [4, 5, 6]], for two samples.
    let op = Op.linear(inFeatures: 3, outFeatures: 2, bias: true)
    let w: [String: Tensor] = [
      "layer.weight": Tensor(shape: [2, 3], data: [1, 2, 3, 4, 5, 6]), "layer.bias": Tensor(shape: [2], data: [1, -1]),
    ]
    #expect(try runSingle(op, input: [3], x: [1, 0, -1], weights: w) == [-1, -3])
    #expect(try runSingle(op, input: [3], batch: 2, x: [1, 0, -1, 1, 1, 1], weights: w) == [-1, -3, 7, 14])
  }

  @Test func groupedAndDilatedConvolution() throws {
    // Groups 2, dilation 2 against the naive loops, and one value by hand: output channel 1 sees
    // only input channel 1 (its group), at rows/columns 0, 2 of the 3×3 input.
    let conv = Conv2D(inChannels: 2, outChannels: 2, kernel: Pair(2), dilation: Pair(2), groups: 2, bias: false)
    let x: [Float] = (0..<18).map(Float.init)
    let weight: [Float] = [1, 0, 0, 0, 1, 1, 1, 1]
    let y = try runSingle(
      .conv(conv), input: [2, 3, 3], x: x, weights: ["layer.weight": Tensor(shape: [2, 1, 2, 2], data: weight)])
    #expect(y == [0, 9 + 11 + 15 + 17])
  }

  @Test(arguments: 0..<24) func convolutionMatchesNaiveReference(seed: Int) throws {
    var r = TestRandom(UInt64(seed) &* 7919 &+ 17)
    let groups = [1, 1, 2, 3][r.int(0...3)]
    let cin = groups * r.int(1...4)
    let cout = groups * r.int(1...4)
    let k = Pair(r.int(1...4), r.int(1...3))
    let stride = Pair(r.int(1...3), r.int(1...2))
    let dilation = Pair(r.int(1...2), r.int(1...2))
    let padding = Pair(r.int(0...2), r.int(0...2))
    let h = r.int(8...14)
    let w = r.int(8...14)
    let batch = r.int(1...2)
    let conv = Conv2D(
      inChannels: cin, outChannels: cout, kernel: k, stride: stride, padding: padding, dilation: dilation,
      groups: groups, bias: seed % 2 == 0)
    let x = r.array(batch * cin * h * w)
    let weight = r.array(cout * cin / groups * k.h * k.w)
    let bias = conv.bias ? r.array(cout) : nil
    var weights = ["layer.weight": Tensor(shape: [cout, cin / groups, k.h, k.w], data: weight)]
    if let bias { weights["layer.bias"] = Tensor(shape: [cout], data: bias) }
    let y = try runSingle(.conv(conv), input: [cin, h, w], batch: batch, x: x, weights: weights, threads: 1 + seed % 2)
    let ref = naiveConv(conv, x: x, batch: batch, h: h, w: w, weight: weight, bias: bias)
    #expect(y.count == ref.count)
    #expect(maxAbsDiff(y, ref) < 1e-4, "conv \(conv) on \(cin)×\(h)×\(w)")
  }

  @Test(arguments: 0..<12) func poolingMatchesNaiveReference(seed: Int) throws {
    var r = TestRandom(UInt64(seed) &+ 1234)
    let k = Pair(r.int(1...4), r.int(1...4))
    let p = Pool2D(
      kind: seed % 2 == 0 ? .max : .avg, kernel: k, stride: Pair(r.int(1...3), r.int(1...3)),
      padding: Pair(r.int(0...(k.h / 2)), r.int(0...(k.w / 2))), ceilMode: seed % 3 != 0,
      countIncludePad: seed % 4 < 2)
    let (c, h, w) = (2, r.int(5...11), r.int(5...11))
    let x = r.array(c * h * w)
    let y = try runSingle(.pool(p), input: [c, h, w], x: x)
    let ref = naivePool(p, x: x, channels: c, h: h, w: w)
    #expect(y.count == ref.count)
    #expect(maxAbsDiff(y, ref) < 1e-5, "pool \(p) on \(c)×\(h)×\(w)")
  }

  /// Stride-2 max pooling reads each row's even and odd columns as two contiguous phases: odd and even
  /// widths, padding 0 and 1, ceil mode (whose last window overhangs), kernels 2, 3 and 5.
  @Test(arguments: [(3, 0, true, 13), (3, 1, false, 12), (2, 0, true, 11), (5, 2, false, 14), (3, 1, true, 9)])
  func maxPoolStrideTwo(kernel: Int, padding: Int, ceilMode: Bool, width: Int) throws {
    let p = Pool2D(kind: .max, kernel: Pair(kernel), stride: Pair(2), padding: Pair(padding), ceilMode: ceilMode)
    try expectExactMaxPool(p, channels: 48, h: 10, w: width, seed: UInt64(kernel * 100 + padding * 10 + width))
  }

  /// Stride-1 max pooling that keeps the width (GoogLeNet's branch pools): enough planes to split
  /// across threads, windows crossing every edge.
  @Test(arguments: [(3, 1, false), (3, 1, true), (5, 2, false), (1, 0, false), (3, 0, true), (7, 3, false)])
  func maxPoolStrideOne(kernel: Int, padding: Int, ceilMode: Bool) throws {
    let p = Pool2D(kind: .max, kernel: Pair(kernel), stride: Pair(1), padding: Pair(padding), ceilMode: ceilMode)
    try expectExactMaxPool(p, channels: 64, h: 9, w: 11, seed: UInt64(kernel * 10 + padding))
  }

  /// Rows wider than one vector (16 floats), and a masked last vector, at strides 1, 2 and 3, with
  /// the −∞ padding on both sides and ceil mode's overhang; up to 32 wide the whole row is two
  /// registers (16, 17, 31 and 32 wide here), beyond it a row buffer.
  @Test(arguments: [
    (1, 3, 1, 33), (2, 3, 1, 37), (2, 3, 0, 50), (2, 2, 0, 113), (3, 3, 1, 40), (1, 5, 2, 17), (1, 3, 1, 32),
    (1, 7, 3, 16), (2, 3, 1, 31), (3, 3, 1, 32), (2, 2, 0, 17),
  ])
  func maxPoolWideRows(stride: Int, kernel: Int, padding: Int, width: Int) throws {
    let p = Pool2D(kind: .max, kernel: Pair(kernel), stride: Pair(stride), padding: Pair(padding), ceilMode: true)
    try expectExactMaxPool(p, channels: 5, h: 7, w: width, seed: UInt64(stride * 1000 + kernel * 100 + width))
  }
}

/// Max pooling on seeded `channels × h × w` data equals the naive loops exactly (a maximum is one of
/// its inputs, so any order of comparisons gives the same value).
func expectExactMaxPool(_ p: Pool2D, channels c: Int, h: Int, w: Int, seed: UInt64) throws {
  var r = TestRandom(seed)
  let x = r.array(c * h * w)
  let y = try runSingle(.pool(p), input: [c, h, w], x: x)
  let ref = naivePool(p, x: x, channels: c, h: h, w: w)
  #expect(y.count == ref.count)
  #expect(maxAbsDiff(y, ref) == 0, "pool \(p) on \(c)×\(h)×\(w)")
}

/// PyTorch's pooling by definition: the window clipped to the padded input, then to the input.
func naivePool(_ p: Pool2D, x: [Float], channels c: Int, h: Int, w: Int) -> [Float] {
  let k = p.kernel
  let oh = windowOutputSize(h, kernel: k.h, stride: p.stride.h, padding: p.padding.h, ceilMode: p.ceilMode)
  let ow = windowOutputSize(w, kernel: k.w, stride: p.stride.w, padding: p.padding.w, ceilMode: p.ceilMode)
  var ref: [Float] = []
  for ch in 0..<c {
    for oy in 0..<oh {
      for ox in 0..<ow {
        let y0 = oy * p.stride.h - p.padding.h
        let x0 = ox * p.stride.w - p.padding.w
        let y1 = min(y0 + k.h, h + p.padding.h)
        let x1 = min(x0 + k.w, w + p.padding.w)
        let padded = (y1 - y0) * (x1 - x0)
        var vals: [Float] = []
        for iy in max(y0, 0)..<min(y1, h) {
          for ix in max(x0, 0)..<min(x1, w) { vals.append(x[(ch * h + iy) * w + ix]) }
        }
        if p.kind == .max {
          ref.append(vals.max()!)
        } else {
          ref.append(vals.reduce(0, +) / Float(p.countIncludePad ? padded : vals.count))
        }
      }
    }
  }
  return ref
}

/// Batch norm (and its activation) after a concatenation whose output nothing else reads runs
/// inside the concatenation's copy (DenseNet's transitions): against the definition, for ReLU (in
/// the copy), no activation and tanh (a pass afterwards), with channel blocks split across threads.
@Suite("Engine concat + batch norm")
struct EngineConcatAffineTests {
  @Test(arguments: [Activation?.some(.relu), nil, .some(.tanh)])
  func concatThenBatchNorm(activation: Activation?) throws {
    var r = TestRandom(7)
    let (c, h, w, batch) = (20, 5, 6, 2)
    var nodes = [
      Node(id: 0, name: "input", op: .input, inputs: []),
      Node(id: 1, name: "act", op: .activation(.sigmoid), inputs: [0]),
      Node(id: 2, name: "cat", op: .concat, inputs: [0, 1]),
      Node(id: 3, name: "bn", op: .batchNorm(channels: 2 * c, eps: 1e-5), inputs: [2]),
    ]
    if let activation { nodes.append(Node(id: 4, name: "post", op: .activation(activation), inputs: [3])) }
    let graph = Graph(name: "cat-bn", inputShape: [c, h, w], nodes: nodes, outputs: [nodes.count - 1], modules: [])
    let (gamma, beta, mean) = (r.array(2 * c), r.array(2 * c), r.array(2 * c))
    let variance = r.array(2 * c).map { abs($0) + 0.1 }
    let weights = [
      "bn.weight": Tensor(shape: [2 * c], data: gamma), "bn.bias": Tensor(shape: [2 * c], data: beta),
      "bn.running_mean": Tensor(shape: [2 * c], data: mean), "bn.running_var": Tensor(shape: [2 * c], data: variance),
    ]
    let x = r.array(batch * c * h * w)
    let net = try Network(graph: graph, batch: batch, weights: weights)
    #expect(net.stepCount == 2, "the batch norm and its activation should run inside the concatenation")
    let y = try net.run(x)[0]
    var ref: [Float] = []
    let spatial = h * w
    for n in 0..<batch {
      for ch in 0..<(2 * c) {
        let scale = Double(gamma[ch]) / (Double(variance[ch]) + 1e-5).squareRoot()
        for i in 0..<spatial {
          let v = x[(n * c + ch % c) * spatial + i]
          let cat = ch < c ? Double(v) : 1 / (1 + exp(-Double(v)))
          var out = (cat - Double(mean[ch])) * scale + Double(beta[ch])
          switch activation {
          case .relu: out = max(out, 0)
          case .tanh: out = tanh(out)
          default: break
          }
          ref.append(Float(out))
        }
      }
    }
    #expect(y.count == ref.count)
    #expect(maxAbsDiff(y, ref) < 1e-5, "concat + bn + \(activation.map { "\($0)" } ?? "nothing")")
  }
}
