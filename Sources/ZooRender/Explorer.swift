import Foundation
import ZooAnalysis
import ZooGraph

/// The interactive explorer of a model: one self-contained HTML page (no network, no external file) with the
/// layer graph as inline SVG drawn by a small script, folds that open and close in place, a tooltip per layer,
/// a search box, and the receptive field of a selected layer drawn on the input grid.
///
/// Graphviz lays out the fully expanded graph once, with every module as a cluster (bn and activations drawn in
/// the node of the layer before them, as in the diagrams). The page carries that layout and the analyzer's
/// figures as compact JSON. The script hides what a closed fold holds, draws one box in its place and removes the
/// horizontal bands that only hidden things occupied, so a folded view is compact and opening a fold puts its
/// contents back where the full layout has them. Folds are chosen as the diagrams fold: consecutive sibling
/// modules of one kind form a stack, a run of neighbours with the same layers (equal structure signatures) is one
/// fold, whose box says `identical` only when their parameter counts agree too, and at first every module below
/// the diagram's default depth is open (see docs/explorer.md).
///
/// The page is a pure function of the graph, input size and Graphviz version: the same bytes on every run.
public func explorerHTML(_ summary: Summary, depth: Int? = nil) throws(RenderError) -> [UInt8] {
  precondition(depth.map { $0 >= 1 } ?? true, "depth must be at least 1")
  let fields: ReceptiveFields
  do { fields = try ReceptiveFields(summary) } catch { throw RenderError("\(error)") }
  var builder = ExplorerBuilder(summary: summary, fields: fields, depth: depth)
  let data = try builder.build()
  return Array(explorerPage(summary: summary, data: data).utf8)
}

/// Writes the explorer page of `summary` to `path` atomically.
public func writeExplorer(_ summary: Summary, to path: String, depth: Int? = nil) throws(RenderError) {
  try writeAtomically(try explorerHTML(summary, depth: depth), to: path)
}

/// A fold of the explorer: one module, or a run of consecutive sibling modules with the same layers.
private struct Fold {
  /// True for a run: opened, it shows each member as a fold of its own.
  var isRun: Bool
  /// The fold around this one, or -1.
  var parent: Int
  /// Whether the page opens with this fold open.
  var open: Bool
  var members: [ModuleTree]
  /// The cluster of a module fold; -1 for a run.
  var cluster: Int
}

private struct ExplorerBuilder {
  let summary: Summary
  let fields: ReceptiveFields
  var graph: Graph { summary.graph }
  let head: [Int?]
  let tails: [[Int]]
  let tree: ModuleTree
  let depth: Int
  /// Graph nodes drawn as nodes of their own (not fused into the node before them), in graph order.
  var drawnLayers: [Int] = []
  /// Index into `drawnLayers` of every head layer.
  var drawnIndex: [Int: Int] = [:]
  /// The innermost fold of every drawn node (-1: none).
  var nodeFold: [Int] = []
  var clusters: [ModuleTree] = []
  var clusterFold: [Int] = []
  var folds: [Fold] = []
  let rows: [String: Summary.Row]

