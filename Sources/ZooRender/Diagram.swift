import Foundation
import ZooAnalysis
import ZooFiles
import ZooGraph

/// A diagram file format: DOT text as generated, or an image Graphviz renders in-process.
public enum DiagramFormat: String, Sendable, CaseIterable {
  case dot, svg, png, pdf

  /// The format named by a path's extension (`out.svg` → `.svg`; `.gv` is DOT), or nil.
  public init?(path: String) {
    let ext = URL(fileURLWithPath: path).pathExtension.lowercased()
    if ext == "gv" {
      self = .dot
    } else {
      self.init(rawValue: ext)
    }
  }
}

/// The diagram of `summary`'s graph as file contents.
///
/// DOT and SVG are byte-reproducible: the same graph, options and Graphviz version give the same
/// bytes on every run.
public func renderDiagram(
  _ summary: Summary, options: DiagramOptions = DiagramOptions(), format: DiagramFormat
) throws(RenderError) -> [UInt8] {
  let dot = diagramDOT(summary, options: options)
  switch format {
  case .dot: return Array(dot.utf8)
  case .svg: return try renderDOT(dot, format: .svg)
  case .png: return try renderDOT(dot, format: .png)
  case .pdf: return try renderDOT(dot, format: .pdf)
  }
}

/// Renders the diagram of `summary`'s graph and writes it to `path` atomically; the format comes
/// from `format` or else the path's extension. A failed render or write leaves no file behind.
public func writeDiagram(
  _ summary: Summary, to path: String, format: DiagramFormat? = nil, options: DiagramOptions = DiagramOptions()
) throws(RenderError) {
  guard let format = format ?? DiagramFormat(path: path) else {
    throw RenderError(
      "cannot tell the diagram format of `\(path)`: use an extension .svg, .png, .pdf or .dot")
  }
  try writeAtomically(try renderDiagram(summary, options: options, format: format), to: path)
}

/// Writes `bytes` to `path` atomically through ``Files/write(_:to:what:)``: a temporary file beside
/// `path` renamed over it, removed when anything fails or a signal ends the process.
public func writeAtomically(_ bytes: [UInt8], to path: String) throws(RenderError) {
  do { try Files.write(bytes, to: path) } catch { throw RenderError(error.description) }
}
