import ZooGraph

/// A locally connected or tiled convolution (``ZooGraph/LocalConv2D``) as a direct loop: per output
/// position, the input window is gathered once (zeros in the padding) into `in·kh·kw` values, and
/// the output channels accumulate that window times that position's kernel, `weight[y mod th, x mod tw]`,
/// held transposed (`[th, tw, in·kh·kw, out]`) so the innermost loop runs over contiguous output
/// channels and vectorizes. Output rows of all samples are split across the threads.
final class LocalKernel: @unchecked Sendable {
  let layer: LocalConv2D
  /// `[th, tw, in·kh·kw, out]`: the state dict's `[th, tw, out, in, kh, kw]` with the last two groups swapped.
  let weight: [Float]
  /// `[th, tw, out]`, or nil.
  let bias: [Float]?

  init(_ layer: LocalConv2D, weight: [Float], bias: [Float]?) {
    self.layer = layer
    let (cout, patch) = (layer.outChannels, layer.inChannels * layer.kernel.h * layer.kernel.w)
    var packed = [Float](repeating: 0, count: weight.count)
    for t in 0..<(layer.tile.h * layer.tile.w) {
      for o in 0..<cout {
        for q in 0..<patch { packed[(t * patch + q) * cout + o] = weight[(t * cout + o) * patch + q] }
      }
    }
    self.weight = packed
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
        let cols = UnsafeMutablePointer<Float>.allocate(capacity: patch)
        let acc = UnsafeMutablePointer<Float>.allocate(capacity: cout)
        defer {
          cols.deallocate()
          acc.deallocate()
        }
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
            if let bp {
              for o in 0..<cout { acc[o] = bp[t * cout + o] }
            } else {
              acc.update(repeating: 0, count: cout)
            }
            let kernels = wp.p + t * patch * cout
            for q in 0..<patch {
              let v = cols[q]
              let wq = kernels + q * cout
              for o in 0..<cout { acc[o] += wq[o] * v }
            }
            for o in 0..<cout { dst[(o * oh + y) * ow + x] = acc[o] }
          }
        }
      }
    }
  }
}
