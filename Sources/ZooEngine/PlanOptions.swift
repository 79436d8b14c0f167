import Glibc

/// How a ``Network`` is compiled: which kernels run the convolutions and linear layers, whether
/// Winograd may be used, which fusion passes run, and how much memory the plan may take.
///
/// Every choice is made per plan, at run time, so one process can compile the same graph on every
/// path this CPU can run and compare them (the tests do).
public struct PlanOptions: Sendable, Hashable {
  /// The kernels that run group-free convolutions and linear layers.
  public enum Kernels: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// The engine's own packed-weight GEMM and Winograd (``PackedConvolution``): needs AVX-512F.
    case engine
    /// im2col + the system BLAS (OpenBLAS's `cblas_sgemm`), with the engine's loops on one thread.
    case blas

    public var description: String { rawValue }

    /// Whether this CPU runs these kernels.
    public var isSupported: Bool {
      switch self {
      case .engine: PackedConvolution.cpuHasAVX512
      case .blas: true
      }
    }

    /// The kernels this CPU runs, fastest first.
    public static var supported: [Kernels] { allCases.filter(\.isSupported) }

    /// The engine's kernels where the CPU runs them, unless `ZOO_KERNELS=blas` asks for the BLAS.
    public static var preferred: Kernels {
      if let text = getenv("ZOO_KERNELS"), String(cString: text) == "blas" { return .blas }
      return Kernels.engine.isSupported ? .engine : .blas
    }
  }

  /// Where 3×3 stride-1 convolutions (one group, dilation 1) run as Winograd F(2×2, 3×3).
  public enum Winograd: String, Sendable, Hashable, CaseIterable, CustomStringConvertible {
    /// Nowhere. Winograd's weights, transformed at load time, hold 16 values per 9, and the
    /// transform takes longer than it saves in a single pass (what `zoo run` plans).
    case off
    /// Where it measured faster (``WinogradConvolution/isUsed(_:inH:inW:engine:)``).
    case whereFaster = "where-faster"
    /// Wherever it applies, at any size (for testing the Winograd kernels on small graphs).
    case wherever

    public var description: String { rawValue }
  }

  public var kernels: Kernels
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
    kernels: Kernels? = nil, winograd: Winograd? = nil, fusions: Set<Fusion> = Set(Fusion.allCases),
    memoryLimit: Int = PlanOptions.defaultMemoryLimit
  ) {
    self.kernels = kernels ?? .preferred
    self.winograd = winograd ?? (WinogradConvolution.enabled ? .whereFaster : .off)
    self.fusions = fusions
    self.memoryLimit = memoryLimit
  }

  public static var `default`: PlanOptions { PlanOptions() }
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
