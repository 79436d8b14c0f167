import Testing
import ZooEngine
import ZooFormat
import ZooGraph

/// Each fusion pass on the graphs it must fuse and on those it must not, step by step
/// (``Network/stepPaths``); values are the property test's business (EnginePropertyTests).
@Suite("Plan compiler passes")
struct EnginePassTests {
  struct Case: Sendable, CustomStringConvertible {
    var name: String
    /// The network, as the `network:` list of a definition on a 16×16×16 input.
    var network: String
    var passes: Set<Fusion>
    var kernels: PlanOptions.Kernels = .engine
    /// The plan's steps, convolution paths left out.
    var steps: [String]
    var description: String { name }
  }

  static let cases: [Case] = [
    Case(
      name: "bn folds into conv", network: "[{conv: 8, kernel: 3, padding: 1}, bn]", passes: [.batchNormFolding],
      steps: ["conv+bn"]),
    Case(
      name: "bn after a conv with two readers",
      network: "[{conv: 8, kernel: 1}, {add: [[bn], [relu]]}]", passes: Set(Fusion.allCases),
      steps: ["conv", "bn", "relu", "add"]),
    Case(
      name: "bn after conv + add (pre-activation) does not fold",
      network: "[{conv: 16, kernel: 1}, {add: [[{conv: 16, kernel: 1}], []]}, bn, relu]",
      passes: Set(Fusion.allCases), steps: ["conv", "conv+add", "bn+relu"]),
    Case(
      name: "bn after conv + relu does not fold", network: "[{conv: 8, kernel: 1}, relu, bn]",
      passes: Set(Fusion.allCases), steps: ["conv+relu", "bn"]),
    Case(
      name: "bn after a table conv does not fold",
      network: "[{conv: 2, kernel: 3, table: [[0, 1], [2]]}, bn]", passes: Set(Fusion.allCases),
      steps: ["conv_table", "bn"]),
    Case(
      name: "bn into concat", network: "[{concat: [[], [{conv: 8, kernel: 1}]]}, bn, relu]",
      passes: [.concatBatchNorm, .activationFusion], steps: ["conv", "concat+bn+relu"]),
    Case(
      name: "bn after a concat read twice",
      network: "[{concat: [[], []]}, {add: [[bn], []]}]", passes: Set(Fusion.allCases),
      steps: ["concat", "bn", "add"]),
    Case(
      name: "residual into a 1×1 conv", network: "[{add: [[{conv: 16, kernel: 1}, bn], []]}, relu]",
      passes: Set(Fusion.allCases), steps: ["conv+bn+add+relu"]),
    Case(
      name: "residual alone", network: "[{add: [[{conv: 16, kernel: 1}], []]}]", passes: [.residualEpilogue],
      steps: ["conv+add"]),
    Case(
      name: "no residual on the BLAS", network: "[{add: [[{conv: 16, kernel: 1}], []]}, relu]",
      passes: Set(Fusion.allCases), kernels: .blas, steps: ["conv", "add+relu"]),
    Case(
      name: "no residual when the identity comes later",
      network: "[{add: [[{conv: 16, kernel: 1}], [{conv: 16, kernel: 1}]]}]", passes: Set(Fusion.allCases),
      steps: ["conv", "conv", "add"]),
    Case(
      name: "no residual after an activation", network: "[{add: [[{conv: 16, kernel: 1}, relu], []]}]",
      passes: Set(Fusion.allCases), steps: ["conv+relu", "add"]),
    Case(
      name: "no residual into a grid conv", network: "[{add: [[{conv: 16, kernel: 3, padding: 1}], []]}]",
      passes: Set(Fusion.allCases), steps: ["conv", "add"]),
    Case(
      name: "no residual for a broadcast add (a 1×16×16 identity)",
      network: "[{conv: 1, kernel: 1}, {add: [[{conv: 16, kernel: 1}], []]}]", passes: Set(Fusion.allCases),
      steps: ["conv", "conv", "add"]),
    Case(
      name: "residual for the same add without broadcasting",
      network: "[{conv: 16, kernel: 1}, {add: [[{conv: 16, kernel: 1}], []]}]", passes: Set(Fusion.allCases),
      steps: ["conv", "conv+add"]),
    Case(
      name: "activation after a mul", network: "[{mul: [[], [{adaptive_avgpool: 1}, sigmoid]]}, relu]",
      passes: [.activationFusion], steps: ["adaptive_avgpool", "sigmoid", "mul+relu"]),
    Case(
      name: "activations", network: "[{maxpool: 2}, relu, {add: [[], [tanh]]}, sigmoid, flatten, {linear: 4}, relu]",
      passes: [.activationFusion], steps: ["maxpool", "relu", "tanh", "add+sigmoid", "linear+relu"]),
    Case(name: "no passes", network: "[{conv: 8, kernel: 1}, bn, relu]", passes: [], steps: ["conv", "bn", "relu"]),
  ]