  init(summary: Summary, fields: ReceptiveFields, depth: Int?) {
    self.summary = summary
    self.fields = fields
    (head, tails) = fusedChains(summary.graph)
    tree = ModuleTree.build(summary.graph)
    let head = self.head
    self.depth = depth ?? defaultDepth(tree, graph: summary.graph, isDrawn: { head[$0] == nil })
    rows = Dictionary(summary.rows.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
  }

  /// Whether every layer of `m` is drawn in one node (GoogLeNet's `basic_conv`: conv + bn + relu).
  func isSingleNode(_ m: ModuleTree) -> Bool {
    guard let first = m.nodes.first else { return true }
    let h = head[first] ?? first
    return m.nodes.allSatisfy { (head[$0] ?? $0) == h }
  }

  mutating func build() throws(RenderError) -> String {
    for node in graph.nodes where head[node.id] == nil {
      drawnIndex[node.id] = drawnLayers.count
      drawnLayers.append(node.id)
    }
    nodeFold = Array(repeating: -1, count: drawnLayers.count)
    addFolds(of: tree, parent: -1)
    let dot = layoutDOT()
    let layout = try Layout(json: try layoutJSON(dot))
    return payload(layout)
  }

  // MARK: Folds

  /// The folds of `container`'s children, as the diagrams fold them (``plan(_:graph:depth:fold:)``): a stack of
  /// same-kind siblings is its first module, then runs of identical neighbours; a stack of identical modules at
  /// or beyond the initial depth is one run.
  mutating func addFolds(of container: ModuleTree, parent: Int) {
    let children = container.children
    var i = 0
    while i < children.count {
      switch children[i] {
      case .node(let n):
        if let d = drawnIndex[n] { nodeFold[d] = parent }
        i += 1
      case .module(let first):
        var stack = [first]
        if first.kind != "seq" {
          while i + stack.count < children.count, case .module(let next) = children[i + stack.count],
            next.kind == first.kind
          {
            stack.append(next)
          }
        }
        i += stack.count
        let signatures = stack.map { signature($0, graph) }
        var groups: [[ModuleTree]] = []
        if stack.count > 1 && Set(signatures).count == 1 && first.depth >= depth {
          groups = [stack]
        } else {
          groups = [[first]]
          var k = 1
          while k < stack.count {
            var run = [stack[k]]
            while k + run.count < stack.count, signatures[k + run.count] == signatures[k] {
              run.append(stack[k + run.count])
            }
            groups.append(run)
            k += run.count
          }
        }
        for group in groups {
          if group.count == 1 {
            addModule(group[0], parent: parent)
          } else {
            let r = folds.count
            folds.append(Fold(isRun: true, parent: parent, open: false, members: group, cluster: -1))
            for m in group { addModule(m, parent: r) }
          }
        }
      }
    }
  }

  mutating func addModule(_ m: ModuleTree, parent: Int) {
    if isSingleNode(m) {
      for n in m.nodes { if let d = drawnIndex[n] { nodeFold[d] = parent } }
      return
    }
    let f = folds.count
    let c = clusters.count
    clusters.append(m)
    clusterFold.append(f)
    folds.append(Fold(isRun: false, parent: parent, open: m.depth < depth, members: [m], cluster: c))
    addFolds(of: m, parent: f)
  }

  // MARK: Layout

  /// The text lines of a drawn node: the op (with the layers drawn in it), then shape and parameters.
  func nodeLines(_ n: Int) -> [String] {
    let op = graph.nodes[n].op
    let layers = [n] + tails[n]
    let shape = format(summary.shapes[layers.last!])
    var lines: [String]
    switch op {
    case .input: return ["input", shape]
    case .add: lines = ["+ add"]
    case .concat: lines = ["concat"]
    default: lines = [op.summary]
    }
    if !tails[n].isEmpty { lines.append(tails[n].map { "+ " + graph.nodes[$0].op.summary }.joined(separator: " ")) }
    let params = layers.reduce(0) { $0 + summary.nodeCounts[$1].params }
    lines.append(shape + (params > 0 ? " · \(grouped(params)) params" : ""))
    return lines
  }

  func counts(_ members: [ModuleTree]) -> Counts {
    var c = Counts()
    for m in members { for n in m.nodes { try? c.add(summary.nodeCounts[n]) } }
    return c
  }

  func clusterLines(_ m: ModuleTree) -> [String] {
    let c = counts([m])
    return ["\(m.path) · \(m.kind)", "\(grouped(c.params)) params · \(compact(c.macs)) MACs"]
  }

  func boxLines(_ f: Fold) -> [String] {
    let first = f.members[0]
    let last = f.members[f.members.count - 1]
    let c = counts(f.members)
    let span = f.members.count > 1 ? "\(first.path) – \(shortName(last.path))" : first.path
    var kind = first.kind
    if f.members.count > 1 {
      // Same structure; identical only when the sizes agree too (dense layers' inputs grow).
      let each = f.members.map { counts([$0]).params }
      kind +=
        " × \(f.members.count), "
        + (Set(each).count == 1
          ? "identical" : "same layers, \(compact(each.min()!))–\(compact(each.max()!)) params each")
    }
    return [
      span, kind, "→ " + format(summary.shapes[last.nodes.last!]),
      "\(grouped(c.params)) params · \(compact(c.macs)) MACs" + (f.members.count > 1 ? " in all" : ""),
    ]
  }

  /// DOT of the fully expanded graph: every module a cluster, every drawn node with the lines the page draws.
  func layoutDOT() -> String {
    var out = [
      "digraph explorer {",
      "  graph [rankdir=TB, fontname=\"Helvetica\", fontsize=12, nodesep=0.22, ranksep=0.32, newrank=true];",
      "  node [shape=box, fontname=\"Helvetica\", fontsize=12, margin=\"0.14,0.06\"];",
      "  edge [fontname=\"Helvetica\", fontsize=10];",
    ]
    var clusterIndex: [String: Int] = [:]
    for (i, m) in clusters.enumerated() { clusterIndex[m.path] = i }
    func emit(_ t: ModuleTree, indent: String) {
      for child in t.children {
        switch child {
        case .node(let n):
          guard head[n] == nil else { continue }
          let shape =
            graph.nodes[n].op == .add || graph.nodes[n].op == .concat ? ", shape=ellipse, margin=\"0.06,0.03\"" : ""
          out.append(indent + "n\(n) [label=<\(htmlLabel(nodeLines(n), prefix: ""))>\(shape)];")
        case .module(let m):
          guard let c = clusterIndex[m.path] else {
            emit(m, indent: indent)
            continue
          }
          out.append(indent + "subgraph cluster_\(c) {")
          out.append(
            indent + "  graph [label=<\(htmlLabel(clusterLines(m), prefix: "▾ "))>, labeljust=l, margin=10];")
          emit(m, indent: indent + "  ")
          out.append(indent + "}")
        }
      }
    }
    emit(tree, indent: "  ")
    for (k, e) in edgeList().enumerated() {
      let label = e.layer >= 0 ? ", label=\(quoted(" " + format(summary.shapes[e.layer]) + " "))" : ""
      let constraint = e.style == 4 ? ", constraint=false" : ""
      out.append("  \(nodeID(e.from)) -> \(nodeID(e.to)) [id=\"e\(k)\"\(label)\(constraint)];")
    }
    return out.joined(separator: "\n") + "\n}\n"
  }

  /// A DOT HTML-like label as the page draws it: the first line bold at 12 points, the others at 11.
  func htmlLabel(_ lines: [String], prefix: String) -> String {
    lines.enumerated().map { k, t in
      k == 0 ? "<b>\(xmlEscaped(prefix + t))</b>" : "<font point-size=\"11\">\(xmlEscaped(t))</font>"
    }.joined(separator: "<br/>")
  }

  /// A drawn node's DOT id: `n<layer>` for layers, `out<i>` for the outputs (numbered after the layers).
  func nodeID(_ d: Int) -> String { d < drawnLayers.count ? "n\(drawnLayers[d])" : "out\(d - drawnLayers.count)" }

  /// Edges between drawn nodes, once per pair: the source layer whose shape labels it (-1: none) and the style
  /// (0 plain, 1 skip connection, 2 size only, 4 an unpool's switches).
  func edgeList() -> [(from: Int, to: Int, layer: Int, style: Int)] {
    var seen = Set<[Int]>()
    var out: [(from: Int, to: Int, layer: Int, style: Int)] = []
    func drawnOf(_ n: Int) -> Int { drawnIndex[head[n] ?? n]! }
    func sameModule(_ u: Int, _ v: Int) -> Bool {
      let name = graph.nodes[v].name
      guard let dot = name.lastIndex(of: ".") else { return true }
      return graph.nodes[u].name.hasPrefix(name[..<dot] + ".")
    }
    for node in graph.nodes {
      for (k, u) in node.inputs.enumerated() {
        let a = drawnOf(u)
        let b = drawnOf(node.id)
        guard a != b, seen.insert([a, b]).inserted else { continue }
        var style = 0
        if k == 1, case .crop = node.op { style = 2 }
        if k == 1, case .upsample(let up) = node.op, up.like { style = 2 }
        if style == 0 {
          switch node.op {
          case .add: style = k > 0 ? 1 : 0
          case .concat: style = sameModule(u, node.id) ? 0 : 1
          default: break
          }
        }
        out.append((a, b, u, style))
      }
      if case .maxUnpool(let up) = node.op {
        let a = drawnOf(up.pool)
        let b = drawnOf(node.id)
        if a != b, seen.insert([a, b, 4]).inserted { out.append((a, b, up.pool, 4)) }
      }
    }
    for (i, o) in graph.outputs.enumerated() { out.append((drawnOf(o), drawnLayers.count + i, -1, 0)) }
    return out
  }

  // MARK: Payload

  /// The page's data as compact JSON (arrays rather than objects; the script names the fields).
  func payload(_ layout: Layout) -> String {
    var rfTable: [String] = []
    var rfIndex: [String: Int] = [:]
    func rf(_ f: ReceptiveField) -> Int {
      let flags = (f.global ? 1 : 0) + (f.approximate ? 2 : 0)
      let text = json([f.h.size, f.h.stride, f.h.padding, f.w.size, f.w.stride, f.w.padding, flags])
      if let i = rfIndex[text] { return i }
      rfIndex[text] = rfTable.count
      rfTable.append(text)
      return rfTable.count - 1
    }
    let classes = OpClass.allCases
    var layers: [String] = []
    for node in graph.nodes {
      let c = summary.nodeCounts[node.id]
      let cls = classes.firstIndex(of: node.op.opClass) ?? classes.count - 1
      layers.append(
        "["
          + [
            json(node.name), json(node.op.summary), String(cls), json(node.inputs), json(summary.shapes[node.id]),
            String(c.params), String(c.macs), String(c.flops), String(rf(fields.nodes[node.id])),
          ].joined(separator: ",") + "]")
    }
    var drawn: [String] = []
    for (d, n) in drawnLayers.enumerated() {
      let b = layout.nodes[nodeID(d)] ?? [0, 0, 0, 0]
      let op = graph.nodes[n].op
      let kind = op == .add || op == .concat ? 1 : 0
      drawn.append("[\(json(b)),\(json([n] + tails[n])),\(json(nodeLines(n))),\(nodeFold[d]),\(kind)]")
    }
    for (i, o) in graph.outputs.enumerated() {
      let b = layout.nodes["out\(i)"] ?? [0, 0, 0, 0]
      let name = i == 0 ? "output" : "auxiliary output \(i)"
      drawn.append("[\(json(b)),\(json([o])),\(json([name, format(summary.shapes[o])])),-1,2]")
    }
    var modules: [String] = []
    for (c, m) in clusters.enumerated() {
      let b = layout.clusters["cluster_\(c)"] ?? [0, 0, 0, 0]
      let k = counts([m])
      modules.append(
        "[\(json(m.path)),\(json(m.kind)),\(json(b)),\(json(clusterLines(m))),\(m.nodes.last!),"
          + "\(k.params),\(k.macs),\(k.flops),\(clusterFold[c])]")
    }
    var foldRows: [String] = []
    for f in folds {
      // The union of the members' boxes: clusters, or the nodes of modules drawn as one node.
      var box: [Int]? = nil
      for m in f.members {
        let b: [Int]
        if let c = clusters.firstIndex(where: { $0 === m }) {
          b = layout.clusters["cluster_\(c)"] ?? [0, 0, 0, 0]
        } else {
          let n = layout.nodes["n\(head[m.nodes[0]] ?? m.nodes[0])"] ?? [0, 0, 0, 0]
          b = [n[0] - n[2] / 2, n[1] - n[3] / 2, n[0] + n[2] / 2, n[1] + n[3] / 2]
        }
        box = box.map { [min($0[0], b[0]), min($0[1], b[1]), max($0[2], b[2]), max($0[3], b[3])] } ?? b
      }
      let k = counts(f.members)
      foldRows.append(
        "[\(f.isRun ? 1 : 0),\(f.parent),\(f.open ? 1 : 0),\(json(box ?? [0, 0, 0, 0])),\(json(boxLines(f))),"
          + "\(json(f.members.map(\.path))),\(json(f.members[0].kind)),\(f.members.last!.nodes.last!),"
          + "\(k.params),\(k.macs),\(k.flops),\(f.cluster)]")
    }
    var edgeRows: [String] = []
    for (k, e) in edgeList().enumerated() {
      let (points, label) = layout.edges["e\(k)"] ?? ([], [])
      edgeRows.append("[\(e.from),\(e.to),\(e.layer),\(e.style),\(json(points)),\(json(label))]")
    }
    let warnings = fields.warnings.compactMap { w -> String? in
      guard let n = graph.nodes.firstIndex(where: { $0.name == w.layer }) else { return nil }
      return "[\(n),\(json(w.message))]"
    }
    let t = summary.totals
    let entries: [(String, String)] = [
      ("name", json(graph.name)), ("input", json(summary.input)), ("size", json(layout.size)),
      ("depth", String(depth)),
      ("totals", json([t.params, t.macs, t.flops])),
      (
        "classes",
        "["
          + classes.map { c in json([c.rawValue, classColors.first { $0.0 == c }?.1 ?? "#e9ecef"]) }
          .joined(separator: ",") + "]"
      ),
      ("rfs", "[" + rfTable.joined(separator: ",") + "]"),
      ("warnings", "[" + warnings.joined(separator: ",") + "]"),
      ("layers", "[\n" + layers.joined(separator: ",\n") + "]"),
      ("drawn", "[\n" + drawn.joined(separator: ",\n") + "]"),
      ("modules", "[\n" + modules.joined(separator: ",\n") + "]"),
      ("folds", "[\n" + foldRows.joined(separator: ",\n") + "]"),
      ("edges", "[\n" + edgeRows.joined(separator: ",\n") + "]"),
    ]
    return "{" + entries.map { "\(json($0.0)):\($0.1)" }.joined(separator: ",\n") + "}"
  }
}

/// Graphviz's layout of the expanded graph, in whole points with y pointing down (0 at the top).
private struct Layout {
  /// Node id → centre x, centre y, width, height.
  var nodes: [String: [Int]] = [:]
  /// Cluster name → left, top, right, bottom.
  var clusters: [String: [Int]] = [:]
  /// Edge id → the spline's points (x, y, x, y…: a start, then three points per cubic Bézier segment, then the
  /// arrow's tip) and the label's centre (empty when unlabelled).
  var edges: [String: ([Int], [Int])] = [:]
  /// Width and height of the whole drawing.
  var size: [Int] = [0, 0]

