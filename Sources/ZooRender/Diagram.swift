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
/// bytes on every run. A PNG is drawn at 2× (192 dpi), within cairo's 32,640 pixels a side.
public func renderDiagram(
  _ summary: Summary, options: DiagramOptions = DiagramOptions(), format: DiagramFormat
) throws(RenderError) -> [UInt8] {
  if format == .dot { return Array(diagramDOT(summary, options: options).utf8) }
  return try fitDiagram(summary, options: options, format: format).bytes
}

/// The smallest text a fitted PNG keeps, in pixels: a font size of 14 px reads from the back of a
/// lecture room on a 1080-pixel slide.
public let minimumTextSize = 14.0

/// The smallest text a fitted diagram keeps: ``minimumTextSize`` pixels in a PNG; in an SVG or PDF,
/// 10 points, the diagrams' own smallest font (fine print and edge labels), so fitting a vector
/// drawing never shrinks its text.
public func minimumTextSize(for format: DiagramFormat) -> Double { format == .png ? minimumTextSize : 10 }

/// A diagram rendered for a page: its bytes, the view chosen to fit, and what it could not keep.
public struct FittedDiagram: Sendable {
  public var bytes: [UInt8]
  /// The options drawn: the depth and number of columns chosen to fit.
  public var options: DiagramOptions
  /// The size of the file: pixels for a PNG, points for an SVG or PDF.
  public var width: Double
  public var height: Double
  /// The smallest font size in the file, in the same units.
  public var smallestText: Double
  /// Why the result is not what was asked for (text below ``minimumTextSize``), one sentence each.
  public var warnings: [String]
}

/// Output units (PNG pixels, SVG/PDF points) per point of the layout when nothing else limits:
/// a PNG at twice 96 dpi, so it stays sharp on slides; an SVG or PDF at its natural size.
private func naturalScale(_ format: DiagramFormat) -> Double { format == .png ? 2 * 96 / 72 : 1 }

/// Graphviz's margin around the layout (`pad=0.25` in), on each side, in points.
private let padding = 18.0

/// The smallest `fontsize` or `point-size` a DOT text uses, in points.
func smallestFont(_ dot: String) -> Double {
  var sizes: [Double] = []
  for key in ["fontsize=", "point-size=\""] {
    var rest = dot[...]
    while let r = rest.range(of: key) {
      rest = rest[r.upperBound...]
      let digits = rest.prefix { $0.isNumber || $0 == "." }
      if let v = Double(digits) { sizes.append(v) }
    }
  }
  return sizes.min() ?? 14
}

