import Foundation
import ZooAnalysis
import ZooGraph

/// How a diagram is drawn.
public struct DiagramOptions: Sendable, Equatable {
  /// Rank direction of the layout.
  public enum Direction: String, Sendable, CaseIterable {
    /// Top to bottom (Graphviz `rankdir=TB`).
    case topToBottom = "TB"
    /// Left to right (Graphviz `rankdir=LR`).
    case leftToRight = "LR"
  }

  /// Modules whose depth (path components: `layer1` is 1) is below this are expanded into
  /// clusters; the others are drawn as single boxes. nil chooses the deepest depth whose folded
  /// diagram has at most 60 nodes.
  public var depth: Int?
  /// Draws every layer: every module expanded, nothing folded.
  public var expand: Bool
  public var direction: Direction
  /// The number of columns (rows when left to right) the main chain wraps into: a *snake*. The
  /// chain is cut only where one tensor crosses from one part to the next.
  public var columns: Int
  /// What edges are labelled with.
  public var edgeLabels: EdgeLabels
  /// Whether each node also shows its module path (`layer1.0.conv1`).
  public var names: Bool
  /// Whether the legend (op colours and conventions) is drawn under the title.
  public var legend: Bool
  /// The colours.
  public var theme: Theme

  /// What edges are labelled with.
  public enum EdgeLabels: String, Sendable, CaseIterable {
    /// No labels.
    case none
    /// The tensor shape of one sample (`64×56×56`).
    case shapes
  }

  /// The colour scheme of a diagram.
  public enum Theme: String, Sendable, CaseIterable {
    /// Pastel fills by op class on white.
    case light
    /// Dark background, muted fills, light lines and text (for dark slides).
    case dark
    /// Black on white with grey fills, for printing in black and white.
    case print
  }

  public init(
    depth: Int? = nil, expand: Bool = false, direction: Direction = .topToBottom, columns: Int = 1,
    edgeLabels: EdgeLabels = .shapes, names: Bool = false, legend: Bool = true, theme: Theme = .light
  ) {
    precondition(depth.map { $0 >= 1 } ?? true, "depth must be at least 1")
    precondition(columns >= 1, "columns must be at least 1")
    self.depth = depth
    self.expand = expand
    self.direction = direction
    self.columns = columns
    self.edgeLabels = edgeLabels
    self.names = names
    self.legend = legend
    self.theme = theme
  }
}

/// Fill colours of the op classes (also the legend's).
let classColors: [(OpClass, String, String)] = [
  (.convolution, "#a5d8ff", "convolution"),
  (.normalization, "#ffec99", "normalisation"),
  (.activation, "#b2f2bb", "activation"),
  (.pooling, "#ffc078", "pooling"),
  (.linear, "#d0bfff", "linear"),
  (.merge, "#ffa8a8", "merge (add, concat)"),
  (.other, "#e9ecef", "input, flatten, dropout"),
]

