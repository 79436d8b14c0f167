import Foundation
import ZooAnalysis
import ZooGraph

/// The ops that slide a window over the feature map (and so count as one step of depth).
private func windowGeometry(_ op: Op) -> (h: (k: Int, s: Int, p: Int, d: Int), w: (k: Int, s: Int, p: Int, d: Int))? {
  switch op {
  case .conv(let c):
    // A padding before the convolution starts unit u's window at u·s − top (− left along W).
    let (ph, pw) = c.prePad.map { ($0.top, $0.left) } ?? (c.padding.h, c.padding.w)
    return ((c.kernel.h, c.stride.h, ph, c.dilation.h), (c.kernel.w, c.stride.w, pw, c.dilation.w))
  case .pad(let p):
    return ((1, 1, p.top, 1), (1, 1, p.left, 1))
  case .pool(let p):
    return (
      (p.kernel.h, p.stride.h, p.padding.h, p.dilation.h), (p.kernel.w, p.stride.w, p.padding.w, p.dilation.w)
    )
  case .subsample(_, let k):
    return ((k, k, 0, 1), (k, k, 0, 1))
  case .local(let l):
    return ((l.kernel.h, l.stride.h, l.padding.h, 1), (l.kernel.w, l.stride.w, l.padding.w, 1))
  default:
    return nil
  }
}

/// A short label for a node in a chart: its stage (`layer2`); when one module holds every layer, the
/// part below it (`transition1`, or `features.4` for numbered layers).
private func stageLabel(_ name: String, sharedRoot: String?) -> String {
  let parts = name.split(separator: ".").map(String.init)
  if let sharedRoot, parts.first == sharedRoot, parts.count > 1 {
    // `features.transition1` → `transition1`, but `features.4` stays whole.
    return Int(parts[1]) == nil ? parts[1] : parts[0...1].joined(separator: ".")
  }
  return parts[0]
}

/// Receptive-field size and effective stride against depth (the number of conv and pooling layers on
/// the longest path to a layer), on a log₂ axis, with a dashed line at the input size and a marker
/// wherever the effective stride grows (a new stage). At every depth the largest field is plotted.
public func receptiveFieldChart(_ rf: ReceptiveFields) -> Chart {
  let g = rf.summary.graph
  var depth = Array(repeating: 0, count: g.nodes.count)
  var sizes: [Int: (h: Int, w: Int, stride: Int, node: Int)] = [0: (1, 1, 1, 0)]
  for node in g.nodes where node.op != .input {
    let f = rf.nodes[node.id]
    let isWindow = windowGeometry(node.op) != nil || (node.op.kindName.hasPrefix("adaptive_") && !f.global)
    depth[node.id] = (node.inputs.map { depth[$0] }.max() ?? 0) + (isWindow ? 1 : 0)
    guard isWindow, !f.global else { continue }
    let d = depth[node.id]
    let old = sizes[d]
    let stride = max(f.h.stride, f.w.stride)
    if old == nil || max(f.h.size, f.w.size) > max(old!.h, old!.w) || stride > old!.stride {
      sizes[d] = (max(f.h.size, old?.h ?? 0), max(f.w.size, old?.w ?? 0), max(stride, old?.stride ?? 0), node.id)
    }
  }
  let ds = sizes.keys.sorted()
  let windowNames = g.nodes.filter { windowGeometry($0.op) != nil }.map(\.name)
  let roots = Set(windowNames.map { String($0.split(separator: ".")[0]) })
  let sharedRoot = roots.count == 1 ? roots.first : nil

  let input = rf.summary.input
  var chart = Chart(
    title: "\(g.name): receptive field by depth",
    subtitle: "input \(input[1])×\(input[2]) · at each depth the largest field over all paths"
      + (rf.globalFrom.map { " · global from \($0.path) on" } ?? ""),
    xLabel: "depth (conv and pooling layers on the longest path)", yLabel: "input pixels (log scale)")
  chart.yScale = .log2
  chart.legend = .bottomRight
  chart.xWholeTicks = true
  let square = ds.allSatisfy { sizes[$0]!.h == sizes[$0]!.w }
  chart.series.append(
    Chart.Series(
      square ? "receptive field" : "receptive field (height)",
      points: ds.map { (Double($0), Double(sizes[$0]!.h)) }, colour: Colour.palette[0]))
  if !square {
    chart.series.append(
      Chart.Series(
        "receptive field (width)", points: ds.map { (Double($0), Double(sizes[$0]!.w)) }, colour: Colour.palette[5],
        dashed: true))
  }
  chart.series.append(
    Chart.Series(
      "effective stride", points: ds.map { (Double($0), Double(sizes[$0]!.stride)) }, style: .step,
      colour: Colour.palette[1]))
  chart.levels.append(
    Chart.Level(
      y: Double(input[1]), label: input[1] == input[2] ? "input \(input[1]) px" : "input height \(input[1]) px",
      colour: Colour.palette[2]))
  if input[1] != input[2] && input[2] > 1 {
    chart.levels.append(
      Chart.Level(y: Double(input[2]), label: "input width \(input[2]) px", colour: Colour.palette[3]))
  }
  for (a, b) in zip(ds, ds.dropFirst()) where sizes[b]!.stride > sizes[a]!.stride {
    chart.markers.append(
      Chart.Marker(
        x: Double(b) - 0.5,
        label: "\(stageLabel(g.nodes[sizes[b]!.node].name, sharedRoot: sharedRoot)) /\(sizes[b]!.stride)"))
  }
  return chart
}

