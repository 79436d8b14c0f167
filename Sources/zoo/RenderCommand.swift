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

      Deep networks are folded: identical consecutive blocks become one "× N" box with their summed parameters and MACs; a run of one structure whose sizes differ (DenseNet's dense layers) is drawn once and labelled with its count and its ranges of parameters and channels. The depth is chosen so the diagram fits. --depth or --expand changes that.

      For a slide, --size 1920x1080 fits the drawing into 1920×1080 pixels (points for SVG and PDF): long chains wrap into columns (rows with --direction LR) and, without --depth, shallower views are tried, so the text stays at least 14 px high; a warning says when it cannot. PNGs are drawn at 2× (192 dpi) otherwise.

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
        let fitted = try writeDiagram(
          summary, to: drawing.output, options: drawing.diagramOptions, size: try drawing.parsedSize())
        for w in fitted.warnings { FileHandle.standardError.write(Data("Warning: \(graph.name): \(w)\n".utf8)) }
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

  @Option(
    help: ArgumentHelp(
      "Fits the drawing into W×H: pixels for PNG, points for SVG and PDF (e.g. 1920x1080). Long chains wrap into columns instead of shrinking the text.",
      valueName: "WxH"))
  var size: String?

  @Option(
    help: ArgumentHelp(
      "Wraps the chain into N columns (rows with --direction LR). --size chooses this itself.", valueName: "N"))
  var columns: Int?

  @Flag(help: "Shows each layer's module path (layer1.0.conv1) in its node.")
  var names = false

  @Option(help: ArgumentHelp("What edges are labelled with: shapes (default) or none.", valueName: "none|shapes"))
  var edgeLabels: String = "shapes"

  @Flag(help: "Leaves out the legend of op colours and conventions.")
  var noLegend = false

  @Option(
    help: ArgumentHelp(
      "The colours: light (default), dark (for dark slides) or print (black and white).", valueName: "light|dark|print")
  )
  var theme: String = "light"

  /// `--size` as (width, height), or nil.
  func parsedSize() throws -> (width: Double, height: Double)? {
    guard let size else { return nil }
    let parts = size.lowercased().split(separator: "x", omittingEmptySubsequences: false)
    guard parts.count == 2, let w = Int(parts[0]), let h = Int(parts[1]), w >= 50, h >= 50, w <= 100_000, h <= 100_000
    else {
      throw ValidationError("--size must be WxH with whole numbers from 50 to 100000, e.g. 1920x1080; got `\(size)`.")
    }
    return (Double(w), Double(h))
  }

  func validate() throws {
    if let depth, depth < 1 { throw ValidationError("--depth must be at least 1, got \(depth).") }
    if depth != nil && expand { throw ValidationError("--depth and --expand exclude each other; give one.") }
    if isExplorer {
      if expand { throw ValidationError("--expand does not apply to .html: the explorer opens every fold on request.") }
      if direction.uppercased() != "TB" {
        throw ValidationError("--direction applies to diagrams; the .html explorer is laid out top to bottom.")
      }
      if size != nil || columns != nil {
        throw ValidationError("--size and --columns fit a diagram to a slide; the .html explorer scrolls and zooms.")
      }
      return
    }
    guard DiagramFormat(path: output) != nil else {
      throw ValidationError("-o needs a .svg, .png, .pdf, .dot or .html file name, got `\(output)`.")
    }
    guard DiagramOptions.Direction(rawValue: direction.uppercased()) != nil else {
      throw ValidationError("--direction must be TB or LR, got `\(direction)`.")
    }
    _ = try parsedSize()
    if let columns, columns < 1 || columns > 50 {
      throw ValidationError("--columns must be from 1 to 50, got \(columns).")
    }
    if columns != nil && size != nil { throw ValidationError("--columns and --size exclude each other; give one.") }
    guard DiagramOptions.EdgeLabels(rawValue: edgeLabels.lowercased()) != nil else {
      throw ValidationError("--edge-labels must be none or shapes, got `\(edgeLabels)`.")
    }
    guard DiagramOptions.Theme(rawValue: theme.lowercased()) != nil else {
      throw ValidationError("--theme must be light, dark or print, got `\(theme)`.")
    }
  }

  /// Whether the output is the interactive HTML explorer (`.html` or `.htm`).
  var isExplorer: Bool {
    ["html", "htm"].contains(URL(fileURLWithPath: output).pathExtension.lowercased())
  }

  var diagramOptions: DiagramOptions {
    DiagramOptions(
      depth: depth, expand: expand,
      direction: DiagramOptions.Direction(rawValue: direction.uppercased()) ?? .topToBottom, columns: columns ?? 1,
      edgeLabels: DiagramOptions.EdgeLabels(rawValue: edgeLabels.lowercased()) ?? .shapes, names: names,
      legend: !noLegend, theme: DiagramOptions.Theme(rawValue: theme.lowercased()) ?? .light)
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