/// The colours of a theme.
extension DiagramOptions.Theme {
  /// The fill of an op class's nodes (and its legend cell).
  func fill(_ c: OpClass) -> String {
    let light = classColors.first { $0.0 == c }!.1
    switch self {
    case .light: return light
    case .dark:
      let dark: [OpClass: String] = [
        .convolution: "#1864ab", .normalization: "#7c6400", .activation: "#2b8a3e", .pooling: "#b35300",
        .linear: "#5f3dc4", .merge: "#a61e4d", .other: "#495057",
      ]
      return dark[c] ?? "#495057"
    case .print:
      let grey: [OpClass: String] = [
        .convolution: "#d9d9d9", .normalization: "#f2f2f2", .activation: "#ffffff", .pooling: "#bfbfbf",
        .linear: "#a6a6a6", .merge: "#e6e6e6", .other: "#ffffff",
      ]
      return grey[c] ?? "#ffffff"
    }
  }
  var background: String { self == .dark ? "#1b1e21" : "white" }
  /// Titles, node text and borders.
  var text: String { self == .dark ? "#f1f3f5" : self == .print ? "#000000" : "#212529" }
  /// Edge labels, secondary text and edges.
  var muted: String { self == .dark ? "#ced4da" : self == .print ? "#333333" : "#495057" }
  var nodeBorder: String { self == .dark ? "#ced4da" : self == .print ? "#000000" : "#495057" }
  /// Skip connections and folded runs.
  var skip: String { self == .dark ? "#74c0fc" : self == .print ? "#000000" : "#1c7ed6" }
  /// Collapsed modules (boxes).
  var moduleFill: String { self == .dark ? "#343a40" : self == .print ? "#ffffff" : "#f1f3f5" }
  /// Expanded modules, alternating by depth.
  func clusterFill(odd: Bool) -> String {
    switch self {
    case .light: odd ? "#f8f9fa" : "#ffffff"
    case .dark: odd ? "#25292d" : "#1b1e21"
    case .print: "#ffffff"
    }
  }
  var clusterBorder: String { self == .dark ? "#868e96" : self == .print ? "#000000" : "#868e96" }
  /// A folded run's cluster.
  var foldFill: String { self == .dark ? "#1c2f45" : self == .print ? "#f2f2f2" : "#e7f5ff" }
  /// The output nodes.
  var outputFill: String { self == .dark ? "#1b1e21" : "#ffffff" }
  /// Size-only edges (a crop's or upsample's second input).
  var faint: String { self == .dark ? "#868e96" : "#999999" }
}

/// The DOT text of a diagram of `summary`'s graph.
///
/// Layout of the text: graph attributes with the title (model, input, totals, view) and the
/// legend as the graph's label; then the layers, boxes and clusters in graph order; then the
/// edges, each labelled with the tensor shape it carries (the source's output shape, one sample),
/// and the output nodes. Node ids are `n<node index>` for layers, `m<k>` for boxes and `out<i>`
/// for outputs, so the text is the same on every run.
public func diagramDOT(_ summary: Summary, options: DiagramOptions = DiagramOptions()) -> String {
  var writer = DOTWriter(summary: summary, options: options)
  return writer.write()
}

/// The depth a diagram of `summary` opens modules to with `options`: the given depth, the deepest
/// with `expand`, or the deepest whose folded diagram has at most 60 nodes.
func chosenDepth(_ summary: Summary, options: DiagramOptions) -> Int {
  let tree = ModuleTree.build(summary.graph)
  if options.expand { return tree.maxDepth }
  if let d = options.depth { return d }
  let head = fusedChains(summary.graph).head
  return defaultDepth(tree, graph: summary.graph, isDrawn: { head[$0] == nil })
}

private struct DOTWriter {
  let summary: Summary
  let options: DiagramOptions
  var graph: Graph { summary.graph }
  var theme: DiagramOptions.Theme { options.theme }
  /// The drawn node id of every graph node: `n<index>`, or its box's `m<k>`.
  var drawn: [String]
  /// For a layer of a folded member after the first: the first member's corresponding layer.
  var alias: [Int?]
  /// For nodes of an expanded repeat (`× N`) cluster: (run id, member index), to drop the edges
  /// between members, which the single drawn copy cannot show.
  var member: [(run: Int, index: Int)?]
  var lines: [String] = []
  /// The drawn nodes (layers and boxes) in the order they are declared.
  var order: [String] = []
  /// The number of text rows of each drawn node (to estimate its height).
  var rowCount: [String: Int] = [:]
  /// The clusters enclosing each drawn node, outermost first.
  var enclosing: [String: [Int]] = [:]
  /// The clusters being emitted, outermost first.
  var clusterStack: [Int] = []
  var boxCount = 0
  var clusterCount = 0
  var usedClasses = Set<OpClass>()
  var hasSkip = false
  /// Whether a fold of identical blocks (`× N`) is drawn.
  var hasFold = false
  /// Whether a fold of same-structure blocks whose sizes differ is drawn.
  var hasSimilar = false
  /// The kinds of layer drawn inside the node of the layer they follow (`bn`, `relu`), in order of first use.
  var fusedOps: [String] = []
  var hasBox = false
  /// For a layer drawn inside another's node (a bn or activation right after it): that node.
  var head: [Int?]
  /// For a layer whose node also shows the layers right after it: those layers, in order.
  var tails: [[Int]]

