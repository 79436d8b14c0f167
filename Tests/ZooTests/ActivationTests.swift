import Foundation
import Testing
import ZooAnalysis
import ZooEngine
import ZooFormat
import ZooGraph

/// The graph of a one-model definition whose network is `layers` on a `[C, H, W]` input.
private func graph(_ layers: String, input: [Int] = [1, 1, 4]) throws -> Graph {
  let text = "input: [\(input.map(String.init).joined(separator: ", "))]\nnetwork:\n\(layers)\nmodels: {net: {}}\n"
  return try DefinitionFile(path: "net.yaml", text: text).graph(named: nil)
}

/// Whether every value of `y` is within `tolerance` of `expected` (relative to 1 or the value, whichever is larger).
private func close(_ y: [Float], _ expected: [Double], tolerance: Double = 1e-6) -> Bool {
  y.count == expected.count
    && zip(y, expected).allSatisfy { abs(Double($0) - $1) <= tolerance * max(1, abs($1)) }
}

@Suite("activations of mobile networks: relu6, hardsigmoid, hardswish, silu, gelu")
struct ActivationTests {
  /// Points and values worked by hand from PyTorch's definitions (gelu and silu to 16 digits).
  static let cases: [(Activation, [Float], [Double])] = [
    (.relu6, [-1, 0, 3, 6, 7.5], [0, 0, 3, 6, 6]),
    (.hardsigmoid, [-4, -3, 0, 1, 3, 4], [0, 0, 0.5, 4.0 / 6, 1, 1]),
    (.hardswish, [-4, -3, -1, 0, 1, 3, 4], [0, 0, -1.0 / 3, 0, 2.0 / 3, 3, 4]),
    (.silu, [-1, 0, 1, 3], [-0.2689414213699951, 0, 0.7310585786300049, 2.8577223804672998]),
    (
      .gelu(.erf), [-3, -1, 0, 0.5, 1, 3],
      [
        -0.00404969409489031, -0.15865525393145707, 0, 0.34573123063700656, 0.8413447460685429, 2.99595030590511,
      ]
    ),
    (
      .gelu(.tanh), [-3, -1, 0, 0.5, 1, 3],
      [
        -0.0036373920817729943, -0.15880800939172324, 0, 0.34571400982514394, 0.8411919906082768, 2.996362607918227,
      ]
    ),
  ]

  @Test(arguments: 0..<cases.count) func valuesAtChosenPoints(index: Int) throws {
    let (a, x, expected) = Self.cases[index]
    let y = try runSingle(.activation(a), input: [x.count], x: x)
    #expect(close(y, expected), "\(a.summary): \(y) against \(expected)")
  }

  /// Far from zero the functions meet their asymptotes without overflow: silu and gelu of a large
  /// negative number are zero (not NaN), of a large positive one the number itself.
  @Test func saturation() throws {
    for a in [Activation.silu, .gelu(.erf), .gelu(.tanh), .hardswish] {
      let y = try runSingle(.activation(a), input: [2], x: [-200, 200])
      #expect(y[0] == 0 && y[1] == 200, "\(a.summary): \(y)")
    }
    #expect(try runSingle(.activation(.hardsigmoid), input: [2], x: [-200, 200]) == [0, 1])
    #expect(try runSingle(.activation(.relu6), input: [2], x: [-200, 200]) == [0, 6])
  }

  /// Fused into a convolution with a bias (1×1, weight 1, bias 0.5: `act(x + 0.5)`) on every kernel
  /// set this CPU runs, and into a batch norm that cannot fold (its input is the network's input):
  /// these run the activation after the kernel, with the bias added on the way.
  @Test(arguments: 0..<cases.count) func fusedIntoConvolutionAndBatchNorm(index: Int) throws {
    let (a, x, _) = Self.cases[index]
    let layer = a == .gelu(.tanh) ? "{gelu, approximate: tanh}" : a.name
    let conv = try graph("  - {conv: 1, kernel: 1, name: c}\n  - \(layer)", input: [1, 1, x.count])
    let shifted = x.map { $0 + 0.5 }
    let standalone = try runSingle(.activation(a), input: [x.count], x: shifted)
    let weights = ["c.weight": Tensor(shape: [1, 1, 1, 1], data: [1]), "c.bias": Tensor(shape: [1], data: [0.5])]
    for kernels in PlanOptions.Kernels.supported {
      let net = try Network(graph: conv, weights: weights, options: PlanOptions(kernels: kernels))
      #expect(net.stepPaths.count == 1 && net.stepPaths[0].hasSuffix("+\(a.name)"), "\(net.stepPaths)")
      let y = try net.run(x)[0]
      #expect(close(y, standalone.map(Double.init)), "\(a.summary) on \(kernels): \(y) against \(standalone)")
    }
    // Batch norm γ = 2, β = 0.5, μ = 0, σ² = 1 − ε: `act(2x + 0.5)`.
    let bn = try graph("  - {bn, name: b}\n  - \(layer)", input: [1, 1, x.count])
    let bnWeights = [
      "b.weight": Tensor(shape: [1], data: [2]), "b.bias": Tensor(shape: [1], data: [0.5]),
      "b.running_mean": Tensor(shape: [1], data: [0]), "b.running_var": Tensor(shape: [1], data: [1 - 1e-5]),
    ]
    let net = try Network(graph: bn, weights: bnWeights)
    #expect(net.stepPaths == ["bn+\(a.name)"])
    let expected = try runSingle(.activation(a), input: [x.count], x: x.map { 2 * $0 + 0.5 })
    #expect(close(try net.run(x)[0], expected.map(Double.init), tolerance: 1e-5), "\(a.summary) after bn")
  }

