import CCairo
import Foundation
import ZooFiles
import ZooGraph

/// A drawing failure (an unwritable file, an unknown extension), naming the file.
public struct PlotError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public init(_ message: String) { self.message = message }
  public var description: String { message }
}

/// An RGB colour with components in 0…1.
public struct Colour: Sendable, Hashable {
  public var r, g, b: Double
  public init(_ r: Double, _ g: Double, _ b: Double) {
    self.r = r
    self.g = g
    self.b = b
  }
  /// `0x1f77b4` → the colour.
  public init(hex: Int) {
    self.init(Double((hex >> 16) & 255) / 255, Double((hex >> 8) & 255) / 255, Double(hex & 255) / 255)
  }
  public static let black = Colour(0.1, 0.1, 0.1)
  public static let grey = Colour(0.55, 0.55, 0.55)
  public static let lightGrey = Colour(0.86, 0.86, 0.86)
  public static let white = Colour(1, 1, 1)
  /// A colour-blind-safe cycle (Okabe–Ito) for series.
  public static let palette: [Colour] = [
    Colour(hex: 0x0072B2), Colour(hex: 0xD55E00), Colour(hex: 0x009E73), Colour(hex: 0xCC79A7),
    Colour(hex: 0xE69F00), Colour(hex: 0x56B4E9), Colour(hex: 0xF0E442),
  ]
}

/// Horizontal text anchoring.
public enum Anchor: Sendable { case start, middle, end }

/// A drawing surface of `width × height` points that ends up as an SVG or PNG file.
///
/// The file type follows the path's extension (`.svg` or `.png`). A PNG is drawn by cairo at twice
/// the size (so it stays sharp on slides). An SVG is written directly as SVG elements: shapes as
/// `<rect>`, `<polyline>` and `<circle>`, and text as real `<text>` elements (in DejaVu Sans, with
/// a generic sans-serif fallback), so a label can be edited, searched and translated in Inkscape or
/// PowerPoint; cairo only measures text for the layout. Coordinates: origin top left, y down. The
/// drawing happens in memory; ``finish()`` writes the file through ``Files/write(_:to:what:)`` (a
/// temporary file renamed into place), so a failed or interrupted drawing never leaves a partial or
/// stray file.
public final class Canvas {
  public let width: Double
  public let height: Double
  /// The file to write (its extension chooses the format; it names the file in errors).
  let path: String
  let png: Bool
  let sink = ByteSink()
  /// The PNG's image surface, or a 1×1 surface that only measures text for an SVG.
  let surface: OpaquePointer
  let cr: OpaquePointer
  /// The SVG's elements, in drawing order (empty for a PNG).
  var elements: [String] = []

