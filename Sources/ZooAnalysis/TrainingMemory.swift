import ZooGraph

/// Optimisers and the state they keep per trainable parameter.
public enum Optimizer: String, CaseIterable, Sendable {
  case sgd, momentum, adam

  /// Values of state per trainable parameter: plain SGD 0, SGD with momentum 1 (the velocity),
  /// Adam 2 (first and second moment estimates).
  public var statesPerParameter: Int {
    switch self {
    case .sgd: 0
    case .momentum: 1
    case .adam: 2
    }
  }
}

/// What an op keeps from the forward pass so that the backward pass can run (docs/memory.md).
public struct BackwardSaves: Sendable, Hashable {
  /// Keeps its inputs (conv, linear, batch norm, LeNet's subsampling and RBF, max pool, LRN, mul, the
  /// activations whose derivative PyTorch computes from the input).
  public var inputs = false
  /// Keeps its output (activations: the derivative is a function of the output; softmax; LRN).
  public var output = false
  /// Extra bytes per output element whatever the dtype: max pool keeps an int64 argmax index (8),
  /// dropout a boolean mask (1).
  public var extraBytesPerOutputElement = 0
}

extension Op {
  /// The tensors this op saves for the backward pass, following PyTorch's autograd formulas:
  /// - conv, transposed conv, linear, batch norm, subsample, RBF: the input (the weight gradient is input × output
  ///   gradient; batch norm recomputes its normalised input from it);
  /// - ReLU, leaky ReLU, tanh, sigmoid, scaled tanh, softmax: the output;
  /// - ReLU6 (a hardtanh), hardsigmoid, hardswish, SiLU, GELU: the input;
  /// - LRN: input and output; max pool and adaptive max pool: the input and an int64 index per output
  ///   element;
  /// - dropout: a one-byte mask per element (its output is then a new tensor);
  /// - maxout (`amax`): its input and output; max unpooling: the pool's indices, already counted with the
  ///   pool;
  /// - average and adaptive average pooling, upsampling (PyTorch keeps only the sizes), add, concat,
  ///   flatten, identity, input, channel shuffle, channel slice, pad and crop (their gradients only move
  ///   values back): nothing.
  public var backwardSaves: BackwardSaves {
    switch self {
    case .conv, .convTranspose, .local, .linear, .batchNorm, .subsample, .rbf, .mul: BackwardSaves(inputs: true)
    case .activation(.relu6), .activation(.hardsigmoid), .activation(.hardswish), .activation(.silu),
      .activation(.gelu):
      BackwardSaves(inputs: true)
    case .activation, .softmax: BackwardSaves(output: true)
    case .lrn: BackwardSaves(inputs: true, output: true)
    case .pool(let p): p.kind == .max ? BackwardSaves(inputs: true, extraBytesPerOutputElement: 8) : BackwardSaves()
    case .adaptiveMaxPool: BackwardSaves(inputs: true, extraBytesPerOutputElement: 8)
    case .upsample: BackwardSaves()
    case .dropout: BackwardSaves(extraBytesPerOutputElement: 1)
    case .adaptiveAvgPool, .add, .concat, .flatten, .identity, .input: BackwardSaves()
    case .channelShuffle, .channelSlice, .pad, .crop: BackwardSaves()
    // `amax` keeps its input and its result (the gradient goes to the inputs equal to the maximum).
    case .maxout: BackwardSaves(inputs: true, output: true)
    // Its backward gathers the output gradient at the switches: the max pool's int64 indices, which
    // the pool already keeps (counted there).
    case .maxUnpool: BackwardSaves()
    }
  }
}

/// Memory of one training step: weights, their gradients, optimiser state and the activations kept
/// for the backward pass.
///
/// `totalBytes = paramBytes + gradientBytes + optimizerBytes + savedActivationBytes`, where
/// - `paramBytes = params × dtype bytes` (all parameters, fixed ones included);
/// - `gradientBytes = trainable params × dtype bytes`;
/// - `optimizerBytes = trainable params × states per parameter × dtype bytes`;
/// - `savedActivationBytes` = Σ over the distinct tensors some op saves (``Op/backwardSaves``) of
///   `elements × batch × dtype bytes`, plus the per-element extras (max-pool indices, dropout masks).
///   A tensor saved by two ops (a ReLU's output that the next conv also saves) counts once; flatten and
///   identity are views of their input; nothing runs in place while training.
/// Not included: BN running statistics (buffers), the transient gradients of activations during the
/// backward pass, per-channel batch-norm statistics, and scratch space.
public struct TrainingMemory: Sendable {
  /// One tensor kept for the backward pass.
  public struct Saved: Sendable, Hashable {
    /// The node whose output it is (views resolved to the node that made the tensor).
    public var node: Int
    public var bytes: Int
    /// The ops that keep it.
    public var savedBy: [Int]
  }

  public var dtype: DType
  public var optimizer: Optimizer
  public var batch: Int
  public var paramBytes: Int
  public var gradientBytes: Int
  public var optimizerBytes: Int
  /// Tensors kept for the backward pass, by producing node.
  public var saved: [Saved]
  /// Max-pool indices and dropout masks.
  public var extraBytes: Int
  public var savedActivationBytes: Int
  public var totalBytes: Int

  public init(_ summary: Summary, dtype: DType = .fp32, optimizer: Optimizer = .sgd) throws(AnalysisError) {
    let g = summary.graph
    self.dtype = dtype
    self.optimizer = optimizer
    self.batch = summary.batch
    func product(_ xs: [Int], _ what: String) throws(AnalysisError) -> Int {
      do { return try checkedProduct(xs, what) } catch { throw AnalysisError(layer: nil, message: "\(error)") }
    }
    paramBytes = try product([summary.totals.params, dtype.bytes], "parameter bytes")
    gradientBytes = try product([summary.totals.trainableParams, dtype.bytes], "gradient bytes")
    optimizerBytes = try product(
      [summary.totals.trainableParams, optimizer.statesPerParameter, dtype.bytes], "optimizer bytes")
    // The tensor each node's output is: views share their input's.
    var root = Array(g.nodes.indices)
    for node in g.nodes {
      switch node.op {
      case .flatten, .identity: root[node.id] = root[node.inputs[0]]
      default: break
      }
    }
    var savers: [Int: [Int]] = [:]
    var extra = 0
    for node in g.nodes {
      let saves = node.op.backwardSaves
      var kept: [Int] = []
      if saves.inputs { kept += node.inputs.map { root[$0] } }
      if saves.output { kept.append(root[node.id]) }
      for t in Set(kept) { savers[t, default: []].append(node.id) }
      if saves.extraBytesPerOutputElement > 0 {
        let b = try product(
          summary.shapes[node.id] + [summary.batch, saves.extraBytesPerOutputElement], "saved bytes")
        extra = try addBytes(extra, b, "saved bytes")
      }
    }
    var saved: [Saved] = []
    var total = extra
    for t in savers.keys.sorted() {
      let b = try product(summary.shapes[t] + [summary.batch, dtype.bytes], "saved bytes")
      saved.append(Saved(node: t, bytes: b, savedBy: savers[t]!))
      total = try addBytes(total, b, "saved bytes")
    }
    self.saved = saved
    self.extraBytes = extra
    self.savedActivationBytes = total
    var sum = try addBytes(paramBytes, gradientBytes, "training bytes")
    sum = try addBytes(sum, optimizerBytes, "training bytes")
    self.totalBytes = try addBytes(sum, total, "training bytes")
  }
}
