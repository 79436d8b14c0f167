import CBLAS
import ZooGraph

/// Fully connected layer `y = W x + b`, weight `[out, in]`: for a batch, `Y[N, out] = X[N, in] · Wᵀ`,
/// one sgemm (an sgemv for one sample), then bias and the fused activation.
final class LinearKernel {
  let inFeatures: Int
  let outFeatures: Int
  let weight: [Float]
  let bias: [Float]?
  var activation: Activation?

  init(inFeatures: Int, outFeatures: Int, weight: [Float], bias: [Float]?) {
    self.inFeatures = inFeatures
    self.outFeatures = outFeatures
    self.weight = weight
    self.bias = bias
  }

  func run(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int) {
    weight.withUnsafeBufferPointer { w in
      if batch == 1 {
        cblas_sgemv(
          CblasRowMajor, CblasNoTrans, Int32(outFeatures), Int32(inFeatures), 1, w.baseAddress!, Int32(inFeatures),
          input, 1, 0, output, 1)
      } else {
        cblas_sgemm(
          CblasRowMajor, CblasNoTrans, CblasTrans, Int32(batch), Int32(outFeatures), Int32(inFeatures), 1, input,
          Int32(inFeatures), w.baseAddress!, Int32(inFeatures), 0, output, Int32(outFeatures))
      }
    }
    for n in 0..<batch {
      let y = output + n * outFeatures
      if let bias { for o in 0..<outFeatures { y[o] += bias[o] } }
      if let activation { applyActivation(activation, y, y, count: outFeatures) }
    }
  }
}

/// LeNet-5's radial-basis-function output: `y_j = Σ_i (x_i − w_ji)²`, weight `[classes, in]`.
func runRBF(
  input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int, inFeatures: Int, classes: Int,
  weight: [Float]
) {
  for n in 0..<batch {
    for j in 0..<classes {
      var sum: Float = 0
      for i in 0..<inFeatures {
        let d = input[n * inFeatures + i] - weight[j * inFeatures + i]
        sum += d * d
      }
      output[n * classes + j] = sum
    }
  }
}
