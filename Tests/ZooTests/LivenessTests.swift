import Testing
import ZooAnalysis
import ZooGraph

private func conv(_ i: Int, _ o: Int) -> Op {
  .conv(Conv2D(inChannels: i, outChannels: o, kernel: Pair(1), bias: false))
}

private func graph(_ input: [Int], _ ops: [(Op, [Int])], outputs: [Int]? = nil) -> Graph {
  var nodes = [Node(id: 0, name: "input", op: .input, inputs: [])]
  for (k, (op, ins)) in ops.enumerated() { nodes.append(Node(id: k + 1, name: "n\(k + 1)", op: op, inputs: ins)) }
  return Graph(name: "g", inputShape: input, nodes: nodes, outputs: outputs ?? [nodes.count - 1], modules: [])
}

/// A random DAG over feature maps `[c, 3, 3]` and vectors, with views, in-place candidates and merges.
/// The engine's memory-plan tests place the same graphs.
func randomLivenessGraph(_ rng: inout SplitMix, size: Int) -> Graph {
  var shapes: [[Int]] = [[2, 3, 3]]
  var ops: [(Op, [Int])] = []
  func pick(_ ok: ([Int]) -> Bool) -> Int? {
    let c = shapes.indices.filter { ok(shapes[$0]) }
    return c.randomElement(using: &rng)
  }
  while ops.count < size {
    let any = Int.random(in: 0..<shapes.count, using: &rng)
    let s = shapes[any]
    var op: Op
    var ins = [any]
    switch Int.random(in: 0..<9, using: &rng) {
    case 0:
      guard let m = pick({ $0.count == 3 }) else { continue }
      op = conv(shapes[m][0], Int.random(in: 1...3, using: &rng))
      ins = [m]
    case 1: op = .activation(.relu)
    case 2: op = .batchNorm(channels: s[0], eps: 1e-5)
    case 3: op = .dropout(p: 0.5)
    case 4: op = .identity
    case 5:
      guard s.count == 3 else { continue }
      op = .flatten
    case 6:
      let same = shapes.indices.filter { shapes[$0] == s }
      op = .add
      ins = [any, same.randomElement(using: &rng)!]
    case 7:
      guard let a = pick({ $0.count == 3 }), let b = pick({ $0.count == 3 }) else { continue }
      op = .concat
      ins = [a, b]
    default:
      guard let v = pick({ $0.count == 1 }) else { continue }
      op = .linear(inFeatures: shapes[v][0], outFeatures: Int.random(in: 1...4, using: &rng), bias: true)
      ins = [v]
    }
    shapes.append(try! op.outputShape(ins.map { shapes[$0] }))
    ops.append((op, ins))
  }
  var outputs = [ops.count]
  if Bool.random(using: &rng) { outputs.append(Int.random(in: 0...ops.count, using: &rng)) }
  return graph([2, 3, 3], ops, outputs: outputs)
}

/// The contract restated per step, without intervals: a buffer is live at step `s` when it was
/// allocated at or before `s` and some node at or after `s` reads it or is one of its aliases, or
/// it holds a graph output.
private func bruteForceLive(_ g: Graph, shapes: [[Int]], batch: Int, bytes: Int) -> [Int] {
  let n = g.nodes.count
  var root = Array(0..<n)
  func readers(_ r: Int, below limit: Int) -> [Int] {
    (0..<limit).filter { root[$0] == r }.flatMap { v in g.nodes.filter { $0.inputs.contains(v) }.map(\.id) }
  }
  for node in g.nodes {
    switch node.op {
    case .flatten, .dropout, .identity: root[node.id] = root[node.inputs[0]]
    case .activation, .batchNorm, .add:
      let i = node.inputs[0]
      let r = root[i]
      let onlyConsumer = g.nodes.filter { $0.inputs.contains(i) }.count == 1
      let laterReader = readers(r, below: node.id).contains { $0 > node.id }
      let holdsOutput = (0..<node.id).contains { root[$0] == r && g.outputs.contains($0) }
      let othersElsewhere = node.inputs.dropFirst().allSatisfy { root[$0] != r }
      if onlyConsumer && r != 0 && !laterReader && !holdsOutput && othersElsewhere { root[node.id] = r }
    default: break
    }
  }
  var live = Array(repeating: 0, count: n)
  for s in 0..<n {
    for r in Set(root) where r <= s {
      let members = (0..<n).filter { root[$0] == r }
      let used =
        members.contains { $0 >= s } || members.contains { g.outputs.contains($0) }
        || g.nodes.contains { q in q.id >= s && q.inputs.contains { members.contains($0) } }
      if used { live[s] += shapes[r].reduce(1, *) * batch * bytes }
    }
  }
  return live
}

