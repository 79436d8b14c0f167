import Dispatch

/// A raw float pointer that may cross into the worker closures of ``parallelFor(_:threads:_:)``.
///
/// Kernels split their output into disjoint ranges, so no two workers write the same element.
struct SharedPointer: @unchecked Sendable {
  var p: UnsafeMutablePointer<Float>
  init(_ p: UnsafeMutablePointer<Float>) { self.p = p }
  init(_ p: UnsafePointer<Float>) { self.p = UnsafeMutablePointer(mutating: p) }
}

/// Runs `body` over `0..<count` split into at most `threads` contiguous ranges, in parallel.
///
/// Small loops (under `grain` items per thread) run on the calling thread: dispatching costs more
/// than it saves.
func parallelFor(_ count: Int, threads: Int, grain: Int = 1, _ body: @Sendable (Range<Int>) -> Void) {
  let chunks = max(1, min(threads, count / max(grain, 1)))
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
