import Testing
import ZooEngine
import ZooGraph

/// Depthwise convolutions (`zk_depthwise`) against the reference interpreter: the 3×3 fast path at
/// strides 1 and 2 (per axis), padding 0–2, odd and even sizes, rows of 1 to 70 pixels, and the
/// general loops (5×5, dilation 2, stride 3), each with no activation, ReLU, ReLU6 and SiLU, on
/// every kernel set.
@Suite("Engine depthwise convolution")
struct EngineDepthwiseTests {
  struct Shape: Sendable, CustomStringConvertible {
    var channels, kernel, stride, strideW, padding, dilation, h, w: Int
    var description: String {
      "\(channels) channels \(kernel)×\(kernel)/\(stride)×\(strideW) pad \(padding) dil \(dilation) on \(h)×\(w)"
    }
  }

  static let shapes: [Shape] = [
    Shape(channels: 8, kernel: 3, stride: 1, strideW: 1, padding: 1, dilation: 1, h: 14, w: 14),
    Shape(channels: 5, kernel: 3, stride: 2, strideW: 2, padding: 1, dilation: 1, h: 15, w: 17),
    Shape(channels: 3, kernel: 3, stride: 1, strideW: 2, padding: 0, dilation: 1, h: 9, w: 70),
    Shape(channels: 4, kernel: 3, stride: 2, strideW: 1, padding: 2, dilation: 1, h: 6, w: 1),
    Shape(channels: 6, kernel: 3, stride: 2, strideW: 2, padding: 0, dilation: 1, h: 3, w: 3),
    Shape(channels: 4, kernel: 5, stride: 1, strideW: 1, padding: 2, dilation: 1, h: 11, w: 13),
    Shape(channels: 4, kernel: 3, stride: 1, strideW: 1, padding: 2, dilation: 2, h: 12, w: 9),
    Shape(channels: 7, kernel: 3, stride: 3, strideW: 3, padding: 1, dilation: 1, h: 16, w: 16),
  ]

  @Test(arguments: shapes, PlanOptions.Kernels.supported)
  func matchesTheReference(_ s: Shape, kernels: PlanOptions.Kernels) throws {
    let conv = Conv2D(
      inChannels: s.channels, outChannels: s.channels, kernel: Pair(s.kernel), stride: Pair(s.stride, s.strideW),
      padding: Pair(s.padding), dilation: Pair(s.dilation), groups: s.channels, bias: true)
    for activation: Activation? in [nil, .relu, .relu6, .silu] {
      var nodes = [
        Node(id: 0, name: "input", op: .input, inputs: []), Node(id: 1, name: "dw", op: .conv(conv), inputs: [0]),
      ]
      if let activation { nodes.append(Node(id: 2, name: "act", op: .activation(activation), inputs: [1])) }
      let graph = Graph(
        name: "dw", inputShape: [s.channels, s.h, s.w], nodes: nodes, outputs: [nodes.count - 1], modules: [])
      var r = TestRandom(UInt64(s.channels * 131 + s.h * 7 + s.w))
      let x = r.array(2 * s.channels * s.h * s.w).map { 8 * $0 }
      let weights = [
        "dw.weight": Tensor(
          shape: [s.channels, 1, s.kernel, s.kernel], data: r.array(s.channels * s.kernel * s.kernel)),
        "dw.bias": Tensor(shape: [s.channels], data: r.array(s.channels)),
      ]
      let net = try Network(graph: graph, batch: 2, weights: weights, options: PlanOptions(kernels: kernels))
      let fused = activation.map { "+\($0.name)" } ?? ""
      #expect(net.stepPaths == ["conv:depthwise" + fused], "\(s): the plan runs \(net.stepPaths)")
      let y = try net.run(x)[0]
      let ref = try ReferenceInterpreter(graph: graph, batch: 2, weights: weights).run(x)[0]
      let scale = ref.reduce(1) { max($0, abs($1)) }
      #expect(y.count == ref.count)
      #expect(
        zip(y, ref).allSatisfy { abs(Double($0) - $1) <= 1e-5 * scale },
        "\(s), \(activation?.name ?? "no activation"), \(kernels) kernels")
    }
  }
}