  init(summary: Summary, options: DiagramOptions) {
    self.summary = summary
    self.options = options
    let graph = summary.graph
    (head, tails) = options.expand ? (Array(repeating: nil, count: graph.nodes.count), []) : fusedChains(graph)
    drawn = graph.nodes.map { "n\($0.id)" }
    member = Array(repeating: nil, count: graph.nodes.count)
    alias = Array(repeating: nil, count: graph.nodes.count)
  }

  /// The layer whose node shows every layer of `m`, if there is one.
  func singleNode(_ m: ModuleTree) -> Int? {
    guard let first = m.nodes.first else { return nil }
    let h = head[first] ?? first
    return m.nodes.allSatisfy { (head[$0] ?? $0) == h } ? h : nil
  }

  /// The id of the drawn node that shows layer `n` (ignoring boxes).
  func layerID(_ n: Int) -> String { "n\(head[n] ?? n)" }

  /// The id of the drawn node that shows layer `n`: its box, or the node of the layer it is
  /// drawn in (after mapping a folded member's layer to the first member's).
  func resolve(_ n: Int) -> String {
    let r = alias[n] ?? n
    return drawn[r] == "n\(r)" ? layerID(r) : drawn[r]
  }

  mutating func write() -> String {
    let tree = ModuleTree.build(graph)
    let deepest = tree.maxDepth
    let depth =
      options.expand ? deepest : (options.depth ?? defaultDepth(tree, graph: graph, isDrawn: { head[$0] == nil }))
    let items = plan(tree, graph: graph, depth: depth, fold: !options.expand)
    for item in items { emit(item, indent: "  ") }
    var body = lines
    lines = []
    var edges = edgeLines()
    if options.columns > 1 { snake(&edges, body: &body, parts: options.columns) }
    let t = summary.totals
    var title = "\(graph.name)"
    if !graph.family.isEmpty { title += " (\(graph.family))" }
    let view =
      hasFold || hasSimilar
      ? "depth \(depth) of \(deepest), repeats folded"
      : hasBox ? "depth \(depth) of \(deepest)" : "every layer"
    let subtitle =
      "input \(format(summary.input)) → \(format(summary.output)) · \(grouped(t.params)) params · "
      + "\(compact(t.macs)) MACs · \(view)"
    var out = [
      "digraph \(quoted(graph.name)) {",
      "  graph [rankdir=\(options.direction.rawValue), fontname=\"Helvetica\", fontsize=13, labelloc=t, "
        + "labeljust=l, nodesep=0.22, ranksep=0.32, newrank=true, pad=0.25, bgcolor=\"\(theme.background)\", "
        + "fontcolor=\"\(theme.text)\",",
      "         label=<<table border=\"0\" cellborder=\"0\" cellspacing=\"0\" cellpadding=\"1\">"
        + "<tr><td align=\"left\"><b><font point-size=\"20\">\(xmlEscaped(title))</font></b></td></tr>"
        + "<tr><td align=\"left\"><font point-size=\"13\">\(xmlEscaped(subtitle))</font></td></tr>"
        + (options.legend ? "<tr><td align=\"left\">\(legend())</td></tr>" : "") + "</table>>];",
      "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=12, margin=\"0.12,0.05\", "
        + "penwidth=1, color=\"\(theme.nodeBorder)\", fontcolor=\"\(theme.text)\"];",
      "  edge [fontname=\"Helvetica\", fontsize=10, fontcolor=\"\(theme.muted)\", color=\"\(theme.muted)\", arrowsize=0.7];",
    ]
    out += body
    out += edges
    out.append("}")
    return out.joined(separator: "\n") + "\n"
  }

  // MARK: Items

