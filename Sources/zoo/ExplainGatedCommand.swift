import ArgumentParser
import ZooTeach

struct ExplainGatedCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "gated",
    abstract: "Sizes a gated convolution O = φ(conv_f(I)) ⊙ σ(conv_g(I)) against a plain convolution.",
    discussion: """
      Two convolutions (features and gates) of the same shape: twice the parameters and MACs, plus one \
      multiplication per output value (Yu et al., ICCV 2019). The defaults are the lecture's 256-channel \
      3×3 layer on 56×56 (docs/explain.md).
      """)

  @OptionGroup var layer: ExplainLayerOptions

  @Option(help: "The spacing between kernel taps (the inpainting network's middle layers dilate).")
  var dilation = 1

  @OptionGroup var output: ExplainOutputOptions

  func validate() throws {
    guard dilation >= 1 else { throw ValidationError("--dilation must be at least 1, got \(dilation).") }
  }

  func run() throws {
    let shape = try layer.shape
    let g = try teach { () throws(TeachError) in
      try GatedConvolution(
        input: shape, filters: layer.filters, kernel: layer.kernel, stride: layer.stride, padding: layer.padding,
        dilation: dilation, bias: layer.bias)
    }
    try output.print(g.worked(columns: outputWidth), g)
  }
}
