import Dispatch
import Glibc

/// A raw float pointer that may cross into the worker closures of ``parallelFor(_:threads:grain:_:)``.
///
/// Kernels split their output into disjoint ranges, so no two workers write the same element.
struct SharedPointer: @unchecked Sendable {
  var p: UnsafeMutablePointer<Float>
  init(_ p: UnsafeMutablePointer<Float>) { self.p = p }
  init(_ p: UnsafePointer<Float>) { self.p = UnsafeMutablePointer(mutating: p) }
}

/// The most threads the engine's own loops (im2col, epilogues, pooling, batch norm, concat, add) use,
/// whatever `--threads` says: `ZOO_LOOP_THREADS`, default 1.
///
/// Measured on this 2-core machine with 2 BLAS threads (SkylakeX kernels, four interleaved rounds,
/// medians): OpenBLAS's workers keep spinning for a while after every sgemm, and loops dispatched
/// onto a second thread then fight them for the cores — ResNet-50 63–69 ms with 1 loop thread against
/// 69–130 ms with 2, DenseNet-121 62–65 ms (one outlier) against 65–150 ms, ResNet-18 about equal
/// (32–34 against 29–36 ms). One loop thread is as fast at best and far steadier, so the loops stay on
/// the calling thread while the BLAS uses both cores; set `ZOO_LOOP_THREADS=2` to measure again.
let engineLoopThreads: Int = {
  guard let text = getenv("ZOO_LOOP_THREADS"), let n = Int(String(cString: text)), n >= 1 else { return 1 }
  return n
}()

/// Runs `body` over `0..<count` split into at most `min(threads, engineLoopThreads)` contiguous
/// ranges, in parallel.
///
/// Small loops (under `grain` items per thread) run on the calling thread: dispatching costs more
/// than it saves.
func parallelFor(_ count: Int, threads: Int, grain: Int = 1, _ body: @Sendable (Range<Int>) -> Void) {
  let chunks = max(1, min(min(threads, engineLoopThreads), count / max(grain, 1)))
  if chunks <= 1 {
    if count > 0 { body(0..<count) }
    return
  }
  DispatchQueue.concurrentPerform(iterations: chunks) { c in
    let start = count * c / chunks
    let end = count * (c + 1) / chunks
    if start < end { body(start..<end) }
  }
}
