import Testing
import ZooAnalysis
import ZooGraph

/// A basic residual block on 4×4×4: conv 3×3 → bn → relu → conv 3×3 → bn → add(input) → relu.
private func residualBlock() -> Graph {
  let c = Op.conv(Conv2D(inChannels: 4, outChannels: 4, kernel: Pair(3), padding: Pair(1), bias: false))
  let ops: [(String, Op, [Int])] = [
    ("conv1", c, [0]), ("bn1", .batchNorm(channels: 4, eps: 1e-5), [1]), ("relu", .activation(.relu), [2]),
    ("conv2", c, [3]), ("bn2", .batchNorm(channels: 4, eps: 1e-5), [4]), ("add", .add, [5, 0]),
    ("relu2", .activation(.relu), [6]),
  ]
  var nodes = [Node(id: 0, name: "input", op: .input, inputs: [])]
  for (k, (name, op, ins)) in ops.enumerated() { nodes.append(Node(id: k + 1, name: name, op: op, inputs: ins)) }
  return Graph(name: "block", inputShape: [4, 4, 4], nodes: nodes, outputs: [7], modules: [])
}

@Suite struct MemoryTests {
  @Test func lenet5Training() throws {
    // Saved tensors (fp32, batch 1): the input 1×32×32 (conv1), relu 6×28×28 (relu; pool1 too),
    // pool1 6×14×14 (conv2), relu_1 16×10×10, pool2 16×5×5 (fc1 through the flatten view),
    // relu_2 120, relu_3 84: 1,024 + 4,704 + 1,176 + 1,600 + 400 + 120 + 84 = 9,108 elements = 36,432 B;
    // max-pool indices (1,176 + 400) × 8 = 12,608 B; saved 49,040 B.
    // Params 61,706 × 4 = 246,824 B, as many gradient bytes; Adam 2 × 246,824.
    let s = try Summary(try builtin("lenet5"))
    let adam = try TrainingMemory(s, dtype: .fp32, optimizer: .adam)
    #expect(adam.extraBytes == 12_608)
    #expect(adam.savedActivationBytes == 49_040)
    #expect(adam.paramBytes == 246_824 && adam.gradientBytes == 246_824 && adam.optimizerBytes == 493_648)
    #expect(adam.totalBytes == 1_036_336)
    #expect(try TrainingMemory(s, optimizer: .sgd).totalBytes == 542_688)
    #expect(try TrainingMemory(s, optimizer: .momentum).totalBytes == 789_512)
    // Batch 4 scales the activations only; fp16 halves what is stored in the dtype, not the indices.
    let b4 = try TrainingMemory(try Summary(try builtin("lenet5"), batch: 4), dtype: .fp16, optimizer: .sgd)
    #expect(b4.savedActivationBytes == 4 * (36_432 / 2 + 12_608))
    #expect(b4.totalBytes == 2 * 123_412 + 4 * (18_216 + 12_608))
  }

  @Test func residualBlockTrainingAndInference() throws {
    let s = try Summary(residualBlock())
    // Params: two 3×3 convs 4·4·9 = 144 each, two BNs 8 each: 304 → 1,216 B.
    // Saved (64 elements = 256 B each): input (conv1), conv1 (bn1), relu (relu, conv2), conv2 (bn2),
    // relu2 (its output): 5 × 256 = 1,280 B. The add saves nothing.
    let t = try TrainingMemory(s, optimizer: .momentum)
    #expect(t.saved.map(\.node) == [0, 1, 3, 4, 7])
    #expect(t.saved.first { $0.node == 3 }?.savedBy == [3, 4])
    #expect(t.savedActivationBytes == 1_280)
    #expect(t.totalBytes == 3 * 1_216 + 1_280)
    // Inference: input 256 B lives to the add; bn1, relu, bn2, the add (into bn2's buffer, as
    // PyTorch's `out += identity`) and relu2 run in place; conv2 writes a third buffer while conv1's
    // is read and the input waits: 768 B at conv2.
    let l = try Liveness(s)
    #expect(l.liveBytes == [256, 512, 512, 512, 768, 512, 512, 256])
    #expect(l.peakBytes == 768 && l.peakNode == 4)
  }

  @Test func alexnetShares() throws {
    // The lecture notes' three facts, as numbers.
    let s = try Summary(try builtin("alexnet"))
    let sh = try Shares(s, liveness: try Liveness(s))
    let linear = try #require(sh.classes.first { $0.name == "linear" })
    let conv = try #require(sh.classes.first { $0.name == "convolution" })
    // Nearly all parameters are in the fully connected layers: 58,631,144 of 61,100,840.
    #expect(linear.params == 58_631_144)
    #expect(sh.total.params == 61_100_840)
    // Most MACs are in the conv layers: 655,566,528 of 714,188,480 (91.8%).
    #expect(conv.macs == 655_566_528)
    // Most activation memory is in the early conv layers: conv1 writes 64×55×55 (774,400 B),
    // conv2 192×27×27 (559,872 B); ReLUs run in place and allocate nothing.
    #expect(sh.top(.activations, count: 3).map(\.name) == ["features.0", "input", "features.3"])
    #expect(sh.layers.first { $0.name == "features.0" }?.activationBytes == 774_400)
    #expect(sh.layers.first { $0.name == "features.1" }?.activationBytes == 0)
  }

  @Test func sharesSumToTotalsOnTheZoo() throws {
    for name in ["lenet5", "lenet5_original", "alexnet", "vgg16", "googlenet", "resnet50", "densenet121"] {
      let s = try Summary(try builtin(name))
      let l = try Liveness(s)
      let sh = try Shares(s, liveness: l)
      for (what, entries) in [("stages", sh.stages), ("classes", sh.classes), ("layers", sh.layers)] {
        for m in Shares.Metric.allCases {
          #expect(
            entries.map { $0.value(m) }.reduce(0, +) == sh.total.value(m),
            "\(name): \(what) do not sum to the \(m) total")
        }
      }
      #expect(sh.total.params == s.totals.params, "\(name): share total params differ from the summary")
      #expect(sh.total.macs == s.totals.macs, "\(name): share total MACs differ from the summary")
      #expect(
        sh.total.activationBytes == l.buffers.map(\.bytes).reduce(0, +),
        "\(name): activation bytes differ from the plan")
      // The peak can never exceed all buffers at once, nor be below the largest single buffer.
      #expect(l.peakBytes <= sh.total.activationBytes, "\(name): peak above the sum of all buffers")
      #expect(l.peakBytes >= (l.buffers.map(\.bytes).max() ?? 0), "\(name): peak below the largest buffer")
    }
  }

  @Test func weightDepth() throws {
    let expected = [
      "lenet5": 5, "lenet5_original": 7, "alexnet": 8, "vgg16": 16, "googlenet": 22, "resnet18": 18, "resnet50": 50,
      "densenet121": 121,
    ]
    for (name, depth) in expected {
      #expect(try builtin(name).weightDepth == depth, "\(name)")
    }
  }
}
