import ArgumentParser
import Foundation
import ZooGraph
import ZooTeach

struct ExplainCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "explain",
    abstract: "Works the lecture notes' exercises: the formula, the numbers plugged in, and the answer.",
    discussion: """
      Examples:
        zoo explain size --input 5 --kernel 3 --padding 1 --stride 2
        zoo explain conv --image "1 2 3 4 5; 6 7 8 2 3; 2 5 9 9 5; 4 8 8 2 1" \\
                         --kernel "1 1 1; 2 1 2; 3 2 1"
        zoo explain params --input 3x32x32 --filters 6 --kernel 5
        zoo explain rf --kernels 3,3,3
      Every subcommand takes --json for a machine-readable answer (docs/explain.md).
      """,
    subcommands: [
      ExplainSizeCommand.self, ExplainConvCommand.self, ExplainParamsCommand.self, ExplainRFCommand.self,
    ]
  )
}

/// The output choice every `zoo explain` subcommand shares.
struct ExplainOutputOptions: ParsableArguments {
  @Flag(help: "Prints the answer as one JSON object instead of the worked text.")
  var json = false

  /// Prints the worked lines, or `document` as JSON with snake_case keys.
  func print<T: Encodable>(_ lines: [String], _ document: T) throws {
    if json {
      Swift.print(try jsonString(document))
    } else {
      Swift.print(lines.joined(separator: "\n"))
    }
  }
}

/// Runs a ZooTeach computation, turning its error into a user-facing one.
func teach<T>(_ body: () throws(TeachError) -> T) throws -> T {
  do { return try body() } catch { throw ZooError(error.message) }
}

/// `"3,3,3"` → `[3, 3, 3]`; the error names the option and quotes the value.
func intList(_ text: String, option: String) throws -> [Int] {
  let parts = text.split(separator: ",", omittingEmptySubsequences: false).map {
    $0.trimmingCharacters(in: .whitespaces)
  }
  let values = parts.compactMap { Int($0) }
  guard values.count == parts.count, !values.isEmpty else {
    throw ValidationError("\(option) takes comma-separated integers such as 3,3,3, got `\(text)`.")
  }
  return values
}

struct ExplainSizeCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "size",
    abstract: "Works out the output size of a convolution or pooling layer along one axis.",
    discussion: "out = floor((n + 2·p − d·(k − 1) − 1)/s) + 1, or ceil in pooling's ceil mode (docs/explain.md).")

  @Option(help: "The input size along the axis (height or width).")
  var input: Int

  @Option(help: "The kernel (window) size.")
  var kernel: Int

  @Option(help: "The zeros added on each side.")
  var padding = 0

  @Option(help: "The step between neighbouring windows.")
  var stride = 1

  @Option(help: "The spacing between kernel taps; 1 is an ordinary kernel.")
  var dilation = 1

  @Flag(help: "Rounds the division up, as pooling with ceil_mode=True does.")
  var ceil = false

  @OptionGroup var output: ExplainOutputOptions

  func validate() throws {
    guard input >= 1 else { throw ValidationError("--input must be at least 1, got \(input).") }
    guard kernel >= 1 else { throw ValidationError("--kernel must be at least 1, got \(kernel).") }
    guard padding >= 0 else { throw ValidationError("--padding must be 0 or more, got \(padding).") }
    guard stride >= 1 else { throw ValidationError("--stride must be at least 1, got \(stride).") }
    guard dilation >= 1 else { throw ValidationError("--dilation must be at least 1, got \(dilation).") }
  }

  struct Document: Encodable {
    var size: OutputSize
    var formula: String
    var pluggedIn: String
  }

  func run() throws {
    let s = try teach { () throws(TeachError) in
      try OutputSize(
        input: input, kernel: kernel, stride: stride, padding: padding, dilation: dilation, ceilMode: ceil)
    }
    try output.print(s.worked, Document(size: s, formula: s.formula, pluggedIn: s.pluggedIn))
  }
}

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
      conv.worked(row: r, col: c),
      Document(
        image: conv.image, kernel: conv.kernel, stride: stride, padding: padding, output: conv.output, at: pos,
        window: conv.window(row: r, col: c), products: conv.products(row: r, col: c), value: conv.output[r, c]))
  }
}