  /// Opens a surface for `path`; call ``finish()`` to write the file or ``rendered()`` for its bytes.
  public init(path: String, width: Double, height: Double) throws(PlotError) {
    let lower = path.lowercased()
    guard lower.hasSuffix(".svg") || lower.hasSuffix(".png") else {
      throw PlotError("cannot draw `\(path)`: the file must end in .svg or .png")
    }
    self.width = width
    self.height = height
    self.path = path
    self.png = lower.hasSuffix(".png")
    let surface =
      png
      ? cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(width * 2), Int32(height * 2))!
      : cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1)!
    guard cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS else {
      let why = String(cString: cairo_status_to_string(cairo_surface_status(surface)))
      cairo_surface_destroy(surface)
      throw PlotError("cannot draw `\(path)`: \(why)")
    }
    self.surface = surface
    self.cr = cairo_create(surface)!
    if png { cairo_scale(cr, 2, 2) }
    fill(x: 0, y: 0, width: width, height: height, .white)
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND)
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND)
  }

  deinit {
    cairo_destroy(cr)
    cairo_surface_destroy(surface)
  }

  /// The file's bytes (SVG: the document; PNG: the encoded pixels). Call it once.
  public func rendered() throws(PlotError) -> [UInt8] {
    guard png else {
      let head =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        + "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(svgNumber(width))pt\" "
        + "height=\"\(svgNumber(height))pt\" viewBox=\"0 0 \(svgNumber(width)) \(svgNumber(height))\">\n"
      return Array((head + elements.joined(separator: "\n") + "\n</svg>\n").utf8)
    }
    cairo_surface_flush(surface)
    let status = cairo_surface_write_to_png_stream(
      surface, ByteSink.write, Unmanaged.passUnretained(sink).toOpaque())
    guard status == CAIRO_STATUS_SUCCESS else {
      throw PlotError("cannot draw `\(path)`: \(String(cString: cairo_status_to_string(status)))")
    }
    return sink.bytes
  }

  /// Writes the file atomically.
  public func finish() throws(PlotError) {
    let bytes = try rendered()
    do { try Files.write(bytes, to: path) } catch { throw PlotError(error.description) }
  }

  func set(_ c: Colour, alpha: Double = 1) { cairo_set_source_rgba(cr, c.r, c.g, c.b, alpha) }

  /// A filled rectangle.
  public func fill(x: Double, y: Double, width: Double, height: Double, _ colour: Colour, alpha: Double = 1) {
    guard png else {
      elements.append(
        "<rect x=\"\(svgNumber(x))\" y=\"\(svgNumber(y))\" width=\"\(svgNumber(width))\" "
          + "height=\"\(svgNumber(height))\" \(paint("fill", colour, alpha))/>")
      return
    }
    set(colour, alpha: alpha)
    cairo_rectangle(cr, x, y, width, height)
    cairo_fill(cr)
  }

  /// A polyline through `points`; `dash` is the on/off pattern in points (empty for solid).
  public func line(
    _ points: [(Double, Double)], _ colour: Colour, width: Double = 1, dash: [Double] = [], alpha: Double = 1
  ) {
    guard let first = points.first else { return }
    guard png else {
      let list = points.map { "\(svgNumber($0.0)),\(svgNumber($0.1))" }.joined(separator: " ")
      elements.append(
        "<polyline points=\"\(list)\" fill=\"none\" \(paint("stroke", colour, alpha)) "
          + "\(strokeStyle(width, dash))/>")
      return
    }
    set(colour, alpha: alpha)
    cairo_set_line_width(cr, width)
    cairo_set_dash(cr, dash, Int32(dash.count), 0)
    cairo_move_to(cr, first.0, first.1)
    for p in points.dropFirst() { cairo_line_to(cr, p.0, p.1) }
    cairo_stroke(cr)
    cairo_set_dash(cr, [], 0, 0)
  }

  /// A circle, filled with `fill` (nil: hollow) and outlined with `stroke` (nil: no outline).
  public func circle(
    x: Double, y: Double, radius: Double, fill: Colour?, stroke: Colour?, width: Double = 1, dash: [Double] = []
  ) {
    guard png else {
      var e = "<circle cx=\"\(svgNumber(x))\" cy=\"\(svgNumber(y))\" r=\"\(svgNumber(radius))\" "
      e += fill.map { paint("fill", $0, 1) } ?? "fill=\"none\""
      if let stroke { e += " " + paint("stroke", stroke, 1) + " " + strokeStyle(width, dash) }
      elements.append(e + "/>")
      return
    }
    cairo_new_path(cr)
    cairo_arc(cr, x, y, radius, 0, 2 * Double.pi)
    if let fill {
      set(fill)
      stroke == nil ? cairo_fill(cr) : cairo_fill_preserve(cr)
    }
    if let stroke {
      set(stroke)
      cairo_set_line_width(cr, width)
      cairo_set_dash(cr, dash, Int32(dash.count), 0)
      cairo_stroke(cr)
      cairo_set_dash(cr, [], 0, 0)
    }
    cairo_new_path(cr)
  }

  /// The width of `text` at `size` points.
  public func textWidth(_ text: String, size: Double, bold: Bool = false) -> Double {
    Canvas.textWidth(text, size: size, bold: bold, cr: cr)
  }

  /// The width of `text` at `size` points, before any canvas exists (to size one).
  public static func textWidth(_ text: String, size: Double, bold: Bool = false) -> Double {
    let surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, 1, 1)
    let cr = cairo_create(surface)
    defer {
      cairo_destroy(cr)
      cairo_surface_destroy(surface)
    }
    return textWidth(text, size: size, bold: bold, cr: cr!)
  }

  private static func textWidth(_ text: String, size: Double, bold: Bool, cr: OpaquePointer) -> Double {
    setFont(cr, size, bold)
    var e = cairo_text_extents_t()
    cairo_text_extents(cr, text, &e)
    return e.x_advance
  }

  /// The font every canvas draws with.
  static let fontFamily = "DejaVu Sans"

  private static func setFont(_ cr: OpaquePointer, _ size: Double, _ bold: Bool) {
    cairo_select_font_face(
      cr, fontFamily, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
    cairo_set_font_size(cr, size)
  }

  func font(_ size: Double, _ bold: Bool) { Canvas.setFont(cr, size, bold) }

  /// Text with its baseline at `y`, anchored at `x`; `angle` in degrees, counter-clockwise; an optional
  /// background box keeps it legible over lines.
  public func text(
    _ text: String, x: Double, y: Double, size: Double = 12, colour: Colour = .black, anchor: Anchor = .start,
    bold: Bool = false, angle: Double = 0, background: Colour? = nil
  ) {
    font(size, bold)
    let w = textWidth(text, size: size, bold: bold)
    let dx: Double =
      switch anchor {
      case .start: 0
      case .middle: -w / 2
      case .end: -w
      }
    guard png else {
      let rotate = angle == 0 ? "" : " transform=\"rotate(\(svgNumber(-angle)) \(svgNumber(x)) \(svgNumber(y)))\""
      if let background {
        elements.append(
          "<rect x=\"\(svgNumber(x + dx - 3))\" y=\"\(svgNumber(y - size * 0.95))\" width=\"\(svgNumber(w + 6))\" "
            + "height=\"\(svgNumber(size * 1.3))\" \(paint("fill", background, 0.9))\(rotate)/>")
      }
      let textAnchor =
        switch anchor {
        case .start: "start"
        case .middle: "middle"
        case .end: "end"
        }
      elements.append(
        "<text x=\"\(svgNumber(x))\" y=\"\(svgNumber(y))\" font-family=\"\(Canvas.fontFamily), sans-serif\" "
          + "font-size=\"\(svgNumber(size))\"\(bold ? " font-weight=\"bold\"" : "") text-anchor=\"\(textAnchor)\" "
          + "\(paint("fill", colour, 1))\(rotate)>\(xmlEscaped(text))</text>")
      return
    }
    cairo_save(cr)
    cairo_translate(cr, x, y)
    cairo_rotate(cr, -angle * Double.pi / 180)
    if let background {
      set(background, alpha: 0.9)
      cairo_rectangle(cr, dx - 3, -size * 0.95, w + 6, size * 1.3)
      cairo_fill(cr)
    }
    set(colour)
    cairo_move_to(cr, dx, 0)
    cairo_show_text(cr, text)
    cairo_restore(cr)
  }
}

