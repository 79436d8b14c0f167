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

/// How an add or mul combines its inputs.
enum MergeArithmetic: Sendable {
  case sum, product
}

/// Element-wise sum of the inputs, then the fused activation (ResNet's `relu(out + identity)`); two
/// equal-shaped inputs with ReLU or nothing after them (every add in the zoo) run as `zk_add`. Inputs
/// whose per-sample shapes differ broadcast to `outShape` (``broadcastMerge``).
func runAdd(
  inputs: [(UnsafePointer<Float>, [Int])], output: UnsafeMutablePointer<Float>, outShape: [Int], batch: Int,
  activation: Activation?, threads: Int
) {
  let count = outShape.reduce(1, *) * batch
  guard inputs.allSatisfy({ $0.1 == outShape }) else {
    broadcastMerge(
      .sum, inputs: inputs, output: output, outShape: outShape, batch: batch, activation: activation, threads: threads)
    return
  }
  if inputs.count == 2 && (activation == nil || activation == .relu) {
    zk_add(
      inputs[0].0, inputs[1].0, output, count, activation == .relu ? 1 : 0, Int32(min(threads, engineLoopThreads)))
    return
  }
  equalMerge(.sum, inputs: inputs.map(\.0), output: output, count: count, activation: activation, threads: threads)
}

/// Element-wise product of the inputs (`torch.mul`), then the fused activation. Equal shapes run as
/// one flat loop; otherwise the inputs broadcast to `outShape` (``broadcastMerge``), with a fast path
/// for a per-channel scale `[C, 1, 1]` (squeeze-and-excitation) and for a `[1, H, W]` gate.
func runMul(
  inputs: [(UnsafePointer<Float>, [Int])], output: UnsafeMutablePointer<Float>, outShape: [Int], batch: Int,
  activation: Activation?, threads: Int
) {
  guard inputs.allSatisfy({ $0.1 == outShape }) else {
    broadcastMerge(
      .product, inputs: inputs, output: output, outShape: outShape, batch: batch, activation: activation,
      threads: threads)
    return
  }
  equalMerge(
    .product, inputs: inputs.map(\.0), output: output, count: outShape.reduce(1, *) * batch,
    activation: activation, threads: threads)
}

/// The sum or product of equal-shaped inputs, `count` floats each, in blocks of 4096; `output` may
/// be the first input (in place).
private func equalMerge(
  _ arithmetic: MergeArithmetic, inputs: [UnsafePointer<Float>], output: UnsafeMutablePointer<Float>, count: Int,
  activation: Activation?, threads: Int
) {
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
      switch (arithmetic, activation) {
      case (.sum, .relu?):
        for i in 0..<n { y[i] = max(a[i] + b[i], 0) }
        return
      case (.sum, _):
        for i in 0..<n { y[i] = a[i] + b[i] }
      case (.product, _):
        for i in 0..<n { y[i] = a[i] * b[i] }
      }
    } else {
      if UnsafePointer(y) != UnsafePointer(a) { y.update(from: a, count: n) }
      for s in srcs.dropFirst() {
        let b = s.p + start
        switch arithmetic {
        case .sum: for i in 0..<n { y[i] += b[i] }
        case .product: for i in 0..<n { y[i] *= b[i] }
        }
      }
    }
    if let activation { applyActivation(activation, y, y, count: n) }
  }
}

/// The sum or product of inputs of different per-sample shapes, broadcast by PyTorch's rule to
/// `outShape` (every axis equal to the output's or 1). Shapes of fewer than three axes (feature
/// vectors) are read as `[F, 1, 1]`. Work is split over the output's `batch × C` planes; each plane
/// starts from the first input and combines the others in turn: a whole plane when the input's
/// plane has the output's size, one scalar when it is `1 × 1` (a per-channel scale), a row or one
/// value per row otherwise. `output` may be the first input's buffer only when that input has the
/// output's shape (the memory plan's in-place rule); no other input may share it.
func broadcastMerge(
  _ arithmetic: MergeArithmetic, inputs: [(UnsafePointer<Float>, [Int])], output: UnsafeMutablePointer<Float>,
  outShape: [Int], batch: Int, activation: Activation?, threads: Int
) {
  func three(_ s: [Int]) -> (c: Int, h: Int, w: Int) {
    s.count == 3 ? (s[0], s[1], s[2]) : (s.first ?? 1, 1, 1)
  }
  let (oc, oh, ow) = three(outShape)
  let plane = oh * ow
  let srcs = inputs.map { (SharedPointer($0.0), three($0.1)) }
  let d = SharedPointer(output)
  parallelFor(batch * oc, threads: threads, grain: max(1, 4096 / max(plane, 1))) { range in
    for q in range {
      let (n, c) = q.quotientAndRemainder(dividingBy: oc)
      let y = d.p + q * plane
      for (k, (src, s)) in srcs.enumerated() {
        // This input's plane for output plane (n, c): its channel is c, or 0 when it has one.
        let x = src.p + (n * s.c + (s.c == 1 ? 0 : c)) * s.h * s.w
        let first = k == 0
        func combine(_ i: Int, _ v: Float) {
          if first {
            y[i] = v
          } else {
            switch arithmetic {
            case .sum: y[i] += v
            case .product: y[i] *= v
            }
          }
        }
        if s.h == oh && s.w == ow {
          if first {
            if UnsafePointer(y) != UnsafePointer(x) { y.update(from: x, count: plane) }
          } else {
            switch arithmetic {
            case .sum: for i in 0..<plane { y[i] += x[i] }
            case .product: for i in 0..<plane { y[i] *= x[i] }
            }
          }
        } else if s.h == 1 && s.w == 1 {
          let v = x[0]
          if first {
            y.update(repeating: v, count: plane)
          } else {
            switch arithmetic {
            case .sum: for i in 0..<plane { y[i] += v }
            case .product: for i in 0..<plane { y[i] *= v }
            }
          }
        } else {
          for r in 0..<oh {
            let row = x + (s.h == 1 ? 0 : r * s.w)
            for j in 0..<ow { combine(r * ow + j, row[s.w == 1 ? 0 : j]) }
          }
        }
      }
      if let activation { applyActivation(activation, y, y, count: plane) }
    }
  }
}
