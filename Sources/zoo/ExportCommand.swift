import ArgumentParser
import Foundation
import ZooAnalysis
import ZooEngine
import ZooFiles
import ZooGraph
import ZooONNX

struct ExportCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export",
    abstract: "Writes a model with its weights as an ONNX file for ONNX Runtime and other serving engines.",
    discussion: """
      Weights come from a safetensors file saved from a torchvision state dict (docs/engine.md shows the two-line \
      export); without --weights the model gets the seeded weights `zoo run` uses, so the file reproduces \
      `zoo run` with the same --seed.
      Every layer becomes standard ONNX operators: one operator where one matches (Conv, Gemm, \
      BatchNormalization, Resize and others), otherwise an exact decomposition into standard operators (LeNet-5's \
      subsampling and RBF layers, connection tables, locally connected and tiled convolutions, adaptive pools \
      with uneven bins). Node names follow the module paths as PyTorch writes them (/layer1/layer1.0/conv1/Conv), \
      and the initializers carry torchvision's state-dict keys (without batch norm's num_batches_tracked, which \
      inference never reads).
      The shapes are fixed at the model's input or --input; the batch is 1, or any size with --dynamic-batch. \
      docs/onnx.md shows how to run the file with ONNX Runtime and serve it with Triton.
      """
  )

  @OptionGroup var model: ModelOptions

  @Option(name: .shortAndLong, help: ArgumentHelp("The ONNX file to write.", valueName: "model.onnx"))
  var output: String

  @Option(help: ArgumentHelp("A safetensors file with the model's state dict.", valueName: "file.safetensors"))
  var weights: String?

  @Option(
    help: ArgumentHelp(
      "The ONNX opset to write, from \(ONNXExport.opsets.lowerBound) to \(ONNXExport.opsets.upperBound) (default \(ONNXExport.defaultOpset)). Below 14, 19 and 20, HardSwish, circular padding and GELU are written as combinations of older operators; a dilated average pool needs 19.",
      valueName: "N"))
  var opset: Int = ONNXExport.defaultOpset

  @Flag(help: "Makes the batch dimension symbolic (`N`), so that the file takes any batch size; it is 1 otherwise.")
  var dynamicBatch = false

  @Option(help: "The seed of the initialisation used when no --weights are given (as in `zoo run`).")
  var seed: UInt64 = 0

  func validate() throws {
    do {
      try ONNXExport.checkOpset(opset)
    } catch {
      throw ValidationError("--opset: \(error.description).")
    }
  }

  func run() throws {
    do {
      try Files.requireDistinct(
        outputs: [("-o", output)],
        inputs: definitionInputs(model.model) + (weights.map { [("--weights", $0)] } ?? []))
      try Files.requireWritable(output, what: "the ONNX file")
    } catch { throw ZooError(error.description) }
    let graph = try model.graph()
    let summary: Summary
    do {
      summary = try Summary(graph, input: try model.parsedInput())
    } catch {
      throw ZooError("\(graph.name): \(error)")
    }
    let table: [String: Tensor]
    do {
      table = try weights.map { try Safetensors.load($0) } ?? SeededInit.weights(for: graph, seed: seed)
    } catch let e as EngineError {
      throw ZooError(e.description)
    }
    let bytes: [UInt8]
    do {
      bytes = try ONNXExport.bytes(
        graph, shapes: summary.shapes, weights: table,
        options: ONNXExport.Options(opset: opset, dynamicBatch: dynamicBatch, producerVersion: zooVersion))
    } catch {
      throw ZooError("\(graph.name): \(weights.map { "`\($0)`: " } ?? "")\(error.description)")
    }
    do {
      try Files.write(bytes, to: output, what: "the ONNX file")
    } catch { throw ZooError(error.description) }
    let batch = dynamicBatch ? "N" : "1"
    print(
      "\(graph.name) · input \(batch)×\(format(summary.shapes[0])) · opset \(opset) · "
        + (weights.map { "weights from \($0)" } ?? "seeded weights (seed \(seed))"))
    print("Wrote \(output) (\(formatBytes(bytes.count)))")
  }
}

/// `1,234,567 bytes` as `1.2 MB`.
private func formatBytes(_ n: Int) -> String {
  if n < 1000 { return "\(n) bytes" }
  if n < 1_000_000 { return String(format: "%.1f kB", Double(n) / 1e3) }
  return String(format: "%.1f MB", Double(n) / 1e6)
}
