import ZooGraph

/// The source index of padded position `i` (from `−before` on) along an axis of `n` cells, or −1 for a
/// constant: PyTorch's `F.pad` modes (reflect mirrors about the edge cell without repeating it,
/// replicate repeats the edge cell, circular wraps around).
func padSource(_ i: Int, _ n: Int, _ mode: PadMode) -> Int {
  if i >= 0 && i < n { return i }
  switch mode {
  case .zeros: return -1
  case .reflect: return i < 0 ? -i : 2 * (n - 1) - i
  case .replicate: return i < 0 ? 0 : n - 1
  case .circular: return ((i % n) + n) % n
  }
}

/// Pads every `h × w` plane of `input` into the `(h + top + bottom) × (w + left + right)` planes of
/// `output` (``Padding2D``; the shape check has ruled out what PyTorch refuses).
func runPad(
  _ p: Padding2D, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, planes: Int, h: Int, w: Int,
  threads: Int
) {
  let oh = h + p.top + p.bottom
  let ow = w + p.left + p.right
  let rows = (0..<oh).map { padSource($0 - p.top, h, p.mode) }
  let cols = (0..<ow).map { padSource($0 - p.left, w, p.mode) }
  let value = Float(p.value)
  let src = SharedPointer(input)
  let dst = SharedPointer(output)
  parallelFor(planes, threads: threads, grain: max(1, 16_384 / max(1, oh * ow))) { range in
    for plane in range {
      let x = src.p + plane * h * w
      let y = dst.p + plane * oh * ow
      for r in 0..<oh {
        let out = y + r * ow
        let sr = rows[r]
        guard sr >= 0 else {
          out.update(repeating: value, count: ow)
          continue
        }
        let row = x + sr * w
        for c in 0..<p.left { out[c] = cols[c] >= 0 ? row[cols[c]] : value }
        (out + p.left).update(from: row, count: w)
        for c in (p.left + w)..<ow { out[c] = cols[c] >= 0 ? row[cols[c]] : value }
      }
    }
  }
}

/// Copies the `oh × ow` window at `offset` of every `h × w` plane of `input` into `output`.
func runCrop(
  offset: Pair, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, planes: Int, h: Int, w: Int,
  oh: Int, ow: Int, threads: Int
) {
  let src = SharedPointer(input)
  let dst = SharedPointer(output)
  parallelFor(planes, threads: threads, grain: max(1, 16_384 / max(1, oh * ow))) { range in
    for plane in range {
      let x = src.p + plane * h * w + offset.h * w + offset.w
      let y = dst.p + plane * oh * ow
      for r in 0..<oh { (y + r * ow).update(from: x + r * w, count: ow) }
    }
  }
}