/// Writes ``receptiveFieldChart(_:)`` to `path` (`.svg` or `.png`).
public func writeReceptiveFieldChart(_ rf: ReceptiveFields, to path: String) throws(PlotError) {
  try receptiveFieldChart(rf).write(to: path)
}

/// One layer of the diagram's chain, along the height axis.
private struct DiagramLayer {
  var name: String
  var summary: String
  var k, s, p, d: Int
  var field: AxisField
  var length: Int
}

/// The first sliding-window layers of the graph while it is a plain chain (up to `maxLayers`, and
/// while the field stays within `maxField` pixels so that every unit can be drawn).
private func diagramChain(_ rf: ReceptiveFields, width: Bool, maxLayers: Int, maxField: Int) -> [DiagramLayer] {
  let g = rf.summary.graph
  // Readers of each value, leaving out those that only take its size (a crop's or an upsampling's
  // second input): the network input of FCN is also the size of its output.
  var consumers = Array(repeating: [Int](), count: g.nodes.count)
  for node in g.nodes {
    for (k, i) in node.inputs.enumerated() {
      if k == 1, case .crop = node.op { continue }
      if k == 1, case .upsample(let u) = node.op, u.like { continue }
      consumers[i].append(node.id)
    }
  }
  var chain: [DiagramLayer] = []
  var current = 0
  while chain.count < maxLayers, consumers[current].count == 1 {
    let next = g.nodes[consumers[current][0]]
    guard next.inputs.count == 1, !rf.nodes[next.id].global else { break }
    current = next.id
    guard let geo = windowGeometry(next.op) else {
      if next.op.kindName.hasPrefix("adaptive_") || next.op.kindName == "max_unpool" { break }
      continue
    }
    let f = width ? rf.nodes[next.id].w : rf.nodes[next.id].h
    let g = width ? geo.w : geo.h
    if f.size > maxField && !chain.isEmpty { break }
    chain.append(
      DiagramLayer(
        name: next.name, summary: next.op.summary, k: g.k, s: g.s, p: g.p, d: g.d, field: f,
        length: rf.summary.shapes[next.id][width ? 2 : 1]))
  }
  return chain
}

/// A drawing in the spirit of Goodfellow et al.'s figure 9.4: the input pixels at the bottom, the first
/// conv and pooling layers above, each unit drawn over the centre of its field; one unit at the top and
/// everything it depends on are highlighted, layer by layer, and a bracket under the input spans its
/// receptive field. One axis is drawn (the height, or the width when the input is one pixel high); the
/// other behaves alike.
public func writeReceptiveFieldDiagram(
  _ rf: ReceptiveFields, to path: String, maxLayers: Int = 4, maxField: Int = 40
) throws(PlotError) {
  try drawReceptiveFieldDiagram(rf, path: path, maxLayers: maxLayers, maxField: maxField).finish()
}