@Suite struct LivenessTests {
  @Test func chainWithInPlaceAndView() throws {
    // input 1×2×2 (16 B) → conv 2×2×2 (32 B) → relu (in place) → flatten (view) → linear 3 (12 B).
    let g = graph(
      [1, 2, 2],
      [
        (conv(1, 2), [0]), (.activation(.relu), [1]), (.flatten, [2]),
        (.linear(inFeatures: 8, outFeatures: 3, bias: true), [3]),
      ])
    let l = try Liveness(try Summary(g), dtype: .fp32)
    #expect(l.liveBytes == [16, 48, 32, 32, 44])
    #expect(l.peakBytes == 48)
    #expect(l.peakNode == 1)
    #expect(l.buffers.map(\.nodes) == [[0], [1, 2, 3], [4]])
    #expect(l.buffers.map(\.lastUse) == [1, 4, 4])
    #expect(l.aliasesInput(2) && l.aliasesInput(3) && !l.aliasesInput(4))
  }

  @Test func residualKeepsTheSkipAlive() throws {
    // 0 input 16 B; 1 conv; 2 relu (its input also feeds the add: not in place); 3 conv; 4 add; 5 relu (in place).
    let g = graph(
      [1, 2, 2],
      [(conv(1, 1), [0]), (.activation(.relu), [1]), (conv(1, 1), [2]), (.add, [1, 3]), (.activation(.relu), [4])])
    let l = try Liveness(try Summary(g), dtype: .fp32)
    #expect(l.liveBytes == [16, 32, 32, 48, 48, 16])
    #expect(l.peakBytes == 48 && l.peakNode == 3)
    #expect(!l.aliasesInput(2) && l.aliasesInput(5))
    // fp16 halves every figure; a batch of 3 triples it.
    let half = try Liveness(g, shapes: try Summary(g).shapes, batch: 3, dtype: .fp16)
    #expect(half.liveBytes == [24, 48, 48, 72, 72, 24])
  }

  @Test func hugeBuffersThrowInsteadOfTrapping() throws {
    // 3,000,000² elements × 1,000,000 samples fits in 64 bits (9·10¹⁸); × 4 bytes does not.
    let g = graph([1, 3_000_000, 3_000_000], [])
    #expect(throws: AnalysisError.self) {
      try Liveness(g, shapes: [[1, 3_000_000, 3_000_000]], batch: 1_000_000, dtype: .fp32)
    }
    #expect(
      try Liveness(g, shapes: [[1, 3_000_000, 3_000_000]], batch: 1_000_000, dtype: .int8).peakBytes == 9
        * 1_000_000_000_000_000_000)
  }

  @Test func inputIsNeverOverwritten() throws {
    let g = graph([1, 2, 2], [(.activation(.relu), [0])])
    let l = try Liveness(try Summary(g))
    #expect(l.buffers.count == 2)
    #expect(l.liveBytes == [16, 32])
  }

  @Test func randomGraphsMatchBruteForce() throws {
    var rng = SplitMix(state: 7)
    var inPlace = 0
    var refused = 0
    for trial in 0..<300 {
      let g = randomLivenessGraph(&rng, size: Int.random(in: 1...14, using: &rng))
      let s = try Summary(g, batch: 2)
      let l = try Liveness(s, dtype: .fp16)
      let expected = bruteForceLive(g, shapes: s.shapes, batch: 2, bytes: 2)
      for node in g.nodes {
        if case .activation = node.op { if l.aliasesInput(node.id) { inPlace += 1 } else { refused += 1 } }
      }
      #expect(
        l.liveBytes == expected,
        "trial \(trial): live bytes per step differ from the brute force; ops \(g.nodes.map { "\($0.id):\($0.op.kindName)\($0.inputs)" }), outputs \(g.outputs)"
      )
      #expect(l.peakBytes == expected.max(), "trial \(trial): the peak is not the maximum of the live bytes")
      #expect(l.liveBytes[l.peakStep] == l.peakBytes, "trial \(trial): the peak step does not hold the peak")
      // Every buffer lives at least from its producer to each member's own step.
      for b in l.buffers {
        #expect(
          b.nodes.allSatisfy { b.producer <= $0 && $0 <= b.lastUse }, "trial \(trial): a member outlives its buffer")
      }
    }
    // The sweep must exercise both sides of the in-place rule.
    #expect(inPlace > 20 && refused > 20, "in place \(inPlace), refused \(refused)")
  }

  @Test func resnet50PeakIsTheFirstDownsample() throws {
    let s = try Summary(try builtin("resnet50"))
    let l = try Liveness(s, dtype: .fp32)
    // The stem peaks at 4·(150,528 + 802,816) = 3,813,376 B (input read, conv1 written). In layer1.0
    // the downsample reads the block's input (64×56×56) while the main branch's output waits for the
    // add (bn3, in place on conv3: 256×56×56) and writes its own 256×56×56:
    // (200,704 + 2 · 802,816) · 4 = 7,225,344 B. The add then runs in place on the main branch.
    #expect(l.liveBytes[1] == 3_813_376)
    #expect(l.peakBytes == 7_225_344)
    #expect(s.graph.nodes[l.peakNode].name == "layer1.0.downsample.0")
    let add = try #require(s.graph.nodes.first { $0.name == "layer1.0.add" })
    #expect(l.aliasesInput(add.id), "the residual add runs in place")
  }
}
