import CZooKernels
import ZooGraph

/// Max and average pooling, NCHW, in parallel over `batch × channels` planes. Max pooling with
/// dilation 1 (every one in the zoo) runs as `zk_maxpool`: row maxima first, then windows along the row.
///
/// Output size per axis: `floor` (or `ceil` in ceil mode) of `(n + 2·p − d·(k − 1) − 1) / s` plus 1,
/// a last ceil-mode window that would start in the right padding dropped (PyTorch's rule).
/// Max pooling ignores padding (−∞). Each output row is built tap by tap over the output columns
/// whose input is inside the image, so the inner loops have no bounds checks. Average pooling divides by the window clipped to the padded
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
  if p.kind == .max && p.dilation == Pair(1) {
    zk_maxpool(
      input, Int32(planes), Int32(h), Int32(w), Int32(p.kernel.h), Int32(p.kernel.w), Int32(p.stride.h),
      Int32(p.stride.w), Int32(p.padding.h), Int32(p.padding.w), Int32(oh), Int32(ow), output,
      Int32(min(threads, engineLoopThreads)))
    return
  }
  if p.kind == .avg && p.padding == Pair(0) && p.dilation == Pair(1) && (oh - 1) * p.stride.h + p.kernel.h <= h
    && (ow - 1) * p.stride.w + p.kernel.w <= w
  {
    // Every window inside the image (DenseNet's transitions): the divisor is kh·kw either way.
    zk_avgpool_inside(
      input, Int32(planes), Int32(h), Int32(w), Int32(p.kernel.h), Int32(p.kernel.w), Int32(p.stride.h),
      Int32(p.stride.w), Int32(oh), Int32(ow), output, Int32(min(threads, engineLoopThreads)))
    return
  }
  let s = SharedPointer(input)
  let d = SharedPointer(output)
  // For kernel column j (offset j·dw − pw), the output columns whose input column is inside the image.
  let columnRanges: [Range<Int>] = (0..<p.kernel.w).map { j in
    let off = j * (p.kind == .max ? p.dilation.w : 1) - p.padding.w
    let lo = off >= 0 ? 0 : (-off + p.stride.w - 1) / p.stride.w
    let hi = w - 1 - off >= 0 ? min(ow, (w - 1 - off) / p.stride.w + 1) : 0
    return min(lo, hi)..<hi
  }
  parallelFor(planes, threads: threads, grain: max(1, 4096 / max(oh * ow, 1))) { range in
    for plane in range {
      let src = s.p + plane * h * w
      let dst = d.p + plane * oh * ow
      for y in 0..<oh {
        let y0 = y * p.stride.h - p.padding.h
        let row = dst + y * ow
        row.update(repeating: p.kind == .max ? -Float.infinity : 0, count: ow)
        var validRows = 0
        // Branch-free inner loops: row maxima (or sums) over the valid part of every kernel tap.
        for i in 0..<p.kernel.h {
          let iy = y0 + i * (p.kind == .max ? p.dilation.h : 1)
          if iy < 0 || iy >= h { continue }
          validRows += 1
          let line = src + iy * w
          for j in 0..<p.kernel.w {
            let off = j * (p.kind == .max ? p.dilation.w : 1) - p.padding.w
            let r = columnRanges[j]
            if p.kind == .max {
              for x in r { row[x] = max(row[x], line[x * p.stride.w + off]) }
            } else {
              for x in r { row[x] += line[x * p.stride.w + off] }
            }
          }
        }
        if p.kind == .avg {
          let hEnd = min(y0 + p.kernel.h, h + p.padding.h)
          for x in 0..<ow {
            let x0 = x * p.stride.w - p.padding.w
            let count: Int
            if p.countIncludePad {
              count = (hEnd - y0) * (min(x0 + p.kernel.w, w + p.padding.w) - x0)
            } else {
              count = validRows * (min(x0 + p.kernel.w, w) - max(x0, 0))
            }
            row[x] /= Float(max(count, 1))
          }
        }
      }
    }
  }
}

/// Adaptive pooling to `oh × ow`: bin `i` of an axis of length `n` spans
/// `floor(i·n/o) ..< ceil((i+1)·n/o)` (PyTorch's rule); each output is the bin's mean, or its
/// maximum (a NaN in a bin wins, as in PyTorch).
func runAdaptivePool(
  _ kind: Pool2D.Kind, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, planes: Int, h: Int,
  w: Int, oh: Int, ow: Int, threads: Int
) {
  if kind == .avg && oh == 1 && ow == 1 {
    // Global average pooling (every classifier head, every squeeze-and-excitation block): one window
    // that is the whole plane, on the vectorised kernel.
    zk_avgpool_inside(
      input, Int32(planes), Int32(h), Int32(w), Int32(h), Int32(w), 1, 1, 1, 1, output,
      Int32(min(threads, engineLoopThreads)))
    return
  }
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
          var acc: Float = kind == .max ? -.infinity : 0
          for iy in ys..<ye {
            for ix in xs..<xe {
              let v = src[iy * w + ix]
              switch kind {
              case .avg: acc += v
              case .max: if v > acc || v.isNaN { acc = v }
              }
            }
          }
          dst[y * ow + x] = kind == .max ? acc : acc / Float((ye - ys) * (xe - xs))
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
