import CBLAS
import ZooGraph

/// Fully connected layer `y = W x + b`, weight `[out, in]`: for a batch, `Y[N, out] = X[N, in] · Wᵀ`.
///
/// On the engine's GEMM path the weight is packed and the layer is the narrow-column GEMM
/// `Yᵀ = W · Xᵀ` (`zk_gemm_t`, one column per sample, bias and ReLU in its epilogue; for a batch, `X`
/// is transposed into `[in, N]` first and `Yᵀ` back after): the forward pass then never wakes
/// OpenBLAS, whose spinning workers would compete with the engine's pool for the cores. Otherwise
/// one OpenBLAS sgemm (an sgemv for one sample), then bias and the fused activation.
final class LinearKernel {
  let inFeatures: Int
  let outFeatures: Int
  private var weight: [Float]
  let bias: [Float]?
  var activation: Activation?
  private var packed: PackedConvolution?
  private let offsets: [Int]

  /// `packed`: the tier of the engine's GEMM that runs the layer, or nil for the BLAS.
  init(inFeatures: Int, outFeatures: Int, weight: [Float], bias: [Float]?, packed isa: PlanOptions.ISA?) {
    self.inFeatures = inFeatures
    self.outFeatures = outFeatures
    self.weight = weight
    self.bias = bias
    if let isa {
      let asConv = Conv2D(inChannels: inFeatures, outChannels: outFeatures, kernel: Pair(1))
      self.packed = PackedConvolution(asConv, packing: &self.weight, transposed: true, isa: isa)
      offsets = Array(0..<inFeatures)
    } else {
      offsets = []
    }
  }

  /// Floats the layer holds for its weight (the packed form rounds the rows up to 32).
  var weightElements: Int { packed?.packed.count ?? weight.count }

  func run(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int, threads: Int) {
    if let packed {
      let act = activation?.kernelCode ?? 0
      bias.withOptionalBuffer { b in
        if batch == 1 {
          packed.gemm(b: input, offsets: offsets, n: 1, bias: b, act: act, c: output, ldc: 1, threads: threads)
          return
        }
        var xT = [Float](repeating: 0, count: inFeatures * batch)
        var yT = [Float](repeating: 0, count: outFeatures * batch)
        for n in 0..<batch {
          for i in 0..<inFeatures { xT[i * batch + n] = input[n * inFeatures + i] }
        }
        let rows = (0..<inFeatures).map { $0 * batch }
        xT.withUnsafeBufferPointer { x in
          yT.withUnsafeMutableBufferPointer { y in
            packed.gemm(
              b: x.baseAddress!, offsets: rows, n: batch, bias: b, act: act, c: y.baseAddress!, ldc: batch,
              threads: threads)
          }
        }
        for n in 0..<batch {
          for o in 0..<outFeatures { output[n * outFeatures + o] = yT[o * batch + n] }
        }
      }
      if let a = activation, a.kernelCode == nil { applyActivation(a, output, output, count: outFeatures * batch) }
      return
    }
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
