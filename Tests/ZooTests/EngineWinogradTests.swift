import Testing
import ZooEngine
import ZooFormat
import ZooGraph

/// 3×3 stride-1 convolutions of the shapes the engine runs as Winograd F(2×2, 3×3) and F(4×4, 3×3)
/// against the naive loops: odd and even sizes, padding 0/1/2 (also unequal per axis), 1 to 40
/// channels, batch 1 and 2, on both paths: OpenBLAS (`blas`, F(2×2), output sides 8...32) and the
/// engine's own kernels on every tier (`zk_winograd_f2x3` and `zk_winograd_f4x3`, sides 4...32:
/// partial and whole vectors of tiles, output rows and columns clipped where the side is not a
/// multiple of the tile; with so few channels the private bands, up to 8 per layer, on 1 and 2
/// threads).
@Suite("Engine Winograd")
struct EngineWinogradTests {
  /// The engine's routes with F(4×4, 3×3).
  static var engineRoutes: [KernelRoute] { KernelRoute.all.filter { $0 == .engine } }

  @Test(arguments: 0..<32, KernelRoute.all)
  func winogradMatchesNaiveReference(seed: Int, kernels: KernelRoute) throws {
    try checkAgainstNaive(seed: seed, kernels: kernels, winograd: .wherever)
  }

  @Test(arguments: 0..<32, engineRoutes)
  func winogradF4MatchesNaiveReference(seed: Int, kernels: KernelRoute) throws {
    try checkAgainstNaive(seed: seed, kernels: kernels, winograd: .whereverF4)
  }

  func checkAgainstNaive(seed: Int, kernels: KernelRoute, winograd: PlanOptions.Winograd) throws {
    let engine = kernels == .engine
    var r = TestRandom(UInt64(seed) &* 104_729 &+ 5)
    let cin = r.int(1...40)
    let cout = r.int(1...40)
    let padding = Pair(r.int(0...2), r.int(0...2))
    let sides = engine ? 4...32 : 8...32
    let (ih, iw) = (r.int(sides) + 2 - 2 * padding.h, r.int(sides) + 2 - 2 * padding.w)
    let batch = r.int(1...2)
    let conv = Conv2D(inChannels: cin, outChannels: cout, kernel: Pair(3), padding: padding, bias: seed % 2 == 0)
    let x = r.array(batch * cin * ih * iw)
    let weight = r.array(cout * cin * 9)
    let bias = conv.bias ? r.array(cout) : nil
    var weights = ["layer.weight": Tensor(shape: [cout, cin, 3, 3], data: weight)]
    if let bias { weights["layer.bias"] = Tensor(shape: [cout], data: bias) }
    let net = try Network(
      graph: singleOp(.conv(conv), input: [cin, ih, iw]), batch: batch, weights: weights, threads: 1 + seed % 2,
      options: PlanOptions(kernels: kernels.kernels, isa: kernels.isa, winograd: winograd))
    let path = winograd == .whereverF4 && engine ? "winograd-f4-engine" : "winograd-\(kernels.kernels)"
    #expect(net.stepPaths == ["conv:\(path)"], "the plan runs \(net.stepPaths)")
    let y = try net.run(x)[0]
    let ref = naiveConv(conv, x: x, batch: batch, h: ih, w: iw, weight: weight, bias: bias)
    let scale = ref.reduce(Float(1)) { max($0, abs($1)) }
    #expect(y.count == ref.count)
    #expect(maxAbsDiff(y, ref) <= 1e-4 * scale, "conv \(conv) on \(batch)×\(cin)×\(ih)×\(iw)")
  }

  /// Layers with enough channels to take several bands of tile rows: on the OpenBLAS path 3 bands
  /// (6, 6 and 3 tile rows of 15 × 14 tiles); on the engine's 2 shared bands (8 and 8 tile rows of
  /// 16 × 16: 256 channels' weights are too large for private bands).
  @Test(arguments: KernelRoute.all) func winogradInBands(kernels: KernelRoute) throws {
    let engine = kernels == .engine
    var r = TestRandom(99)
    let (c, h, w) = engine ? (256, 32, 32) : (96, 31, 29)
    let conv = Conv2D(inChannels: c, outChannels: c, kernel: Pair(3), padding: Pair(1), bias: true)
    let x = r.array(c * h * w)
    let weight = r.array(c * c * 9)
    let bias = r.array(c)
    let net = try Network(
      graph: singleOp(.conv(conv), input: [c, h, w]),
      weights: [
        "layer.weight": Tensor(shape: [c, c, 3, 3], data: weight), "layer.bias": Tensor(shape: [c], data: bias),
      ], options: PlanOptions(kernels: kernels.kernels, isa: kernels.isa, winograd: .wherever))
    #expect(net.stepPaths == ["conv:winograd-\(kernels.kernels)"], "the plan runs \(net.stepPaths)")
    let y = try net.run(x)[0]
    let ref = naiveConv(conv, x: x, batch: 1, h: h, w: w, weight: weight, bias: bias)
    let scale = ref.reduce(Float(1)) { max($0, abs($1)) }
    #expect(maxAbsDiff(y, ref) <= 1e-4 * scale)
  }