/// The diagram of `summary`'s graph fitted into `size` (pixels for PNG, points for SVG and PDF),
/// or at its natural size (a PNG at 2×) when `size` is nil.
///
/// To fit, the chain wraps into up to eight columns (rows when left to right) rather than scaling
/// the text down; when no wrapping keeps the smallest text at ``minimumTextSize``, shallower depths
/// are tried (unless `options` names a depth or `expand`). The drawing is never enlarged beyond its
/// natural size. When the text still cannot stay readable, the closest result comes with a warning.
/// A PNG is also kept within cairo's 32,640 pixels a side, with a warning when that shrinks its text.
public func fitDiagram(
  _ summary: Summary, options: DiagramOptions = DiagramOptions(), format: DiagramFormat,
  size: (width: Double, height: Double)? = nil
) throws(RenderError) -> FittedDiagram {
  let cap = naturalScale(format)
  let minimum = minimumTextSize(for: format)
  struct Trial {
    var options: DiagramOptions
    var dot: String
    var scale: Double
    var text: Double
    var width, height: Double
  }
  func trial(_ o: DiagramOptions) throws(RenderError) -> Trial {
    let dot = diagramDOT(summary, options: o)
    let box = try layoutSize(dot)
    let w = box.width + 2 * padding
    let h = box.height + 2 * padding
    var scale = cap
    if let size { scale = min(scale, size.width / w, size.height / h) }
    if format == .png { scale = min(scale, 32_640 / max(w, h)) }
    return Trial(options: o, dot: dot, scale: scale, text: smallestFont(dot) * scale, width: w, height: h)
  }
  var chosen: Trial
  if size == nil || format == .dot {
    chosen = try trial(options)
  } else {
    let depths: [Int?]
    if options.expand || options.depth != nil {
      depths = [options.depth]
    } else {
      let start = chosenDepth(summary, options: options)
      depths = Array(stride(from: start, through: 1, by: -1))
    }
    var best: Trial?
    search: for d in depths {
      var o = options
      o.depth = d
      var bestHere: Trial?
      var worse = 0
      for k in 1...8 {
        o.columns = k
        let t = try trial(o)
        // The fewest columns that keep the text readable; else the most readable.
        if t.text >= minimum {
          bestHere = t
          break
        }
        if bestHere.map({ t.scale > $0.scale * 1.001 }) ?? true {
          bestHere = t
          worse = 0
        } else {
          worse += 1
          if worse >= 2 { break }
        }
      }
      guard let bestHere else { continue }
      if best.map({ bestHere.text > $0.text }) ?? true { best = bestHere }
      if bestHere.text >= minimum {
        best = bestHere
        break search
      }
    }
    chosen = best!
  }
  var warnings: [String] = []
  // Only a size asked for, or cairo's limit on a PNG, scales the text down.
  if format != .dot && (size != nil || format == .png) && chosen.text < minimum - 1e-9 {
    let unit = format == .png ? "px" : "pt"
    let scaled = chosen.text.formattedOneDecimal
    if let size {
      warnings.append(
        "text is \(scaled) \(unit) high at \(Int(size.width))×\(Int(size.height)) \(unit), below \(Int(minimum)) \(unit) "
          + "even \(chosen.options.depth.map { "at depth \($0)" } ?? "with every layer drawn") in "
          + "\(chosen.options.columns) column\(chosen.options.columns == 1 ? "" : "s"); "
          + "give a larger --size, a smaller --depth, or --edge-labels none")
    } else {
      warnings.append(
        "text is \(scaled) \(unit) high: the \(Int(chosen.width))×\(Int(chosen.height))-point drawing is scaled "
          + "to cairo's 32,640-pixel limit; use SVG or PDF, --size WxH to wrap it into columns, or a smaller --depth")
    }
  }
  let bytes: [UInt8]
  switch format {
  case .dot: bytes = Array(chosen.dot.utf8)
  case .png:
    bytes = try renderDOT(chosen.dot, format: .png, attributes: ["dpi": "\(chosen.scale * 72)"])
  case .svg, .pdf:
    // cairo's PDF adds a half-inch margin of its own; without it the page is the drawing's size.
    var attributes: [String: String] = format == .pdf ? ["margin": "0"] : [:]
    if chosen.scale < 1 {
      // Graphviz's `size` bounds the whole drawing, padding included.
      attributes["size"] = "\(chosen.width * chosen.scale / 72),\(chosen.height * chosen.scale / 72)"
    }
    bytes = try renderDOT(chosen.dot, format: format == .svg ? .svg : .pdf, attributes: attributes)
  }
  return FittedDiagram(
    bytes: bytes, options: chosen.options, width: chosen.width * chosen.scale, height: chosen.height * chosen.scale,
    smallestText: chosen.text, warnings: warnings)
}

extension Double {
  /// `5.3`: one decimal, rounded half up, without Foundation formatting.
  fileprivate var formattedOneDecimal: String {
    let tenths = Int((self * 10).rounded())
    return "\(tenths / 10).\(tenths % 10)"
  }
}

/// Renders the diagram of `summary`'s graph and writes it to `path` atomically; the format comes
/// from `format` or else the path's extension, fitted into `size` when given (see
/// ``fitDiagram(_:options:format:size:)``). A failed render or write leaves no file behind.
@discardableResult
public func writeDiagram(
  _ summary: Summary, to path: String, format: DiagramFormat? = nil, options: DiagramOptions = DiagramOptions(),
  size: (width: Double, height: Double)? = nil
) throws(RenderError) -> FittedDiagram {
  guard let format = format ?? DiagramFormat(path: path) else {
    throw RenderError(
      "cannot tell the diagram format of `\(path)`: use an extension .svg, .png, .pdf or .dot")
  }
  let fitted = try fitDiagram(summary, options: options, format: format, size: size)
  try writeAtomically(fitted.bytes, to: path)
  return fitted
}

/// Writes `bytes` to `path` atomically through ``Files/write(_:to:what:)``: a temporary file beside
/// `path` renamed over it, removed when anything fails or a signal ends the process.
public func writeAtomically(_ bytes: [UInt8], to path: String) throws(RenderError) {
  do { try Files.write(bytes, to: path) } catch { throw RenderError(error.description) }
}
