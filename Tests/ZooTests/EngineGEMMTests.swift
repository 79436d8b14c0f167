import Testing
import ZooEngine
import ZooGraph

/// Convolutions shaped to reach every branch of the engine's own GEMM (`CZooKernels`) — full and edge
/// tiles, k in several blocks, the padded-grid ("implicit im2col") store (straight to the output
/// rows on grids at least 16 wide, through a tile buffer on narrower ones), the narrow-column
/// kernel, stride-2 unfolding — checked against the naive loops and against the OpenBLAS path, with
/// Winograd off (its own tests are in EngineWinogradTests), on every kernel set this CPU runs
/// (``PlanOptions/Kernels/supported``); each case also checks the path the plan chose, so a shape
/// that stops reaching its branch fails instead of passing on another.
@Suite("Engine GEMM")
struct EngineGEMMTests {
  struct Shape: CustomStringConvertible, Sendable {
    var cin, cout, kernel, stride, padding, dilation, h, w: Int
    var relu = false
    /// The engine's path for this shape (``Network/stepPaths``).
    var path: String
    var description: String {
      "\(cin)→\(cout) \(kernel)×\(kernel)/\(stride) pad \(padding) dil \(dilation) on \(h)×\(w)\(relu ? " + relu" : "")"
    }
  }

  static let shapes: [Shape] = [
    // 81 positions: narrow kernel (at least 128 outputs); k = 1,170 in two blocks; 140 rows (a
    // partial 32-row tile).
    Shape(
      cin: 130, cout: 140, kernel: 3, stride: 1, padding: 1, dilation: 1, h: 9, w: 9, relu: true, path: "gemm-narrow"),
    // 81 positions, too few outputs for the narrow kernel: the 11-wide grid through the tile buffer,
    // k = 1,170 in two blocks (the partial sums read back through it).
    Shape(cin: 130, cout: 20, kernel: 3, stride: 1, padding: 1, dilation: 1, h: 9, w: 9, relu: true, path: "gemm-grid"),
    // 400 positions on a 22-wide padded grid, stored straight to the output rows; k = 1,080 in two
    // blocks (the partial sums read back from them); 13 rows (edge tiles of 8).
    Shape(cin: 120, cout: 13, kernel: 3, stride: 1, padding: 1, dilation: 1, h: 20, w: 20, path: "gemm-grid"),
    // Stride 2: the AVX-512 even-lane unfolding, odd sizes.
    Shape(
      cin: 40, cout: 24, kernel: 3, stride: 2, padding: 1, dilation: 1, h: 37, w: 37, relu: true, path: "gemm-grid"),
    // 1×1 read in place, k = 1,100 in two blocks, 225 positions (a masked last vector).
    Shape(cin: 1100, cout: 40, kernel: 1, stride: 1, padding: 0, dilation: 1, h: 15, w: 15, path: "gemm-direct"),
    // A stem: 7×7/2 with padding 3.
    Shape(cin: 3, cout: 16, kernel: 7, stride: 2, padding: 3, dilation: 1, h: 40, w: 40, relu: true, path: "gemm-grid"),
    // 1×1/2 down to 49 positions: too few outputs for the narrow kernel, so the 7-wide grid.
    Shape(cin: 64, cout: 70, kernel: 1, stride: 2, padding: 0, dilation: 1, h: 14, w: 14, path: "gemm-grid"),
    // 1×1 read in place at 49 positions: the narrow kernel with 70 rows (a partial 32-row tile).
    Shape(cin: 64, cout: 70, kernel: 1, stride: 1, padding: 0, dilation: 1, h: 7, w: 7, path: "gemm-narrow"),
    // Dilation 2 on the padded grid.
    Shape(cin: 20, cout: 9, kernel: 3, stride: 1, padding: 2, dilation: 2, h: 30, w: 30, relu: true, path: "gemm-grid"),
    // Padding 0 with a kernel larger than 1 (still copied to the grid), 32 rows exactly.
    Shape(cin: 8, cout: 32, kernel: 5, stride: 1, padding: 0, dilation: 1, h: 28, w: 28, path: "gemm-grid"),
  ]

