import CBLAS
import CZooKernels
import Glibc
import ZooAnalysis
import ZooGraph

/// A float32 tensor from a weight file or the seeded initialiser: its shape and values, row-major.
public struct Tensor: Sendable {
  public var shape: [Int]
  public var data: [Float]
  public init(shape: [Int], data: [Float]) {
    self.shape = shape
    self.data = data
  }
}

/// A graph compiled into an execution plan: one kernel per node, with batch norm folded into the
/// preceding convolution and activations fused into the kernel before them where the memory plan
/// lets them run in place; every activation lives at its planned offset in one arena.
///
/// Layout NCHW float32 throughout, batch first. A network is not safe to run from two threads at once.
public final class Network: @unchecked Sendable {
  public let graph: Graph
  public let batch: Int
  /// Input of one sample, `[C, H, W]`.
  public let input: [Int]
  /// Output shape of every node for one sample.
  public let shapes: [[Int]]
  public let memory: MemoryPlan
  /// Bytes of scratch: padded input copies and im2col bands (not part of the arena or of the
  /// liveness peak).
  public let scratchBytes: Int
  /// Multiply-accumulates of one forward pass of the whole batch.
  public let macs: Int
  /// Threads that pay for `requested`: at most the online CPUs. The engine's workers spin between
  /// jobs, so more threads than cores only wait for each other (ResNet-18 on 2 cores: 11 ms with 2,
  /// 42 with 3, 77 with 4).
  public static func usableThreads(_ requested: Int) -> Int {
    max(1, min(requested, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))
  }

  /// Worker threads for the BLAS and the engine's own parallel loops (see ``usableThreads(_:)``).
  public var threads: Int {
    didSet {
      threads = Self.usableThreads(threads)
      openblas_set_num_threads(Int32(blasThreads))
    }
  }
  /// Whether the group-free convolutions (and the linear layers) run on the engine's own GEMM.
  private let usesEngineGEMM: Bool
  /// OpenBLAS's threads: one on the engine's path, where OpenBLAS only runs grouped convolutions —
  /// its workers spin after every call and, next to the engine's pool, turned a batch-3 GoogLeNet's
  /// final linear layer from under 1 ms into 24 ms; otherwise `threads`.
  private var blasThreads: Int { usesEngineGEMM ? 1 : threads }
  /// Bytes of weights the kernels hold (after folding).
  public private(set) var weightBytes = 0

  private enum Kernel {
    case conv(ConvolutionKernel)
    case tableConv(TableConvolutionKernel)
    case linear(LinearKernel)
    case batchNorm(BatchNormKernel)
    case activation(Activation)
    case lrn(size: Int, alpha: Double, beta: Double, k: Double)
    case pool(Pool2D)
    case adaptiveAvgPool(Int, Int)
    case softmax
    case concat
    /// Concatenation with the batch norm (and ReLU) after it applied while copying: DenseNet's
    /// `relu(norm1(cat(features)))`, one pass over the features instead of two.
    case concatAffine(BatchNormKernel)
    case add(Activation?)
    case subsample(kernel: Int, weight: [Float], bias: [Float])
    case rbf(weight: [Float])
  }

  private struct Step {
    /// The node whose output buffer the kernel writes (the first node of a fused chain).
    var node: Int
    var kernel: Kernel
    /// Graph nodes this step computes (the host and the nodes fused into it).
    var nodes: [Int]
    /// A convolution's residual: the node whose output its epilogue adds (an add fused into it).
    var residual: Int? = nil
  }

  private var steps: [Step] = []
  private let arena: UnsafeMutablePointer<Float>
  private let scratch: UnsafeMutablePointer<Float>