  mutating func emit(_ item: Item, indent: String) {
    switch item {
    case .layer(let n):
      if head[n] == nil {
        order.append("n\(n)")
        enclosing["n\(n)"] = clusterStack
        lines.append(indent + layerNode(n))
      }
    case .box(let members) where members.count == 1 && singleNode(members[0]) != nil,
      .cluster(let members, _) where members.count == 1 && singleNode(members[0]) != nil:
      // A module that draws as one node (conv + bn + relu) is that node, not a box or cluster.
      order.append("n\(singleNode(members[0])!)")
      enclosing["n\(singleNode(members[0])!)"] = clusterStack
      lines.append(indent + layerNode(singleNode(members[0])!))
    case .box(let members):
      hasBox = true
      boxCount += 1
      let id = "m\(boxCount)"
      for m in members { for n in m.nodes { drawn[n] = id } }
      order.append(id)
      enclosing[id] = clusterStack
      lines.append(indent + boxNode(id, members))
    case .cluster(let members, let items):
      // A module holding nothing but one run of same-structure blocks is drawn as that run, with
      // the module named in the label (a dense block and its dense layers).
      if members.count == 1, items.count == 1, case .cluster(let run, let inner) = items[0], run.count > 1 {
        emitCluster(run, items: inner, outer: members[0], indent: indent)
      } else {
        emitCluster(members, items: items, outer: nil, indent: indent)
      }
    }
  }

  mutating func emitCluster(_ members: [ModuleTree], items: [Item], outer: ModuleTree?, indent: String) {
    clusterCount += 1
    if members.count > 1 {
      let rep = members[0].nodes
      for (k, m) in members.enumerated() {
        for (i, n) in m.nodes.enumerated() {
          member[n] = (clusterCount, k)
          if k > 0 { alias[n] = rep[i] }
        }
      }
    }
    let first = outer ?? members[0]
    let fold = members.count > 1
    let identical = allIdentical(members, summary)
    if fold { identical ? (hasFold = true) : (hasSimilar = true) }
    lines.append(indent + "subgraph cluster_\(clusterCount) {")
    let inner = indent + "  "
    var label = clusterLabel(members)
    if let outer {
      label = "<b>\(xmlEscaped(outer.path))</b> · \(xmlEscaped(outer.kind))<br/>" + label
    }
    let style =
      fold
      ? "style=\"rounded,filled,\(identical ? "bold" : "dashed")\", color=\"\(theme.skip)\", penwidth=2, "
        + "fillcolor=\"\(theme.foldFill)\""
      : "style=\"rounded,filled\", color=\"\(theme.clusterBorder)\", "
        + "fillcolor=\"\(theme.clusterFill(odd: first.depth % 2 == 1))\""
    lines.append(inner + "graph [\(style), fontsize=12, labeljust=l, margin=10, tooltip=\(quoted(first.path)),")
    // One left-aligned table row per label line.
    let rows = label.components(separatedBy: "<br/>").map { "<tr><td align=\"left\">\($0)</td></tr>" }
    lines.append(
      inner + "       label=<<table border=\"0\" cellborder=\"0\" cellspacing=\"0\" cellpadding=\"0\">"
        + rows.joined() + "</table>>];")
    clusterStack.append(clusterCount)
    for i in items { emit(i, indent: inner) }
    clusterStack.removeLast()
    lines.append(indent + "}")
  }

