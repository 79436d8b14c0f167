/// A network as a directed acyclic graph of named ops.
///
/// Nodes are stored in a topological order (every input of a node comes before it) and node 0 is
/// the input. A node's `name` is its module path (`layer1.0.conv1`), which is also the prefix of its
/// tensors' state-dict keys. Container modules (stages, blocks, `nn.Sequential`s) are listed in
/// `modules`; a node belongs to every module whose path prefixes its name.
public struct Graph: Sendable {
  public var name: String
  public var family: String
  public var description: String
  /// Input shape of one sample, `[C, H, W]`.
  public var inputShape: [Int]
  public var nodes: [Node]
  /// Nodes whose values the network returns; the main output first (auxiliary heads after it).
  public var outputs: [Int]
  public var modules: [Module]

  public init(
    name: String, family: String = "", description: String = "", inputShape: [Int], nodes: [Node],
    outputs: [Int], modules: [Module]
  ) {
    self.name = name
    self.family = family
    self.description = description
    self.inputShape = inputShape
    self.nodes = nodes
    self.outputs = outputs
    self.modules = modules
  }

  /// For every node, the indices of the nodes that read it.
  public func consumers() -> [[Int]] {
    var result = Array(repeating: [Int](), count: nodes.count)
    for node in nodes {
      for i in node.inputs { result[i].append(node.id) }
    }
    return result
  }
}

public struct Node: Sendable {
  public var id: Int
  public var name: String
  public var op: Op
  public var inputs: [Int]

  public init(id: Int, name: String, op: Op, inputs: [Int]) {
    self.id = id
    self.name = name
    self.op = op
    self.inputs = inputs
  }
}

/// A container module: a stage, a block, a sequence.
public struct Module: Sendable, Hashable {
  /// Dotted path, e.g. `layer1` or `layer1.0`.
  public var path: String
  /// What made it: a block name from the definition file (`bottleneck`) or `seq`.
  public var kind: String

  public init(path: String, kind: String) {
    self.path = path
    self.kind = kind
  }
}

/// A parameter or buffer a node owns, with its state-dict key.
public struct TensorDecl: Sendable, Hashable {
  public enum Kind: String, Sendable { case parameter, buffer }
  public var name: String
  public var shape: [Int]
  public var kind: Kind
  /// Parameters only: whether training updates it (LeNet-5's RBF weights are fixed).
  public var trainable: Bool

  public var elements: Int { shape.reduce(1, *) }
}

extension Node {
  /// The parameters and buffers of this node, named as in torchvision's `state_dict()`.
  public var tensors: [TensorDecl] {
    func p(_ s: String, _ shape: [Int], trainable: Bool = true) -> TensorDecl {
      TensorDecl(name: "\(name).\(s)", shape: shape, kind: .parameter, trainable: trainable)
    }
    func b(_ s: String, _ shape: [Int]) -> TensorDecl {
      TensorDecl(name: "\(name).\(s)", shape: shape, kind: .buffer, trainable: false)
    }
    switch op {
    case .conv(let c):
      let weight: [Int] =
        c.table == nil
        ? [c.outChannels, c.inChannels / c.groups, c.kernel.h, c.kernel.w]
        : [c.connections, c.kernel.h, c.kernel.w]
      return [p("weight", weight)] + (c.bias ? [p("bias", [c.outChannels])] : [])
    case .convTranspose(let c):
      let weight = [c.inChannels, c.outChannels / c.groups, c.kernel.h, c.kernel.w]
      return [p("weight", weight)] + (c.bias ? [p("bias", [c.outChannels])] : [])
    case .linear(let i, let o, let bias):
      return [p("weight", [o, i])] + (bias ? [p("bias", [o])] : [])
    case .local(let l):
      let weight = [l.tile.h, l.tile.w, l.outChannels, l.inChannels, l.kernel.h, l.kernel.w]
      return [p("weight", weight)] + (l.bias ? [p("bias", [l.tile.h, l.tile.w, l.outChannels])] : [])
    case .batchNorm(let c, _):
      return [
        p("weight", [c]), p("bias", [c]), b("running_mean", [c]), b("running_var", [c]),
        b("num_batches_tracked", []),
      ]
    case .subsample(let c, _):
      return [p("weight", [c]), p("bias", [c])]
    case .rbf(let i, let n):
      return [p("weight", [n, i], trainable: false)]
    default:
      return []
    }
  }
}