  @Test(arguments: shapes, KernelRoute.all)
  func matchesNaiveLoops(shape s: Shape, kernels: KernelRoute) throws {
    var r = TestRandom(UInt64(s.cin * 1_000 + s.cout * 10 + s.kernel))
    let conv = Conv2D(
      inChannels: s.cin, outChannels: s.cout, kernel: Pair(s.kernel), stride: Pair(s.stride),
      padding: Pair(s.padding), dilation: Pair(s.dilation), bias: true)
    let x = r.array(s.cin * s.h * s.w)
    let weight = r.array(s.cout * s.cin * s.kernel * s.kernel)
    let bias = r.array(s.cout)
    let weights = [
      "layer.weight": Tensor(shape: [s.cout, s.cin, s.kernel, s.kernel], data: weight),
      "layer.bias": Tensor(shape: [s.cout], data: bias),
    ]
    var graph = singleOp(.conv(conv), input: [s.cin, s.h, s.w])
    if s.relu {
      graph = Graph(
        name: "conv-relu", inputShape: [s.cin, s.h, s.w],
        nodes: graph.nodes + [Node(id: 2, name: "relu", op: .activation(.relu), inputs: [1])], outputs: [2],
        modules: [])
    }
    let net = try Network(
      graph: graph, weights: weights, threads: 2,
      options: PlanOptions(kernels: kernels.kernels, isa: kernels.isa, winograd: .off))
    let path = kernels == .engine ? s.path : "blas"
    #expect(net.stepPaths == ["conv:\(path)" + (s.relu ? "+relu" : "")], "\(s): the plan runs \(net.stepPaths)")
    let y = try net.run(x)[0]
    var ref = naiveConv(conv, x: x, batch: 1, h: s.h, w: s.w, weight: weight, bias: bias)
    if s.relu { ref = ref.map { max($0, 0) } }
    let scale = ref.reduce(Float(1)) { max($0, abs($1)) }
    #expect(y.count == ref.count, "\(s): \(y.count) outputs, expected \(ref.count)")
    #expect(maxAbsDiff(y, ref) <= 1e-4 * scale, "\(kernels) kernels against the naive loops, \(s)")
  }

  /// Linear layers on the narrow-column GEMM: one sample, and a batch transposed in and out; with and
  /// without ReLU; 70 outputs (a partial 32-row tile) and 1,100 inputs (two blocks of k).
  @Test(arguments: [(1, false), (1, true), (3, false), (4, true)], KernelRoute.all)
  func linearMatchesNaiveLoops(_ c: (batch: Int, relu: Bool), kernels: KernelRoute) throws {
    let (batch, relu) = c
    var r = TestRandom(UInt64(batch * 2 + (relu ? 1 : 0)))
    let (inF, outF) = (1_100, 70)
    let x = r.array(batch * inF)
    let weight = r.array(outF * inF)
    let bias = r.array(outF)
    let weights = [
      "fc.weight": Tensor(shape: [outF, inF], data: weight), "fc.bias": Tensor(shape: [outF], data: bias),
    ]
    var nodes = [
      Node(id: 0, name: "input", op: .input, inputs: []),
      Node(id: 1, name: "fc", op: .linear(inFeatures: inF, outFeatures: outF, bias: true), inputs: [0]),
    ]
    if relu { nodes.append(Node(id: 2, name: "relu", op: .activation(.relu), inputs: [1])) }
    let graph = Graph(name: "fc", inputShape: [inF], nodes: nodes, outputs: [nodes.count - 1], modules: [])
    let net = try Network(
      graph: graph, batch: batch, weights: weights, options: PlanOptions(kernels: kernels.kernels, isa: kernels.isa))
    #expect(net.stepPaths == [relu ? "linear+relu" : "linear"], "the plan runs \(net.stepPaths)")
    let y = try net.run(x)[0]
    var ref: [Float] = []
    for n in 0..<batch {
      for o in 0..<outF {
        var sum = Double(bias[o])
        for i in 0..<inF { sum += Double(weight[o * inF + i]) * Double(x[n * inF + i]) }
        ref.append(relu ? Float(max(sum, 0)) : Float(sum))
      }
    }
    let scale = ref.reduce(Float(1)) { max($0, abs($1)) }
    #expect(y.count == ref.count)
    #expect(maxAbsDiff(y, ref) <= 1e-4 * scale, "\(kernels) kernels against the naive loops, batch \(batch)")
  }
}

