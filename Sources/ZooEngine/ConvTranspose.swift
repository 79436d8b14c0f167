import CBLAS
import ZooGraph

/// A transposed convolution (`nn.ConvTranspose2d`) as a matrix product and a scatter.
///
/// Per sample and group, with `cg` input and `og` output channels per group, the weight rows of the
/// group form `W_g`, a `[cg, og·kh·kw]` matrix (PyTorch's `[in, out / groups, kh, kw]` layout). One
/// `sgemm` computes `cols = W_gᵀ · x_g`, `[og·kh·kw, rows·W_in]`, for a band of input rows: column
/// `(i, j)` of row `(o, a, b)` is what input cell `(i, j)` sends to output channel `o` through tap
/// `(a, b)`. The scatter (col2im) then adds it at `(i·s − p + a·d, j·s − p + b·d)` when that lies
/// inside the output. Bias and the fused activation run last. The `cols` band lives in the plan's
/// scratch, sized by ``scratchElements(inH:inW:)``.
final class ConvTransposeKernel {
  let conv: ConvTranspose2D
  /// `[in, out / groups, kh, kw]`, PyTorch's layout.
  let weight: [Float]
  /// One value per output channel (zeros when the layer has no bias).
  let bias: [Float]
  /// Applied after the bias when an activation step was fused into this one.
  var activation: Activation?

  /// The most floats a `cols` band may take (a band is at least one input row).
  static let scratchBudget = 1 << 20

  init(_ conv: ConvTranspose2D, weight: [Float], bias: [Float]) {
    precondition(weight.count == conv.inChannels * conv.outChannels / conv.groups * conv.kernel.h * conv.kernel.w)
    precondition(bias.count == conv.outChannels)
    self.conv = conv
    self.weight = weight
    self.bias = bias
  }

  /// Rows of `cols`: output channels per group times kernel taps.
  private var tapRows: Int { conv.outChannels / conv.groups * conv.kernel.h * conv.kernel.w }

  /// Input rows per `sgemm` band for an input of width `inW`.
  func bandRows(inH: Int, inW: Int) -> Int {
    max(1, min(inH, Self.scratchBudget / max(1, tapRows * inW)))
  }

  /// Floats of scratch one call needs: one `cols` band.
  func scratchElements(inH: Int, inW: Int) -> Int {
    tapRows * bandRows(inH: inH, inW: inW) * inW
  }

  /// Output height and width for an input of `inH × inW`.
  func outputSize(_ inH: Int, _ inW: Int) -> (Int, Int) {
    let c = conv
    return (
      ConvTranspose2D.outputSize(
        inH, kernel: c.kernel.h, stride: c.stride.h, padding: c.padding.h, outputPadding: c.outputPadding.h,
        dilation: c.dilation.h),
      ConvTranspose2D.outputSize(
        inW, kernel: c.kernel.w, stride: c.stride.w, padding: c.padding.w, outputPadding: c.outputPadding.w,
        dilation: c.dilation.w)
    )
  }

  func run(
    input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int, inH: Int, inW: Int,
    scratch: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let c = conv
    let (oh, ow) = outputSize(inH, inW)
    let cg = c.inChannels / c.groups
    let og = c.outChannels / c.groups
    let (kh, kw) = (c.kernel.h, c.kernel.w)
    let rowsOfCols = tapRows
    let inSpatial = inH * inW
    let outSpatial = oh * ow
    let band = bandRows(inH: inH, inW: inW)
    output.update(repeating: 0, count: batch * c.outChannels * outSpatial)
    let (sh, sw, ph, pw, dh, dw) = (c.stride.h, c.stride.w, c.padding.h, c.padding.w, c.dilation.h, c.dilation.w)
    weight.withUnsafeBufferPointer { w in
      for n in 0..<batch {
        for g in 0..<c.groups {
          let src = input + (n * c.inChannels + g * cg) * inSpatial
          let dst = SharedPointer(output + (n * c.outChannels + g * og) * outSpatial)
          let a = w.baseAddress! + g * cg * rowsOfCols
          for y0 in stride(from: 0, to: inH, by: band) {
            let rows = min(band, inH - y0)
            let columns = rows * inW
            cblas_sgemm(
              CblasRowMajor, CblasTrans, CblasNoTrans, Int32(rowsOfCols), Int32(columns), Int32(cg), 1, a,
              Int32(rowsOfCols), src + y0 * inW, Int32(inSpatial), 0, scratch, Int32(columns))
            let cols = SharedPointer(scratch)
            // Scatter-add; each output channel's plane is written by one task only.
            parallelFor(og, threads: threads) { range in
              for o in range {
                let plane = dst.p + o * outSpatial
                for ta in 0..<kh {
                  for tb in 0..<kw {
                    let row = cols.p + ((o * kh + ta) * kw + tb) * columns
                    for i in 0..<rows {
                      let oy = (y0 + i) * sh - ph + ta * dh
                      if oy < 0 || oy >= oh { continue }
                      let line = plane + oy * ow
                      let from = row + i * inW
                      for j in 0..<inW {
                        let ox = j * sw - pw + tb * dw
                        if ox >= 0 && ox < ow { line[ox] += from[j] }
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
    applyBiasAndActivation(
      output, channels: c.outChannels, batch: batch, spatial: outSpatial, bias: c.bias ? bias : nil,
      activation: activation, threads: threads)
  }
}
