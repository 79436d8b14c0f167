import Foundation
import ZooPlot

/// A chart's SVG text: ZooPlot draws to a file, so the chart goes through a temporary file that is
/// read back and removed. The SVG holds no trace of that file's name.
///
/// cairo numbers its SVG surfaces with a counter that runs over the whole process (`<g id="surface36">`
/// for the 36th chart drawn), so the one surface id of a chart is set to `surface1`: a page's figure is
/// then the same bytes whether the whole gallery or that page alone is written. Nothing refers to it.
func svgText(_ chart: Chart) throws -> String {
  try svgText(named: chart.title) { try chart.write(to: $0) }
}

/// The SVG text of a drawing that ZooPlot writes to the path it is given (see `svgText(_:)`).
func svgText(named title: String, _ draw: (String) throws -> Void) throws -> String {
  let tmp = FileManager.default.temporaryDirectory.appendingPathComponent("zoo-chart-\(UUID().uuidString).svg")
  defer { try? FileManager.default.removeItem(at: tmp) }
  do { try draw(tmp.path) } catch { throw GalleryError("cannot draw “\(title)”: \(error)") }
  guard let data = FileManager.default.contents(atPath: tmp.path) else {
    throw GalleryError("cannot read back the drawing “\(title)”")
  }
  return String(decoding: data, as: UTF8.self).replacingOccurrences(
    of: #"<g id="surface[0-9]+">"#, with: #"<g id="surface1">"#, options: .regularExpression)
}
