import Foundation
import ZooPlot

/// A chart's SVG text, drawn in memory (no temporary file).
///
/// cairo numbers its SVG surfaces with a counter that runs over the whole process (`<g id="surface36">`
/// for the 36th chart drawn), so the one surface id of a chart is set to `surface1`: a page's figure is
/// then the same bytes whether the whole gallery or that page alone is written. Nothing refers to it.
func svgText(_ chart: Chart) throws -> String {
  try svgText(named: chart.title) { try chart.rendered(as: "chart.svg") }
}

/// The SVG text of a drawing that ZooPlot renders to bytes (see `svgText(_:)`).
func svgText(named title: String, _ draw: () throws -> [UInt8]) throws -> String {
  let data: [UInt8]
  do { data = try draw() } catch { throw GalleryError("cannot draw “\(title)”: \(error)") }
  return String(decoding: data, as: UTF8.self).replacingOccurrences(
    of: #"<g id="surface[0-9]+">"#, with: #"<g id="surface1">"#, options: .regularExpression)
}