  mutating func layerNode(_ n: Int) -> String {
    let node = graph.nodes[n]
    let op = node.op
    usedClasses.insert(op.opClass)
    let fused = n < tails.count ? tails[n] : []
    let layers = [n] + fused
    let shape = format(summary.shapes[layers.last!])
    let names = layers.map { graph.nodes[$0].name }.filter { !$0.isEmpty }
    var attrs =
      "fillcolor=\"\(theme.fill(op.opClass))\", tooltip=\(quoted(names.isEmpty ? op.kindName : names.joined(separator: ", ")))"
    var rows: [String]
    switch op {
    case .input:
      rows = ["<b>input</b>", xmlEscaped(shape)]
    case .add, .concat:
      attrs += ", shape=ellipse, margin=\"0.04,0.02\""
      rows = ["<b>\(op == .add ? "+ add" : "concat")</b>"]
    default:
      rows = ["<b>\(xmlEscaped(op.summary))</b>"]
    }
    if !fused.isEmpty {
      for f in fused where !fusedOps.contains(graph.nodes[f].op.kindName) {
        fusedOps.append(graph.nodes[f].op.kindName)
      }
      rows.append(xmlEscaped(fused.map { "+ " + graph.nodes[$0].op.summary }.joined(separator: " ")))
    }
    if options.names, op != .input, let name = names.first {
      // The module path of the node's first layer, under its op.
      rows.insert("<font point-size=\"10\"><i>\(xmlEscaped(name))</i></font>", at: 1)
    }
    if op != .input {
      let params = layers.reduce(0) { $0 + summary.nodeCounts[$1].params }
      rows.append(
        "<font point-size=\"10\">\(xmlEscaped(shape))\(params > 0 ? " · \(grouped(params)) params" : "")</font>")
    }
    rowCount["n\(n)"] = rows.count
    return "n\(n) [\(attrs), label=<\(rows.joined(separator: "<br/>"))>];"
  }

  mutating func boxNode(_ id: String, _ members: [ModuleTree]) -> String {
    let first = members[0]
    var counts = Counts()
    for m in members { for n in m.nodes { try? counts.add(summary.nodeCounts[n]) } }
    let last = members[members.count - 1]
    let output = format(summary.shapes[last.nodes.last!])
    var rows = ["<b>\(xmlEscaped(span(members)))</b>"]
    let identical = allIdentical(members, summary)
    if members.count == 1 {
      rows.append(xmlEscaped(first.kind))
    } else if identical {
      hasFold = true
      rows.append("<b>\(xmlEscaped(first.kind)) × \(members.count)</b>")
    } else {
      hasSimilar = true
      let sizes = RunSizes(members, summary)
      rows.append("<b>\(members.count) \(xmlEscaped(first.kind)) blocks</b>, sizes differ")
      rows.append("<font point-size=\"10\">\(xmlEscaped(sizes.paramsText))</font>")
      if let c = sizes.channelsText { rows.append("<font point-size=\"10\">\(xmlEscaped(c))</font>") }
    }
    let ops = first.nodes.map { graph.nodes[$0].op }.filter { $0.opClass != .activation }
    if ops.count <= 3 {
      rows.append("<font point-size=\"10\">\(xmlEscaped(ops.map(\.summary).joined(separator: " → ")))</font>")
    } else {
      let conv = first.nodes.filter { if case .conv = graph.nodes[$0].op { true } else { false } }.count
      rows.append("<font point-size=\"10\">\(first.nodes.count) layers, \(conv) conv</font>")
    }
    rows.append("<font point-size=\"10\">→ \(xmlEscaped(output))</font>")
    let each = members.count > 1 ? " in all" : ""
    rows.append(
      "<font point-size=\"10\">\(grouped(counts.params)) params · \(compact(counts.macs)) MACs\(each)</font>")
    rowCount[id] = rows.count
    let shape =
      members.count == 1
      ? "box, style=\"rounded,filled\"" : identical ? "box3d, style=filled" : "box3d, style=\"filled,dashed\""
    return
      "\(id) [shape=\(shape), fillcolor=\"\(theme.moduleFill)\", tooltip=\(quoted(span(members))), "
      + "label=<\(rows.joined(separator: "<br/>"))>];"
  }

