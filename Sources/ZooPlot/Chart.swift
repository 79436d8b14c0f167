import Foundation

/// A line or scatter chart: title, axes with ticks and labels, a legend, series, vertical markers
/// and horizontal reference lines. Drawn to SVG or PNG by ``write(to:)``.
public struct Chart: Sendable {
  /// How values map to an axis. Log axes need positive values and put ticks on powers of the base.
  public enum Scale: Sendable { case linear, log2, log10 }

  public struct Series: Sendable {
    public enum Style: Sendable {
      /// Points joined by straight lines, each point marked.
      case line
      /// Points only, each with its label (if any) beside it.
      case scatter
      /// A staircase: the value holds until the next point (for effective strides).
      case step
    }
    public var name: String
    public var points: [(x: Double, y: Double)]
    public var style: Style
    public var colour: Colour?
    public var dashed: Bool
    /// Labels for scatter points (same order as `points`); empty for none.
    public var labels: [String]

    public init(
      _ name: String, points: [(x: Double, y: Double)], style: Style = .line, colour: Colour? = nil,
      dashed: Bool = false, labels: [String] = []
    ) {
      self.name = name
      self.points = points
      self.style = style
      self.colour = colour
      self.dashed = dashed
      self.labels = labels
    }
  }

  /// A vertical line at `x` with a label written along it (a stage boundary).
  public struct Marker: Sendable {
    public var x: Double
    public var label: String
    public init(x: Double, label: String) {
      self.x = x
      self.label = label
    }
  }

  /// A horizontal reference line at `y` with a label at its right end (the input size).
  public struct Level: Sendable {
    public var y: Double
    public var label: String
    public var colour: Colour
    public init(y: Double, label: String, colour: Colour = .grey) {
      self.y = y
      self.label = label
      self.colour = colour
    }
  }

  public var title: String
  public var subtitle: String
  public var xLabel: String
  public var yLabel: String
  public var xScale: Scale = .linear
  /// Linear x axis only: ticks on whole numbers (for counts such as depth).
  public var xWholeTicks = false
  public var yScale: Scale = .linear
  public var series: [Series] = []
  public var markers: [Marker] = []
  public var levels: [Level] = []
  /// Where the legend sits inside the plot area.
  public var legend: LegendCorner = .topLeft
  public enum LegendCorner: Sendable { case topLeft, topRight, bottomLeft, bottomRight }
  /// Size in points (pixels of the SVG; the PNG has twice as many).
  public var width = 820.0
  public var height = 500.0

  public init(title: String, subtitle: String = "", xLabel: String, yLabel: String) {
    self.title = title
    self.subtitle = subtitle
    self.xLabel = xLabel
    self.yLabel = yLabel
  }

  /// Draws the chart to `path` (`.svg` or `.png`), atomically.
  public func write(to path: String) throws(PlotError) {
    let canvas = try Canvas(path: path, width: width, height: height)
    draw(on: canvas)
    try canvas.finish()
  }

  /// The chart as the bytes of a file named `name` (`.svg` or `.png`), without writing it.
  public func rendered(as name: String) throws(PlotError) -> [UInt8] {
    let canvas = try Canvas(path: name, width: width, height: height)
    draw(on: canvas)
    return try canvas.rendered()
  }

  /// The radius of a scatter point.
  public static let pointRadius = 4.5

  /// The plot area and the axes of the chart.
  struct Frame {
    var plot: (x: Double, y: Double, w: Double, h: Double)
    var xAxis: Axis
    var yAxis: Axis
    func px(_ x: Double) -> Double { plot.x + xAxis.fraction(x) * plot.w }
    func py(_ y: Double) -> Double { plot.y + plot.h - yAxis.fraction(y) * plot.h }
  }

