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

/// A cairo drawing surface of `width × height` points that ends up as an SVG or PNG file.
///
/// The file type follows the path's extension (`.svg` or `.png`); PNGs are drawn at twice the size
/// (so they stay sharp on slides) from the same drawing calls. Coordinates: origin top left, y down.
/// cairo draws into memory; ``finish()`` writes the file through ``Files/write(_:to:what:)`` (a temporary
/// file renamed into place), so a failed or interrupted drawing never leaves a partial or stray file.
public final class Canvas {
  public let width: Double
  public let height: Double
  /// The file to write (its extension chooses the format; it names the file in errors).
  let path: String
  let png: Bool
  let sink = ByteSink()
  let surface: OpaquePointer
  let cr: OpaquePointer

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
      : cairo_svg_surface_create_for_stream(
        ByteSink.write, Unmanaged.passUnretained(sink).toOpaque(), width, height)!
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

  /// The file's bytes (SVG: finishes the surface; PNG: encodes the pixels). Call it once.
  public func rendered() throws(PlotError) -> [UInt8] {
    cairo_surface_flush(surface)
    var status = CAIRO_STATUS_SUCCESS
    if png {
      status = cairo_surface_write_to_png_stream(surface, ByteSink.write, Unmanaged.passUnretained(sink).toOpaque())
    } else {
      cairo_surface_finish(surface)
      status = cairo_surface_status(surface)
    }
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
    set(colour, alpha: alpha)
    cairo_rectangle(cr, x, y, width, height)
    cairo_fill(cr)
  }

  /// A polyline through `points`; `dash` is the on/off pattern in points (empty for solid).
  public func line(
    _ points: [(Double, Double)], _ colour: Colour, width: Double = 1, dash: [Double] = [], alpha: Double = 1
  ) {
    guard let first = points.first else { return }
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

  private static func setFont(_ cr: OpaquePointer, _ size: Double, _ bold: Bool) {
    cairo_select_font_face(
      cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
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