/// Whether ``writeReceptiveFieldDiagram(_:to:maxLayers:maxField:)`` has a layer to draw: the input leads,
/// through layers with one input and one consumer each, to a convolution or pooling layer whose field
/// is not global. A network whose first layer branches (a gated convolution's feature and gate) or
/// that starts by upsampling has none.
public func hasReceptiveFieldDiagram(_ rf: ReceptiveFields, maxLayers: Int = 4, maxField: Int = 40) -> Bool {
  let alongWidth = rf.summary.input[1] == 1 && rf.summary.input[2] > 1
  return !diagramChain(rf, width: alongWidth, maxLayers: maxLayers, maxField: maxField).isEmpty
}

/// ``writeReceptiveFieldDiagram(_:to:maxLayers:maxField:)``'s drawing as the bytes of a file named `name`
/// (`.svg` or `.png`), without writing it.
public func renderReceptiveFieldDiagram(
  _ rf: ReceptiveFields, as name: String, maxLayers: Int = 4, maxField: Int = 40
) throws(PlotError) -> [UInt8] {
  try drawReceptiveFieldDiagram(rf, path: name, maxLayers: maxLayers, maxField: maxField).rendered()
}

private func drawReceptiveFieldDiagram(
  _ rf: ReceptiveFields, path: String, maxLayers: Int, maxField: Int
) throws(PlotError) -> Canvas {
  let g = rf.summary.graph
  // The height axis, unless the input is one pixel high (a 1-D toy laid out along the width).
  let alongWidth = rf.summary.input[1] == 1 && rf.summary.input[2] > 1
  let chain = diagramChain(rf, width: alongWidth, maxLayers: maxLayers, maxField: maxField)
  guard let topLayer = chain.last else {
    throw PlotError("cannot draw `\(path)`: \(g.name) starts with no convolution or pooling layer")
  }
  let inputLength = rf.summary.input[alongWidth ? 2 : 1]
  // The top unit: the first whose field starts at least two pixels inside the input.
  let top = topLayer.field
  var u = max(0, (top.padding + 2 + top.stride - 1) / top.stride)
  u = min(u, topLayer.length - 1)
  let span = top.span(of: u)
  let xmin = Double(max(span.lowerBound - 2, -top.padding))
  let xmax = Double(min(span.upperBound + 2, inputLength - 1 + top.padding))

  // Units each layer's highlighted units read, from the top down.
  var highlighted: [Set<Int>] = Array(repeating: [], count: chain.count + 1)
  highlighted[chain.count] = [u]
  for i in stride(from: chain.count, to: 0, by: -1) {
    let l = chain[i - 1]
    highlighted[i - 1] = Set(highlighted[i].flatMap { v in (0..<l.k).map { v * l.s - l.p + l.d * $0 } })
  }
  // Rows: 0 is the input; row i is chain[i - 1].
  let fields = [AxisField.unit] + chain.map(\.field)
  let lengths = [inputLength] + chain.map(\.length)
  func units(_ row: Int) -> [Int] {
    let f = fields[row]
    let lo = Int(((xmin - f.centreOffset) / Double(f.stride)).rounded(.up))
    let hi = Int(((xmax - f.centreOffset) / Double(f.stride)).rounded(.down))
    return lo <= hi ? Array(lo...hi) : []
  }

  // Out-of-map positions that a drawn unit of the layer above reads: padding.
  var padding: [Set<Int>] = Array(repeating: [], count: fields.count)
  for row in 1..<fields.count {
    let l = chain[row - 1]
    for v in units(row) where v >= 0 && v < lengths[row] {
      for j in 0..<l.k {
        let w = v * l.s - l.p + l.d * j
        if w < 0 || w >= lengths[row - 1] { padding[row - 1].insert(w) }
      }
    }
  }
  let shownPadding = padding.enumerated().contains { row, set in !Set(units(row)).isDisjoint(with: set) }

  let spacing = min(30.0, max(14.0, 900 / (xmax - xmin + 1)))
  let radius = min(9.0, spacing * 0.34)
  let labels = [("input", "pixels")] + chain.map { ("\($0.name)", $0.summary) }
  let leftMargin =
    (labels.map { max(Canvas.textWidth($0.0, size: 13, bold: true), Canvas.textWidth($0.1, size: 11)) }.max() ?? 80)
    + 40
  let rightMargin = 150.0
  let rowGap = 92.0
  let subtitle = [
    "The top unit (orange) depends on the blue units below it, layer by layer.",
    (alongWidth ? "Width" : "Height") + " axis; each unit sits over the centre of its field."
      + (shownPadding ? " Dashed circles are padding." : ""),
  ]
  let width = max(
    subtitle.map { Canvas.textWidth($0, size: 11.5) }.max()! + 48,
    leftMargin + (xmax - xmin) * spacing + rightMargin + 2 * radius)
  let height = 136 + Double(chain.count) * rowGap + 90
  let c = try Canvas(path: path, width: width, height: height)
  func x(_ pos: Double) -> Double { leftMargin + radius + (pos - xmin) * spacing }
  func y(_ row: Int) -> Double { height - 90 - Double(row) * rowGap }
  func pos(_ row: Int, _ v: Int) -> Double { Double(v * fields[row].stride) + fields[row].centreOffset }

  let highlight = Colour.palette[0]
  let topColour = Colour.palette[1]
  c.text("\(g.name): how the receptive field grows", x: 24, y: 32, size: 18, bold: true)
  for (i, line) in subtitle.enumerated() {
    c.text(line, x: 24, y: 54 + Double(i) * 16, size: 11.5, colour: .grey)
  }

  // Connections: faint for every unit shown, coloured for the ones the top unit depends on.
  for row in 1..<fields.count {
    let l = chain[row - 1]
    let below = Set(units(row - 1))
    for v in units(row) where v >= 0 && v < lengths[row] {
      let lit = highlighted[row].contains(v)
      for j in 0..<l.k {
        let w = v * l.s - l.p + l.d * j
        guard below.contains(w) else { continue }
        c.line(
          [(x(pos(row, v)), y(row) + radius), (x(pos(row - 1, w)), y(row - 1) - radius)],
          lit ? highlight : .lightGrey, width: lit ? 1.6 : 0.8, alpha: lit ? 0.85 : 1)
      }
    }
  }
  // Units: padding positions (read by the layer above but outside the map) dashed, highlighted ones filled.
  for row in 0..<fields.count {
    for v in units(row) {
      let isPadding = v < 0 || v >= lengths[row]
      if isPadding && !padding[row].contains(v) { continue }
      let lit = highlighted[row].contains(v)
      let fill: Colour? = row == fields.count - 1 && lit ? topColour : (lit && !isPadding ? highlight : .white)
      c.circle(
        x: x(pos(row, v)), y: y(row), radius: radius, fill: fill, stroke: isPadding ? .grey : .black,
        width: isPadding ? 0.8 : 1, dash: isPadding ? [2, 2] : [])
    }
    let label = labels[row]
    c.text(label.0, x: 24, y: y(row) - 2, size: 13, bold: true)
    c.text(label.1, x: 24, y: y(row) + 14, size: 11, colour: .grey)
    let f = fields[row]
    let note = row == 0 ? "" : "RF \(f.size), stride \(f.stride)"
    c.text(
      note, x: x(xmax) + radius + 18, y: y(row) + 4, size: 12, colour: row == fields.count - 1 ? topColour : .black)
  }
  // The bracket under the input: the top unit's receptive field.
  let by = y(0) + radius + 14
  let (a, b) = (x(Double(span.lowerBound)) - radius, x(Double(span.upperBound)) + radius)
  c.line([(a, by - 6), (a, by), (b, by), (b, by - 6)], topColour, width: 2)
  c.text(
    "receptive field: \(top.size) pixels (\(span.lowerBound)…\(span.upperBound))", x: (a + b) / 2, y: by + 18,
    size: 13, colour: topColour, anchor: .middle, bold: true)
  return c
}
