import Foundation
import Testing
import ZooAnalysis
import ZooEngine
import ZooGraph

/// The seeded input scripts/make_fixtures.py feeds PyTorch: `2u − 1` of the stream `input`.
func seededInput(_ count: Int) -> [Float] {
  SeededInit.uniform(key: "input", count: count).map { 2 * $0 - 1 }
}

let fixturesDir = repoRoot.appendingPathComponent("Tests/ZooTests/Fixtures")

@Suite("Engine whole models against PyTorch")
struct EngineModelTests {
  /// Model, input of one sample, batch: the fixtures scripts/make_fixtures.py wrote with PyTorch
  /// from the same seeded weights (random batch-norm statistics) and input.
  @Test(arguments: [
    ("lenet5", [1, 32, 32], 2), ("resnet18", [3, 64, 64], 1), ("googlenet", [3, 64, 64], 1),
    ("densenet121", [3, 64, 64], 1),
  ])
  func matchesPyTorch(model: String, input: [Int], batch: Int) throws {
    let graph = try builtin(model)
    let net = try Network(
      graph: graph, input: input, batch: batch, weights: SeededInit.weights(for: graph, randomStatistics: true))
    let y = try net.run(seededInput(net.inputCount))[0]
    let expected = try Npy.read(fixturesDir.appendingPathComponent("\(model).npy").path)
    #expect(expected.shape == [batch] + net.shapes[graph.outputs[0]])
    let scale = expected.data.map(abs).max()!
    #expect(scale > 0)
    let err = maxAbsDiff(y, expected.data) / scale
    #expect(err <= 1e-4, "\(model): max error \(err) of the largest magnitude \(scale)")
  }

  @Test func batchesAreIndependentSamples() throws {
    // Sample 1 of a batch of two equals the same input run alone.
    let graph = try builtin("resnet18")
    let w = SeededInit.weights(for: graph, randomStatistics: true)
    let two = try Network(graph: graph, input: [3, 32, 32], batch: 2, weights: w)
    let one = try Network(graph: graph, input: [3, 32, 32], batch: 1, weights: w)
    let x = seededInput(two.inputCount)
    let y2 = try two.run(x)[0]
    let y1 = try one.run(Array(x[3072...]))[0]
    #expect(maxAbsDiff(Array(y2[1000...]), y1) < 1e-5)
  }

  @Test func everyZooModelRunsWithSeededWeights() throws {
    // Small inputs: every model compiles, runs, and gives finite outputs of the right size.
    for name in ["lenet5", "lenet5_original", "alexnet_original", "vgg11_bn", "resnext50_32x4d", "bottleneck_256"] {
      let graph = try builtin(name)
      let input: [Int] =
        switch name {
        case "lenet5", "lenet5_original", "alexnet_original": graph.inputShape
        case "bottleneck_256": [256, 8, 8]
        default: [3, 32, 32]
        }
      let net = try Network(graph: graph, input: input, weights: SeededInit.weights(for: graph))
      let y = try net.run(seededInput(net.inputCount))[0]
      #expect(y.count == net.shapes[graph.outputs[0]].reduce(1, *), "\(name)")
      #expect(y.allSatisfy { $0.isFinite }, "\(name)")
    }
  }
}

@Suite("Engine memory plan")
struct EngineMemoryTests {
  @Test func chainOfConvBatchNormReLUSharesBuffers() throws {
    // input → conv → bn → relu → maxpool: bn and relu run in place in the conv's buffer, so there are
    // three buffers: input (3·8·8·4 = 768 B), conv (4·8·8·4 = 1024 B) and pool (4·4·4·4 = 256 B).
    let g = Graph(
      name: "chain", inputShape: [3, 8, 8],
      nodes: [
        Node(id: 0, name: "input", op: .input, inputs: []),
        Node(
          id: 1, name: "conv", op: .conv(Conv2D(inChannels: 3, outChannels: 4, kernel: Pair(3), padding: Pair(1))),
          inputs: [0]),
        Node(id: 2, name: "bn", op: .batchNorm(channels: 4, eps: 1e-5), inputs: [1]),
        Node(id: 3, name: "relu", op: .activation(.relu), inputs: [2]),
        Node(id: 4, name: "pool", op: .pool(Pool2D(kind: .max, kernel: Pair(2), stride: Pair(2))), inputs: [3]),
      ], outputs: [4], modules: [])
    let plan = try MemoryPlan(graph: g, shapes: [[3, 8, 8], [4, 8, 8], [4, 8, 8], [4, 8, 8], [4, 4, 4]], batch: 1)
    #expect(plan.owner == [0, 1, 1, 1, 4])
    #expect(plan.bytes == [768, 1024, 0, 0, 256])
    // Steps 0–1 hold input + conv; step 4 holds conv + pool (the input died at step 1).
    #expect(plan.peakBytes == 1792)
    #expect(plan.arenaBytes == 1792)
    // The compiled network folds bn and relu into the conv: two kernels.
    let net = try Network(graph: g, weights: SeededInit.weights(for: g))
    #expect(net.stepCount == 2)
  }

  @Test(arguments: ["resnet18", "googlenet", "densenet121"])
  func arenaIsCloseToTheLivenessPeak(model: String) throws {
    let graph = try builtin(model)
    let net = try Network(graph: graph, weights: SeededInit.weights(for: graph))
    // What the activations would take without reuse: every node's output in its own buffer.
    let all = net.shapes.reduce(0) { $0 + $1.reduce(4, *) }
    #expect(net.memory.arenaBytes >= net.memory.peakBytes)
    #expect(Double(net.memory.arenaBytes) <= 1.25 * Double(net.memory.peakBytes))
    #expect(net.memory.peakBytes < all / 3, "the plan reuses memory: peak \(net.memory.peakBytes) of \(all)")
  }

  /// The engine plans on the analyzer's liveness, so `zoo describe`'s inference peak is the engine's;
  /// the placement must hold every buffer of every zoo model without overlaps in time and space.
  @Test(arguments: allModels)
  func planMatchesTheAnalyzerAndNeverOverlaps(model: String) throws {
    let s = try Summary(try builtin(model))
    let liveness = try Liveness(s)
    let plan = MemoryPlan(liveness)
    #expect(plan.peakBytes == liveness.peakBytes, "\(model): engine and analyzer disagree on the peak")
    #expect(plan.arenaBytes >= plan.peakBytes, "\(model): the arena is smaller than the peak")
    let owned = plan.bytes.indices.filter { plan.bytes[$0] > 0 }
    for a in owned {
      for b in owned where b > a && plan.firstStep[a] <= plan.lastStep[b] && plan.firstStep[b] <= plan.lastStep[a] {
        let disjoint =
          plan.offsets[a] + plan.bytes[a] <= plan.offsets[b] || plan.offsets[b] + plan.bytes[b] <= plan.offsets[a]
        #expect(disjoint, "\(model): buffers of \(s.graph.nodes[a].name) and \(s.graph.nodes[b].name) overlap")
      }
    }
  }

  @Test func resnet18PeakByHand() throws {
    // At 224×224 the largest step is the max pool: it reads conv1's 64×112×112 output (3,211,264 B,
    // BN and ReLU in place) and writes 64×56×56 (802,816 B). The conv1 step itself holds less: the
    // 3×224×224 input (602,112 B) and the same 3,211,264 B.
    let graph = try builtin("resnet18")
    let net = try Network(graph: graph, weights: SeededInit.weights(for: graph))
    #expect(net.memory.peakBytes == 3_211_264 + 802_816)
    #expect(graph.nodes[net.memory.peakStep].name == "maxpool")
  }
}