  /// The plot area and the axes.
  func frame() -> Frame {
    let left = 78.0
    let right = 36.0
    let top = subtitle.isEmpty ? 52.0 : 70.0
    let bottom = 58.0
    let plot = (x: left, y: top, w: width - left - right, h: height - top - bottom)
    let xs = series.flatMap { $0.points.map(\.x) } + markers.map(\.x)
    let ys = series.flatMap { $0.points.map(\.y) } + levels.map(\.y)
    let xAxis = Axis(scale: xScale, values: xs, whole: xWholeTicks)
    // Keep the top free for the marker labels, written downwards from the top of the plot.
    let labelLength = markers.map { Canvas.textWidth($0.label, size: 10.5) }.max().map { $0 + 16 } ?? 0
    let yAxis = Axis(scale: yScale, values: ys, headroom: min(0.45, labelLength / plot.h))
    return Frame(plot: plot, xAxis: xAxis, yAxis: yAxis)
  }

  /// The legend's box inside the plot area: in the chosen corner, or, when that box would hide a
  /// scatter point, in the first other corner that hides none (else the one that hides fewest); nil
  /// without series.
  func legendBox(_ f: Frame) -> Box? {
    guard !series.isEmpty else { return nil }
    let boxW = series.map { Canvas.textWidth($0.name, size: 12) }.max()! + 50
    let boxH = Double(series.count) * 20 + 10
    func box(_ corner: LegendCorner) -> Box {
      let left = corner == .topLeft || corner == .bottomLeft
      let upper = corner == .topLeft || corner == .topRight
      let bx = left ? f.plot.x + 10 : f.plot.x + f.plot.w - 10 - boxW
      let by = upper ? f.plot.y + 10 : f.plot.y + f.plot.h - 10 - boxH
      return Box(x: bx, y: by, width: boxW, height: boxH)
    }
    let r = Self.pointRadius + 2
    let points = series.filter { $0.style == .scatter }.flatMap { s in
      s.points.map { Box(x: f.px($0.x) - r, y: f.py($0.y) - r, width: 2 * r, height: 2 * r) }
    }
    let corners =
      [legend] + ([.topLeft, .topRight, .bottomLeft, .bottomRight] as [LegendCorner]).filter { $0 != legend }
    let hidden = corners.map { c in points.filter { box(c).intersects($0) }.count }
    return box(corners[hidden.indices.min { hidden[$0] < hidden[$1] }!])
  }

  /// Where the scatter series' points and labels go: each label placed beside its point where it meets
  /// no other point, label, leader line or the legend (``placeLabels(points:texts:area:obstacles:measure:)``),
  /// or written as a number listed in a key when it fits nowhere.
  public func scatterLayout() -> ScatterLayout {
    let f = frame()
    var points: [Point] = []
    var texts: [String?] = []
    for s in series where s.style == .scatter {
      for (j, p) in s.points.enumerated() {
        points.append(Point(x: f.px(p.x), y: f.py(p.y)))
        texts.append(j < s.labels.count && !s.labels[j].isEmpty ? s.labels[j] : nil)
      }
    }
    let legend = legendBox(f)
    let area = Box(x: f.plot.x + 2, y: f.plot.y + 2, width: f.plot.w - 4, height: f.plot.h - 4)
    let placed = placeLabels(
      points: points, texts: texts, area: area, obstacles: legend.map { [$0] } ?? [],
      measure: { Canvas.textWidth($0, size: labelSize) })
    let r = Self.pointRadius
    return ScatterLayout(
      points: points.map { Box(x: $0.x - r, y: $0.y - r, width: 2 * r, height: 2 * r) }, labels: placed.labels,
      legend: legend, key: placed.key, keyLines: placed.keyLines)
  }

