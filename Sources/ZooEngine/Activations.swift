import CZooKernels
import Foundation
import ZooGraph

extension Activation {
  /// The code of the kernels' vectorised activation (`ZK_ACT_*`, act.h) that computes this one, or
  /// nil for those only ``applyActivation(_:_:_:count:add:isa:)``'s scalar loops compute (tanh, leaky
  /// ReLU, scaled tanh, GELU).
  var kernelCode: Int32? {
    switch self {
    case .relu: Int32(ZK_ACT_RELU)
    case .relu6: Int32(ZK_ACT_RELU6)
    case .sigmoid: Int32(ZK_ACT_SIGMOID)
    case .silu: Int32(ZK_ACT_SILU)
    case .hardsigmoid: Int32(ZK_ACT_HARDSIGMOID)
    case .hardswish: Int32(ZK_ACT_HARDSWISH)
    case .leakyReLU, .tanh, .scaledTanh, .gelu: nil
    }
  }
}

/// The tier of the activations run outside a plan's kernels' own (the fastest this CPU runs).
let hostISA = PlanOptions.ISA.best

/// Element-wise activations, `dst[i] = f(src[i] + add)`; `src` may equal `dst` (in place).
///
/// relu `max(x, 0)`; leaky relu `x < 0 ? s·x : x`; tanh; sigmoid `1 / (1 + e^−x)`;
/// scaled tanh `A · tanh(S · x)` (LeCun 1998); relu6 `min(max(x, 0), 6)`; hardsigmoid
/// `min(max(x + 3, 0), 6) / 6`; hardswish `x · min(max(x + 3, 0), 6) / 6`; silu `x / (1 + e^−x)`;
/// gelu `0.5 · x · (1 + erf(x / √2))`, or with the tanh approximation
/// `0.5 · x · (1 + tanh(√(2/π) · (x + 0.044715 · x³)))` — each in float32 as PyTorch's CPU kernels
/// write it. Those with a ``Activation/kernelCode`` run vectorised on tier `isa` (`zk_activation_on`,
/// e^x within about 1 ulp of libm's), the others as scalar loops.
func applyActivation(
  _ activation: Activation?, _ src: UnsafePointer<Float>, _ dst: UnsafeMutablePointer<Float>, count: Int,
  add: Float = 0, isa: PlanOptions.ISA = hostISA
) {
  if let code = activation?.kernelCode {
    zk_activation_on(isa.code, code, src, dst, count, add)
    return
  }
  switch activation {
  case nil:
    if add == 0 && src == UnsafePointer(dst) { return }
    for i in 0..<count { dst[i] = src[i] + add }
  case .relu:
    for i in 0..<count { dst[i] = max(src[i] + add, 0) }
  case .leakyReLU(let slope):
    let s = Float(slope)
    for i in 0..<count {
      let v = src[i] + add
      dst[i] = v < 0 ? s * v : v
    }
  case .tanh:
    for i in 0..<count { dst[i] = Foundation.tanh(src[i] + add) }
  case .sigmoid:
    for i in 0..<count { dst[i] = 1 / (1 + Foundation.exp(-(src[i] + add))) }
  case .scaledTanh(let a, let s):
    let (fa, fs) = (Float(a), Float(s))
    for i in 0..<count { dst[i] = fa * Foundation.tanh(fs * (src[i] + add)) }
  case .relu6:
    for i in 0..<count { dst[i] = min(max(src[i] + add, 0), 6) }
  case .hardsigmoid:
    for i in 0..<count { dst[i] = min(max(src[i] + add + 3, 0), 6) / 6 }
  case .hardswish:
    for i in 0..<count {
      let v = src[i] + add
      dst[i] = v * min(max(v + 3, 0), 6) / 6
    }
  case .silu:
    for i in 0..<count {
      let v = src[i] + add
      dst[i] = v / (1 + Foundation.exp(-v))
    }
  case .gelu(.erf):
    let invSqrt2 = Float(0.5.squareRoot())
    for i in 0..<count {
      let v = src[i] + add
      dst[i] = 0.5 * v * (1 + Foundation.erf(v * invSqrt2))
    }
  case .gelu(.tanh):
    let beta = Float((2 / Double.pi).squareRoot())
    let kappa: Float = 0.044715
    for i in 0..<count {
      let v = src[i] + add
      dst[i] = 0.5 * v * (1 + Foundation.tanh(beta * (v + kappa * v * v * v)))
    }
  }
}

/// An activation as its own step, in parallel over chunks of elements.
func runActivation(
  _ activation: Activation, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, count: Int,
  threads: Int, isa: PlanOptions.ISA = hostISA
) {
  let s = SharedPointer(input)
  let d = SharedPointer(output)
  let blocks = (count + 4095) / 4096
  parallelFor(blocks, threads: threads, grain: 8) { range in
    let start = range.lowerBound * 4096
    let end = min(count, range.upperBound * 4096)
    applyActivation(activation, s.p + start, d.p + start, count: end - start, isa: isa)
  }
}

/// Softmax over the `features` of each sample: `exp(x − max) / Σ exp(x − max)`.
func runSoftmax(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int, features: Int) {
  for n in 0..<batch {
    let x = input + n * features
    let y = output + n * features
    var m = -Float.infinity
    for i in 0..<features { m = max(m, x[i]) }
    var sum: Double = 0
    for i in 0..<features {
      let e = Foundation.exp(x[i] - m)
      y[i] = e
      sum += Double(e)
    }
    let inv = Float(1 / sum)
    for i in 0..<features { y[i] *= inv }
  }
}
