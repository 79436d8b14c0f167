import ZooEngine

/// A kernel set and, for the engine's, the tier of its kernels: the routes a plan can take on this
/// CPU, so the GEMM and Winograd tests run on every tier.
struct KernelRoute: Sendable, CustomStringConvertible {
  let kernels: PlanOptions.Kernels
  let isa: PlanOptions.ISA?

  /// `blas`, then the engine's kernels on every tier this CPU runs.
  static var all: [KernelRoute] {
    PlanOptions.Kernels.supported.flatMap { k in
      k == .engine
        ? PlanOptions.ISA.supported.map { KernelRoute(kernels: k, isa: $0) } : [KernelRoute(kernels: k, isa: nil)]
    }
  }

  var description: String { isa.map { "\(kernels)/\($0)" } ?? kernels.description }

  static func == (route: KernelRoute, kernels: PlanOptions.Kernels) -> Bool { route.kernels == kernels }
}
