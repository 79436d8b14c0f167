import Foundation
import ZooPlot

/// A chart's SVG text, drawn in memory (no temporary file).
func svgText(_ chart: Chart) throws -> String {
  try svgText(named: chart.title) { try chart.rendered(as: "chart.svg") }
}

/// The SVG text of a drawing that ZooPlot renders to bytes. ZooPlot writes the SVG itself, with
/// nothing that depends on the process (no surface counter), so a page's figure is the same bytes
/// whether the whole gallery or that page alone is written.
func svgText(named title: String, _ draw: () throws -> [UInt8]) throws -> String {
  let data: [UInt8]
  do { data = try draw() } catch { throw GalleryError("cannot draw “\(title)”: \(error)") }
  return String(decoding: data, as: UTF8.self)
}
