import ZooGraph

/// An int32 pointer the engine's parallel loops may share (each job writes its own planes).
struct SharedIndices: @unchecked Sendable {
  var p: UnsafeMutablePointer<Int32>
  init(_ p: UnsafeMutablePointer<Int32>) { self.p = p }
  init(_ p: UnsafePointer<Int32>) { self.p = UnsafeMutablePointer(mutating: p) }
}

/// Max pooling that also writes its switches: for every output element, the flat index `iy·w + ix`
/// into its input plane of the element it took, as int32 (`nn.MaxPool2d(return_indices=True)`).
///
/// The window is scanned row by row and the first maximum wins (a later element must be strictly
/// greater); a NaN wins over every number, and a later NaN over an earlier one, as PyTorch's loop
/// (`val > max || isnan(val)`) does. Padding never wins. Every window holds at least one input element (the shape rules guarantee it).
func runMaxPoolWithSwitches(
  _ p: Pool2D, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>,
  switches: UnsafeMutablePointer<Int32>, planes: Int, h: Int, w: Int, oh: Int, ow: Int, threads: Int
) {
  let s = SharedPointer(input)
  let d = SharedPointer(output)
  let sw = SharedIndices(switches)
  parallelFor(planes, threads: threads, grain: max(1, 4096 / max(oh * ow, 1))) { range in
    for plane in range {
      let src = s.p + plane * h * w
      let dst = d.p + plane * oh * ow
      let idx = sw.p + plane * oh * ow
      for y in 0..<oh {
        let y0 = y * p.stride.h - p.padding.h
        for x in 0..<ow {
          let x0 = x * p.stride.w - p.padding.w
          var best = -Float.infinity
          var at = -1
          for i in 0..<p.kernel.h {
            let iy = y0 + i * p.dilation.h
            if iy < 0 || iy >= h { continue }
            for j in 0..<p.kernel.w {
              let ix = x0 + j * p.dilation.w
              if ix < 0 || ix >= w { continue }
              let v = src[iy * w + ix]
              if at < 0 || v > best || v.isNaN {
                best = v
                at = iy * w + ix
              }
            }
          }
          dst[y * ow + x] = best
          idx[y * ow + x] = Int32(at)
        }
      }
    }
  }
}

/// Max unpooling: every plane of the output (`oh × ow`, the pool's input size) is zero except at the
/// switches, where the values of the matching input plane (`h × w`, the pool's output size) go, in
/// row-major order (a later value overwrites an earlier one sent to the same position).
func runMaxUnpool(
  input: UnsafePointer<Float>, switches: UnsafePointer<Int32>, output: UnsafeMutablePointer<Float>, planes: Int,
  h: Int, w: Int, oh: Int, ow: Int, threads: Int
) {
  let s = SharedPointer(input)
  let sw = SharedIndices(switches)
  let d = SharedPointer(output)
  parallelFor(planes, threads: threads, grain: max(1, 4096 / max(oh * ow, 1))) { range in
    for plane in range {
      let src = s.p + plane * h * w
      let idx = sw.p + plane * h * w
      let dst = d.p + plane * oh * ow
      dst.update(repeating: 0, count: oh * ow)
      for k in 0..<(h * w) { dst[Int(idx[k])] = src[k] }
    }
  }
}

/// Maxout across channels: output channel `g` of a sample is the element-wise maximum of input
/// channels `g·k ..< (g + 1)·k` (`x.view(N, C/k, k, H, W).amax(2)`; a NaN wins, as in `torch.amax`).
func runMaxout(
  input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int, channels: Int, k: Int, spatial: Int,
  threads: Int
) {
  let s = SharedPointer(input)
  let d = SharedPointer(output)
  let groups = channels / k
  parallelFor(batch * groups, threads: threads, grain: max(1, 4096 / max(spatial * k, 1))) { range in
    for g in range {
      let src = s.p + g * k * spatial
      let dst = d.p + g * spatial
      dst.update(from: src, count: spatial)
      for c in 1..<max(k, 1) {
        let plane = src + c * spatial
        for i in 0..<spatial {
          let v = plane[i]
          if v > dst[i] || v.isNaN { dst[i] = v }
        }
      }
    }
  }
}