  init(json bytes: [UInt8]) throws(RenderError) {
    guard let root = try? JSONSerialization.jsonObject(with: Data(bytes)) as? [String: Any],
      let bb = (root["bb"] as? String).map(numbers), bb.count == 4
    else { throw RenderError("Graphviz's layout of the explorer could not be read") }
    let height = bb[3]
    func y(_ v: Double) -> Int { Int((height - v).rounded()) }
    func x(_ v: Double) -> Int { Int(v.rounded()) }
    size = [x(bb[2]), Int(height.rounded())]
    for object in root["objects"] as? [[String: Any]] ?? [] {
      guard let name = object["name"] as? String else { continue }
      if let b = (object["bb"] as? String).map(numbers), b.count == 4 {
        clusters[name] = [x(b[0]), y(b[3]), x(b[2]), y(b[1])]
      } else if let p = (object["pos"] as? String).map(numbers), p.count == 2,
        let w = (object["width"] as? String).flatMap(Double.init),
        let h = (object["height"] as? String).flatMap(Double.init)
      {
        nodes[name] = [x(p[0]), y(p[1]), Int((w * 72).rounded()), Int((h * 72).rounded())]
      }
    }
    for edge in root["edges"] as? [[String: Any]] ?? [] {
      guard let id = edge["id"] as? String, let pos = edge["pos"] as? String else { continue }
      // "e,x,y s,x,y x,y x,y …": the optional start and end arrow points, then the control points.
      var end: [Int] = []
      var points: [Int] = []
      for part in pos.split(separator: " ") {
        let v = numbers(String(part.hasPrefix("e,") || part.hasPrefix("s,") ? part.dropFirst(2) : part))
        guard v.count == 2 else { continue }
        if part.hasPrefix("e,") {
          end = [x(v[0]), y(v[1])]
        } else if !part.hasPrefix("s,") {
          points += [x(v[0]), y(v[1])]
        }
      }
      let label = (edge["lp"] as? String).map(numbers).map { $0.count == 2 ? [x($0[0]), y($0[1])] : [] } ?? []
      edges[id] = (points + end, label)
    }
  }
}

private func numbers(_ s: String) -> [Double] {
  s.split(separator: ",").compactMap { Double($0.trimmingCharacters(in: .whitespaces)) }
}

/// A module's own name (`denselayer6`), or its whole path when the name is a number (`layer1.2`).
private func shortName(_ path: String) -> String {
  let name = path.split(separator: ".").last.map(String.init) ?? path
  return name.allSatisfy(\.isNumber) ? path : name
}

// MARK: JSON

/// A JSON string literal; `<`, `>` and `&` are escaped so the text can sit inside a `<script>` element.
func json(_ s: String) -> String {
  var out = "\""
  for u in s.unicodeScalars {
    switch u {
    case "\"": out += "\\\""
    case "\\": out += "\\\\"
    case "\n": out += "\\n"
    case "<": out += "\\u003c"
    case ">": out += "\\u003e"
    case "&": out += "\\u0026"
    default:
      if u.value < 0x20 {
        let hex = String(u.value, radix: 16)
        out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
      } else {
        out.unicodeScalars.append(u)
      }
    }
  }
  return out + "\""
}

func json(_ a: [Int]) -> String { "[" + a.map(String.init).joined(separator: ",") + "]" }
func json(_ a: [String]) -> String { "[" + a.map { json($0) }.joined(separator: ",") + "]" }

// MARK: Page

private func explorerPage(summary: Summary, data: String) -> String {
  let graph = summary.graph
  let t = summary.totals
  var title = graph.name
  if !graph.family.isEmpty { title += " (\(graph.family))" }
  let subtitle =
    "input \(format(summary.input)) → \(format(summary.output)) · \(grouped(t.params)) params · "
    + "\(compact(t.macs)) MACs · \(compact(t.flops)) FLOPs"
  return """
    <!DOCTYPE html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="generator" content="CNN Zoo (zoo render)">
    <title>\(xmlEscaped(graph.name)) · CNN Zoo explorer</title>
    <style>
    \(explorerCSS)</style>
    </head>
    <body>
    <header>
    <h1>\(xmlEscaped(title))</h1>
    <p id="zoo-subtitle">\(xmlEscaped(subtitle))</p>
    <div id="zoo-bar"><input id="zoo-search" type="search" placeholder="Find a layer or module…" autocomplete="off" \
    aria-label="Find a layer or module"><button id="zoo-open-all" type="button">Open all</button>\
    <button id="zoo-close-all" type="button">Fold all</button><button id="zoo-reset" type="button">Reset</button>\
    <span class="zoo-hint">Click a grey box to open it, its ▾ label to fold it again; click a layer to see its \
    receptive field.</span></div>
    <ul id="zoo-results" hidden></ul>
    </header>
    <main>
    <div id="zoo-diagram"><svg id="zoo-svg" role="img" aria-label="Layer graph of \(xmlEscaped(graph.name))"></svg></div>
    <aside id="zoo-panel"><p class="zoo-hint">Select a layer to see its figures and its receptive field on the \
    input grid.</p></aside>
    </main>
    <div id="zoo-tip" hidden></div>
    <output id="zoo-status"></output>
    <noscript><p>The explorer draws the diagram with JavaScript; enable it to see the graph.</p></noscript>
    <script type="application/json" id="zoo-data">
    \(data)
    </script>
    <script>
    \(explorerJS)</script>
    </body>
    </html>

    """
}