  /// Draws the chart on a canvas of the chart's size.
  public func draw(on c: Canvas) {
    let f = frame()
    let plot = f.plot
    let (xAxis, yAxis) = (f.xAxis, f.yAxis)
    let left = plot.x
    func px(_ x: Double) -> Double { f.px(x) }
    func py(_ y: Double) -> Double { f.py(y) }

    c.text(title, x: left, y: 30, size: 18, bold: true)
    if !subtitle.isEmpty { c.text(subtitle, x: left, y: 50, size: 12, colour: .grey) }

    // Grid and ticks.
    for t in yAxis.ticks {
      let y = py(t)
      c.line([(plot.x, y), (plot.x + plot.w, y)], .lightGrey, width: 0.8)
      c.text(Axis.label(t), x: plot.x - 8, y: y + 4, size: 11, colour: .black, anchor: .end)
    }
    for t in xAxis.ticks {
      let x = px(t)
      c.line([(x, plot.y + plot.h), (x, plot.y + plot.h + 5)], .black, width: 1)
      c.text(Axis.label(t), x: x, y: plot.y + plot.h + 19, size: 11, anchor: .middle)
    }
    c.text(xLabel, x: plot.x + plot.w / 2, y: height - 14, size: 13, anchor: .middle)
    c.text(yLabel, x: 22, y: plot.y + plot.h / 2, size: 13, anchor: .middle, angle: 90)

    // Vertical markers, labels written upwards just right of the line.
    // Labels closer than a line's height move right so they never overlap.
    var lastLabel = -Double.infinity
    for m in markers {
      let x = px(m.x)
      c.line([(x, plot.y), (x, plot.y + plot.h)], .grey, width: 1, dash: [4, 4])
      let at = max(x + 4, lastLabel + 14, plot.x + 14)
      lastLabel = at
      c.text(m.label, x: at, y: plot.y + 6, size: 10.5, colour: .grey, anchor: .end, angle: 90, background: .white)
    }
    c.line([(plot.x, plot.y + plot.h), (plot.x + plot.w, plot.y + plot.h)], .black, width: 1.2)
    c.line([(plot.x, plot.y), (plot.x, plot.y + plot.h)], .black, width: 1.2)
    // Horizontal reference lines.
    for l in levels {
      let y = py(l.y)
      c.line([(plot.x, y), (plot.x + plot.w, y)], l.colour, width: 1.6, dash: [8, 5])
      c.text(l.label, x: plot.x + plot.w - 4, y: y - 6, size: 11, colour: l.colour, anchor: .end)
    }
    // Series.
    let scatter = series.contains { $0.style == .scatter } ? scatterLayout() : nil
    if let scatter {
      for l in scatter.labels where l.leader {
        let (a, b) = l.leaderEnds
        c.line([(a.x, a.y), (b.x, b.y)], .grey, width: 0.8)
      }
    }
    for (i, s) in series.enumerated() {
      let colour = s.colour ?? Colour.palette[i % Colour.palette.count]
      let pts = s.points.map { (px($0.x), py($0.y)) }
      switch s.style {
      case .line:
        c.line(pts, colour, width: 2.2, dash: s.dashed ? [6, 4] : [])
        if pts.count <= 40 {
          for p in pts { c.circle(x: p.0, y: p.1, radius: 3, fill: colour, stroke: .white, width: 1) }
        }
      case .step:
        var stairs: [(Double, Double)] = []
        for (j, p) in pts.enumerated() {
          if j > 0 { stairs.append((p.0, stairs.last!.1)) }
          stairs.append(p)
        }
        c.line(stairs, colour, width: 2.2, dash: s.dashed ? [6, 4] : [])
      case .scatter:
        for p in pts {
          c.circle(x: p.0, y: p.1, radius: Self.pointRadius, fill: colour, stroke: .white, width: 1)
        }
      }
    }
    if let scatter {
      // Each label's baseline sits 0.95 of the size below the top of its box, whose height is 1.25 of
      // the size (DejaVu Sans's ascent and descent, rounded up).
      for l in scatter.labels {
        c.text(l.text, x: l.box.x, y: l.box.y + 0.95 * labelSize, size: labelSize, colour: .black)
      }
      if let key = scatter.key {
        c.fill(x: key.x, y: key.y, width: key.width, height: key.height, .white, alpha: 0.92)
        for (i, line) in scatter.keyLines.enumerated() {
          c.text(line, x: key.x + 8, y: key.y + 17 + Double(i) * 14, size: labelSize)
        }
      }
    }
    // Legend inside the plot, in the chosen corner.
    if let box = legendBox(f) {
      let (bx, by, boxW, boxH) = (box.x, box.y, box.width, box.height)
      c.fill(x: bx, y: by, width: boxW, height: boxH, .white, alpha: 0.92)
      for (i, s) in series.enumerated() {
        let colour = s.colour ?? Colour.palette[i % Colour.palette.count]
        let y = by + 20 + Double(i) * 20
        if s.style == .scatter {
          c.circle(x: bx + 19, y: y - 4, radius: 4.5, fill: colour, stroke: nil)
        } else {
          c.line([(bx + 8, y - 4), (bx + 30, y - 4)], colour, width: 2.2, dash: s.dashed ? [6, 4] : [])
        }
        c.text(s.name, x: bx + 38, y: y, size: 12)
      }
    }
  }
}

