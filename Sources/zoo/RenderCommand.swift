import ArgumentParser
import Foundation
import ZooAnalysis
import ZooFiles
import ZooGraph
import ZooRender

struct RenderCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "render",
    abstract: "Draws a model's layer graph as SVG, PNG, PDF or Graphviz DOT, or writes an interactive HTML explorer.",
    discussion: """
      Nodes show each layer's op, output shape and parameters, coloured by op class; a bn or activation right after a layer is drawn in that layer's node. Modules are labelled boxes; edges carry tensor shapes, and skip connections are dashed.

      Deep networks are folded: identical consecutive blocks become one "× N" box with their summed parameters and MACs, and the depth is chosen so the diagram fits. --depth or --expand changes that.

      With -o model.html, writes the explorer: one self-contained page (no network) where folded blocks open and close in place, hovering a layer shows its figures, a search box finds a layer, and a selected layer's receptive field is drawn on the input grid (docs/explorer.md).

      Graphviz runs inside zoo (libgvc); no `dot` program is needed. See docs/rendering.md.
      """
  )

  @OptionGroup var model: ModelOptions
  @OptionGroup var drawing: RenderOptions

  func run() throws {
    do {
      try Files.requireDistinct(outputs: [("-o", drawing.output)], inputs: definitionInputs(model.model))
    } catch { throw ZooError(error.description) }
    let graph = try model.graph()
    let summary: Summary
    do {
      summary = try Summary(graph, input: try model.parsedInput())
    } catch {
      throw ZooError("\(graph.name): \(error)")
    }
    do {
      if drawing.isExplorer {
        try writeExplorer(summary, to: drawing.output, depth: drawing.depth)
      } else {
        try writeDiagram(summary, to: drawing.output, options: drawing.diagramOptions)
      }
    } catch {
      throw ZooError("\(graph.name): \(error)")
    }
  }
}

/// Options that choose what a diagram shows and where it goes.
struct RenderOptions: ParsableArguments {
  @Option(
    name: .shortAndLong,
    help: ArgumentHelp(
      "The file to write; its extension (.svg, .png, .pdf, .dot, or .html for the interactive explorer) chooses the format.",
      valueName: "path"))
  var output: String

  @Option(
    help: ArgumentHelp(
      "Opens modules whose depth is below N (layer1 has depth 1, layer1.0 depth 2) and draws deeper ones as boxes. Defaults to the deepest depth whose diagram fits in about 60 nodes.",
      valueName: "N"))
  var depth: Int?

  @Flag(help: "Draws every layer on its own: all modules open, no repeats folded, no layers merged.")
  var expand = false

  @Option(help: ArgumentHelp("The layout direction: TB (top to bottom) or LR (left to right).", valueName: "TB|LR"))
  var direction: String = "TB"

  func validate() throws {
    if let depth, depth < 1 { throw ValidationError("--depth must be at least 1, got \(depth).") }
    if depth != nil && expand { throw ValidationError("--depth and --expand exclude each other; give one.") }
    if isExplorer {
      if expand { throw ValidationError("--expand does not apply to .html: the explorer opens every fold on request.") }
      if direction.uppercased() != "TB" {
        throw ValidationError("--direction applies to diagrams; the .html explorer is laid out top to bottom.")
      }
      return
    }
    guard DiagramFormat(path: output) != nil else {
      throw ValidationError("-o needs a .svg, .png, .pdf, .dot or .html file name, got `\(output)`.")
    }
    guard DiagramOptions.Direction(rawValue: direction.uppercased()) != nil else {
      throw ValidationError("--direction must be TB or LR, got `\(direction)`.")
    }
  }

  /// Whether the output is the interactive HTML explorer (`.html` or `.htm`).
  var isExplorer: Bool {
    ["html", "htm"].contains(URL(fileURLWithPath: output).pathExtension.lowercased())
  }

  var diagramOptions: DiagramOptions {
    DiagramOptions(
      depth: depth, expand: expand,
      direction: DiagramOptions.Direction(rawValue: direction.uppercased()) ?? .topToBottom)
  }
}

/// The definition file a model argument reads (`net.yaml` or `net.yaml:model`), as an input that no
/// output may overwrite; none for a built-in model.
func definitionInputs(_ spec: String) -> [(String, String)] {
  let fm = FileManager.default
  if fm.fileExists(atPath: spec) { return [("the definition", spec)] }
  if let colon = spec.lastIndex(of: ":"), fm.fileExists(atPath: String(spec[..<colon])) {
    return [("the definition", String(spec[..<colon]))]
  }
  return []
}
