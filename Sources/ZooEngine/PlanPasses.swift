import ZooGraph

/// What one step of a plan runs.
enum StepKernel {
  case conv(ConvolutionKernel)
  case tableConv(TableConvolutionKernel)
  case convTranspose(ConvTransposeKernel)
  case linear(LinearKernel)
  case batchNorm(BatchNormKernel)
  case activation(Activation)
  case lrn(size: Int, alpha: Double, beta: Double, k: Double)
  case pool(Pool2D)
  /// Max pooling that also writes its switches (int32) into the memory plan's switch buffer.
  case maxPoolWithSwitches(Pool2D)
  /// Unpooling by the switches of the max pool `pool` (a node id).
  case maxUnpool(pool: Int)
  /// Maxout over groups of `k` channels.
  case maxout(Int)
  /// A locally connected or tiled convolution.
  case local(LocalKernel)
  case adaptiveAvgPool(Int, Int)
  case adaptiveMaxPool(Int, Int)
  case upsample(Upsample)
  case softmax
  case concat
  /// Concatenation with the batch norm (and activation) after it applied while copying.
  case concatAffine(BatchNormKernel)
  case add(Activation?)
  /// Element-wise product, broadcast, with an optional activation after it.
  case mul(Activation?)
  case subsample(kernel: Int, weight: [Float], bias: [Float])
  case rbf(weight: [Float])
  /// ShuffleNet's channel shuffle into groups, a copy.
  case channelShuffle(groups: Int)
  /// The channels `start ..< start + count`, a copy.
  case channelSlice(start: Int, count: Int)
  /// A padding into a new buffer (``runPad(_:input:output:planes:h:w:threads:)``).
  case pad(Padding2D)
  /// The window at `offset` of the size of the node's output, a copy.
  case crop(offset: Pair)
}

/// One kernel of a plan: it reads the inputs of its first node and writes the value of its last.
struct PlanStep {
  /// The first node: the kernel reads its inputs, and runs at its place in the graph's order.
  var node: Int
  var kernel: StepKernel
  /// Graph nodes this step computes, in order: the first node and those fused into it. Each node
  /// after the first reads the one before it (and, for a residual, ``residual``).
  var nodes: [Int]
  /// A convolution's residual: the node whose value its epilogue adds (an add fused into it).
  var residual: Int? = nil
  /// A convolution's ``Conv2D/prePad``: its input is padded into the pad buffer first, and the kernel
  /// (built for the padded size, with no padding of its own) reads that.
  var prePad: Padding2D? = nil

  /// The value the step leaves in its buffer.
  var last: Int { nodes.last! }
}

/// A plan being compiled: one step per computing node (views — flatten, dropout, identity — have
/// none), then the fusion passes, each of which merges a node into the step that computes its input.
///
/// Every pass keeps one invariant: a fused step runs at its first node's place, and writes its last
/// node's value into the buffer the memory plan gives that node. The passes' preconditions are what
/// makes that legal — the fused node reads only the step's last value, nobody else reads that
/// value, and it is not a graph output — and under the analyzer's in-place rule
/// (``ZooAnalysis/Liveness``) such a node always shares its input's buffer; ``fuse(_:into:)`` checks
/// that agreement.
struct PlanDraft {
  let graph: Graph
  let memory: MemoryPlan
  /// Per-sample output shape of every node.
  let shapes: [[Int]]
  private(set) var steps: [PlanStep?] = []
  /// For every node, the index of the step that computes it (nil for the input and views).
  private(set) var stepOf: [Int?]
  private let consumers: [[Int]]
  private let outputs: Set<Int>

  init(graph: Graph, memory: MemoryPlan, shapes: [[Int]]) {
    self.graph = graph
    self.memory = memory
    self.shapes = shapes
    self.stepOf = Array(repeating: nil, count: graph.nodes.count)
    self.consumers = graph.consumers()
    self.outputs = Set(graph.outputs)
  }

  /// Appends the step computing `node` alone.
  mutating func append(_ node: Int, _ kernel: StepKernel, prePad: Padding2D? = nil) {
    stepOf[node] = steps.count
    steps.append(PlanStep(node: node, kernel: kernel, nodes: [node], prePad: prePad))
  }

  /// The compiled steps, in execution order.
  var compiled: [PlanStep] { steps.compactMap { $0 } }

  /// Runs the passes of `fusions`, in ``Fusion``'s order.
  mutating func run(_ fusions: Set<Fusion>) {
    for pass in Fusion.allCases where fusions.contains(pass) {
      switch pass {
      case .batchNormFolding: foldBatchNorms()
      case .concatBatchNorm: concatBatchNorms()
      case .residualEpilogue: residualEpilogues()
      case .activationFusion: fuseActivations()
      }
    }
  }

  // MARK: - Preconditions shared by the passes