/// `fill="#1f77b4"`, with `fill-opacity` when `alpha` is below 1.
private func paint(_ attribute: String, _ c: Colour, _ alpha: Double) -> String {
  func hex(_ v: Double) -> String {
    let n = max(0, min(255, Int((v * 255).rounded())))
    let digits = Array("0123456789abcdef")
    return String([digits[n / 16], digits[n % 16]])
  }
  let colour = "\(attribute)=\"#\(hex(c.r))\(hex(c.g))\(hex(c.b))\""
  return alpha < 1 ? colour + " \(attribute)-opacity=\"\(svgNumber(alpha))\"" : colour
}

/// A stroke's width, round joins and caps, and its dash pattern.
private func strokeStyle(_ width: Double, _ dash: [Double]) -> String {
  var s = "stroke-width=\"\(svgNumber(width))\" stroke-linejoin=\"round\" stroke-linecap=\"round\""
  if !dash.isEmpty { s += " stroke-dasharray=\"\(dash.map(svgNumber).joined(separator: " "))\"" }
  return s
}

/// A coordinate with at most two decimals and no trailing zeros (`12`, `12.5`, `-0.25`), written
/// without Foundation formatting so the file is the same in every locale.
func svgNumber(_ v: Double) -> String {
  let hundredths = Int((v * 100).rounded())
  let sign = hundredths < 0 ? "-" : ""
  let a = abs(hundredths)
  var s = sign + String(a / 100)
  let frac = a % 100
  if frac != 0 { s += frac % 10 == 0 ? ".\(frac / 10)" : (frac < 10 ? ".0\(frac)" : ".\(frac)") }
  return s
}

/// The bytes cairo writes through a stream callback.
final class ByteSink {
  var bytes: [UInt8] = []

  static let write: cairo_write_func_t = { closure, data, length in
    guard let closure else { return CAIRO_STATUS_WRITE_ERROR }
    let sink = Unmanaged<ByteSink>.fromOpaque(closure).takeUnretainedValue()
    if let data, length > 0 { sink.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length))) }
    return CAIRO_STATUS_SUCCESS
  }
}
