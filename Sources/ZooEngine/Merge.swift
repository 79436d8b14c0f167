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