  @Test(arguments: cases) func pass(_ c: Case) throws {
    guard c.kernels.isSupported else { return }
    let text = "input: [16, 16, 16]\nnetwork: \(c.network)\nmodels: {m: {}}\n"
    let graph = try DefinitionFile(path: "\(c.name).yaml", text: text).graph()
    let net = try Network(
      graph: graph, weights: SeededInit.weights(for: graph),
      options: PlanOptions(kernels: c.kernels, winograd: .off, fusions: c.passes))
    let steps = net.stepPaths.map { step in
      step.split(separator: "+").map { $0.split(separator: ":")[0] }.joined(separator: "+")
    }
    #expect(steps == c.steps, "\(c.name): the plan runs \(net.stepPaths)")
  }

  /// A convolution whose value is also a graph output keeps it: the batch norm after it does not fold,
  /// nor does an activation.
  @Test func outputsAreNotFusedAway() throws {
    let conv = Conv2D(inChannels: 4, outChannels: 4, kernel: Pair(1))
    for second: Op in [.batchNorm(channels: 4, eps: 1e-5), .activation(.relu)] {
      let graph = Graph(
        name: "outputs", inputShape: [4, 4, 4],
        nodes: [
          Node(id: 0, name: "input", op: .input, inputs: []), Node(id: 1, name: "conv", op: .conv(conv), inputs: [0]),
          Node(id: 2, name: "next", op: second, inputs: [1]),
        ], outputs: [2, 1], modules: [])
      let net = try Network(graph: graph, weights: SeededInit.weights(for: graph))
      #expect(net.stepPaths.count == 2, "\(second.kindName) after an output: \(net.stepPaths)")
    }
  }

  /// The engine's kernels are refused, not replaced, where the CPU lacks them.
  @Test func unsupportedKernelsAreRefused() throws {
    guard !PlanOptions.Kernels.engine.isSupported else { return }
    let graph = singleOp(.activation(.relu), input: [1, 2, 2])
    #expect(throws: EngineError.self) {
      try Network(graph: graph, weights: [:], options: PlanOptions(kernels: .engine))
    }
  }

  /// A plan beyond the memory limit is refused before anything is allocated, naming both figures.
  @Test func memoryLimit() throws {
    let graph = singleOp(.activation(.relu), input: [64, 224, 224])
    do {
      _ = try Network(graph: graph, batch: 1_000_000, weights: [:])
      Issue.record("a batch of a million 64×224×224 maps was planned")
    } catch let e as EngineError {
      #expect(e.description.contains("beyond the memory limit"), "\(e)")
      #expect(e.description.contains(grouped(PlanOptions.defaultMemoryLimit)), "\(e)")
    }
    // The input and the ReLU's output (which cannot overwrite the input): 2 × 12,845,056 bytes.
    let planned = 2 * 64 * 224 * 224 * 4
    let small = try Network(graph: graph, weights: [:], options: PlanOptions(memoryLimit: planned))
    #expect(small.memory.arenaBytes == planned)
    #expect(throws: EngineError.self) {
      try Network(graph: graph, weights: [:], options: PlanOptions(memoryLimit: planned - 1))
    }
  }
}
