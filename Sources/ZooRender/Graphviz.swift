import CGraphviz
import Foundation

/// A failure of Graphviz to read, lay out or render a diagram, with the messages it reported.
public struct RenderError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// Output formats Graphviz renders in-process.
public enum ImageFormat: String, Sendable, CaseIterable {
  case svg, png, pdf

  /// Graphviz's `format:renderer:loadimage` name. SVG uses the core (text) renderer, so the
  /// output is plain, byte-reproducible SVG; PNG and PDF go through cairo (the pango plugin).
  var graphvizName: String {
    switch self {
    case .svg: "svg:svg:core"
    case .png: "png:cairo:cairo"
    case .pdf: "pdf:cairo:cairo"
    }
  }
}

/// Lays out `dot` with Graphviz's `dot` engine and renders it, in this process (no `dot` binary).
///
/// Graphviz is not thread-safe: calls are serialised on one process-wide context. Warnings that
/// Graphviz reports while reading, laying out or rendering are captured (never printed); a failure
/// throws one ``RenderError`` that quotes them.
///
/// `attributes` are graph attributes set before the layout (`dpi` for a PNG's resolution, `size`
/// in inches to scale a drawing down), overriding the DOT text's.
public func renderDOT(
  _ dot: String, format: ImageFormat, attributes: [String: String] = [:]
) throws(RenderError) -> [UInt8] {
  try GraphvizContext.shared.render(
    dot, renderer: format.graphvizName, what: format.rawValue.uppercased(), fitPNG: format == .png,
    attributes: attributes)
}

/// Lays out `dot` with Graphviz's `dot` engine and returns the layout as Graphviz's `json0` text: every node's
/// position and size, every cluster's bounding box and every edge's spline, in points with y pointing up.
func layoutJSON(_ dot: String) throws(RenderError) -> [UInt8] {
  try GraphvizContext.shared.render(dot, renderer: "json0:json:core", what: "the layout", fitPNG: false, attributes: [:])
}

/// The size in points of `dot`'s layout (its bounding box, without the `pad` margin around it).
public func layoutSize(_ dot: String) throws(RenderError) -> (width: Double, height: Double) {
  try GraphvizContext.shared.layoutSize(dot)
}

/// Messages Graphviz reports through `agerr`, collected while a render holds the lock.
nonisolated(unsafe) private var reportedMessages: [String] = []

private let reportMessage: @convention(c) (UnsafeMutablePointer<CChar>?) -> Int32 = { text in
  if let text { reportedMessages.append(String(cString: text)) }
  return 0
}

/// The one Graphviz context of the process, with its plugins loaded explicitly.
private final class GraphvizContext: @unchecked Sendable {
  static let shared = GraphvizContext()

  private let lock = NSLock()
  private var gvc: OpaquePointer?
  private var setUpError: String?

  private init() {}

  /// Lays out `dot` and reads its bounding box (`bb`: `llx,lly,urx,ury` in points).
  func layoutSize(_ dot: String) throws(RenderError) -> (width: Double, height: Double) {
    lock.lock()
    defer { lock.unlock() }
    reportedMessages = []
    _ = agseterrf(reportMessage)
    _ = agseterr(AGWARN)
    guard let gvc = context() else { throw RenderError(setUpError ?? "Graphviz could not start") }
    guard let graph = dot.withCString({ zoo_read_dot($0) }) else {
      throw RenderError("Graphviz could not read the generated DOT text")
    }
    defer { agclose(graph) }
    guard gvLayout(gvc, graph, "dot") == 0 else { throw RenderError("Graphviz could not lay out the diagram") }
    defer { gvFreeLayout(gvc, graph) }
    // The layout's bounding box is written as the graph's `bb` attribute by the DOT renderer.
    var data: UnsafeMutablePointer<CChar>?
    var length: UInt32 = 0
    guard gvRenderData(gvc, graph, "dot", &data, &length) == 0, let data else {
      throw RenderError("Graphviz could not measure the diagram")
    }
    defer { gvFreeRenderData(data) }
    let box = "bb".withCString { agget(graph, UnsafeMutablePointer(mutating: $0)) }.map { String(cString: $0) } ?? ""
    let v = box.split(separator: ",").compactMap { Double($0) }
    guard v.count == 4 else { throw RenderError("Graphviz gave no bounding box for the diagram") }
    return (v[2] - v[0], v[3] - v[1])
  }

