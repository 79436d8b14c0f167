import CBLAS
import CZooKernels
import ZooAnalysis
import ZooGraph

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

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
  /// Bytes of the buffer the convolutions with a ``Conv2D/prePad`` pad their input into (the largest
  /// padded input of the batch; 0 when none has one). Not part of the arena or the liveness peak.
  public let padBytes: Int
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
      zoo_blas_set_threads(Int32(blasThreads))
    }
  }
  /// How the plan was compiled.
  public let options: PlanOptions
  /// The tier of the engine's kernels the plan runs (``PlanOptions/resolvedISA()``).
  public let isa: PlanOptions.ISA
  /// Whether the group-free convolutions (and the linear layers) run on the engine's own GEMM.
  private var usesEngineGEMM: Bool { options.kernels == .engine }
  /// OpenBLAS's threads: one on the engine's path, where OpenBLAS only runs grouped convolutions —
  /// its workers spin after every call and, next to the engine's pool, turned a batch-3 GoogLeNet's
  /// final linear layer from under 1 ms into 24 ms; otherwise `threads`.
  private var blasThreads: Int { usesEngineGEMM ? 1 : threads }
  /// Threads of the engine's own loops (im2col, epilogues, pooling, batch norm, concat, add): all of
  /// them on the engine's path; one on the BLAS path, where OpenBLAS's workers keep spinning after
  /// every sgemm and loops on a second thread fight them for the cores (see ``engineLoopThreads``).
  private var loopThreads: Int { usesEngineGEMM ? threads : 1 }
  /// Bytes of weights the kernels hold (after folding, packing and Winograd transforms).
  public private(set) var weightBytes = 0

  private var steps: [PlanStep] = []
  private let arena: UnsafeMutablePointer<Float>
  private let scratch: UnsafeMutablePointer<Float>
  private let padBuffer: UnsafeMutablePointer<Float>

  /// Compiles `graph` for `batch` samples of shape `input` (the graph's own input shape when nil).
  ///
  /// `weights` maps torchvision state-dict keys to tensors; every parameter and buffer of the graph
  /// must be there with its exact shape (`num_batches_tracked` is ignored), and nothing else.
  /// `source` names where the weights came from, for error messages. `options` chooses the kernels,
  /// Winograd, the fusion passes and the memory limit (``PlanOptions``); kernels this CPU cannot run
  /// are refused, never replaced.
  ///
  /// Compilation lowers every computing node to one step, then runs the fusion passes
  /// (``PlanDraft``); the memory plan comes from the analyzer's liveness, unchanged by fusion.
  public init(
    graph: Graph, input: [Int]? = nil, batch: Int = 1, weights: consuming [String: Tensor],
    source: String = "the weights", threads: Int = 2, options: PlanOptions = .default
  ) throws {
    let isa = try options.resolvedISA()
    self.isa = isa
    let packed: PlanOptions.ISA? = options.kernels == .engine ? isa : nil
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
    self.options = options
    self.threads = Self.usableThreads(threads)
    zoo_blas_set_threads(Int32(packed != nil ? 1 : max(1, threads)))
    let memory: MemoryPlan
    do {
      memory = try MemoryPlan(graph: graph, shapes: summary.shapes, batch: batch)
    } catch {
      throw EngineError("\(graph.name): \(error)")
    }
    self.memory = memory
    // The arena alone can already be beyond reach (a batch of a million): refuse before reading weights.
    try Self.checkBudget(memory.arenaBytes, of: options, graph: graph, batch: batch, what: "activation arena")

    var table = consume weights
    try Self.validate(&table, graph: graph, source: source)

    func take(_ key: String) -> [Float] { table.removeValue(forKey: key)!.data }
    var draft = PlanDraft(graph: graph, memory: memory, shapes: summary.shapes)
    var scratchElements = 0
    var padElements = 0
    for node in graph.nodes where node.op != .input {
      var inShape = summary.shapes[node.inputs[0]]
      if case .conv(let c) = node.op, let p = c.prePad {
        inShape[1] += p.top + p.bottom
        inShape[2] += p.left + p.right
        padElements = max(padElements, inShape.reduce(batch, *))
      }
      switch node.op {
      case .input, .flatten, .dropout, .identity:
        continue
      case .conv(let c):
        let weight = take("\(node.name).weight")
        let bias = c.bias ? take("\(node.name).bias") : [Float](repeating: 0, count: c.outChannels)
        if c.table != nil {
          draft.append(node.id, .tableConv(TableConvolutionKernel(c, weight: weight, bias: bias)), prePad: c.prePad)
        } else {
          let k = ConvolutionKernel(
            c, weight: weight, bias: bias, inH: inShape[1], inW: inShape[2], packed: packed,
            winograd: options.winograd)
          scratchElements = max(scratchElements, k.scratchElements(inH: inShape[1], inW: inShape[2]))
          draft.append(node.id, .conv(k), prePad: c.prePad)
        }
      case .convTranspose(let c):
        let weight = take("\(node.name).weight")
        let bias = c.bias ? take("\(node.name).bias") : [Float](repeating: 0, count: c.outChannels)
        let k = ConvTransposeKernel(c, weight: weight, bias: bias)
        scratchElements = max(scratchElements, k.scratchElements(inH: inShape[1], inW: inShape[2]))
        draft.append(node.id, .convTranspose(k))
      case .batchNorm(_, let eps):
        let norm = BatchNormKernel(
          gamma: take("\(node.name).weight"), beta: take("\(node.name).bias"), mean: take("\(node.name).running_mean"),
          variance: take("\(node.name).running_var"), eps: eps)
        draft.append(node.id, .batchNorm(norm))
      case .activation(let a):
        draft.append(node.id, .activation(a))
      case .linear(let i, let o, let hasBias):
        let weight = take("\(node.name).weight")
        let bias = hasBias ? take("\(node.name).bias") : nil
        draft.append(
          node.id, .linear(LinearKernel(inFeatures: i, outFeatures: o, weight: weight, bias: bias, packed: packed)))
      case .lrn(let size, let alpha, let beta, let k):
        draft.append(node.id, .lrn(size: size, alpha: alpha, beta: beta, k: k))
      case .pool(let p):
        draft.append(node.id, memory.switchOffsets[node.id] != nil ? .maxPoolWithSwitches(p) : .pool(p))
      case .maxUnpool(let u):
        draft.append(node.id, .maxUnpool(pool: u.pool))
      case .maxout(let k):
        draft.append(node.id, .maxout(k))
      case .local(let l):
        let weight = take("\(node.name).weight")
        let bias = l.bias ? take("\(node.name).bias") : nil
        draft.append(node.id, .local(LocalKernel(l, weight: weight, bias: bias)))
      case .adaptiveAvgPool(let oh, let ow):
        draft.append(node.id, .adaptiveAvgPool(oh, ow))
      case .adaptiveMaxPool(let oh, let ow):
        draft.append(node.id, .adaptiveMaxPool(oh, ow))
      case .upsample(let u):
        draft.append(node.id, .upsample(u))
      case .softmax:
        draft.append(node.id, .softmax)
      case .concat:
        draft.append(node.id, .concat)
      case .add:
        draft.append(node.id, .add(nil))
      case .mul:
        draft.append(node.id, .mul(nil))
      case .subsample(_, let k):
        draft.append(
          node.id, .subsample(kernel: k, weight: take("\(node.name).weight"), bias: take("\(node.name).bias")))
      case .rbf:
        draft.append(node.id, .rbf(weight: take("\(node.name).weight")))
      case .channelShuffle(let g):
        draft.append(node.id, .channelShuffle(groups: g))
      case .channelSlice(let start, let count):
        draft.append(node.id, .channelSlice(start: start, count: count))
      case .pad(let p):
        draft.append(node.id, .pad(p))
      case .crop(let c):
        let out = summary.shapes[node.id]
        draft.append(node.id, .crop(offset: c.start(inShape[1], inShape[2], to: out[1], out[2])))
      }
    }
    draft.run(options.fusions)
    let steps = draft.compiled
    let weightElements = steps.reduce(0) { $0 + Self.heldElements($1.kernel) }
    let (planned, overflow) = memory.arenaBytes.addingReportingOverflow(
      4 * (weightElements + scratchElements + padElements))
    try Self.checkBudget(
      overflow ? Int.max : planned, of: options, graph: graph, batch: batch,
      what: "plan (activation arena, weights and scratch)")
    for step in steps { if case .conv(let k) = step.kernel { k.finishLoading() } }
    self.steps = steps
    self.weightBytes = weightElements * 4
    self.scratchBytes = scratchElements * 4
    self.padBytes = padElements * 4
    let arena = Self.allocate(max(1, memory.arenaBytes / 4))
    let scratch = Self.allocate(max(1, scratchElements))
    let padBuffer = Self.allocate(max(1, padElements))
    guard let arena, let scratch, let padBuffer else {
      free(arena)
      free(scratch)
      free(padBuffer)
      throw EngineError("\(graph.name): could not allocate \(formatBytes(planned)) for a batch of \(batch)")
    }
    self.arena = arena
    self.scratch = scratch
    self.padBuffer = padBuffer
  }

  deinit {
    free(arena)
    free(scratch)
    free(padBuffer)
  }

  /// `count` floats aligned to a cache line, or nil when the system refuses.
  private static func allocate(_ count: Int) -> UnsafeMutablePointer<Float>? {
    var p: UnsafeMutableRawPointer? = nil
    let (bytes, overflow) = count.multipliedReportingOverflow(by: 4)
    guard !overflow, posix_memalign(&p, 64, bytes) == 0, let p else { return nil }
    return p.bindMemory(to: Float.self, capacity: count)
  }

  /// Refuses `bytes` beyond the options' memory limit, naming both.
  private static func checkBudget(_ bytes: Int, of options: PlanOptions, graph: Graph, batch: Int, what: String) throws
  {
    guard bytes > options.memoryLimit else { return }
    throw EngineError(
      "\(graph.name) at batch \(batch): the \(what) needs \(formatBytes(bytes)), beyond the memory limit of "
        + "\(formatBytes(options.memoryLimit)) (raise it with --memory-limit)")
  }

  /// Floats a step's kernel holds for its weights (after packing and Winograd transforms, which
  /// ``ConvolutionKernel/plannedWeightElements`` predicts before they are made).
  private static func heldElements(_ kernel: StepKernel) -> Int {
    switch kernel {
    case .conv(let k): k.plannedWeightElements
    case .tableConv(let k): k.weight.count + k.bias.count
    case .convTranspose(let k): k.weight.count + k.bias.count
    case .linear(let k): k.weightElements + (k.bias?.count ?? 0)
    case .batchNorm(let k), .concatAffine(let k): k.scale.count + k.shift.count
    case .subsample(_, let w, let b): w.count + b.count
    case .rbf(let w): w.count
    case .activation, .lrn, .pool, .adaptiveAvgPool, .adaptiveMaxPool, .upsample, .softmax, .concat, .add, .mul: 0
    case .maxPoolWithSwitches, .maxUnpool, .maxout: 0
    case .local(let k): k.weight.count + (k.bias?.count ?? 0)
    case .channelShuffle, .channelSlice, .pad, .crop: 0
    }
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

  /// Runs `body` on the int32 switch buffer of the max pool `pool` (the memory plan's slot, rebound).
  private func withSwitches<R>(of pool: Int, _ body: (UnsafeMutablePointer<Int32>) -> R) -> R {
    let bytes = memory.switchBytes[pool]!
    return (arena + memory.switchOffsets[pool]! / 4).withMemoryRebound(to: Int32.self, capacity: bytes / 4, body)
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

  private func execute(_ step: PlanStep) {
    let node = graph.nodes[step.node]
    let out = pointer(step.node)
    let x = node.inputs[0]
    var src = UnsafePointer(pointer(x))
    var inShape = shapes[x]
    if let p = step.prePad {
      // The convolution reads its input padded into the pad buffer.
      runPad(
        p, input: src, output: padBuffer, planes: batch * inShape[0], h: inShape[1], w: inShape[2],
        threads: loopThreads)
      inShape[1] += p.top + p.bottom
      inShape[2] += p.left + p.right
      src = UnsafePointer(padBuffer)
    }
    let outShape = shapes[step.node]
    let inCount = inShape.reduce(1, *) * batch
    let spatial = inShape.count == 3 ? inShape[1] * inShape[2] : 1
    let threads = loopThreads
    switch step.kernel {
    case .conv(let k):
      k.run(
        input: src, output: out, batch: batch, inH: inShape[1], inW: inShape[2],
        residual: step.residual.map { UnsafePointer(pointer($0)) }, scratch: scratch, threads: threads)
    case .tableConv(let k):
      k.run(input: src, output: out, batch: batch, inH: inShape[1], inW: inShape[2])
    case .convTranspose(let k):
      k.run(
        input: src, output: out, batch: batch, inH: inShape[1], inW: inShape[2], scratch: scratch, threads: threads)
    case .linear(let k):
      k.run(input: src, output: out, batch: batch, threads: threads)
    case .batchNorm(let k):
      k.run(input: src, output: out, batch: batch, spatial: spatial, threads: threads)
    case .activation(let a):
      runActivation(a, input: src, output: out, count: inCount, threads: threads, isa: isa)
    case .lrn(let size, let alpha, let beta, let k):
      runLRN(
        size: size, alpha: alpha, beta: beta, k: k, input: src, output: out, batch: batch, channels: inShape[0],
        spatial: spatial, threads: threads)
    case .pool(let p):
      runPool(p, input: src, output: out, planes: batch * inShape[0], h: inShape[1], w: inShape[2], threads: threads)
    case .maxPoolWithSwitches(let p):
      withSwitches(of: step.node) { sw in
        runMaxPoolWithSwitches(
          p, input: src, output: out, switches: sw, planes: batch * inShape[0], h: inShape[1], w: inShape[2],
          oh: outShape[1], ow: outShape[2], threads: threads)
      }
    case .maxUnpool(let pool):
      withSwitches(of: pool) { sw in
        runMaxUnpool(
          input: src, switches: sw, output: out, planes: batch * inShape[0], h: inShape[1], w: inShape[2],
          oh: outShape[1], ow: outShape[2], threads: threads)
      }
    case .local(let k):
      k.run(
        input: src, output: out, batch: batch, inH: inShape[1], inW: inShape[2], oh: outShape[1], ow: outShape[2],
        threads: threads)
    case .maxout(let k):
      runMaxout(
        input: src, output: out, batch: batch, channels: inShape[0], k: k, spatial: spatial, threads: threads)
    case .adaptiveAvgPool(let oh, let ow):
      runAdaptivePool(
        .avg, input: src, output: out, planes: batch * inShape[0], h: inShape[1], w: inShape[2], oh: oh, ow: ow,
        threads: threads)
    case .adaptiveMaxPool(let oh, let ow):
      runAdaptivePool(
        .max, input: src, output: out, planes: batch * inShape[0], h: inShape[1], w: inShape[2], oh: oh, ow: ow,
        threads: threads)
    case .upsample(let u):
      let outShape = shapes[node.id]
      runUpsample(
        u, input: src, output: out, planes: batch * inShape[0], h: inShape[1], w: inShape[2], oh: outShape[1],
        ow: outShape[2], threads: threads)
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
        inputs: node.inputs.map { (UnsafePointer(pointer($0)), shapes[$0]) }, output: out, outShape: outShape,
        batch: batch, activation: a, threads: threads)
    case .mul(let a):
      runMul(
        inputs: node.inputs.map { (UnsafePointer(pointer($0)), shapes[$0]) }, output: out, outShape: outShape,
        batch: batch, activation: a, threads: threads)
    case .subsample(let k, let w, let b):
      runSubsample(
        input: src, output: out, batch: batch, channels: inShape[0], h: inShape[1], w: inShape[2], kernel: k,
        weight: w, bias: b)
    case .rbf(let w):
      runRBF(
        input: src, output: out, batch: batch, inFeatures: inShape[0], classes: outShape[0], weight: w)
    case .channelShuffle(let g):
      runChannelShuffle(
        input: src, output: out, batch: batch, channels: inShape[0], groups: g, spatial: spatial, threads: threads)
    case .channelSlice(let start, let count):
      runChannelSlice(
        input: src, output: out, batch: batch, channels: inShape[0], start: start, count: count, spatial: spatial,
        threads: threads)
    case .pad(let p):
      runPad(p, input: src, output: out, planes: batch * inShape[0], h: inShape[1], w: inShape[2], threads: threads)
    case .crop(let offset):
      runCrop(
        offset: offset, input: src, output: out, planes: batch * inShape[0], h: inShape[1], w: inShape[2],
        oh: outShape[1], ow: outShape[2], threads: threads)
    }
  }

  /// Every step of the plan as the ops it computes joined by `+`, a convolution with its path
  /// (``ConvolutionKernel/path``): `conv:gemm-narrow+bn+add+relu`; `prepad` first when the step pads a
  /// convolution's input (``Conv2D/prePad``) before it.
  public var stepPaths: [String] {
    steps.map { step in
      var kinds = step.nodes.map { graph.nodes[$0].op.kindName }
      if case .conv(let k) = step.kernel { kinds[0] += ":\(k.path)" }
      if step.prePad != nil { kinds.insert("prepad", at: 0) }
      return kinds.joined(separator: "+")
    }
  }

  /// The number of kernels the plan runs (after fusion).
  public var stepCount: Int { steps.count }
}

/// `123,456,789 bytes (123.46 MB)`.
func formatBytes(_ bytes: Int) -> String { "\(grouped(bytes)) bytes (\(compact(bytes))B)" }
