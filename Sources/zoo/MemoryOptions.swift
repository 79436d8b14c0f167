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
  var param_bytes: Int
  var inference_peak_bytes: Int
  var inference_peak_layer: String
  var inference_peak_step: Int
  var training_bytes: Int
  var training: Training

  struct Training: Encodable {
    var param_bytes, gradient_bytes, optimizer_bytes, saved_activation_bytes: Int
  }

  init(_ s: Summary, _ m: MemoryFigures) {
    let t = m.training
    dtype = t.dtype.rawValue
    batch = s.batch
    optimizer = t.optimizer.rawValue
    param_bytes = t.paramBytes
    inference_peak_bytes = m.liveness.peakBytes
    inference_peak_layer = s.graph.nodes[m.liveness.peakNode].name
    inference_peak_step = m.liveness.peakStep
    training_bytes = t.totalBytes
    training = Training(
      param_bytes: t.paramBytes, gradient_bytes: t.gradientBytes, optimizer_bytes: t.optimizerBytes,
      saved_activation_bytes: t.savedActivationBytes)
  }
}