/// `relu(bn(conv(x)) + identity)` with the add run in the convolution's epilogue, on each kernel that
/// can: a 1×1 read in place on the wide GEMM (256 positions) and on the narrow one (49), a 3×3 on
/// an im2col band of the narrow kernel, and Winograd; on the BLAS the add runs on its own. Each plan
/// is checked step by step and against the reference interpreter. The identity is a 1×1
/// convolution computed before the main branch.
@Suite("Engine residual epilogue")
struct EngineResidualTests {
  struct Case: Sendable, CustomStringConvertible {
    var kernel, cin, cout, side: Int
    /// The engine's plan: the shortcut's path, the main convolution's.
    var shortcut, main: String
    var description: String { "\(kernel)×\(kernel) \(cin)→\(cout) on \(side)×\(side)" }
  }

  @Test(
    arguments: [
      Case(kernel: 1, cin: 64, cout: 64, side: 16, shortcut: "gemm-direct", main: "gemm-direct"),
      Case(kernel: 1, cin: 64, cout: 160, side: 7, shortcut: "gemm-narrow", main: "gemm-narrow"),
      Case(kernel: 3, cin: 16, cout: 128, side: 7, shortcut: "gemm-narrow", main: "gemm-narrow"),
      Case(kernel: 3, cin: 64, cout: 64, side: 12, shortcut: "gemm-narrow", main: "winograd-engine"),
    ], KernelRoute.all)
  func residualInTheEpilogue(_ c: Case, kernels: KernelRoute) throws {
    let main = Conv2D(
      inChannels: c.cin, outChannels: c.cout, kernel: Pair(c.kernel), padding: Pair(c.kernel / 2), bias: false)
    let shortcut = Conv2D(inChannels: c.cin, outChannels: c.cout, kernel: Pair(1), bias: true)
    let graph = Graph(
      name: "residual", inputShape: [c.cin, c.side, c.side],
      nodes: [
        Node(id: 0, name: "input", op: .input, inputs: []),
        Node(id: 1, name: "shortcut", op: .conv(shortcut), inputs: [0]),
        Node(id: 2, name: "conv", op: .conv(main), inputs: [0]),
        Node(id: 3, name: "bn", op: .batchNorm(channels: c.cout, eps: 1e-5), inputs: [2]),
        Node(id: 4, name: "add", op: .add, inputs: [3, 1]),
        Node(id: 5, name: "relu", op: .activation(.relu), inputs: [4]),
      ], outputs: [5], modules: [])
    let weights = SeededInit.weights(for: graph, seed: 3, randomStatistics: true)
    var r = TestRandom(UInt64(c.cin * 100 + c.side))
    let x = r.array(c.cin * c.side * c.side)
    let net = try Network(
      graph: graph, weights: weights,
      options: PlanOptions(kernels: kernels.kernels, isa: kernels.isa, winograd: .whereFaster))
    let expected =
      kernels == .engine
      ? ["conv:\(c.shortcut)", "conv:\(c.main)+bn+add+relu"]
      : ["conv:blas", "conv:\(c.main == "winograd-engine" ? "winograd-blas" : "blas")+bn", "add+relu"]
    #expect(net.stepPaths == expected, "\(c): the plan runs \(net.stepPaths)")
    let y = try net.run(x)[0]
    let ref = try ReferenceInterpreter(graph: graph, batch: 1, weights: weights).run(x)[0]
    let scale = ref.reduce(1) { max($0, abs($1)) }
    #expect(y.count == ref.count)
    #expect(zip(y, ref).allSatisfy { abs(Double($0) - $1) <= 1e-4 * scale }, "\(c), \(kernels) kernels")
  }
}
