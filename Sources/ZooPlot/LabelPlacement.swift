import Foundation

/// A rectangle on the chart in points, `y` pointing down.
public struct Box: Sendable, Equatable {
  public var x: Double
  public var y: Double
  public var width: Double
  public var height: Double

  public init(x: Double, y: Double, width: Double, height: Double) {
    self.x = x
    self.y = y
    self.width = width
    self.height = height
  }

  /// Whether the two boxes share any area (touching edges do not count).
  public func intersects(_ o: Box) -> Bool {
    x < o.x + o.width && o.x < x + width && y < o.y + o.height && o.y < y + height
  }

  /// Whether `o` lies wholly inside this box.
  public func contains(_ o: Box) -> Bool {
    o.x >= x && o.y >= y && o.x + o.width <= x + width && o.y + o.height <= y + height
  }

  /// Whether the segment from `a` to `b` passes through the box (sampled every point or so).
  func crossed(by a: (x: Double, y: Double), _ b: (x: Double, y: Double)) -> Bool {
    let steps = max(2, Int(hypot(b.x - a.x, b.y - a.y)))
    for i in 0...steps {
      let t = Double(i) / Double(steps)
      let (px, py) = (a.x + t * (b.x - a.x), a.y + t * (b.y - a.y))
      if px > x && px < x + width && py > y && py < y + height { return true }
    }
    return false
  }
}

/// A scatter label as ``Chart/scatterLayout()`` places it.
public struct PlacedLabel: Sendable {
  /// The text written: the label itself, or its number when it did not fit anywhere (the key lists it).
  public var text: String
  /// The centre of the point it names.
  public var point: Point
  /// The box its text takes.
  public var box: Box
  /// Whether a leader line joins the box to the point (the box is not right beside it).
  public var leader: Bool

  /// Where the leader line starts (the point's edge) and ends (the box's edge nearest the point).
  var leaderEnds: (from: Point, to: Point) {
    let tx = min(max(point.x, box.x), box.x + box.width)
    let ty = min(max(point.y, box.y), box.y + box.height)
    let d = max(hypot(tx - point.x, ty - point.y), 1e-9)
    let r = Chart.pointRadius + 1
    return (Point(x: point.x + (tx - point.x) / d * r, y: point.y + (ty - point.y) / d * r), Point(x: tx, y: ty))
  }
}

/// A position on the chart in points.
public struct Point: Sendable, Equatable {
  public var x: Double
  public var y: Double
  public init(x: Double, y: Double) {
    self.x = x
    self.y = y
  }
}

/// Where the scatter series' points, labels and key sit on the chart.
public struct ScatterLayout: Sendable {
  /// The box around each scatter point.
  public var points: [Box]
  public var labels: [PlacedLabel]
  /// The legend of the series.
  public var legend: Box?
  /// When some labels fit nowhere: the box of the key that lists them by number, and its lines.
  public var key: Box?
  public var keyLines: [String]
}

/// The size of the scatter labels' text.
let labelSize = 10.0

