import ZooGraph

/// Max and average pooling, NCHW, in parallel over `batch × channels` planes.
///
/// Output size per axis: `floor` (or `ceil` in ceil mode) of `(n + 2·p − d·(k − 1) − 1) / s` plus 1,
/// a last ceil-mode window that would start in the right padding dropped (PyTorch's rule).
/// Max pooling ignores padding (−∞). Average pooling divides by the window clipped to the padded
/// input (`count_include_pad`, PyTorch's default) or to the real input; a ceil-mode window that runs
/// past the padding never counts the overhang.
func runPool(
  _ p: Pool2D, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, planes: Int, h: Int, w: Int,
  threads: Int
) {
  let oh = windowOutputSize(
    h, kernel: p.kernel.h, stride: p.stride.h, padding: p.padding.h, dilation: p.dilation.h, ceilMode: p.ceilMode)
  let ow = windowOutputSize(
    w, kernel: p.kernel.w, stride: p.stride.w, padding: p.padding.w, dilation: p.dilation.w, ceilMode: p.ceilMode)
  let s = SharedPointer(input)
  let d = SharedPointer(output)
  parallelFor(planes, threads: threads, grain: max(1, 4096 / max(oh * ow, 1))) { range in
    for plane in range {
      let src = s.p + plane * h * w
      let dst = d.p + plane * oh * ow
      for y in 0..<oh {
        let y0 = y * p.stride.h - p.padding.h
        for x in 0..<ow {
          let x0 = x * p.stride.w - p.padding.w
          if p.kind == .max {
            var m = -Float.infinity
            for i in 0..<p.kernel.h {
              let iy = y0 + i * p.dilation.h
              if iy < 0 || iy >= h { continue }
              for j in 0..<p.kernel.w {
                let ix = x0 + j * p.dilation.w
                if ix < 0 || ix >= w { continue }
                let v = src[iy * w + ix]
                if v > m || v.isNaN { m = v }
              }
            }
            dst[y * ow + x] = m
          } else {
            var sum: Float = 0
            var count = 0
            for i in 0..<p.kernel.h {
              let iy = y0 + i
              if iy < 0 || iy >= h { continue }
              for j in 0..<p.kernel.w {
                let ix = x0 + j
                if ix < 0 || ix >= w { continue }
                sum += src[iy * w + ix]
                count += 1
              }
            }
            if p.countIncludePad {
              let hEnd = min(y0 + p.kernel.h, h + p.padding.h)
              let wEnd = min(x0 + p.kernel.w, w + p.padding.w)
              count = (hEnd - y0) * (wEnd - x0)
            }
            dst[y * ow + x] = sum / Float(max(count, 1))
          }
        }
      }
    }
  }
}

/// Adaptive average pooling to `oh × ow`: bin `i` of an axis of length `n` spans
/// `floor(i·n/o) ..< ceil((i+1)·n/o)` (PyTorch's rule).
func runAdaptiveAvgPool(
  input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, planes: Int, h: Int, w: Int, oh: Int, ow: Int,
  threads: Int
) {
  let s = SharedPointer(input)
  let d = SharedPointer(output)
  parallelFor(planes, threads: threads, grain: 16) { range in
    for plane in range {
      let src = s.p + plane * h * w
      let dst = d.p + plane * oh * ow
      for y in 0..<oh {
        let ys = y * h / oh
        let ye = ((y + 1) * h + oh - 1) / oh
        for x in 0..<ow {
          let xs = x * w / ow
          let xe = ((x + 1) * w + ow - 1) / ow
          var sum: Float = 0
          for iy in ys..<ye {
            for ix in xs..<xe { sum += src[iy * w + ix] }
          }
          dst[y * ow + x] = sum / Float((ye - ys) * (xe - xs))
        }
      }
    }
  }
}

/// LeNet-5's subsampling: `y[c] = w[c] · Σ(k×k window, stride k) + b[c]`.
func runSubsample(
  input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int, channels: Int, h: Int, w: Int,
  kernel k: Int, weight: [Float], bias: [Float]
) {
  let (oh, ow) = (h / k, w / k)
  for n in 0..<batch {
    for c in 0..<channels {
      let src = input + (n * channels + c) * h * w
      let dst = output + (n * channels + c) * oh * ow
      for y in 0..<oh {
        for x in 0..<ow {
          var sum: Float = 0
          for i in 0..<k {
            for j in 0..<k { sum += src[(y * k + i) * w + x * k + j] }
          }
          dst[y * ow + x] = weight[c] * sum + bias[c]
        }
      }
    }
  }
}
