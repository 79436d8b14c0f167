import CZooKernels

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// How a ``Network`` is compiled: which kernels run the convolutions and linear layers, whether
/// Winograd may be used, which fusion passes run, and how much memory the plan may take.
///
/// Every choice is made per plan, at run time, so one process can compile the same graph on every
/// path this CPU can run and compare them (the tests do).
public struct PlanOptions: Sendable, Hashable {
  /// The kernels that run group-free convolutions and linear layers.
  public enum Kernels: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The engine's own packed-weight GEMM and Winograd (``PackedConvolution``), on the tier of
    /// ``PlanOptions/isa``: runs on every CPU.
    case engine
    /// im2col + the system BLAS (OpenBLAS's `cblas_sgemm`), with the engine's loops on one thread.
    case blas

    public var description: String { rawValue }

    /// Whether this CPU runs these kernels.
    public var isSupported: Bool {
      switch self {
      case .engine, .blas: true
      }
    }

    /// The kernels this CPU runs, fastest first.
    public static var supported: [Kernels] { allCases.filter(\.isSupported) }

    /// The engine's kernels, unless `ZOO_KERNELS=blas` asks for the BLAS.
    public static var preferred: Kernels {
      if let text = getenv("ZOO_KERNELS"), String(cString: text) == "blas" { return .blas }
      return .engine
    }
  }

  /// The instruction-set tier of the engine's kernels: the same GEMM, narrow-column GEMM and
  /// Winograd, with the same fusions and parallel loops, for AVX-512 (hand-written intrinsics) and,
  /// from one source in Clang's vector extensions (`tier.h`), for AVX2 + FMA, NEON and a portable
  /// baseline (SSE2 on x86-64).
  public enum ISA: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    case avx512
    case avx2
    case neon
    case generic

    public var description: String { rawValue }

    /// The tier's number in the C kernels' entry points (`ZK_ISA_*`).
    public var code: Int32 {
      switch self {
      case .avx512: Int32(ZK_ISA_AVX512)
      case .avx2: Int32(ZK_ISA_AVX2)
      case .neon: Int32(ZK_ISA_NEON)
      case .generic: Int32(ZK_ISA_GENERIC)
      }
    }

    /// Whether this build and CPU run the tier.
    public var isSupported: Bool { zk_isa_supported(code) != 0 }

    /// The tiers this CPU runs, fastest first.
    public static var supported: [ISA] { allCases.filter(\.isSupported) }

    /// The fastest tier this CPU runs.
    public static var best: ISA { supported[0] }

    /// The tier `ZOO_ISA` names, or ``best`` when it is unset; a name that is not a tier, or a tier
    /// this CPU lacks, is refused (never replaced by another tier).
    public static func fromEnvironment() throws(EngineError) -> ISA {
      guard let text = getenv("ZOO_ISA").map({ String(cString: $0) }), !text.isEmpty else { return best }
      return try named(text, source: "ZOO_ISA")
    }

    /// The tier called `name`, checked against this CPU; `source` names where the name came from.
    public static func named(_ name: String, source: String) throws(EngineError) -> ISA {
      guard let isa = ISA(rawValue: name) else {
        throw EngineError(
          "\(source)=\(name) is not a kernel tier; the tiers are "
            + allCases.map { "`\($0)`" }.joined(separator: ", "))
      }
      try isa.check(source: source)
      return isa
    }

    /// Throws when this CPU does not run the tier.
    func check(source: String) throws(EngineError) {
      guard isSupported else {
        throw EngineError(
          "\(source) asks for the `\(self)` kernels, which this CPU (or build) cannot run; it runs: "
            + ISA.supported.map { "`\($0)`" }.joined(separator: ", "))
      }
    }
  }

  /// Where 3×3 stride-1 convolutions (one group, dilation 1) run as Winograd F(2×2, 3×3) or
  /// F(4×4, 3×3).
  public enum Winograd: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Nowhere. Winograd's weights, transformed at load time, hold 16 values per 9, and the
    /// transform takes longer than it saves in a single pass (what `zoo run` plans).
    case off
    /// Where it measured faster (``WinogradConvolution/isUsed(_:inH:inW:engine:)``), with the tile
    /// size that measured faster there (``WinogradConvolution/engineTile(_:inH:inW:)``).
    case whereFaster = "where-faster"
    /// F(2×2, 3×3) wherever it applies, at any size (for testing the Winograd kernels on small graphs).
    case wherever
    /// F(4×4, 3×3) wherever it applies on the engine's kernels, at any size (for testing); F(2×2,
    /// 3×3) on the OpenBLAS path, which has no F(4×4).
    case whereverF4 = "wherever-f4"

    public var description: String { rawValue }
  }

  public var kernels: Kernels
  /// The tier of the engine's kernels; nil takes ``ISA/fromEnvironment()`` when the plan is
  /// compiled (`ZOO_ISA`, else the fastest tier this CPU runs).
  public var isa: ISA?
  public var winograd: Winograd
  /// The fusion passes that run (all by default; none gives one kernel per node).
  public var fusions: Set<Fusion>
  /// The most bytes the plan may hold — activation arena, weights (after packing) and scratch —
  /// before anything is allocated; a larger plan is refused with both figures.
  public var memoryLimit: Int

  /// Three quarters of the physical memory (8 GiB where it cannot be read): the largest plan that
  /// runs without pushing the machine into swap.
  public static let defaultMemoryLimit: Int = {
    let pages = sysconf(Int32(_SC_PHYS_PAGES))
    let size = sysconf(Int32(_SC_PAGESIZE))
    guard pages > 0, size > 0 else { return 8 << 30 }
    let (bytes, overflow) = pages.multipliedReportingOverflow(by: size)
    return overflow ? Int.max : bytes / 4 * 3
  }()

  /// `kernels` nil takes ``Kernels/preferred``; `winograd` nil takes `ZOO_WINOGRAD` (`0`: off, else
  /// where faster).
  public init(
    kernels: Kernels? = nil, isa: ISA? = nil, winograd: Winograd? = nil, fusions: Set<Fusion> = Set(Fusion.allCases),
    memoryLimit: Int = PlanOptions.defaultMemoryLimit
  ) {
    self.kernels = kernels ?? .preferred
    self.isa = isa
    self.winograd = winograd ?? (WinogradConvolution.enabled ? .whereFaster : .off)
    self.fusions = fusions
    self.memoryLimit = memoryLimit
  }

  public static var `default`: PlanOptions { PlanOptions() }

  /// The tier the plan runs: ``isa`` checked against this CPU, or ``ISA/fromEnvironment()``.
  public func resolvedISA() throws(EngineError) -> ISA {
    guard let isa else { return try ISA.fromEnvironment() }
    try isa.check(source: "the plan")
    return isa
  }
}

/// The plan compiler's fusion passes, in the order they run. Each folds a node into the kernel that
/// computes its input, so the node's value is never written on its own; each states its
/// precondition in ``PlanDraft``.
public enum Fusion: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
  /// Batch norm folded into the weights and bias of the convolution before it.
  case batchNormFolding = "bn-folding"
  /// Batch norm (and what follows) applied while copying a concatenation (DenseNet's
  /// `norm1(cat(features))`).
  case concatBatchNorm = "concat-bn"
  /// `conv(x) + identity` with the add in the convolution's epilogue.
  case residualEpilogue = "residual-epilogue"
  /// An activation applied by the kernel before it (convolution, linear, batch norm, add).
  case activationFusion = "activation"

  public var description: String { rawValue }
}
