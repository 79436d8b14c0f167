import ArgumentParser
import Foundation
import ZooEngine
import ZooFiles
import ZooGraph

struct RunCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Runs a model's forward pass on a .npy array or an image and prints its top classes.",
    discussion: """
      Weights come from a safetensors file saved from a torchvision state dict (docs/engine.md shows \
      the two-line export); without --weights the model gets deterministic seeded weights (PyTorch's \
      default initialisation), so every model runs out of the box. An ONNX file runs with the weights \
      it holds (docs/onnx.md); --weights is refused for it.
      The input file follows the model: a float32 .npy of shape CxHxW or NxCxHxW, or a PNG/JPEG image, \
      which gets the standard ImageNet preprocessing (shorter side resized to 256, centre crop 224, \
      mean/std normalisation; --input 3x320x320 runs at another size); \
      an image larger than --max-pixels is refused from its header, before it is decoded.
      """
  )

  @OptionGroup var engine: EngineOptions

  @Option(help: ArgumentHelp("A safetensors file with the model's state dict.", valueName: "file.safetensors"))
  var weights: String?

  @Argument(
    help: ArgumentHelp(
      "The input: a float32 .npy array (CxHxW or NxCxHxW) or a PNG or JPEG image.", valueName: "x.npy|image"))
  var file: String?

  @Option(
    help: ArgumentHelp(
      "The input of one sample as CxHxW, as in the other commands: images are resized and cropped to it, and a .npy must have it. Defaults to the model's own input.",
      valueName: "CxHxW"))
  var input: String?

  @Option(help: ArgumentHelp("Writes the model's main output to this .npy file.", valueName: "y.npy"))
  var output: String?

  @Option(help: "Prints the K highest-scoring classes of every sample (with ImageNet names for 1000-class models).")
  var top: Int = 5

  @Option(
    help: ArgumentHelp(
      "The largest input image accepted, in pixels (width × height), checked from its header before decoding (default: 8192 × 8192 = 67,108,864).",
      valueName: "N"))
  var maxPixels: Int = ImageInput.defaultMaxPixels

  @Option(help: "The seed of the initialisation used when no --weights are given.")
  var seed: UInt64 = 0

  @Flag(
    help: """
      Runs the 3×3 stride-1 convolutions as Winograd where it measured faster, as `zoo bench` does: \
      F(4×4, 3×3) on outputs of 28×28 and more on the engine's kernels, else F(2×2, 3×3). Off by \
      default: its weights, transformed at load time, hold 16 or 36 values per 9, and for one pass \
      the transform takes longer than it saves.
      """)
  var winograd = false

  func validate() throws {
    if let input, (try? parseInputShape(input)) == nil, FileManager.default.fileExists(atPath: input) {
      throw ValidationError(
        "--input is the input shape CxHxW, as in every command; give the file as the argument after the model: "
          + "zoo run \(engine.model) \(input)")
    }
    _ = try input.map(parseInputShape)
    guard file != nil else {
      throw ValidationError(
        "zoo run needs an input file after the model: a .npy array or a PNG or JPEG image "
          + "(for example `zoo run \(engine.model) cat.jpg`).")
    }
    guard top >= 0 else { throw ValidationError("--top must be at least 0, got \(top).") }
    guard maxPixels >= 1 else { throw ValidationError("--max-pixels must be at least 1, got \(maxPixels).") }
  }

  func run() throws {
    BLASSetup.preferAVX512Kernels()
    let input = file ?? ""
    let shape = try self.input.map(parseInputShape)
    let onnx = isONNX(engine.model)
    if onnx, let weights {
      throw ZooError(
        "--weights \(weights): `\(engine.model)` is an ONNX file and runs with the weights it holds; drop --weights")
    }
    var imported =
      try onnx ? importONNX(engine.model, input: shape, overrides: try parseArgOverrides(engine.args)) : nil
    let graph = try imported?.graph ?? engine.graph()
    let named = weights != nil || onnx
    if !named && top > 0 {
      FileHandle.standardError.write(
        Data(
          ("Warning: no --weights, so \(graph.name) runs with seeded random weights: its classes mean nothing "
            + "(ImageNet names are not shown).\n").utf8))
    }
    if let output {
      do {
        try Files.requireDistinct(
          outputs: [("--output", output)],
          inputs: [("the input", input)] + (weights.map { [("--weights", $0)] } ?? [])
            + (onnx ? [("the model", engine.model)] : []))
        try Files.requireWritable(output, what: "the .npy array")
      } catch { throw ZooError(error.description) }
    }
    do {
      let x = try loadInput(input, graph: graph, shape: shape, maxPixels: maxPixels)
      let batch = x.shape.count == 4 ? x.shape[0] : 1
      let sample = Array(x.shape.suffix(3))
      let table =
        try imported.take()?.weights ?? weights.map { try Safetensors.load($0) }
        ?? SeededInit.weights(for: graph, seed: seed)
      let source = onnx ? "`\(engine.model)`" : weights.map { "`\($0)`" } ?? "the seeded weights"
      let net = try Network(
        graph: graph, input: sample, batch: batch, weights: table,
        source: source, threads: engine.threads,
        options: try engine.planOptions(winograd: winograd ? .whereFaster : .off))
      let y = try net.run(x.data)[0]
      let outShape = net.shapes[graph.outputs[0]]
      if let output {
        try Npy.write(Tensor(shape: [batch] + outShape, data: y), to: output)
      }
      print(
        "\(graph.name) · input \(batch)×\(format(sample)) · output \(batch)×\(format(outShape))"
          + (named ? "" : " · seeded weights (seed \(seed))"))
      if top > 0 && outShape.count == 1 {
        let classes = outShape[0]
        for n in 0..<batch {
          if batch > 1 { print("sample \(n):") }
          print(topTable(Array(y[n * classes..<(n + 1) * classes]), k: top, names: named))
        }
      }
      if let output { print("Wrote \(output)") }
    } catch let e as EngineError {
      throw ZooError(e.description)
    }
  }
}

