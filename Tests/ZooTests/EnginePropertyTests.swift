import Foundation
import Testing
import ZooEngine
import ZooFormat
import ZooGraph

/// Every engine path this CPU runs — each kernel set, Winograd off / where faster / wherever it
/// applies, all fusion passes or none, one and two threads — against the float64 reference
/// interpreter, on random graphs (``RandomGraph``). A failure prints the seed, the plan options, the
/// plan's steps and the graph as a definition file, which `zoo run FILE` reads.
///
/// The engine's kernel tiers (``PlanOptions/ISA``) share the graphs instead of multiplying them:
/// each graph runs its engine plans on the one tier its seed picks (`seed mod` the tiers this CPU
/// runs), and ``graphsReachEveryPath`` checks that every engine path is reached on every tier.
///
/// CI runs 5,000 small graphs and 120 large ones (channels and sizes that reach Winograd's
/// thresholds, the narrow-column kernel and the threading splits); `ZOO_PROPERTY_GRAPHS=N` runs N
/// small graphs in each of the 40 chunks instead of 125, `ZOO_PROPERTY_LARGE=N` N large ones instead
/// of 3, and `ZOO_PROPERTY_SEED` shifts the seeds.
@Suite("Engine against the reference interpreter")
struct EnginePropertyTests {
  static let chunks = 40
  static let perChunk = ProcessInfo.processInfo.environment["ZOO_PROPERTY_GRAPHS"].flatMap { Int($0) } ?? 125
  static let largePerChunk = ProcessInfo.processInfo.environment["ZOO_PROPERTY_LARGE"].flatMap { Int($0) } ?? 3
  static let firstSeed = ProcessInfo.processInfo.environment["ZOO_PROPERTY_SEED"].flatMap { UInt64($0) } ?? 0

  /// The tier of the engine's kernels that the graph of `seed` runs on.
  static func isa(seed: UInt64) -> PlanOptions.ISA {
    let tiers = PlanOptions.ISA.supported
    return tiers[Int(seed % UInt64(tiers.count))]
  }

  /// The plans compared on the graph of `seed`.
  static func plans(large: Bool, seed: UInt64) -> [PlanOptions] {
    var plans: [PlanOptions] = []
    for kernels in PlanOptions.Kernels.supported {
      // Small graphs alternate between the two tile sizes (independently of the tier, `seed mod` 2
      // or 3), so the sweep costs no more plans.
      for winograd in large ? PlanOptions.Winograd.allCases : [.off, seed / 3 % 2 == 0 ? .wherever : .whereverF4] {
        for fusions in [Set(Fusion.allCases), []] {
          plans.append(PlanOptions(kernels: kernels, isa: isa(seed: seed), winograd: winograd, fusions: fusions))
        }
      }
    }
    return plans
  }

  /// The graphs of the first chunks reach every convolution path and every fusion on their plans,
  /// so the sweep cannot pass by missing a path (the list grows with the engine's paths); and every
  /// engine path on every tier this CPU runs.
  @Test func graphsReachEveryPath() throws {
    var seen: Set<String> = []
    var seenOnTier: Set<String> = []
    // Seeds the default sweep runs: the first 1,000 small graphs (of 5,000) and the first 100 large ones
    // (of 120), so every path counted here is one the sweep checks.
    for seed in 0..<UInt64(1000) {
      for large in seed < 100 ? [false, true] : [false] {
        let s = seed + (large ? 1_000_000 : 0)
        let g = try RandomGraph(seed: s, large: large)
        for options in Self.plans(large: large, seed: s) {
          let net = try Network(graph: g.graph, batch: g.batch, weights: g.weights, options: options)
          for step in net.stepPaths {
            seen.formUnion(step.split(separator: "+").map { String($0) })
            seen.insert(step.split(separator: "+").map { $0.split(separator: ":")[0] }.joined(separator: "+"))
            if options.kernels == .engine {
              let parts = step.split(separator: "+").map { String($0) }
              seenOnTier.formUnion(parts.map { "\($0)@\(net.isa)" })
              // A kernel whose epilogue applies a vectorised activation other than ReLU (act.h).
              if parts.count >= 2, Self.epilogueActivations.contains(parts.last!) {
                seenOnTier.insert("\(parts[0])+epilogue-act@\(net.isa)")
              }
            }
          }
        }
      }
    }
    var wanted = [
      "conv:blas", "conv:winograd-blas", "conv:depthwise", "conv+bn", "conv+bn+relu", "conv+relu", "concat+bn",
      "concat+bn+relu",
      "add+relu", "linear+relu", "bn+relu", "maxpool", "avgpool", "adaptive_avgpool", "adaptive_maxpool", "upsample",
      "lrn",
      "softmax", "rbf",
      "subsample", "conv_transpose", "conv_transpose+relu", "tanh", "sigmoid", "leaky_relu", "scaled_tanh", "relu6",
      "hardsigmoid", "hardswish", "silu", "gelu", "mul", "mul+relu", "channel_shuffle", "slice",
      "pad", "crop", "prepad", "prepad+conv", "max_unpool", "maxout", "local",
    ]
    if PlanOptions.Kernels.engine.isSupported {
      wanted += [
        "conv:gemm-direct", "conv:gemm-grid", "conv:gemm-narrow", "conv:winograd-engine", "conv:winograd-f4-engine",
        "conv+add", "conv+bn+add",
        "conv+bn+add+relu", "conv+add+relu",
      ]
    }
    let missing = wanted.filter { !seen.contains($0) }
    #expect(missing.isEmpty, "no random graph reaches \(missing)")
    let engineParts = [
      "conv:gemm-direct", "conv:gemm-grid", "conv:gemm-narrow", "conv:winograd-engine", "conv:winograd-f4-engine",
      "add", "linear", "conv:depthwise", "conv:depthwise+epilogue-act",
      "conv:gemm-direct+epilogue-act", "conv:gemm-grid+epilogue-act", "conv:gemm-narrow+epilogue-act",
    ]
    let tiers = PlanOptions.ISA.supported
    #expect(tiers.contains(.generic) && tiers.count >= 2, "this CPU runs only \(tiers)")
    let missingOnTier = tiers.flatMap { t in engineParts.map { "\($0)@\(t)" } }.filter { !seenOnTier.contains($0) }
    #expect(missingOnTier.isEmpty, "no random graph reaches \(missingOnTier)")
  }

