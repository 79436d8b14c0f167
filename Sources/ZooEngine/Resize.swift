import ZooGraph

/// Source positions of one axis of an upsampling: output `o` reads `lo[o]` with weight `1 − t[o]` and
/// `hi[o]` with weight `t[o]` (nearest: `lo = hi`, `t = 0`).
struct ResizeAxis {
  var lo: [Int]
  var hi: [Int]
  var t: [Float]

  /// PyTorch's rules for an axis of `n` inputs and `o` outputs; see ``Upsample``.
  init(_ u: Upsample, n: Int, o: Int) {
    lo = Array(repeating: 0, count: o)
    hi = lo
    t = Array(repeating: 0, count: o)
    for i in 0..<o {
      switch u.mode {
      case .nearest:
        lo[i] = min(i * n / o, n - 1)
        hi[i] = lo[i]
      case .bilinear:
        let src: Double
        if u.alignCorners {
          src = o > 1 ? Double(i) * Double(n - 1) / Double(o - 1) : 0
        } else {
          src = max((Double(i) + 0.5) * Double(n) / Double(o) - 0.5, 0)
        }
        let i0 = min(Int(src), n - 1)
        lo[i] = i0
        hi[i] = min(i0 + 1, n - 1)
        t[i] = Float(src - Double(i0))
      }
    }
  }
}

/// Nearest or bilinear upsampling of `planes` planes of `h × w` to `oh × ow`.
func runUpsample(
  _ u: Upsample, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, planes: Int, h: Int, w: Int,
  oh: Int, ow: Int, threads: Int
) {
  let rows = ResizeAxis(u, n: h, o: oh)
  let cols = ResizeAxis(u, n: w, o: ow)
  let s = SharedPointer(input)
  let d = SharedPointer(output)
  parallelFor(planes, threads: threads, grain: 4) { range in
    for plane in range {
      let src = s.p + plane * h * w
      let dst = d.p + plane * oh * ow
      for y in 0..<oh {
        let r0 = src + rows.lo[y] * w
        let r1 = src + rows.hi[y] * w
        let ty = rows.t[y]
        let out = dst + y * ow
        if u.mode == .nearest {
          for x in 0..<ow { out[x] = r0[cols.lo[x]] }
        } else {
          for x in 0..<ow {
            let (a, b, tx) = (cols.lo[x], cols.hi[x], cols.t[x])
            let top = r0[a] + tx * (r0[b] - r0[a])
            let bottom = r1[a] + tx * (r1[b] - r1[a])
            out[x] = top + ty * (bottom - top)
          }
        }
      }
    }
  }
}