  func clusterLabel(_ members: [ModuleTree]) -> String {
    var counts = Counts()
    for m in members { for n in m.nodes { try? counts.add(summary.nodeCounts[n]) } }
    var label = "<b>\(xmlEscaped(span(members)))</b> · "
    if members.count == 1 {
      label += xmlEscaped(members[0].kind)
    } else if allIdentical(members, summary) {
      label += "\(xmlEscaped(members[0].kind)) <b>× \(members.count)</b>"
    } else {
      // Same structure, different sizes: say so, with the ranges, instead of claiming identity.
      let sizes = RunSizes(members, summary)
      label += "<b>\(members.count) \(xmlEscaped(members[0].kind)) blocks</b>, sizes differ<br/>"
      label += "<font point-size=\"10\">\(xmlEscaped(sizes.paramsText))"
      if let c = sizes.channelsText { label += "; <b>\(xmlEscaped(c))</b>" }
      label += "</font>"
    }
    label += "<br/><font point-size=\"10\">\(grouped(counts.params)) params · \(compact(counts.macs)) MACs"
    if members.count > 1 {
      label += " in all; layers shown for \(xmlEscaped(shortName(members[0].path)))"
    }
    return label + "</font>"
  }

  // MARK: Edges

  /// One edge per distinct (drawn source, drawn target), in graph order. An edge into `add`
  /// other than its first input, or into `concat` from outside the concat's module, is a skip
  /// connection: dashed and blue. The second input of a `crop` or of an `upsample` with `like` only gives
  /// a size: dotted and grey, labelled `size`.
  mutating func edgeLines() -> [String] {
    var seen = Set<String>()
    var out: [String] = []
    for node in graph.nodes {
      for (k, u) in node.inputs.enumerated() {
        if let a = member[u], let b = member[node.id], a.run == b.run, a.index != b.index { continue }
        let from = resolve(u)
        let to = resolve(node.id)
        if from == to { continue }
        let key = from + ">" + to
        guard seen.insert(key).inserted else { continue }
        let labelled = options.edgeLabels == .shapes
        var attrs = labelled ? "label=\(quoted(" " + format(summary.shapes[u]) + " "))" : "label=\"\""
        var sizeOnly = false
        if k == 1, case .crop = node.op { sizeOnly = true }
        if k == 1, case .upsample(let up) = node.op, up.like { sizeOnly = true }
        if sizeOnly {
          out.append(
            "  \(from) -> \(to) [label=\"\(labelled ? " size " : "")\", style=dotted, color=\"\(theme.faint)\", fontcolor=\"\(theme.faint)\"];"
          )
          continue
        }
        let skip: Bool
        switch node.op {
        case .add: skip = k > 0
        case .concat: skip = !sameModule(u, node.id)
        default: skip = false
        }
        if skip && to.hasPrefix("n") {
          hasSkip = true
          attrs += ", style=dashed, color=\"\(theme.skip)\", fontcolor=\"\(theme.skip)\", penwidth=1.4"
        }
        out.append("  \(from) -> \(to) [\(attrs)];")
      }
      // An unpool's switches: a dashed edge from its max pool, labelled with the indices' shape.
      if case .maxUnpool(let u) = node.op {
        let from = resolve(u.pool)
        let to = resolve(node.id)
        if from != to, seen.insert(from + ">>" + to).inserted {
          out.append(
            "  \(from) -> \(to) [label=\(quoted(options.edgeLabels == .shapes ? " switches " + format(summary.shapes[u.pool]) + " " : "")), "
              + "style=dashed, constraint=false];")
        }
      }
    }
    for (i, o) in graph.outputs.enumerated() {
      let id = "out\(i)"
      let name = i == 0 ? "output" : "auxiliary output \(i)"
      out.append(
        "  \(id) [shape=ellipse, fillcolor=\"\(theme.outputFill)\", label=<<b>\(name)</b><br/>\(xmlEscaped(format(summary.shapes[o])))>];"
      )
      out.append("  \(resolve(o)) -> \(id);")
    }
    return out
  }