  /// The activations the kernels apply in their epilogues, vectorised, besides ReLU (act.h).
  static let epilogueActivations: Set<String> = ["relu6", "sigmoid", "silu", "hardsigmoid", "hardswish"]

  @Test(arguments: 0..<chunks) func smallGraphs(chunk: Int) throws {
    for i in 0..<Self.perChunk {
      try check(seed: Self.firstSeed + UInt64(chunk * Self.perChunk + i), large: false)
    }
  }

  @Test(arguments: 0..<chunks) func largeGraphs(chunk: Int) throws {
    for i in 0..<Self.largePerChunk {
      try check(seed: Self.firstSeed + 1_000_000 + UInt64(chunk * Self.largePerChunk + i), large: true)
    }
  }

  /// The pre-activation residual unit of the trust issue: the add must not let the batch norm after
  /// it fold into the convolution before it.
  @Test func preActivationResidual() throws {
    let yaml = """
      input: [16, 12, 12]
      network:
        - {conv: 64, kernel: 3, padding: 1, name: c0}
        - add:
          - - {conv: 64, kernel: 3, padding: 1, name: c1}
          - []
        - {bn, name: bn}
        - relu
      models: {m: {}}
      """
    for seed: UInt64 in 0..<4 { try check(yaml: yaml, seed: seed) }
  }

  func check(seed: UInt64, large: Bool) throws {
    let g: RandomGraph
    do {
      g = try RandomGraph(seed: seed, large: large)
    } catch {
      Issue.record("seed \(seed): the generator wrote a definition the loader refuses: \(error)")
      return
    }
    // One or two threads, independently of the tier (both vary with the seed).
    let threads = 1 + Int(seed / UInt64(PlanOptions.ISA.supported.count) % 2)
    try compare(g, threads: threads, plans: Self.plans(large: large, seed: seed))
  }

  func check(yaml: String, seed: UInt64) throws {
    var r = SplitMixRandom(seed)
    var g = Generator(seed: seed, large: false)
    let graph = try DefinitionFile(path: "unit.yaml", text: yaml).graph()
    var weights: [String: Tensor] = [:]
    for node in graph.nodes {
      for t in node.tensors where !t.name.hasSuffix("num_batches_tracked") {
        weights[t.name] = Tensor(shape: t.shape, data: g.values(for: t, of: node))
      }
    }
    let x = (0..<graph.inputShape.reduce(1, *)).map { _ in Float(r.uniform(-1, 1)) }
    let plans = PlanOptions.Kernels.supported.flatMap { k in
      PlanOptions.Winograd.allCases.flatMap { w in
        PlanOptions.ISA.supported.map { PlanOptions(kernels: k, isa: $0, winograd: w) }
      }
    }
    try compare(graph: graph, yaml: yaml, seed: seed, weights: weights, x: x, batch: 1, threads: 2, plans: plans)
  }

  func compare(_ g: RandomGraph, threads: Int, plans: [PlanOptions]) throws {
    try compare(
      graph: g.graph, yaml: g.yaml, seed: g.seed, weights: g.weights, x: g.input, batch: g.batch, threads: threads,
      plans: plans)
  }

  func compare(
    graph: Graph, yaml: String, seed: UInt64, weights: [String: Tensor], x: [Float], batch: Int, threads: Int,
    plans: [PlanOptions]
  ) throws {
    let reference = try ReferenceInterpreter(graph: graph, batch: batch, weights: weights).run(x)
    for options in plans {
      let net = try Network(graph: graph, batch: batch, weights: weights, threads: threads, options: options)
      let outputs = try net.run(x)
      for (o, (y, ref)) in zip(outputs, reference).enumerated() {
        let scale = max(ref.reduce(0) { max($0, abs($1)) }, 1e-3)
        // NaN compares false, so it counts as a mismatch.
        let worst = zip(y, ref).enumerated().max { abs(Double($0.1.0) - $0.1.1) < abs(Double($1.1.0) - $1.1.1) }
        let ok = y.count == ref.count && zip(y, ref).allSatisfy { abs(Double($0) - $1) <= 1e-4 * scale }
        if !ok {
          let at = worst.map { "element \($0.offset): \($0.element.0) against \($0.element.1)" } ?? "no elements"
          Issue.record(
            """
            seed \(seed), batch \(batch), \(threads) thread(s), kernels \(options.kernels) (tier \(net.isa)), Winograd \
            \(options.winograd), fusions [\(options.fusions.map(\.rawValue).sorted().joined(separator: ", "))]: \
            output \(o) (node `\(graph.nodes[graph.outputs[o]].name)`) differs from the reference at \(at) \
            (scale \(scale)).
            Plan: \(net.stepPaths.joined(separator: " | "))
            \(yaml)
            """)
          return
        }
      }
    }
  }
}
