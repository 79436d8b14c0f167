import CZooKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// A raw float pointer that may cross into the worker closures of ``parallelFor(_:threads:grain:_:)``.
///
/// Kernels split their output into disjoint ranges, so no two workers write the same element.
struct SharedPointer: @unchecked Sendable {
  var p: UnsafeMutablePointer<Float>
  init(_ p: UnsafeMutablePointer<Float>) { self.p = p }
  init(_ p: UnsafePointer<Float>) { self.p = UnsafeMutablePointer(mutating: p) }
}

/// The most threads the engine's own loops (im2col, epilogues, pooling, batch norm, concat, add) use,
/// whatever `--threads` says: `ZOO_LOOP_THREADS`, else all of them when the convolutions run on the
/// engine's own GEMM (``PackedConvolution``), else 1.
///
/// Measured on this 2-core machine with the convolutions on OpenBLAS (2 BLAS threads, SkylakeX
/// kernels, four interleaved rounds, medians): OpenBLAS's workers keep spinning for a while after
/// every sgemm, and loops dispatched onto a second thread then fight them for the cores — ResNet-50
/// 63–69 ms with 1 loop thread against 69–130 ms with 2. So on that path the loops stay on the calling
/// thread. The engine's own GEMM shares its pool with the loops, and there both threads pay.
let engineLoopThreads =
  environmentInt("ZOO_LOOP_THREADS", minimum: 1) ?? (PackedConvolution.isAvailable ? Int.max : 1)

/// What a ``parallelFor(_:threads:grain:_:)`` worker needs, passed through the C pool's context pointer.
private struct ParallelJob {
  let count: Int
  let body: (Range<Int>) -> Void
}

/// Runs `body` over `0..<count` in parallel on the engine's thread pool: on at most
/// `min(threads, engineLoopThreads)` threads, which take contiguous ranges (8 per thread) in turn
/// (`zk_parallel_chunks`), so a thread slowed by the rest of the machine takes fewer.
///
/// Small loops (under `grain` items per thread) run on the calling thread: dispatching costs more
/// than it saves. So does a call made while the pool is busy — a `parallelFor` inside another's
/// `body`, or one from a second thread running its own network (`zk_parallel_chunks`): it never waits
/// for the pool, so nesting cannot deadlock and concurrent networks give the results of serial runs.
func parallelFor(_ count: Int, threads: Int, grain: Int = 1, _ body: @Sendable (Range<Int>) -> Void) {
  let used = max(1, min(min(threads, engineLoopThreads), count / max(grain, 1)))
  if used <= 1 {
    if count > 0 { body(0..<count) }
    return
  }
  let chunks = min(count, used * 8)
  withoutActuallyEscaping(body) { body in
    var job = ParallelJob(count: count, body: body)
    withUnsafeMutablePointer(to: &job) { pointer in
      zk_parallel_chunks(
        Int32(used), Int32(chunks),
        { context, index, chunks in
          let job = context!.assumingMemoryBound(to: ParallelJob.self).pointee
          let start = job.count * Int(index) / Int(chunks)
          let end = job.count * Int(index + 1) / Int(chunks)
          if start < end { job.body(start..<end) }
        }, pointer)
    }
  }
}