  func render(_ dot: String, renderer: String, what: String, fitPNG: Bool, attributes: [String: String])
    throws(RenderError) -> [UInt8]
  {
    lock.lock()
    defer { lock.unlock() }
    reportedMessages = []
    _ = agseterrf(reportMessage)
    _ = agseterr(AGWARN)
    func failure(_ what: String) -> RenderError {
      let said = reportedMessages.joined().split(separator: "\n").map { $0.trimmingCharacters(in: .whitespaces) }
      return RenderError(what + (said.isEmpty ? "" : ": " + said.joined(separator: "; ")))
    }
    guard let gvc = context() else { throw RenderError(setUpError ?? "Graphviz could not start") }
    guard let graph = dot.withCString({ zoo_read_dot($0) }) else {
      throw failure("Graphviz could not read the generated DOT text")
    }
    defer { agclose(graph) }
    func set(_ key: String, _ value: String) {
      key.withCString { name in
        value.withCString { value in
          _ = agattr(graph, Int32(AGRAPH), UnsafeMutablePointer(mutating: name), UnsafeMutablePointer(mutating: value))
        }
      }
    }
    if fitPNG {
      // cairo bitmaps are at most 32,767 pixels a side; beyond that the pango plugin rescales and
      // prints a warning straight to stderr. Let Graphviz scale the drawing to fit instead
      // (32,640 px: 340 in at 96 dpi).
      let dpi = attributes["dpi"].flatMap(Double.init) ?? 96
      set("size", "\(32_640 / dpi),\(32_640 / dpi)")
    }
    for (key, value) in attributes.sorted(by: { $0.key < $1.key }) { set(key, value) }
    guard gvLayout(gvc, graph, "dot") == 0 else { throw failure("Graphviz could not lay out the diagram") }
    defer { gvFreeLayout(gvc, graph) }
    var data: UnsafeMutablePointer<CChar>?
    var length: UInt32 = 0
    guard gvRenderData(gvc, graph, renderer, &data, &length) == 0, let data else {
      throw failure("Graphviz could not render \(what)")
    }
    defer { gvFreeRenderData(data) }
    return data.withMemoryRebound(to: UInt8.self, capacity: Int(length)) {
      Array(UnsafeBufferPointer(start: $0, count: Int(length)))
    }
  }

  /// Creates the context on first use.
  ///
  /// libgvc normally finds its plugins through `config6a` in its plugin folder (written by
  /// `dot -c` when the package is installed); without that file, Graphviz 2.42 crashes on the
  /// first HTML label (its font table is never set up). So the layout (`dot`), core (SVG) and
  /// pango/cairo (PNG, PDF, text measurement) plugins are loaded from the folder beside `libgvc`
  /// and handed to `gvContextPlugins` as built-ins with demand loading off: the config file is not
  /// read, and the plugin set, hence the output, does not depend on it. When the plugins are not
  /// where Debian puts them, the ordinary `gvContext()` (config file) is used.
  private func context() -> OpaquePointer? {
    if let gvc { return gvc }
    if setUpError != nil { return nil }
    let list = pluginLibraries()
    let created: OpaquePointer?
    if list.count == 4 {
      // libgvc keeps the table for the life of the context: it is never freed.
      let builtins = UnsafeMutableBufferPointer<lt_symlist_t>.allocate(capacity: list.count)
      _ = builtins.initialize(from: list)
      created = gvContextPlugins(builtins.baseAddress, 0)
    } else {
      created = gvContext()
    }
    guard let created else {
      setUpError = "Graphviz could not create a context"
      return nil
    }
    var count: Int32 = 0
    let layouts = gvPluginList(created, "layout", &count, nil)
    var names: [String] = []
    if let layouts {
      for i in 0..<Int(count) {
        if let s = layouts[i] { names.append(String(cString: s)) }
        free(layouts[i])
      }
      free(layouts)
    }
    guard names.contains(where: { $0.hasPrefix("dot") }) else {
      setUpError =
        "Graphviz has no `dot` layout plugin (looked in \(pluginFolder() ?? "the folder beside libgvc")); "
        + "reinstall libgraphviz-dev (`apt-get install --reinstall libgvc6`)"
      gvFreeContext(created)
      return nil
    }
    gvc = created
    return created
  }
}

/// The folder holding Graphviz's plugins: `graphviz/` beside the loaded `libgvc`.
private func pluginFolder() -> String? {
  guard let file = zoo_gvc_library_path() else { return nil }
  return URL(fileURLWithPath: String(cString: file)).deletingLastPathComponent().appendingPathComponent("graphviz")
    .path
}

/// Built-in plugin table for `gvContextPlugins`: each plugin library's `…_LTX_library` symbol,
/// terminated by a null entry. The libraries stay loaded for the life of the process.
private func pluginLibraries() -> [lt_symlist_t] {
  var table: [lt_symlist_t] = []
  if let folder = pluginFolder() {
    for plugin in ["dot_layout", "core", "pango"] {
      for suffix in [".so.6", ".so"] {
        guard let handle = dlopen("\(folder)/libgvplugin_\(plugin)\(suffix)", RTLD_NOW | RTLD_LOCAL) else {
          continue
        }
        let name = "gvplugin_\(plugin)_LTX_library"
        if let address = dlsym(handle, name) {
          table.append(lt_symlist_t(name: UnsafePointer(strdup(name)), address: address))
        }
        break
      }
    }
  }
  table.append(lt_symlist_t(name: nil, address: nil))
  return table
}