  /// F(4×4, 3×3) on many input channels, where its larger rounding error is largest (its transforms
  /// multiply by up to 8 and its weights' by 1/24): 512 post-ReLU input channels, He-scaled weights,
  /// against the float64 loops, on every tier; measured 1.5e-5 of the output's largest magnitude on
  /// VGG-16's 512-channel layers (docs/engine.md), here within the fixtures' 1e-4.
  @Test(arguments: engineRoutes) func winogradF4OnManyChannels(kernels: KernelRoute) throws {
    var r = TestRandom(7)
    let (cin, cout, h, w) = (512, 24, 18, 17)
    let conv = Conv2D(inChannels: cin, outChannels: cout, kernel: Pair(3), padding: Pair(1), bias: true)
    let x = r.array(cin * h * w).map { max($0, 0) }
    let scale = Float((2.0 / Double(cin * 9)).squareRoot() * 3.0.squareRoot())
    let weight = r.array(cout * cin * 9).map { $0 * scale }
    let bias = r.array(cout)
    let net = try Network(
      graph: singleOp(.conv(conv), input: [cin, h, w]),
      weights: [
        "layer.weight": Tensor(shape: [cout, cin, 3, 3], data: weight), "layer.bias": Tensor(shape: [cout], data: bias),
      ], options: PlanOptions(kernels: kernels.kernels, isa: kernels.isa, winograd: .whereverF4))
    #expect(net.stepPaths == ["conv:winograd-f4-engine"], "the plan runs \(net.stepPaths)")
    let y = try net.run(x)[0]
    let ref = naiveConv(conv, x: x, batch: 1, h: h, w: w, weight: weight, bias: bias)
    let top = ref.reduce(Float(0)) { max($0, abs($1)) }
    #expect(
      maxAbsDiff(y, ref) <= 1e-4 * top, "F(4×4) error \(maxAbsDiff(y, ref) / top) of the output's largest magnitude")
  }

  /// The PyTorch fixtures of EngineModelTests with F(4×4, 3×3) on every 3×3 stride-1 convolution
  /// (`wherever-f4`, where the measured rule keeps these 64×64 inputs' small layers on F(2×2)), on
  /// every tier, within the same 1e-4 of the output's largest magnitude; U-Net's 3×3 layers on
  /// 220×220 without padding reach clipped tiles at every stage.
  @Test(
    arguments: [
      ("resnet18", [3, 64, 64]), ("googlenet", [3, 64, 64]), ("densenet121", [3, 64, 64]), ("unet", [1, 220, 220]),
    ],
    PlanOptions.ISA.supported)
  func f4MatchesPyTorchFixtures(model: (String, [Int]), isa: PlanOptions.ISA) throws {
    let (model, input) = model
    let graph = try builtin(model)
    let net = try Network(
      graph: graph, input: input, weights: SeededInit.weights(for: graph, randomStatistics: true),
      options: PlanOptions(kernels: .engine, isa: isa, winograd: .whereverF4))
    #expect(net.stepPaths.contains { $0.contains("conv:winograd-f4-engine") }, "no layer runs F(4×4)")
    let y = try net.run(seededInput(net.inputCount))[0]
    let expected = try Npy.read(fixturesDir.appendingPathComponent("\(model).npy").path)
    #expect(expected.shape == [1] + net.shapes[graph.outputs[0]])
    let scale = expected.data.map(abs).max()!
    #expect(scale > 0)
    let err = maxAbsDiff(y, expected.data) / scale
    #expect(err <= 1e-4, "\(model) with F(4×4) on \(isa): max error \(err) of the largest magnitude \(scale)")
  }
}