  /// Compiles `graph` for `batch` samples of shape `input` (the graph's own input shape when nil).
  ///
  /// `weights` maps torchvision state-dict keys to tensors; every parameter and buffer of the graph
  /// must be there with its exact shape (`num_batches_tracked` is ignored), and nothing else.
  /// `source` names where the weights came from, for error messages. `engineGEMM` chooses the
  /// convolution path: the engine's own AVX-512 GEMM (``PackedConvolution``) or OpenBLAS with
  /// Winograd; nil takes the default (the engine's GEMM where the CPU has AVX-512 and `ZOO_KERNELS`
  /// is not `blas`), `true` where the CPU lacks AVX-512 still takes OpenBLAS. `winograd: false` runs
  /// no convolution as Winograd: its weights, transformed at load time, hold 16 values per 9 (more
  /// memory) and the transform takes longer than it saves in a single pass (``zoo run``).
  public init(
    graph: Graph, input: [Int]? = nil, batch: Int = 1, weights: consuming [String: Tensor],
    source: String = "the weights", threads: Int = 2, engineGEMM: Bool? = nil, winograd: Bool = true
  ) throws {
    let packed = PackedConvolution.cpuHasAVX512 && (engineGEMM ?? PackedConvolution.isAvailable)
    let summary: Summary
    do {
      summary = try Summary(graph, input: input, batch: batch)
    } catch {
      throw EngineError("\(graph.name): \(error)")
    }
    self.graph = graph
    self.batch = batch
    self.input = summary.input
    self.shapes = summary.shapes
    self.macs = summary.totals.macs
    self.threads = Self.usableThreads(threads)
    self.usesEngineGEMM = packed
    openblas_set_num_threads(Int32(packed ? 1 : max(1, threads)))
    let memory: MemoryPlan
    do {
      memory = try MemoryPlan(graph: graph, shapes: summary.shapes, batch: batch)
    } catch {
      throw EngineError("\(graph.name): \(error)")
    }
    self.memory = memory

    var table = consume weights
    try Self.validate(&table, graph: graph, source: source)

    func take(_ key: String) -> [Float] { table.removeValue(forKey: key)!.data }
    var steps: [Step] = []
    var stepOf = [Int?](repeating: nil, count: graph.nodes.count)
    var scratchElements = 0
    let outputs = Set(graph.outputs)
    var weightElements = 0

    for node in graph.nodes where node.op != .input {
      let x = node.inputs[0]
      let inShape = summary.shapes[x]
      let inPlace = memory.owner[node.id] == memory.owner[x] && memory.owner[node.id] != node.id
      // The step that computed `x`, when a kernel may be extended to also compute this node.
      let host: Int? = inPlace && !outputs.contains(x) ? stepOf[x] : nil
      func add(_ kernel: Kernel) {
        stepOf[node.id] = steps.count
        steps.append(Step(node: node.id, kernel: kernel, nodes: [node.id]))
      }
      switch node.op {
      case .input, .flatten, .dropout, .identity:
        continue
      case .conv(let c):
        let weight = take("\(node.name).weight")
        let bias = c.bias ? take("\(node.name).bias") : [Float](repeating: 0, count: c.outChannels)
        weightElements += weight.count + bias.count
        if c.table != nil {
          add(.tableConv(TableConvolutionKernel(c, weight: weight, bias: bias)))
        } else {
          let k = ConvolutionKernel(
            c, weight: weight, bias: bias, inH: inShape[1], inW: inShape[2], packed: packed, winograd: winograd)
          scratchElements = max(scratchElements, k.scratchElements(inH: inShape[1], inW: inShape[2]))
          // Winograd holds 16 transformed values per 9 weights (on the engine's path, its output
          // channels rounded up to a multiple of 32).
          if k.usesWinograd {
            weightElements +=
              k.winogradPacked
              ? 16 * zk_packed_a_rows_count(Int32(c.outChannels), Int32(c.inChannels), 32) - weight.count
              : weight.count * 7 / 9
          }
          // Packed weights round the output channels up to a multiple of 8.
          if k.usesPacked {
            weightElements += PackedConvolution.packedCount(c, transposed: k.packedTransposed) - weight.count
          }
          add(.conv(k))
        }
      case .batchNorm(_, let eps):
        let g = take("\(node.name).weight")
        let b = take("\(node.name).bias")
        let m = take("\(node.name).running_mean")
        let v = take("\(node.name).running_var")
        if let h = host, case .conv(let k) = steps[h].kernel, k.activation == nil {
          k.foldBatchNorm(gamma: g, beta: b, mean: m, variance: v, eps: eps)
          stepOf[node.id] = h
          steps[h].nodes.append(node.id)
        } else if let h = host, case .concat = steps[h].kernel {
          weightElements += 2 * g.count
          steps[h].kernel = .concatAffine(BatchNormKernel(gamma: g, beta: b, mean: m, variance: v, eps: eps))
          stepOf[node.id] = h
          steps[h].nodes.append(node.id)
        } else {
          weightElements += 2 * g.count
          add(.batchNorm(BatchNormKernel(gamma: g, beta: b, mean: m, variance: v, eps: eps)))
        }
      case .activation(let a):
        if let h = host, Self.fuse(a, into: &steps[h]) {
          stepOf[node.id] = h
          steps[h].nodes.append(node.id)
        } else {
          add(.activation(a))
        }
      case .linear(let i, let o, let hasBias):
        let weight = take("\(node.name).weight")
        let bias = hasBias ? take("\(node.name).bias") : nil
        let k = LinearKernel(inFeatures: i, outFeatures: o, weight: weight, bias: bias, packed: packed)
        weightElements += k.weightElements + (bias?.count ?? 0)
        add(.linear(k))
      case .lrn(let size, let alpha, let beta, let k):
        add(.lrn(size: size, alpha: alpha, beta: beta, k: k))
      case .pool(let p):
        add(.pool(p))
      case .adaptiveAvgPool(let oh, let ow):
        add(.adaptiveAvgPool(oh, ow))
      case .softmax:
        add(.softmax)
      case .concat:
        add(.concat)
      case .add:
        // `relu(conv(x) + identity)`: the add runs in place on the convolution's output, so its
        // epilogue can add the identity — when that is computed already (not a downsample branch
        // that comes later in the graph's order).
        if node.inputs.count == 2, let h = host, case .conv(let k) = steps[h].kernel, k.activation == nil,
          k.fusesResidual, steps[h].residual == nil, node.inputs[1] < steps[h].node
        {
          steps[h].residual = node.inputs[1]
          stepOf[node.id] = h
          steps[h].nodes.append(node.id)
        } else {
          add(.add(nil))
        }
      case .subsample(_, let k):
        let w = take("\(node.name).weight")
        let b = take("\(node.name).bias")
        weightElements += w.count + b.count
        add(.subsample(kernel: k, weight: w, bias: b))
      case .rbf:
        let w = take("\(node.name).weight")
        weightElements += w.count
        add(.rbf(weight: w))
      }
    }
    for step in steps { if case .conv(let k) = step.kernel { k.finishLoading() } }
    self.steps = steps
    self.weightBytes = weightElements * 4
    self.scratchBytes = scratchElements * 4
    self.arena = .allocate(capacity: max(1, memory.arenaBytes / 4))
    self.scratch = .allocate(capacity: max(1, scratchElements))
  }

