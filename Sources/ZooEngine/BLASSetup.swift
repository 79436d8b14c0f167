import CBLAS
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Picks OpenBLAS's AVX-512 kernels on CPUs it does not recognise.
///
/// Debian's OpenBLAS 0.3.21 chooses its kernels when the library loads, from `OPENBLAS_CORETYPE` or
/// the CPU id; it takes AMD Zen 4 for "Haswell" (AVX2) and leaves half of the sgemm speed unused
/// (measured here: ~35–43 GFLOP/s against ~80–100 with the SkylakeX kernels on 2 busy cores). Because
/// the choice is made before `main`, the only way to change it is to set the variable and re-execute
/// the program once. Nothing happens when the variable is already set (an explicit choice is
/// respected: this machine's environment sets `OPENBLAS_CORETYPE=Haswell`), when `ZOO_KEEP_BLAS_CORE`
/// is set, when the CPU lacks AVX-512F/BW/DQ/VL, or when OpenBLAS already chose an AVX-512 kernel.
public enum BLASSetup {
  /// The kernel set OpenBLAS runs, e.g. `Haswell` or `SkylakeX` (`OPENBLAS_CORETYPE` when set:
  /// `openblas_get_corename` reports the detected CPU, not the forced kernels).
  public static var coreName: String {
    if let forced = getenv("OPENBLAS_CORETYPE") { return String(cString: forced) }
    return zoo_blas_name().map { String(cString: $0) } ?? "unknown"
  }

  /// The `flags` line of /proc/cpuinfo.
  static func cpuFlagsLine() -> String? { procLine("/proc/cpuinfo", startingWith: "flags") }

  /// Re-executes the current program with `OPENBLAS_CORETYPE=SkylakeX` when that would help.
  /// Returns only when no re-execution was needed (or it failed).
  public static func preferAVX512Kernels() {
    guard getenv("OPENBLAS_CORETYPE") == nil, getenv("ZOO_KEEP_BLAS_CORE") == nil else { return }
    let name = coreName.lowercased()
    guard name.hasPrefix("haswell") || name.hasPrefix("zen") else { return }
    guard let flagsLine = cpuFlagsLine() else { return }
    let flags = Set(flagsLine.split(separator: " ").map(String.init))
    guard ["avx512f", "avx512bw", "avx512dq", "avx512vl"].allSatisfy(flags.contains) else { return }
    setenv("OPENBLAS_CORETYPE", "SkylakeX", 1)
    var args = CommandLine.arguments.map { strdup($0) } + [nil]
    execv("/proc/self/exe", &args)
    // execv returned: it failed; carry on with the kernels we have.
    for a in args { free(a) }
  }
}

/// The first line of a /proc file that starts with `prefix`, trimmed (read with stdio: /proc files
/// report a size of 0).
func procLine(_ path: String, startingWith prefix: String) -> String? {
  guard let f = fopen(path, "r") else { return nil }
  defer { fclose(f) }
  var line: UnsafeMutablePointer<CChar>? = nil
  var capacity = 0
  defer { free(line) }
  while getline(&line, &capacity, f) > 0 {
    let text = String(cString: line!)
    if text.hasPrefix(prefix) { return text.trimmingCharacters(in: .whitespacesAndNewlines) }
  }
  return nil
}
