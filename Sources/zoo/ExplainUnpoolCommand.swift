import ArgumentParser
import ZooTeach

struct ExplainUnpoolCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "unpool",
    abstract: "Works a max-pool and max-unpool round trip by hand, with the switch variables.",
    discussion: """
      The pool keeps where each maximum came from (its switch); the unpool puts each maximum back there and \
      zeros everywhere else, at the pool's input size (SegNet). The default image is the lecture notes' 4×5 \
      example (docs/explain.md).
      """)

  @Option(help: "The image as rows separated by `;`. The default is the lecture notes' 4×5 image.")
  var image = "1 2 3 4 5; 6 7 8 2 3; 2 5 9 9 5; 4 8 8 2 1"

  @Option(help: "The pooling window size (square).")
  var kernel = 2

  @Option(help: "The step between windows; the default is the window size.")
  var stride: Int?

  @OptionGroup var output: ExplainOutputOptions

  func validate() throws {
    guard kernel >= 1 else { throw ValidationError("--kernel must be at least 1, got \(kernel).") }
    if let stride, stride < 1 { throw ValidationError("--stride must be at least 1, got \(stride).") }
  }

  struct Document: Encodable {
    var image: Matrix
    var kernel, stride: Int
    var pooled: Matrix
    var switches: [WorkedUnpooling.Switch]
    var unpooled: Matrix
    var defaultUnpoolSize: [Int]
  }

  func run() throws {
    let u = try teach { () throws(TeachError) in
      try WorkedUnpooling(image: try Matrix(parsing: image, what: "image"), kernel: kernel, stride: stride)
    }
    try output.print(
      u.worked(columns: outputWidth),
      Document(
        image: u.image, kernel: u.kernel, stride: u.stride, pooled: u.pooled, switches: u.switches,
        unpooled: u.unpooled, defaultUnpoolSize: u.defaultUnpoolSize))
  }
}