  /// Wraps the chain into `parts` columns (rows when left to right): cuts the declared node order
  /// where every edge crossing the cut leaves one node (one tensor), at the cuts that best balance
  /// the parts' node counts, preferring cuts between top-level items to cuts inside a module. At a
  /// cut, the chain ends in a marker "continued in the next column" and the next column starts
  /// with a marker "from the previous column" whose edges carry the tensor on. The columns' first
  /// nodes share the top rank, ordered by invisible edges, so the columns read left to right.
  func snake(_ edges: inout [String], body: inout [String], parts: Int) {
    var position: [String: Int] = [:]
    for (i, id) in order.enumerated() { position[id] = i }
    // For each edge line between declared nodes: its ends' positions.
    var spans: [(line: Int, from: Int, to: Int)] = []
    for (i, line) in edges.enumerated() {
      let t = line.trimmingCharacters(in: .whitespaces)
      guard let arrow = t.range(of: " -> ") else { continue }
      let from = String(t[..<arrow.lowerBound])
      let to = String(t[arrow.upperBound...].prefix { $0 != " " && $0 != ";" })
      guard let a = position[from], let b = position[to], a < b else { continue }
      spans.append((i, a, b))
    }
    // A cut before position p is clean when every edge crossing it starts at one node.
    var clean: [(p: Int, shared: Int)] = []
    for p in 1..<max(order.count, 1) {
      let crossing = spans.filter { $0.from < p && $0.to >= p }
      guard !crossing.isEmpty, Set(crossing.map(\.from)).count == 1 else { continue }
      let a = enclosing[order[p - 1]] ?? []
      let b = enclosing[order[p]] ?? []
      // The clusters the cut would split: those around both sides.
      clean.append((p, zip(a, b).prefix { $0 == $1 }.count))
    }
    // Balance estimated heights: a node's text rows, plus the gap and edge label above it.
    var before = [0.0]
    for id in order { before.append(before.last! + Double(rowCount[id] ?? 1) + 2) }
    var chosen: [Int] = []
    let share = before.last! / Double(parts)
    for k in 1..<parts {
      let target = share * Double(k)
      // No column shorter than a third of its share; no part left empty.
      let start = before[chosen.last ?? 0]
      let candidates = clean.filter { c in
        c.p > (chosen.last ?? 0) && before[c.p] - start >= share / 3 && before.last! - before[c.p] >= share / 3
      }
      let score = { (c: (p: Int, shared: Int)) in abs(before[c.p] - target) / share + 0.6 * Double(c.shared) }
      guard let best = candidates.min(by: { score($0) < score($1) }) else { break }
      chosen.append(best.p)
    }
    let next = options.direction == .topToBottom ? "column" : "row"
    let marker = "shape=plaintext, style=\"\", fontcolor=\"\(theme.muted)\""
    for (k, p) in chosen.enumerated() {
      let crossing = spans.filter { $0.from < p && $0.to >= p }
      guard let first = crossing.first else { continue }
      let source = order[first.from]
      let out = "cut\(k + 1)"
      let into = "cut\(k + 1)in"
      for (j, span) in crossing.enumerated() {
        let line = edges[span.line]
        guard let arrow = line.range(of: " -> ") else { continue }
        // The tensor now enters the next column from its marker.
        edges[span.line] = "  \(into) -> " + line[arrow.upperBound...]
        if j == 0 {
          let attrs = line.range(of: " [").map { String(line[$0.lowerBound...]) } ?? ";"
          edges.append("  \(source) -> \(out)\(attrs)")
        }
      }
      // Each marker is declared beside its node, inside the same clusters.
      declare("\(out) [\(marker), label=<<i>continued in the next \(next) ↗</i>>];", after: source, in: &body)
      declare(
        "\(into) [\(marker), label=<<i>↘ from the previous \(next)</i>>];", after: order[first.to], in: &body)
    }
    // The columns' heads share the top rank, in order: flat invisible edges order them.
    if !chosen.isEmpty, let first = order.first {
      let heads = [first] + chosen.indices.map { "cut\($0 + 1)in" }
      edges.append("  { rank=same; \(heads.joined(separator: "; ")); }")
      edges.append("  \(heads.joined(separator: " -> ")) [style=invis];")
    }
  }

  /// Inserts the node statement `line` after the declaration of node `id`, at its indent.
  func declare(_ line: String, after id: String, in body: inout [String]) {
    guard
      let i = body.firstIndex(where: { $0.drop { $0 == " " }.hasPrefix(id + " [") })
    else {
      body.append("  " + line)
      return
    }
    let indent = String(body[i].prefix { $0 == " " })
    body.insert(indent + line, at: i + 1)
  }