/// Places one label for each scatter point, greedily: the most crowded points first, each label at the
/// first of the candidate positions (right, left, the diagonals, above and below) whose box stays inside
/// `area` and meets no point, no label placed before, no leader line and no `obstacles`; first only the
/// positions right beside the points, then, for the labels left, positions further out with a leader
/// line that crosses no point and no label. A few more rounds put the labels left over first. Labels
/// that fit nowhere are written as numbers, listed in a
/// key in a corner of `area` that hides no point.
func placeLabels(
  points: [Point], texts: [String?], area: Box, obstacles: [Box], measure: (String) -> Double
) -> (labels: [PlacedLabel], key: Box?, keyLines: [String]) {
  let r = Chart.pointRadius
  let pointBoxes = points.map { Box(x: $0.x - r, y: $0.y - r, width: 2 * r, height: 2 * r) }
  let h = 1.25 * labelSize
  // The most crowded first: the count of other points within 80 points.
  let crowded = points.indices.filter { texts[$0] != nil }.sorted { a, b in
    func crowd(_ i: Int) -> Int {
      points.indices.filter { hypot(points[$0].x - points[i].x, points[$0].y - points[i].y) < 80 }.count
    }
    let (ca, cb) = (crowd(a), crowd(b))
    return ca != cb ? ca > cb : a < b
  }
  // Candidates: at each distance, right and left of the point (centred on its row), then the diagonals,
  // then straight above and below; the nearest distance first, each further one drawn with a leader.
  func candidates(_ p: Point, _ w: Double) -> [(box: Box, leader: Bool)] {
    var out: [(Box, Bool)] = []
    for gap in [2.0, 8, 16, 26, 38, 52, 68, 86, 106, 130] {
      let d = r + gap
      let diag = d * 0.75
      var boxes = [
        Box(x: p.x + d, y: p.y - h / 2, width: w, height: h),  // right
        Box(x: p.x - d - w, y: p.y - h / 2, width: w, height: h),  // left
        Box(x: p.x + diag, y: p.y - diag - h, width: w, height: h),  // above right
        Box(x: p.x + diag, y: p.y + diag, width: w, height: h),  // below right
        Box(x: p.x - diag - w, y: p.y - diag - h, width: w, height: h),  // above left
        Box(x: p.x - diag - w, y: p.y + diag, width: w, height: h),  // below left
        Box(x: p.x - w / 2, y: p.y - d - h, width: w, height: h),  // above
        Box(x: p.x - w / 2, y: p.y + d, width: w, height: h),  // below
      ]
      // Rows above and below, beside the point's column on either side.
      for dy in [-d - h, d] {
        boxes += [
          Box(x: p.x + r, y: p.y + dy, width: w, height: h), Box(x: p.x - r - w, y: p.y + dy, width: w, height: h),
        ]
      }
      out += boxes.map { ($0, gap > 2) }
    }
    return out
  }
  func place(_ numbered: Set<Int>, key: Box?, order: [Int]) -> (labels: [PlacedLabel?], failed: [Int]) {
    var placed: [PlacedLabel?] = Array(repeating: nil, count: points.count)
    var taken: [Box] = obstacles + (key.map { [$0] } ?? [])
    var leaders: [(Point, Point)] = []
    var failed: [Int] = []
    // First every label right beside its point where it can be, then the others with leader lines.
    for (phase, i) in [false, true].flatMap({ p in order.map { (p, $0) } }) where placed[i] == nil {
      let text = numbered.contains(i) ? "\(numberOf(i, numbered))" : texts[i]!
      let w = measure(text)
      var chosen: PlacedLabel?
      for (box, leader) in candidates(points[i], w) where phase || !leader {
        guard area.contains(box), !pointBoxes.contains(where: box.intersects), !taken.contains(where: box.intersects)
        else { continue }
        guard !leaders.contains(where: { box.crossed(by: (x: $0.0.x, y: $0.0.y), (x: $0.1.x, y: $0.1.y)) })
        else { continue }
        let label = PlacedLabel(text: text, point: points[i], box: box, leader: leader)
        if leader {
          // The leader line must cross no other point and no label.
          let (a, b) = label.leaderEnds
          let others = pointBoxes.enumerated().filter { $0.offset != i }.map(\.element) + taken
          if others.contains(where: { $0.crossed(by: (x: a.x, y: a.y), (x: b.x, y: b.y)) }) { continue }
          leaders.append((a, b))
        }
        chosen = label
        break
      }
      if let chosen {
        placed[i] = chosen
        taken.append(chosen.box)
      } else if phase {
        failed.append(i)
      }
    }
    return (placed, failed)
  }
  func numberOf(_ i: Int, _ numbered: Set<Int>) -> Int { numbered.sorted().firstIndex(of: i)! + 1 }
  // A label that found no place goes first in the next round; the round with fewest left over wins.
  var (labels, failed) = place([], key: nil, order: crowded)
  var best = crowded
  var first: [Int] = []
  for _ in 0..<6 where !failed.isEmpty {
    first += failed.filter { !first.contains($0) }
    let order = first + crowded.filter { !first.contains($0) }
    let round = place([], key: nil, order: order)
    if round.failed.count < failed.count { (labels, failed, best) = (round.labels, round.failed, order) }
  }
  var key: Box?
  var keyLines: [String] = []
  if !failed.isEmpty {
    let numbered = Set(failed)
    keyLines = numbered.sorted().map { "\(numberOf($0, numbered))  \(texts[$0]!)" }
    let kw = (keyLines.map(measure).max() ?? 0) + 16
    let kh = Double(keyLines.count) * 14 + 10
    // The first corner of the plot where the key hides no point and meets no obstacle (the legend).
    let corners = [
      Box(x: area.x + 8, y: area.y + 8, width: kw, height: kh),
      Box(x: area.x + area.width - 8 - kw, y: area.y + 8, width: kw, height: kh),
      Box(x: area.x + 8, y: area.y + area.height - 8 - kh, width: kw, height: kh),
      Box(x: area.x + area.width - 8 - kw, y: area.y + area.height - 8 - kh, width: kw, height: kh),
    ]
    key =
      corners.first { c in !pointBoxes.contains(where: c.intersects) && !obstacles.contains(where: c.intersects) }
      ?? corners[0]
    (labels, failed) = place(numbered, key: key, order: best)
  }
  return (labels.compactMap { $0 }, key, keyLines)
}