  deinit {
    arena.deallocate()
    scratch.deallocate()
  }

  /// Adds activation `a` to a step's kernel when the kernel can apply it and has none yet.
  private static func fuse(_ a: Activation, into step: inout Step) -> Bool {
    switch step.kernel {
    case .conv(let k) where k.activation == nil: k.activation = a
    case .tableConv(let k) where k.activation == nil: k.activation = a
    case .linear(let k) where k.activation == nil: k.activation = a
    case .batchNorm(let k) where k.activation == nil: k.activation = a
    case .concatAffine(let k) where k.activation == nil: k.activation = a
    case .add(nil): step.kernel = .add(a)
    default: return false
    }
    return true
  }

  /// Checks that `table` holds exactly the graph's tensors with their shapes; drops
  /// `num_batches_tracked`.
  private static func validate(_ table: inout [String: Tensor], graph: Graph, source: String) throws {
    var expected: [String: [Int]] = [:]
    var order: [String] = []
    for node in graph.nodes {
      for t in node.tensors where !t.name.hasSuffix("num_batches_tracked") {
        expected[t.name] = t.shape
        order.append(t.name)
      }
    }
    for key in Array(table.keys) where key.hasSuffix("num_batches_tracked") { table[key] = nil }
    let missing = order.filter { table[$0] == nil }
    if !missing.isEmpty {
      let list = missing.prefix(5).map { "`\($0)` \(format(expected[$0]!))" }.joined(separator: ", ")
      throw EngineError(
        "\(source) lacks \(missing.count) tensor(s) \(graph.name) needs: \(list)\(missing.count > 5 ? ", …" : "")")
    }
    let unexpected = table.keys.filter { expected[$0] == nil }.sorted()
    if !unexpected.isEmpty {
      let list = unexpected.prefix(5).map { "`\($0)`" }.joined(separator: ", ")
      throw EngineError(
        "\(source) has \(unexpected.count) tensor(s) \(graph.name) does not have: \(list)"
          + (unexpected.count > 5 ? ", …" : ""))
    }
    for key in order {
      let t = table[key]!
      let want = expected[key]!
      // A scalar and a one-element vector are the same tensor.
      let same = t.shape == want || (t.shape.reduce(1, *) == 1 && want.reduce(1, *) == 1)
      if !same {
        throw EngineError(
          "\(source): tensor `\(key)` has shape \(format(t.shape)) but \(graph.name) expects \(format(want))")
      }
      if t.data.count != want.reduce(1, *) {
        throw EngineError("\(source): tensor `\(key)` holds \(t.data.count) values, not \(want.reduce(1, *))")
      }
    }
  }