  /// The step whose last value is `value`, when `value` is read by `reader` alone and is not a graph
  /// output: the only case in which `reader` may be computed inside that step.
  private func soleHost(of value: Int, reader: Int) -> Int? {
    guard consumers[value] == [reader], !outputs.contains(value), let s = stepOf[value], let step = steps[s],
      step.last == value
    else { return nil }
    return s
  }

  /// The step after which `node`'s value exists (-1: before the first step), following views.
  private func readyAfter(_ node: Int) -> Int {
    var n = node
    while stepOf[n] == nil {
      switch graph.nodes[n].op {
      case .flatten, .dropout, .identity: n = graph.nodes[n].inputs[0]
      default: return -1  // the input
      }
    }
    return stepOf[n]!
  }

  /// Merges `node` (already checked by a pass) into step `s`, and removes `node`'s own step.
  private mutating func fuse(_ node: Int, into s: Int) {
    let host = steps[s]!
    // The passes' preconditions imply the analyzer's in-place rule; if the two ever disagree, the
    // fused step would write where the node's readers do not look.
    precondition(
      memory.owner[node] == memory.owner[host.last],
      "\(graph.nodes[node].name) fused into a step whose buffer is not its own")
    if let own = stepOf[node] { steps[own] = nil }
    steps[s]!.nodes.append(node)
    stepOf[node] = s
  }

  private func nodes(where match: (Op) -> Bool) -> [Node] { graph.nodes.filter { match($0.op) } }

  // MARK: - The passes

  /// Batch norm folding. Precondition: the batch norm reads a convolution (no connection table)
  /// whose step has computed nothing after its GEMM (no folded norm, activation or residual), and
  /// nothing else reads the convolution.
  mutating func foldBatchNorms() {
    for bn in nodes(where: { if case .batchNorm = $0 { true } else { false } }) {
      guard let s = soleHost(of: bn.inputs[0], reader: bn.id), let host = steps[s], host.nodes.count == 1,
        case .conv(let k) = host.kernel, k.activation == nil, host.residual == nil,
        let own = stepOf[bn.id], case .batchNorm(let norm) = steps[own]!.kernel
      else { continue }
      k.foldBatchNorm(scale: norm.exactScale, shift: norm.exactShift)
      fuse(bn.id, into: s)
    }
  }

  /// Batch norm inside a concatenation's copy. Precondition: the batch norm reads a concatenation
  /// whose step is the concatenation alone, and nothing else reads the concatenation.
  mutating func concatBatchNorms() {
    for bn in nodes(where: { if case .batchNorm = $0 { true } else { false } }) {
      guard let s = soleHost(of: bn.inputs[0], reader: bn.id), let host = steps[s], host.nodes.count == 1,
        case .concat = host.kernel, let own = stepOf[bn.id], case .batchNorm(let norm) = steps[own]!.kernel,
        norm.activation == nil
      else { continue }
      steps[s]!.kernel = .concatAffine(norm)
      fuse(bn.id, into: s)
    }
  }

  /// The residual epilogue. Precondition: a two-input add whose inputs have equal shapes (the
  /// epilogue adds element by element; a broadcast add is not fused), whose first input is the last
  /// value of a convolution step that can add a residual (``ConvolutionKernel/fusesResidual``) and
  /// has applied nothing but a folded batch norm after its GEMM; nothing else reads that value; and
  /// the second input exists before the convolution runs, in another buffer.
  mutating func residualEpilogues() {
    for add in nodes(where: { $0 == .add }) where add.inputs.count == 2 {
      let (main, identity) = (add.inputs[0], add.inputs[1])
      guard shapes[main] == shapes[identity], let s = soleHost(of: main, reader: add.id), let host = steps[s],
        case .conv(let k) = host.kernel,
        k.fusesResidual, k.activation == nil, host.residual == nil,
        host.nodes.dropFirst().allSatisfy({ if case .batchNorm = graph.nodes[$0].op { true } else { false } }),
        readyAfter(identity) < s, memory.owner[identity] != memory.owner[main]
      else { continue }
      steps[s]!.residual = identity
      fuse(add.id, into: s)
    }
  }

  /// Activation fusion. Precondition: the activation reads the last value of a step whose kernel
  /// applies an activation at its end and has none yet, and nothing else reads that value.
  mutating func fuseActivations() {
    for node in graph.nodes {
      guard case .activation(let a) = node.op, let s = soleHost(of: node.inputs[0], reader: node.id) else { continue }
      switch steps[s]!.kernel {
      case .conv(let k) where k.activation == nil: k.activation = a
      case .tableConv(let k) where k.activation == nil: k.activation = a
      case .convTranspose(let k) where k.activation == nil: k.activation = a
      case .linear(let k) where k.activation == nil: k.activation = a
      case .batchNorm(let k) where k.activation == nil: k.activation = a
      case .concatAffine(let k) where k.activation == nil: k.activation = a
      case .add(nil): steps[s]!.kernel = .add(a)
      case .mul(nil): steps[s]!.kernel = .mul(a)
      default: continue
      }
      fuse(node.id, into: s)
    }
  }
}
