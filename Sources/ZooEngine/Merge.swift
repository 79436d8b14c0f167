import CZooKernels
import ZooGraph

/// Channel concatenation, NCHW: for each sample, every input's `C_i × H × W` block is copied in turn.
func runConcat(
  inputs: [(UnsafePointer<Float>, Int)], output: UnsafeMutablePointer<Float>, batch: Int, spatial: Int, threads: Int
) {
  let total = inputs.reduce(0) { $0 + $1.1 } * spatial
  var jobs: [(SharedPointer, SharedPointer, Int)] = []
  for n in 0..<batch {
    var offset = n * total
    for (src, channels) in inputs {
      let count = channels * spatial
      jobs.append((SharedPointer(src + n * count), SharedPointer(output + offset), count))
      offset += count
    }
  }
  let all = jobs
  parallelFor(all.count, threads: threads) { range in
    for j in range { all[j].1.p.update(from: all[j].0.p, count: all[j].2) }
  }
}

/// Channel concatenation with batch norm at inference (and ReLU) applied on the way:
/// `out[n, c] = act(in[n, c] · scale[c] + shift[c])`, `c` counted across the inputs in turn. Work is
/// split into blocks of at most 16 channels of one input and sample, each a `zk_channel_affine` on
/// the calling worker. Activations other than ReLU run as a pass afterwards.
func runConcatAffine(
  inputs: [(UnsafePointer<Float>, Int)], output: UnsafeMutablePointer<Float>, batch: Int, spatial: Int,
  affine: BatchNormKernel, threads: Int
) {
  let total = inputs.reduce(0) { $0 + $1.1 }
  let relu = affine.activation == .relu
  // (source, destination, first channel, channels)
  var jobs: [(SharedPointer, SharedPointer, Int, Int)] = []
  for n in 0..<batch {
    var channel = 0
    for (src, channels) in inputs {
      for c0 in stride(from: 0, to: channels, by: 16) {
        let count = min(16, channels - c0)
        jobs.append(
          (
            SharedPointer(src + (n * channels + c0) * spatial),
            SharedPointer(output + (n * total + channel + c0) * spatial), channel + c0, count
          ))
      }
      channel += channels
    }
  }
  let all = jobs
  affine.scale.withUnsafeBufferPointer { sc in
    affine.shift.withUnsafeBufferPointer { sh in
      let (scp, shp) = (SharedPointer(sc.baseAddress!), SharedPointer(sh.baseAddress!))
      parallelFor(all.count, threads: threads, grain: max(1, 4096 / max(16 * spatial, 1))) { range in
        for (src, dst, c0, count) in all[range] {
          zk_channel_affine(
            src.p, dst.p, scp.p + c0, shp.p + c0, Int32(count), count, spatial, relu ? 1 : 0, 1)
        }
      }
    }
  }
  if let a = affine.activation, a != .relu {
    applyActivation(a, output, output, count: batch * total * spatial)
  }
}

/// Element-wise sum of the inputs, then the fused activation (ResNet's `relu(out + identity)`); two
/// inputs with ReLU or nothing after them (every add in the zoo) run as `zk_add`.
func runAdd(
  inputs: [UnsafePointer<Float>], output: UnsafeMutablePointer<Float>, count: Int, activation: Activation?,
  threads: Int
) {
  if inputs.count == 2 && (activation == nil || activation == .relu) {
    zk_add(inputs[0], inputs[1], output, count, activation == .relu ? 1 : 0, Int32(min(threads, engineLoopThreads)))
    return
  }
  let srcs = inputs.map { SharedPointer($0) }
  let d = SharedPointer(output)
  let blocks = (count + 4095) / 4096
  parallelFor(blocks, threads: threads, grain: 8) { range in
    let start = range.lowerBound * 4096
    let end = min(count, range.upperBound * 4096)
    let y = d.p + start
    let a = srcs[0].p + start
    let n = end - start
    if srcs.count == 2 {
      let b = srcs[1].p + start
      if activation == .relu {
        for i in 0..<n { y[i] = max(a[i] + b[i], 0) }
        return
      }
      for i in 0..<n { y[i] = a[i] + b[i] }
    } else {
      for i in 0..<n { y[i] = a[i] }
      for s in srcs.dropFirst() {
        let b = s.p + start
        for i in 0..<n { y[i] += b[i] }
      }
    }
    if let activation { applyActivation(activation, y, y, count: n) }
  }
}
