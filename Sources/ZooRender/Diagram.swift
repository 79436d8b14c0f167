import Foundation
import ZooAnalysis

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

/// Writes `bytes` to a temporary file beside `path`, then renames it over `path`, so readers
/// never see a partial file; the temporary file is removed when anything fails.
public func writeAtomically(_ bytes: [UInt8], to path: String) throws(RenderError) {
  let url = URL(fileURLWithPath: path)
  let dir = url.deletingLastPathComponent()
  var isFolder: ObjCBool = false
  guard FileManager.default.fileExists(atPath: dir.path, isDirectory: &isFolder), isFolder.boolValue else {
    throw RenderError("cannot write `\(path)`: the folder `\(dir.path)` does not exist")
  }
  let temp = dir.appendingPathComponent(".\(url.lastPathComponent).\(ProcessInfo.processInfo.processIdentifier).tmp")
  do {
    try Data(bytes).write(to: temp)
    if rename(temp.path, url.path) != 0 {
      let reason = String(cString: strerror(errno))
      throw RenderError("cannot write `\(path)`: \(reason)")
    }
  } catch let e as RenderError {
    try? FileManager.default.removeItem(at: temp)
    throw e
  } catch {
    try? FileManager.default.removeItem(at: temp)
    throw RenderError("cannot write `\(path)`: \(error.localizedDescription)")
  }
}
