import CBLAS
import CZooKernels
import Foundation
import ZooGraph

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Measurement helpers for `zoo bench`.
public enum Benchmark {
  /// Seconds of a monotonic clock.
  public static func now() -> Double {
    var t = timespec()
    clock_gettime(CLOCK_MONOTONIC, &t)
    return Double(t.tv_sec) + Double(t.tv_nsec) * 1e-9
  }

  /// The best sgemm rate of the BLAS on this machine with `threads` threads, in GFLOP/s:
  /// `C = A · B` with square `n × n` float32 matrices, `2n³` flops per call, best of `repeats`.
  public static func sgemmPeak(threads: Int, n: Int = 1536, repeats: Int = 5) -> Double {
    zoo_blas_set_threads(Int32(threads))
    let a = [Float](repeating: 0.5, count: n * n)
    let b = [Float](repeating: 0.25, count: n * n)
    var c = [Float](repeating: 0, count: n * n)
    var best = Double.infinity
    for _ in 0..<repeats {
      let t0 = now()
      cblas_sgemm(
        CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(n), Int32(n), 1, a, Int32(n), b, Int32(n), 0, &c,
        Int32(n))
      best = min(best, now() - t0)
    }
    return 2 * Double(n) * Double(n) * Double(n) / best / 1e9
  }

  /// The best rate of the engine's own convolution GEMM (``PackedConvolution``) on tier `isa` with
  /// `threads` threads, in GFLOP/s, on the same square problem as ``sgemmPeak(threads:n:repeats:)``;
  /// nil when the engine uses the BLAS instead.
  public static func engineGEMMPeak(
    threads: Int, isa: PlanOptions.ISA, n: Int = 1536, repeats: Int = 5
  ) -> Double? {
    guard PackedConvolution.isAvailable, isa.isSupported else { return nil }
    let conv = Conv2D(inChannels: n, outChannels: n, kernel: Pair(1))
    var a = [Float](repeating: 0.5, count: n * n)
    let packed = PackedConvolution(conv, packing: &a, transposed: false, isa: isa)
    let b = [Float](repeating: 0.25, count: n * n)
    var c = [Float](repeating: 0, count: n * n)
    let offsets = (0..<n).map { $0 * n }
    var best = Double.infinity
    for _ in 0..<repeats {
      let t0 = now()
      b.withUnsafeBufferPointer { bp in
        c.withUnsafeMutableBufferPointer { cp in
          packed.gemm(
            b: bp.baseAddress!, offsets: offsets, n: n, bias: nil, act: 0, c: cp.baseAddress!, ldc: n,
            threads: threads)
        }
      }
      best = min(best, now() - t0)
    }
    return 2 * Double(n) * Double(n) * Double(n) / best / 1e9
  }

  /// The arithmetic peak of tier `isa` with `threads` threads, in GFLOP/s: its register-only
  /// multiply-add loop (`zk_fma_peak_run`, no memory traffic) run once on each thread, best of
  /// `repeats`. The share of it a model reaches says how far the kernels are from the instructions'
  /// limit, which a GEMM rate (itself below the peak) cannot say.
  public static func fmaPeak(threads: Int, isa: PlanOptions.ISA, iterations: Int = 4_000_000, repeats: Int = 5)
    -> Double?
  {
    guard isa.isSupported else { return nil }
    var best = 0.0
    for _ in 0..<repeats {
      let t0 = now()
      let flops = zk_fma_peak_run(isa.code, Int32(threads), iterations, 1)
      best = max(best, flops / (now() - t0) / 1e9)
    }
    return best
  }

  /// The process's peak resident set size in bytes: `VmHWM` of /proc/self/status.
  ///
  /// Not `getrusage`'s `ru_maxrss`: that one survives `fork` and `execve`, so a zoo started from a
  /// large process (a Python benchmark script with torch loaded) would report its parent's peak.
  /// Where there is no /proc (macOS), `ru_maxrss` (bytes there) is the fallback.
  public static func peakResidentBytes() -> Int {
    if let line = procLine("/proc/self/status", startingWith: "VmHWM:") {
      return (line.split(separator: " ").compactMap { Int($0) }.first ?? 0) * 1024
    }
    #if canImport(Glibc)
      let thisProcess = __rusage_who_t(RUSAGE_SELF.rawValue)
    #else
      let thisProcess = RUSAGE_SELF
    #endif
    var usage = rusage()
    guard getrusage(thisProcess, &usage) == 0 else { return 0 }
    #if canImport(Darwin)
      return Int(usage.ru_maxrss)
    #else
      return Int(usage.ru_maxrss) * 1024
    #endif
  }
}
