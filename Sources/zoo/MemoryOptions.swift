import ArgumentParser
import Foundation
import ZooAnalysis
import ZooGraph

extension DType: ExpressibleByArgument {}
extension Optimizer: ExpressibleByArgument {}

/// Options of the memory figures (`describe`, `compare`).
struct MemoryOptions: ParsableArguments {
  @Option(help: "The element type of weights and activations for the byte figures: fp32, fp16, bf16 or int8.")
  var dtype: DType = .fp32

  @Option(
    help: """
      The optimiser whose state the training figure includes: sgd (none), momentum (one value per \
      trainable parameter, how the classic networks were trained) or adam (two).
      """)
  var optimizer: Optimizer = .momentum
}

/// The inference plan and the training figure of one analysed model.
struct MemoryFigures {
  var liveness: Liveness
  var training: TrainingMemory

  init(_ s: Summary, _ o: MemoryOptions) throws {
    do {
      liveness = try Liveness(s, dtype: o.dtype)
      training = try TrainingMemory(s, dtype: o.dtype, optimizer: o.optimizer)
    } catch {
      throw ZooError("\(s.graph.name): \(error)")
    }
  }
}

/// `553433376` → `553.43 MB` (decimal units, as torchinfo prints them).
func byteText(_ n: Int) -> String {
  let units: [(Double, String)] = [(1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")]
  let d = Double(n)
  for (scale, unit) in units where d >= scale {
    return String(format: "%.2f %@", d / scale, unit)
  }
  return "\(n) B"
}

/// The memory block of `zoo describe`: parameter bytes, the inference peak, the training figure.
func memoryFooter(_ s: Summary, _ m: MemoryFigures) -> [String] {
  let l = m.liveness
  let t = m.training
  let opt =
    t.optimizer == .sgd ? "no optimiser state (sgd)" : "\(t.optimizer.rawValue) state \(byteText(t.optimizerBytes))"
  return [
    "Memory at \(t.dtype.rawValue), batch \(s.batch) (docs/memory.md):",
    "  Parameters:     \(grouped(t.paramBytes)) bytes (\(byteText(t.paramBytes)))",
    "  Inference peak: \(grouped(l.peakBytes)) bytes (\(byteText(l.peakBytes))) at `\(s.graph.nodes[l.peakNode].name)` "
      + "(step \(l.peakStep) of 0…\(l.order.count - 1) in graph order)",
    "  Training:       \(grouped(t.totalBytes)) bytes (\(byteText(t.totalBytes))) = weights \(byteText(t.paramBytes)) "
      + "+ gradients \(byteText(t.gradientBytes)) + \(opt) + saved activations \(byteText(t.savedActivationBytes))",
  ]
}

/// The `memory` object of the JSON documents (docs/memory.md).
struct MemoryDocument: Encodable {
  var dtype: String
  var batch: Int
  var optimizer: String
  var paramBytes: Int
  var inferencePeakBytes: Int
  var inferencePeakLayer: String
  var inferencePeakStep: Int
  var trainingBytes: Int
  var training: Training

  struct Training: Encodable {
    var paramBytes, gradientBytes, optimizerBytes, savedActivationBytes: Int
  }

  init(_ s: Summary, _ m: MemoryFigures) {
    let t = m.training
    dtype = t.dtype.rawValue
    batch = s.batch
    optimizer = t.optimizer.rawValue
    paramBytes = t.paramBytes
    inferencePeakBytes = m.liveness.peakBytes
    inferencePeakLayer = s.graph.nodes[m.liveness.peakNode].name
    inferencePeakStep = m.liveness.peakStep
    trainingBytes = t.totalBytes
    training = Training(
      paramBytes: t.paramBytes, gradientBytes: t.gradientBytes, optimizerBytes: t.optimizerBytes,
      savedActivationBytes: t.savedActivationBytes)
  }
}
