import ArgumentParser
import Foundation
import ZooGraph
import ZooTeach

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
    try output.print(rf.worked(columns: outputWidth), Document(steps: rf.steps, size: rf.size, jump: rf.jump))
  }
}