struct ExplainParamsCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "params",
    abstract: "Counts a convolution's parameters and connections and compares them with layers that share no weights.",
    discussion: """
      Convolution weights = filters · in-channels/groups · kh · kw (+ one bias per filter); a locally connected \
      layer has one weight set per output; a dense layer has inputs · outputs weights (docs/explain.md).
      Lecture examples:
        zoo explain params --input 3x32x32 --filters 6 --kernel 5
            (the notes: 456 parameters against 14,455,392 for a dense layer)
        zoo explain params --input 1x320x280 --filters 1 --kernel 2x1 --no-bias
            (Goodfellow's edge detector: 2 weights against 8,003,072,000)
      """)

  @Option(help: ArgumentHelp("The input of the layer as CxHxW, for example 3x32x32.", valueName: "CxHxW"))
  var input: String

  @Option(help: "The number of filters (output channels).")
  var filters: Int

  @Option(
    help: ArgumentHelp("The kernel size: one number for a square kernel, or HxW such as 2x1.", valueName: "k|HxW"))
  var kernel: String

  @Option(help: "The step between neighbouring kernel positions.")
  var stride = 1

  @Option(help: "The zeros added on each side of the input.")
  var padding = 0

  @Option(help: "The number of channel groups; it must divide the input channels and the filters.")
  var groups = 1

  @Flag(inversion: .prefixedNo, help: "Gives every filter a bias (nn.Conv2d's default).")
  var bias = true

  @OptionGroup var output: ExplainOutputOptions

  func parsedKernel() throws -> Pair {
    let parts = kernel.lowercased().split(separator: "x", omittingEmptySubsequences: false).map { Int($0) }
    guard (1...2).contains(parts.count), let dims = parts as? [Int], dims.allSatisfy({ $0 >= 1 }) else {
      throw ValidationError("--kernel must be a positive size k or HxW (for example 5 or 2x1), got `\(kernel)`.")
    }
    return dims.count == 1 ? Pair(dims[0]) : Pair(dims[0], dims[1])
  }

  func validate() throws {
    _ = try parseInputShape(input)
    _ = try parsedKernel()
    guard filters >= 1 else { throw ValidationError("--filters must be at least 1, got \(filters).") }
    guard stride >= 1 else { throw ValidationError("--stride must be at least 1, got \(stride).") }
    guard padding >= 0 else { throw ValidationError("--padding must be 0 or more, got \(padding).") }
    guard groups >= 1 else { throw ValidationError("--groups must be at least 1, got \(groups).") }
  }

  func run() throws {
    let (dims, k) = (try parseInputShape(input), try parsedKernel())
    let w = try teach { () throws(TeachError) in
      try WeightSharing(
        input: dims, filters: filters, kernel: k, stride: stride, padding: padding, groups: groups, bias: bias)
    }
    try output.print(w.worked, w)
  }
}

struct ExplainRFCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rf",
    abstract: "Works out the receptive field of a stack of layers step by step.",
    discussion: """
      r₀ = 1, j₀ = 1; r_l = r_{l−1} + d_l·(k_l − 1)·j_{l−1}; j_l = j_{l−1}·s_l (docs/explain.md).
      For the receptive fields of a whole zoo model, see the receptive-field analysis of that model.
      """)

  @Option(help: ArgumentHelp("The kernel size of every layer, in order, for example 3,3,3.", valueName: "k,k,…"))
  var kernels: String

  @Option(help: ArgumentHelp("The stride of every layer (default all 1), for example 1,2,1.", valueName: "s,s,…"))
  var strides: String?

  @Option(help: ArgumentHelp("The dilation of every layer (default all 1), for example 1,2,4.", valueName: "d,d,…"))
  var dilations: String?

  @OptionGroup var output: ExplainOutputOptions

  func validate() throws {
    let k = try intList(kernels, option: "--kernels")
    for (name, text) in [("--strides", strides), ("--dilations", dilations)] {
      guard let text else { continue }
      let v = try intList(text, option: name)
      guard v.count == k.count else {
        throw ValidationError(
          "\(name) `\(text)` gives \(v.count) value\(v.count == 1 ? "" : "s") for \(k.count) kernels; "
            + "give one per layer.")
      }
    }
  }

  struct Document: Encodable {
    var steps: [StackReceptiveField.Step]
    var size: Int
    var jump: Int
  }

  func run() throws {
    let k = try intList(kernels, option: "--kernels")
    let s = try strides.map { try intList($0, option: "--strides") }
    let d = try dilations.map { try intList($0, option: "--dilations") }
    let rf = try teach { () throws(TeachError) in try StackReceptiveField(kernels: k, strides: s, dilations: d) }
    try output.print(rf.worked, Document(steps: rf.steps, size: rf.size, jump: rf.jump))
  }
}
