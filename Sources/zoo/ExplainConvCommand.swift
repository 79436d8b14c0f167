import ArgumentParser
import Foundation
import ZooGraph
import ZooTeach

struct ExplainConvCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "conv",
    abstract: "Works a small convolution by hand: every output value and the products at one position.",
    discussion: """
      out[i][j] = Σ_u Σ_v x[i·s + u][j·s + v] · w[u][v] over the zero-padded image (cross-correlation, \
      as nn.Conv2d computes it). Matrices are rows separated by `;`, values by spaces or commas.
      """)

  @Option(help: "The image as rows separated by `;`, for example \"1 2 3; 4 5 6; 7 8 9\".")
  var image: String

  @Option(help: "The kernel as rows separated by `;`, for example \"1 0; 0 1\".")
  var kernel: String

  @Option(help: "The step between neighbouring kernel positions.")
  var stride = 1

  @Option(help: "The zeros added on each side of the image.")
  var padding = 0

  @Option(
    help: ArgumentHelp(
      "The output position whose element-wise products are shown, as row,column counted from 0.",
      valueName: "row,col"))
  var at = "0,0"

  @OptionGroup var output: ExplainOutputOptions

  func validate() throws {
    guard stride >= 1 else { throw ValidationError("--stride must be at least 1, got \(stride).") }
    guard padding >= 0 else { throw ValidationError("--padding must be 0 or more, got \(padding).") }
    let p = try intList(at, option: "--at")
    guard p.count == 2, p.allSatisfy({ $0 >= 0 }) else {
      throw ValidationError("--at takes a row and a column counted from 0, such as 0,1, got `\(at)`.")
    }
  }

  struct Document: Encodable {
    var image, kernel: Matrix
    var stride, padding: Int
    var output: Matrix
    var at: [Int]
    var window, products: Matrix
    var value: Double
  }

  func run() throws {
    let pos = try intList(at, option: "--at")
    let conv = try teach { () throws(TeachError) in
      try WorkedConvolution(
        image: try Matrix(parsing: image, what: "image"), kernel: try Matrix(parsing: kernel, what: "kernel"),
        stride: stride, padding: padding)
    }
    let (r, c) = (pos[0], pos[1])
    guard r < conv.output.rows, c < conv.output.cols else {
      throw ValidationError(
        "--at \(at) is outside the \(conv.output.rows)×\(conv.output.cols) output "
          + "(rows 0–\(conv.output.rows - 1), columns 0–\(conv.output.cols - 1)).")
    }
    try output.print(
      conv.worked(row: r, col: c, columns: outputWidth),
      Document(
        image: conv.image, kernel: conv.kernel, stride: stride, padding: padding, output: conv.output, at: pos,
        window: conv.window(row: r, col: c), products: conv.products(row: r, col: c), value: conv.output[r, c]))
  }
}