  /// FLOPs per element as docs/conventions.md tabulates them, on a 2×3×4 output.
  @Test func flopsPerElement() throws {
    let table: [(Activation, Int)] = [
      (.relu, 1), (.leakyReLU(slope: 0.1), 1), (.tanh, 1), (.sigmoid, 1), (.scaledTanh(a: 1.7159, s: 2.0 / 3), 3),
      (.relu6, 2), (.hardsigmoid, 4), (.hardswish, 5), (.silu, 2), (.gelu(.erf), 5), (.gelu(.tanh), 9),
    ]
    for (a, perElement) in table {
      let node = Node(id: 1, name: "act", op: .activation(a), inputs: [0])
      let c = try node.counts(inputs: [[2, 3, 4]], output: [2, 3, 4])
      #expect(c.flops == perElement * 24 && c.macs == 0 && c.params == 0, "\(a.summary): \(c.flops) FLOPs")
    }
    // Through a definition: 4 × 6 elements after a 1×1 convolution without bias (2 · 24 FLOPs).
    let s = try Summary(
      try graph(
        "  - {conv: 4, kernel: 1, bias: false}\n  - hardswish\n  - {gelu, approximate: tanh}", input: [1, 2, 3]))
    #expect(s.totals.flops == 2 * 24 + 5 * 24 + 9 * 24)
  }