  /// Whether `u` lies in the innermost module of `v` (by name prefix).
  func sameModule(_ u: Int, _ v: Int) -> Bool {
    let name = graph.nodes[v].name
    guard let dot = name.lastIndex(of: ".") else { return true }
    return graph.nodes[u].name.hasPrefix(name[..<dot] + ".")
  }

  // MARK: Legend

  /// One row of legend cells: the op classes drawn, then the edge and fold conventions.
  func legend() -> String {
    func cell(_ text: String, _ attrs: String = "") -> String {
      "<td\(attrs)><font point-size=\"11\">\(text)</font></td>"
    }
    var colours: [String] = []
    for (c, _, name) in classColors where usedClasses.contains(c) {
      colours.append(
        cell(xmlEscaped(name), " bgcolor=\"\(theme.fill(c))\" border=\"1\" color=\"\(theme.clusterBorder)\""))
    }
    var notes = options.edgeLabels == .shapes ? ["edge labels: the tensor shape of one sample"] : []
    if hasSkip { notes.append("<font color=\"\(theme.skip)\">- - →</font> skip connection") }
    if hasFold { notes.append("<b>× N</b>: N identical blocks folded into one") }
    if hasSimilar {
      notes.append(
        "<b>N … blocks</b>, sizes differ: one structure, other channels and parameters; the first drawn")
    }
    if !fusedOps.isEmpty {
      let list = fusedOps.map { "+ " + xmlEscaped($0) }.joined(separator: ", ")
      notes.append(
        "\(list): \(fusedOps.count == 1 ? "a layer" : "layers") drawn in the node of the layer \(fusedOps.count == 1 ? "it follows" : "they follow")"
      )
    }
    // Colours in one row; the notes below them, one per line.
    let row =
      "<table border=\"0\" cellborder=\"0\" cellspacing=\"4\" cellpadding=\"2\"><tr>\(colours.joined())</tr></table>"
    return row + notes.map { "</td></tr><tr><td align=\"left\"><font point-size=\"11\">\($0)</font>" }.joined()
  }

}

/// Chains a bn, activation or dropout into the node of the layer before it when it is that
/// layer's only reader and both sit in the same module (`conv → bn → relu` is one node).
/// Returns each layer's head (nil when drawn on its own) and each head's absorbed layers.
func fusedChains(_ graph: Graph) -> (head: [Int?], tails: [[Int]]) {
  var head = [Int?](repeating: nil, count: graph.nodes.count)
  var tails = [[Int]](repeating: [], count: graph.nodes.count)
  let consumers = graph.consumers()
  func parent(_ name: String) -> Substring { name.lastIndex(of: ".").map { name[..<$0] } ?? "" }
  for node in graph.nodes {
    switch node.op {
    case .batchNorm, .activation, .dropout: break
    default: continue
    }
    guard node.inputs.count == 1, let u = node.inputs.first, consumers[u] == [node.id],
      !graph.outputs.contains(u), parent(graph.nodes[u].name) == parent(node.name)
    else { continue }
    switch graph.nodes[u].op {
    case .input, .flatten: continue
    default: break
    }
    let h = head[u] ?? u
    head[node.id] = h
    tails[h].append(node.id)
  }
  return (head, tails)
}

/// `layer1.1`, `layer1.1 – layer1.5`, or `features.denseblock1.denselayer1 – denselayer6` (a
/// named last member is shortened to its own name).
private func span(_ members: [ModuleTree]) -> String {
  let first = members[0].path
  guard members.count > 1 else { return first }
  return "\(first) – \(shortName(members[members.count - 1].path))"
}

/// A module's own name (`denselayer6`), or its whole path when the name is a number (`layer1.2`).
private func shortName(_ path: String) -> String {
  let name = path.split(separator: ".").last.map(String.init) ?? path
  return name.allSatisfy(\.isNumber) ? path : name
}

/// A DOT double-quoted string.
func quoted(_ s: String) -> String {
  "\"" + s.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
}
