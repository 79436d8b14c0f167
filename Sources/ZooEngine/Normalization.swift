import CZooKernels
import Foundation
import ZooGraph

/// Batch normalisation at inference, `y = x · scale[c] + shift[c]` with
/// `scale = γ / √(σ² + ε)` and `shift = β − μ · scale`, then an optional fused activation.
/// Used where it cannot be folded into a preceding convolution (DenseNet's pre-activation).
final class BatchNormKernel {
  let scale: [Float]
  let shift: [Float]
  /// `scale` and `shift` before rounding to float32 (what batch norm folding multiplies in).
  let exactScale: [Double]
  let exactShift: [Double]
  var activation: Activation?

  init(gamma: [Float], beta: [Float], mean: [Float], variance: [Float], eps: Double) {
    let scale = gamma.indices.map { Double(gamma[$0]) / (Double(variance[$0]) + eps).squareRoot() }
    let shift = gamma.indices.map { Double(beta[$0]) - Double(mean[$0]) * scale[$0] }
    (exactScale, exactShift) = (scale, shift)
    self.scale = scale.map { Float($0) }
    self.shift = shift.map { Float($0) }
  }

  func run(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int, spatial: Int, threads: Int) {
    let channels = scale.count
    if activation == nil || activation == .relu {
      zk_channel_affine(
        input, output, scale, shift, Int32(channels), batch * channels, spatial, activation == .relu ? 1 : 0,
        Int32(min(threads, engineLoopThreads)))
      return
    }
    let s = SharedPointer(input)
    let d = SharedPointer(output)
    let act = activation
    scale.withUnsafeBufferPointer { sc in
      shift.withUnsafeBufferPointer { sh in
        let scp = SharedPointer(sc.baseAddress!)
        let shp = SharedPointer(sh.baseAddress!)
        parallelFor(batch * channels, threads: threads, grain: max(1, 16384 / max(spatial, 1))) { range in
          for nc in range {
            let c = nc % channels
            let (a, b) = (scp.p[c], shp.p[c])
            let x = s.p + nc * spatial
            let y = d.p + nc * spatial
            if act == .relu {
              for i in 0..<spatial { y[i] = max(x[i] * a + b, 0) }
            } else {
              for i in 0..<spatial { y[i] = x[i] * a + b }
              if let act { applyActivation(act, y, y, count: spatial) }
            }
          }
        }
      }
    }
  }
}

/// Local response normalisation across channels (`nn.LocalResponseNorm`):
/// `y_c = x_c / (k + α/n · Σ x_{c'}²)^β`, the sum over `c' ∈ [c − ⌊n/2⌋, c + ⌊(n−1)/2⌋]` clipped to
/// the channels (PyTorch divides by `n` even at the edges).
func runLRN(
  size: Int, alpha: Double, beta: Double, k: Double, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
  batch: Int, channels: Int, spatial: Int, threads: Int
) {
  let s = SharedPointer(input)
  let d = SharedPointer(output)
  parallelFor(batch * channels, threads: threads, grain: 4) { range in
    for nc in range {
      let n = nc / channels
      let c = nc % channels
      let lo = max(0, c - size / 2)
      let hi = min(channels - 1, c + (size - 1) / 2)
      let x = s.p + nc * spatial
      let y = d.p + nc * spatial
      for i in 0..<spatial {
        var sum: Float = 0
        for cc in lo...hi {
          let v = s.p[(n * channels + cc) * spatial + i]
          sum += v * v
        }
        let denom = Foundation.pow(Float(k) + Float(alpha) / Float(size) * sum, Float(beta))
        y[i] = x[i] / denom
      }
    }
  }
}