  @Test func namesAndSummaries() throws {
    let g = try graph("  - relu6\n  - hardsigmoid\n  - hardswish\n  - silu\n  - gelu\n  - {gelu, approximate: tanh}")
    let ops = g.nodes.dropFirst().map(\.op)
    #expect(
      ops == [
        .activation(.relu6), .activation(.hardsigmoid), .activation(.hardswish), .activation(.silu),
        .activation(.gelu(.erf)), .activation(.gelu(.tanh)),
      ])
    #expect(g.nodes.dropFirst().map(\.name) == ["relu6", "hardsigmoid", "hardswish", "silu", "gelu", "gelu_1"])
    #expect(ops.map(\.summary) == ["relu6", "hardsigmoid", "hardswish", "silu", "gelu", "gelu tanh"])
    #expect(ops.allSatisfy { $0.opClass == .activation })
  }

  /// `approximate` is a word: unquoted `none`/`tanh`, the first argument's place, or an expression
  /// giving the string (a block argument).
  @Test func geluApproximateArgument() throws {
    let written: [(String, GELUApproximation)] = [
      ("gelu", .erf), ("{gelu: none}", .erf), ("{gelu: tanh}", .tanh), ("{gelu, approximate: none}", .erf),
      ("{gelu, approximate: tanh}", .tanh), ("{gelu, approximate: \"'tanh'\"}", .tanh),
    ]
    for (layer, expected) in written {
      #expect(try graph("  - \(layer)").nodes[1].op == .activation(.gelu(expected)), "\(layer)")
    }
    let text = """
      input: [1, 1, 4]
      blocks:
        act:
          args: {mode: "'none'"}
          body: [{gelu, approximate: mode}]
      network: [{act: "'tanh'"}, act]
      models: {net: {}}
      """
    let g = try DefinitionFile(path: "net.yaml", text: text).graph(named: nil)
    #expect(g.nodes.dropFirst().map(\.op) == [.activation(.gelu(.tanh)), .activation(.gelu(.erf))])
    #expect(DefinitionFile.check(path: "net.yaml", text: text).isEmpty)
  }

  @Test func unknownApproximationNamesTheValueAndItsPlace() throws {
    let text = """
      input: [1, 1, 4]
      network:
        - relu
        - {gelu, approximate: tahn}
      models: {net: {}}
      """
    let e = try #require(definitionError(text))
    #expect(e.line == 4 && e.column == 5, "\(e)")
    #expect(e.message == "`approximate` must be `none` or `tanh`, got `tahn`", "\(e)")
    // `zoo check` points at the value itself.
    let problems = DefinitionFile.check(path: "net.yaml", text: text).map(\.description)
    #expect(problems == ["net.yaml:4:25: `approximate` must be `none` or `tanh`, got `tahn`"], "\(problems)")
    // A value of another type is named too.
    let number = try #require(definitionError(text.replacingOccurrences(of: "tahn", with: "2")))
    #expect(number.message == "`approximate` must be `none` or `tanh`, got 2", "\(number)")
    let checked = DefinitionFile.check(path: "net.yaml", text: text.replacingOccurrences(of: "tahn", with: "2"))
    #expect(checked.map(\.message) == ["`approximate` must be `none` or `tanh`, got 2"])
    // The other new activations take no arguments.
    let extra = try #require(
      definitionError(text.replacingOccurrences(of: "{gelu, approximate: tahn}", with: "{silu: 1}")))
    #expect(extra.message.contains("takes no arguments"), "\(extra)")
  }

  /// PyTorch's backward of ReLU6 (hardtanh), hardsigmoid, hardswish, SiLU and GELU reads the input,
  /// so after conv → bn the batch norm's output is kept (where ReLU keeps its own output, which the
  /// next convolution keeps too).
  @Test func trainingKeepsTheInputOfTheNewActivations() throws {
    for (layer, keepsInput) in [("relu", false), ("relu6", true), ("hardswish", true), ("silu", true), ("gelu", true)] {
      let g = try graph(
        "  - {conv: 2, kernel: 1, bias: false}\n  - bn\n  - \(layer)\n  - {conv: 2, kernel: 1, bias: false}",
        input: [2, 2, 2])
      let t = try TrainingMemory(try Summary(g))
      // Nodes: 0 input, 1 conv, 2 bn, 3 activation, 4 conv.
      let saved = t.saved.map(\.node)
      #expect(saved == (keepsInput ? [0, 1, 2, 3] : [0, 1, 3]), "\(layer): \(saved)")
      let activationSaves = t.saved.filter { $0.savedBy.contains(3) }.map(\.node)
      #expect(activationSaves == [keepsInput ? 2 : 3], "\(layer)")
    }
  }
  /// Each activation at `x = k/8` for `k` in −96…96, then ±20 and ±100, against PyTorch's float32
  /// modules (scripts/make_fixtures.py, `activation_values.npy`, one row per activation).
  @Test func matchesPyTorchOnAGrid() throws {
    let rows: [Activation] = [.relu6, .hardsigmoid, .hardswish, .silu, .gelu(.erf), .gelu(.tanh)]
    let x = (-96...96).map { Float($0) / 8 } + [-20, 20, -100, 100]
    let expected = try Npy.read(fixturesDir.appendingPathComponent("activation_values.npy").path)
    #expect(expected.shape == [rows.count, x.count])
    for (r, a) in rows.enumerated() {
      let want = Array(expected.data[(r * x.count)..<((r + 1) * x.count)])
      let y = try runSingle(.activation(a), input: [x.count], x: x)
      // Some float32 ulps: the two sides' exp, erf and tanh need not round alike (PyTorch's vectorised
      // erf and glibc's erff differ by up to 5.4e-7 here; the others by at most 1.6e-7).
      let worst = zip(y, want).map { abs($0 - $1) / max(1, abs($1)) }.max()!
      #expect(worst <= 2e-6, "\(a.summary): worst error \(worst)")
    }
  }

  /// A small network with each activation after a convolution (or convolution and batch norm) the
  /// engine fuses it into, against PyTorch (`activation_net.npy`; scripts/make_fixtures.py's
  /// `ActivationNet`), from the same seeded weights and 8 × the seeded input, on every kernel set this
  /// CPU runs, at 1e-4 of the largest magnitude.
  @Test func networkMatchesPyTorch() throws {
    let text = """
      input: [3, 8, 8]
      network:
        - {conv: 8, kernel: 3, padding: 1, name: c1}
        - {bn, name: b1}
        - relu6
        - {conv: 8, kernel: 3, padding: 1, groups: 8, name: c2}
        - {bn, name: b2}
        - hardswish
        - {conv: 16, kernel: 1, name: c3}
        - gelu
        - {conv: 16, kernel: 3, padding: 1, stride: 2, name: c4}
        - {gelu, approximate: tanh}
        - {conv: 8, kernel: 1, name: c5}
        - silu
        - {conv: 8, kernel: 1, name: c6}
        - hardsigmoid
        - flatten
        - {linear: 10, name: fc}
      models: {net: {}}
      """
    let g = try DefinitionFile(path: "activation_net.yaml", text: text).graph(named: nil)
    let expected = try Npy.read(fixturesDir.appendingPathComponent("activation_net.npy").path)
    #expect(expected.shape == [2, 10])
    let scale = expected.data.map(abs).max()!
    #expect(scale > 0)
    for kernels in PlanOptions.Kernels.supported {
      let net = try Network(
        graph: g, batch: 2, weights: SeededInit.weights(for: g, randomStatistics: true),
        options: PlanOptions(kernels: kernels))
      let steps = net.stepPaths.map { $0.replacing(/:[a-z-]+/, with: "") }
      #expect(
        steps.prefix(6) == [
          "conv+bn+relu6", "conv+bn+hardswish", "conv+gelu", "conv+gelu", "conv+silu", "conv+hardsigmoid",
        ],
        "every activation fused: \(net.stepPaths)")
      let y = try net.run(seededInput(net.inputCount).map { 8 * $0 })[0]
      let err = maxAbsDiff(y, expected.data) / scale
      #expect(err <= 1e-4, "\(kernels): max error \(err) of the largest magnitude \(scale)")
    }
  }
}