/// Reads a .npy (CxHxW or NxCxHxW) or an image, checked against the model's input channels and, when
/// given, the `shape` of one sample (images are resized and cropped to its height and width).
func loadInput(_ path: String, graph: Graph, shape: [Int]? = nil, maxPixels: Int = ImageInput.defaultMaxPixels)
  throws -> Tensor
{
  let channels = graph.inputShape[0]
  if let shape, shape[0] != channels {
    throw ZooError("--input \(format(shape)) has \(shape[0]) channels; \(graph.name) takes \(channels)")
  }
  if path.lowercased().hasSuffix(".npy") {
    let t = try Npy.read(path)
    guard t.shape.count == 3 || t.shape.count == 4, t.shape[t.shape.count - 3] == channels else {
      throw ZooError(
        "`\(path)` has shape \(format(t.shape)); \(graph.name) takes \(format(graph.inputShape)) "
          + "(or N×\(format(graph.inputShape)) for a batch)")
    }
    if let shape, Array(t.shape.suffix(3)) != shape {
      throw ZooError("`\(path)` has samples of \(format(Array(t.shape.suffix(3)))), not the --input \(format(shape))")
    }
    return t
  }
  let size = Array((shape ?? graph.inputShape).suffix(2))
  return try ImageInput.load(path, channels: channels, height: size[0], width: size[1], maxPixels: maxPixels)
}

/// The top `k` entries of `scores` with their softmax probabilities, and ImageNet names when `names` and
/// the model has 1000 classes.
func topTable(_ scores: [Float], k: Int, names showNames: Bool = true) -> String {
  let m = scores.max() ?? 0
  let exps = scores.map { Foundation.exp(Double($0 - m)) }
  let sum = exps.reduce(0, +)
  let order = scores.indices.sorted { scores[$0] > scores[$1] }.prefix(k)
  let names = showNames && scores.count == ImageNet.classNames.count ? ImageNet.classNames : nil
  var t = TextTable(headers: ["Rank", "Class", "Score", "Probability", "Name"], rightAligned: [0, 1, 2, 3])
  for (rank, i) in order.enumerated() {
    t.rows.append([
      "\(rank + 1)", "\(i)", String(format: "%.4f", scores[i]), percent(exps[i] / sum, decimals: 2),
      names?[i] ?? "–",
    ])
  }
  return t.render()
}
