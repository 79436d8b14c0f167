import ZooGraph

/// A locally connected or tiled convolution (``ZooGraph/LocalConv2D``) as a direct loop: per output
/// position, the input window is gathered once (zeros in the padding) into `in·kh·kw` values, and
/// each output channel is its dot product with that position's kernel, `weight[y mod th, x mod tw]`.
/// Output rows of all samples are split across the threads.
final class LocalKernel: @unchecked Sendable {
  let layer: LocalConv2D
  /// `[th, tw, out, in, kh, kw]`, as the state dict holds it.
  let weight: [Float]
  /// `[th, tw, out]`, or nil.
  let bias: [Float]?

  init(_ layer: LocalConv2D, weight: [Float], bias: [Float]?) {
    self.layer = layer
    self.weight = weight
    self.bias = bias
  }

  func run(
    input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int, inH: Int, inW: Int, oh: Int,
    ow: Int, threads: Int
  ) {
    let l = layer
    let (cin, cout, kh, kw) = (l.inChannels, l.outChannels, l.kernel.h, l.kernel.w)
    let patch = cin * kh * kw
    let s = SharedPointer(input)
    let d = SharedPointer(output)
    weight.withUnsafeBufferPointer { wb in
      let wp = SharedPointer(wb.baseAddress!)
      let bp = bias
      parallelFor(batch * oh, threads: threads, grain: max(1, 64 / max(ow, 1))) { range in
        var cols = [Float](repeating: 0, count: patch)
        for row in range {
          let (n, y) = (row / oh, row % oh)
          let src = s.p + n * cin * inH * inW
          let dst = d.p + n * cout * oh * ow
          let y0 = y * l.stride.h - l.padding.h
          for x in 0..<ow {
            let x0 = x * l.stride.w - l.padding.w
            var k = 0
            for c in 0..<cin {
              for i in 0..<kh {
                let iy = y0 + i
                for j in 0..<kw {
                  let ix = x0 + j
                  cols[k] = iy >= 0 && iy < inH && ix >= 0 && ix < inW ? src[(c * inH + iy) * inW + ix] : 0
                  k += 1
                }
              }
            }
            let t = (y % l.tile.h) * l.tile.w + x % l.tile.w
            let kernels = wp.p + t * cout * patch
            for o in 0..<cout {
              let wrow = kernels + o * patch
              var acc: Float = bp?[t * cout + o] ?? 0
              for q in 0..<patch { acc += wrow[q] * cols[q] }
              dst[(o * oh + y) * ow + x] = acc
            }
          }
        }
      }
    }
  }
}
