import ArgumentParser
import ZooTeach

struct ExplainDepthwiseCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "depthwise",
    abstract: "Compares a full convolution with its depthwise separable factorisation (depthwise k×k, pointwise 1×1).",
    discussion: """
      Full: F·C·k² weights; separable: C·k² + C·F, so separable ÷ full = 1/F + 1/k² without biases \
      (MobileNet). The defaults are the lecture's 256-channel 3×3 layer on 56×56 (docs/explain.md).
      """)

  @OptionGroup var layer: ExplainLayerOptions
  @OptionGroup var output: ExplainOutputOptions

  func run() throws {
    let shape = try layer.shape
    let d = try teach { () throws(TeachError) in
      try DepthwiseSeparable(
        input: shape, filters: layer.filters, kernel: layer.kernel, stride: layer.stride, padding: layer.padding,
        bias: layer.bias)
    }
    try output.print(d.worked(columns: outputWidth), d)
  }
}