/// Maps values to 0…1 along an axis and picks its ticks.
struct Axis {
  var scale: Chart.Scale
  var low: Double
  var high: Double
  var ticks: [Double]

  /// `headroom`: the share of the axis (0…1) kept free above the largest value, for marker labels.
  init(scale: Chart.Scale, values: [Double], whole: Bool = false, headroom: Double = 0) {
    self.scale = scale
    let vs = scale == .linear ? values : values.filter { $0 > 0 }
    var lo = vs.min() ?? 0
    var hi = vs.max() ?? 1
    switch scale {
    case .linear:
      lo = min(lo, 0)
      if hi <= lo { hi = lo + 1 }
      let step = max(Axis.niceStep((hi - lo) / 6), whole ? 1 : 0)
      lo = (lo / step).rounded(.down) * step
      hi = (hi / step).rounded(.up) * step
      let top = hi
      while (top - lo) / (hi - lo) > 1 - headroom { hi += step }
      ticks = stride(from: lo, through: hi + step / 2, by: step).map { $0 }
    case .log2, .log10:
      let base = scale == .log2 ? 2.0 : 10.0
      let a = (log(max(lo, 1e-300)) / log(base)).rounded(.down)
      var b = (log(max(hi, 1e-300)) / log(base)).rounded(.up)
      if b <= a { b = a + 1 }
      let top = log(max(hi, 1e-300)) / log(base)
      while (top - a) / (b - a) > 1 - headroom { b += 1 }
      let every = max(1, Int(((b - a) / 10).rounded(.up)))
      while Int(b - a) % every != 0 { b += 1 }  // the top of the axis carries a tick
      lo = pow(base, a)
      hi = pow(base, b)
      ticks = stride(from: Int(a), through: Int(b), by: every).map { pow(base, Double($0)) }
      if scale == .log10 && b - a <= 2 {  // few decades: 1, 2, 5 in each
        ticks = stride(from: Int(a), through: Int(b), by: 1).flatMap { e in
          [1.0, 2, 5].map { $0 * pow(10, Double(e)) }
        }.filter { $0 <= hi * 1.000001 }
      }
    }
    low = lo
    high = hi
  }

  func fraction(_ v: Double) -> Double {
    switch scale {
    case .linear: return (v - low) / (high - low)
    case .log2, .log10:
      return (log(max(v, 1e-300)) - log(low)) / (log(high) - log(low))
    }
  }

  /// 1, 2 or 5 times a power of ten, at least `raw`.
  static func niceStep(_ raw: Double) -> Double {
    let p = pow(10, (log10(max(raw, 1e-12))).rounded(.down))
    for m in [1.0, 2, 5, 10] where m * p >= raw { return m * p }
    return 10 * p
  }

  /// `2048` → `2048`, `10000` → `10k`, `1.5e6` → `1.5M`, `0.25` → `0.25`: whole thousands from ten thousand
  /// on take `k`, so a log axis reads `10k 100k 1M`, never `10000 100000 1M`; four-digit values and powers of
  /// two (pixels, `16384`) stay whole.
  static func label(_ v: Double) -> String {
    let units: [(Double, String)] = [(1e12, "T"), (1e9, "G"), (1e6, "M")]
    if abs(v) >= 1e4 && abs(v) < 1e6 && v.truncatingRemainder(dividingBy: 1000) == 0 { return "\(Int(v / 1000))k" }
    for (scale, unit) in units where abs(v) >= scale {
      let x = v / scale
      return (x == x.rounded() ? String(Int(x)) : String(format: "%.1f", x)) + unit
    }
    if v == v.rounded() { return String(Int(v)) }
    return String(format: "%g", v)
  }
}
