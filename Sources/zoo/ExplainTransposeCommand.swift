import ArgumentParser
import ZooTeach

struct ExplainTransposeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "transpose",
    abstract: "Works a small transposed convolution by hand: each input value returns a kernel-sized block.",
    discussion: """
      out[i·s − p + u][j·s − p + v] += x[i][j] · w[u][v]; output size (n − 1)·s − 2·p + (k − 1) + \
      output_padding + 1 (nn.ConvTranspose2d, one channel). The answer also shows the equivalent stride-1 \
      convolution over the input spread out with zeros (docs/explain.md).
      """)

  @Option(help: "The image as rows separated by `;`. The default is a 2×2 example.")
  var image = "1 2; 3 4"

  @Option(help: "The kernel as rows separated by `;`. The default is a 3×3 example.")
  var kernel = "1 1 1; 1 2 1; 1 1 1"

  @Option(help: "The step between the blocks that neighbouring input values return.")
  var stride = 2

  @Option(help: "The rows and columns cropped from each side of the scattered output.")
  var padding = 0

  @Option(help: "Extra rows and columns at the bottom and right; it must be below the stride.")
  var outputPadding = 0

  @Option(
    help: ArgumentHelp(
      "The input position whose returned block is shown, as row,column counted from 0.", valueName: "row,col"))
  var at = "0,0"

  @OptionGroup var output: ExplainOutputOptions

  func validate() throws {
    guard stride >= 1 else { throw ValidationError("--stride must be at least 1, got \(stride).") }
    guard padding >= 0 else { throw ValidationError("--padding must be 0 or more, got \(padding).") }
    guard outputPadding >= 0, outputPadding < stride else {
      throw ValidationError("--output-padding must be 0 or more and below the stride \(stride), got \(outputPadding).")
    }
    let p = try intList(at, option: "--at")
    guard p.count == 2, p.allSatisfy({ $0 >= 0 }) else {
      throw ValidationError("--at takes a row and a column counted from 0, such as 0,1, got `\(at)`.")
    }
  }

  struct Document: Encodable {
    var image, kernel: Matrix
    var stride, padding, outputPadding: Int
    var output: Matrix
    var at: [Int]
    var block: Matrix
    var blockTop, blockLeft: Int
  }

  func run() throws {
    let pos = try intList(at, option: "--at")
    let t = try teach { () throws(TeachError) in
      try WorkedTransposedConvolution(
        image: try Matrix(parsing: image, what: "image"), kernel: try Matrix(parsing: kernel, what: "kernel"),
        stride: stride, padding: padding, outputPadding: outputPadding)
    }
    guard pos[0] < t.image.rows, pos[1] < t.image.cols else {
      throw ValidationError(
        "--at \(at) is outside the \(t.image.rows)×\(t.image.cols) image "
          + "(rows 0–\(t.image.rows - 1), columns 0–\(t.image.cols - 1)).")
    }
    let (block, top, left) = t.scattered(row: pos[0], col: pos[1])
    try output.print(
      t.worked(row: pos[0], col: pos[1], columns: outputWidth),
      Document(
        image: t.image, kernel: t.kernel, stride: stride, padding: padding, outputPadding: outputPadding,
        output: t.output, at: pos, block: block, blockTop: top, blockLeft: left))
  }
}