  private func pointer(_ node: Int) -> UnsafeMutablePointer<Float> {
    arena + memory.offsets[memory.owner[node]] / 4
  }

  /// Elements of the whole batch's input.
  public var inputCount: Int { input.reduce(1, *) * batch }

  /// Runs the network on `x` (`batch × C × H × W` values, NCHW) and returns every graph output
  /// (the main output first), each `batch × shape` values.
  public func run(_ x: [Float]) throws -> [[Float]] {
    guard x.count == inputCount else {
      throw EngineError(
        "\(graph.name) takes \(batch)×\(format(input)) = \(inputCount) input values, got \(x.count)")
    }
    x.withUnsafeBufferPointer { pointer(0).update(from: $0.baseAddress!, count: x.count) }
    forward()
    return graph.outputs.map { o in
      let count = shapes[o].reduce(1, *) * batch
      return Array(UnsafeBufferPointer(start: pointer(o), count: count))
    }
  }

  /// One forward pass over whatever the input buffer holds (for benchmarks).
  public func forward() {
    for step in steps { execute(step) }
  }

  /// One forward pass timing every kernel: the name of the step's first node, its op summary
  /// (with the ops fused into it), and seconds.
  public func forwardTimed() -> [(name: String, kernel: String, seconds: Double)] {
    steps.map { step in
      let t0 = Benchmark.now()
      execute(step)
      let t = Benchmark.now() - t0
      let kernel = step.nodes.map { graph.nodes[$0].op.summary }.joined(separator: " + ")
      return (graph.nodes[step.node].name, kernel, t)
    }
  }

  private func execute(_ step: Step) {
    let node = graph.nodes[step.node]
    let out = pointer(step.node)
    let x = node.inputs[0]
    let src = UnsafePointer(pointer(x))
    let inShape = shapes[x]
    let outShape = shapes[step.node]
    let inCount = inShape.reduce(1, *) * batch
    let spatial = inShape.count == 3 ? inShape[1] * inShape[2] : 1
    switch step.kernel {
    case .conv(let k):
      k.run(
        input: src, output: out, batch: batch, inH: inShape[1], inW: inShape[2],
        residual: step.residual.map { UnsafePointer(pointer($0)) }, scratch: scratch, threads: threads)
    case .tableConv(let k):
      k.run(input: src, output: out, batch: batch, inH: inShape[1], inW: inShape[2])
    case .linear(let k):
      k.run(input: src, output: out, batch: batch, threads: threads)
    case .batchNorm(let k):
      k.run(input: src, output: out, batch: batch, spatial: spatial, threads: threads)
    case .activation(let a):
      runActivation(a, input: src, output: out, count: inCount, threads: threads)
    case .lrn(let size, let alpha, let beta, let k):
      runLRN(
        size: size, alpha: alpha, beta: beta, k: k, input: src, output: out, batch: batch, channels: inShape[0],
        spatial: spatial, threads: threads)
    case .pool(let p):
      runPool(p, input: src, output: out, planes: batch * inShape[0], h: inShape[1], w: inShape[2], threads: threads)
    case .adaptiveAvgPool(let oh, let ow):
      runAdaptiveAvgPool(
        input: src, output: out, planes: batch * inShape[0], h: inShape[1], w: inShape[2], oh: oh, ow: ow,
        threads: threads)
    case .softmax:
      runSoftmax(input: src, output: out, batch: batch, features: inShape.reduce(1, *))
    case .concat:
      runConcat(
        inputs: node.inputs.map { (UnsafePointer(pointer($0)), shapes[$0][0]) }, output: out, batch: batch,
        spatial: outShape[1] * outShape[2], threads: threads)
    case .concatAffine(let k):
      runConcatAffine(
        inputs: node.inputs.map { (UnsafePointer(pointer($0)), shapes[$0][0]) }, output: out, batch: batch,
        spatial: outShape[1] * outShape[2], affine: k, threads: threads)
    case .add(let a):
      runAdd(
        inputs: node.inputs.map { UnsafePointer(pointer($0)) }, output: out, count: outShape.reduce(1, *) * batch,
        activation: a, threads: threads)
    case .subsample(let k, let w, let b):
      runSubsample(
        input: src, output: out, batch: batch, channels: inShape[0], h: inShape[1], w: inShape[2], kernel: k,
        weight: w, bias: b)
    case .rbf(let w):
      runRBF(
        input: src, output: out, batch: batch, inFeatures: inShape[0], classes: outShape[0], weight: w)
    }
  }

  /// The number of kernels the plan runs (after fusion).
  public var stepCount: Int { steps.count }
}
