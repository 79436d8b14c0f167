import ZooGraph

/// ShuffleNet's channel shuffle: output channel `j·groups + i` is a copy of input channel
/// `i·(C / groups) + j`, for every sample. One task copies one output plane.
func runChannelShuffle(
  input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int, channels: Int, groups: Int,
  spatial: Int, threads: Int
) {
  precondition(groups >= 1 && channels % groups == 0)
  let perGroup = channels / groups
  let (src, dst) = (SharedPointer(UnsafeMutablePointer(mutating: input)), SharedPointer(output))
  parallelFor(batch * channels, threads: threads, grain: max(1, 4096 / max(spatial, 1))) { range in
    for plane in range {
      let (n, o) = plane.quotientAndRemainder(dividingBy: channels)
      let (j, i) = o.quotientAndRemainder(dividingBy: groups)
      let from = src.p + (n * channels + i * perGroup + j) * spatial
      (dst.p + plane * spatial).update(from: from, count: spatial)
    }
  }
}

/// A channel slice: channels `start ..< start + count` of every sample, copied into a buffer of its
/// own. One task copies one output plane.
func runChannelSlice(
  input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int, channels: Int, start: Int,
  count: Int, spatial: Int, threads: Int
) {
  precondition(start >= 0 && count >= 1 && start + count <= channels)
  let (src, dst) = (SharedPointer(UnsafeMutablePointer(mutating: input)), SharedPointer(output))
  parallelFor(batch * count, threads: threads, grain: max(1, 4096 / max(spatial, 1))) { range in
    for plane in range {
      let (n, c) = plane.quotientAndRemainder(dividingBy: count)
      (dst.p + plane * spatial).update(from: src.p + (n * channels + start + c) * spatial, count: spatial)
    }
  }
}
