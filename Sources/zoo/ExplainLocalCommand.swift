import ArgumentParser
import ZooTeach

struct ExplainLocalCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "local",
    abstract: "Counts the weights of a locally connected or tiled layer against a convolution.",
    discussion: """
      Convolution: one weight set shared by every position; tiled (--tile t): t·t sets that cycle every t \
      positions; locally connected: a set per position. MACs are equal (Goodfellow, Figure 9.16). \
      DeepFace's L4, the notes' face example: --input 16x63x63 --filters 16 --kernel 9 --padding 0 \
      (docs/explain.md).
      """)

  @OptionGroup var layer: ExplainLayerOptions

  @Option(help: "Shares weights in a cycle of this many positions along each axis (tiled convolution).")
  var tile: Int?

  @OptionGroup var output: ExplainOutputOptions

  func validate() throws {
    if let tile, tile < 1 { throw ValidationError("--tile must be at least 1, got \(tile).") }
  }

  func run() throws {
    let shape = try layer.shape
    let l = try teach { () throws(TeachError) in
      try LocalConnection(
        input: shape, filters: layer.filters, kernel: layer.kernel, stride: layer.stride, padding: layer.padding,
        tile: tile, bias: layer.bias)
    }
    try output.print(l.worked(columns: outputWidth), l)
  }
}
