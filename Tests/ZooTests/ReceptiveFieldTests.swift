import Foundation
import Testing
import ZooAnalysis
import ZooFormat
import ZooGraph

/// One sliding-window layer along one axis, for the 1-D brute force.
private struct Window1D: CustomStringConvertible {
  var pool: Bool
  var kernel, stride, padding, dilation: Int
  var ceil: Bool
  var description: String {
    "\(pool ? "pool" : "conv") k\(kernel) s\(stride) p\(padding) d\(dilation)\(ceil ? " ceil" : "")"
  }
  func outputLength(_ n: Int) -> Int {
    windowOutputSize(n, kernel: kernel, stride: stride, padding: padding, dilation: dilation, ceilMode: ceil)
  }
  /// The positions of the layer below that unit `x` reads (unbounded coordinates).
  func window(_ x: Int) -> [Int] { (0..<kernel).map { x * stride - padding + dilation * $0 } }
}

private func randomWindow(_ rng: inout SplitMix) -> Window1D {
  let pool = Bool.random(using: &rng)
  let k = Int.random(in: 1...5, using: &rng)
  let d = Int.random(in: 0..<4, using: &rng) == 0 ? Int.random(in: 2...3, using: &rng) : 1
  let s = Int.random(in: 1...3, using: &rng)
  let span = d * (k - 1) + 1
  let p = Int.random(in: 0...(pool ? span / 2 : k), using: &rng)
  return Window1D(
    pool: pool, kernel: k, stride: s, padding: p, dilation: d, ceil: pool && Bool.random(using: &rng))
}

/// Input pixels (unbounded coordinates) that unit `u` of the last layer reads, expanding windows one by one.
private func bruteSupport(_ layers: [Window1D], unit u: Int) -> Set<Int> {
  var s: Set<Int> = [u]
  for l in layers.reversed() { s = Set(s.flatMap(l.window)) }
  return s
}

/// A graph of 2-D layers whose H axis follows `hs` and W axis follows `ws` (same kinds, same count).
private struct GraphMaker {
  var nodes: [Node] = [Node(id: 0, name: "input", op: .input, inputs: [])]
  mutating func add(_ name: String, _ op: Op, _ inputs: [Int]) -> Int {
    nodes.append(Node(id: nodes.count, name: name, op: op, inputs: inputs))
    return nodes.count - 1
  }
  mutating func chain(_ prefix: String, _ hs: [Window1D], _ ws: [Window1D], from: Int, channels: Int = 1) -> Int {
    var last = from
    var ch = channels
    for (i, (h, w)) in zip(hs, ws).enumerated() {
      let op: Op =
        h.pool
        ? .pool(
          Pool2D(
            kind: .max, kernel: Pair(h.kernel, w.kernel), stride: Pair(h.stride, w.stride),
            padding: Pair(h.padding, w.padding), dilation: Pair(h.dilation, w.dilation), ceilMode: h.ceil))
        : .conv(
          Conv2D(
            inChannels: ch, outChannels: 1, kernel: Pair(h.kernel, w.kernel), stride: Pair(h.stride, w.stride),
            padding: Pair(h.padding, w.padding), dilation: Pair(h.dilation, w.dilation)))
      if !h.pool { ch = 1 }
      last = add("\(prefix)\(i)", op, [last])
    }
    return last
  }
  func graph(input: [Int], output: Int) -> Graph {
    Graph(name: "toy", inputShape: input, nodes: nodes, outputs: [output], modules: [])
  }
}

private func identity1D(_ pool: Bool, ceil: Bool) -> Window1D {
  Window1D(pool: pool, kernel: 1, stride: 1, padding: 0, dilation: 1, ceil: ceil)
}

/// Checks that every unit `u` of a layer sees exactly the hull of its brute-force support.
private func expectSpans(
  _ field: AxisField, length: Int, support: (Int) -> Set<Int>, _ what: @autoclosure () -> String
) {
  for u in 0..<length {
    let s = support(u)
    let hull = s.min()!...s.max()!
    #expect(
      field.span(of: u) == hull,
      "\(what()): unit \(u) sees \(hull) by brute force, the recurrence says \(field.span(of: u))")
  }
}

@Suite("Receptive fields")
struct ReceptiveFieldTests {
  @Test("Stacked 3×3 convolutions grow 3, 5, 7; a stride-2 pool doubles the step")
  func stackedThreeByThree() throws {
    var m = GraphMaker()
    let conv = Window1D(pool: false, kernel: 3, stride: 1, padding: 1, dilation: 1, ceil: false)
    let pool = Window1D(pool: true, kernel: 2, stride: 2, padding: 0, dilation: 1, ceil: false)
    let layers = [conv, conv, conv, pool, conv]
    let out = m.chain("l", layers, layers, from: 0)
    let rf = try ReceptiveFields(m.graph(input: [1, 32, 32], output: out))
    #expect(rf.nodes.map(\.h.size) == [1, 3, 5, 7, 8, 12])
    #expect(rf.nodes.map(\.h.stride) == [1, 1, 1, 1, 2, 2])
    #expect(rf.nodes.map(\.h.padding) == [0, 1, 2, 3, 3, 5])
    #expect(rf.nodes.map(\.h.centreOffset) == [0, 0, 0, 0, 0.5, 0.5])
    #expect(rf.warnings.isEmpty)
  }

  @Test("Dilation: a 3×3 kernel with dilation 2 sees 5 pixels; 1, 2, 4 dilations give 15")
  func dilation() throws {
    var m = GraphMaker()
    let layers = [1, 2, 4].map { Window1D(pool: false, kernel: 3, stride: 1, padding: $0, dilation: $0, ceil: false) }
    let out = m.chain("l", layers, layers, from: 0)
    let rf = try ReceptiveFields(m.graph(input: [1, 32, 32], output: out))
    #expect(rf.nodes.map(\.h.size) == [1, 3, 7, 15])
    #expect(rf.output.h.padding == 7)
  }

  @Test("Random chains equal a brute-force 1-D expansion, per axis (dilation, padding, strides, ceil mode)")
  func randomChains() throws {
    var rng = SplitMix(state: 2024)
    var checked = 0
    for trial in 0..<400 {
      let count = Int.random(in: 1...6, using: &rng)
      var hs = (0..<count).map { _ in randomWindow(&rng) }
      var ws = (0..<count).map { _ in randomWindow(&rng) }
      for i in 0..<count {  // the two axes must agree on the op kind and ceil mode
        ws[i].pool = hs[i].pool
        ws[i].ceil = hs[i].ceil
        if ws[i].pool { ws[i].padding = min(ws[i].padding, (ws[i].dilation * (ws[i].kernel - 1) + 1) / 2) }
        if !hs[i].pool { hs[i].ceil = false }
      }
      let n = (Int.random(in: 20...120, using: &rng), Int.random(in: 20...120, using: &rng))
      var lengths = (n.0, n.1)
      var fits = true
      for (h, w) in zip(hs, ws) {
        lengths = (h.outputLength(lengths.0), w.outputLength(lengths.1))
        if lengths.0 < 1 || lengths.1 < 1 { fits = false }
      }
      guard fits else { continue }
      var m = GraphMaker()
      let out = m.chain("l", hs, ws, from: 0)
      let rf = try ReceptiveFields(m.graph(input: [1, n.0, n.1], output: out))
      let f = rf.output
      expectSpans(f.h, length: lengths.0, support: { bruteSupport(hs, unit: $0) }, "trial \(trial) H \(hs)")
      expectSpans(f.w, length: lengths.1, support: { bruteSupport(ws, unit: $0) }, "trial \(trial) W \(ws)")
      #expect(rf.warnings.isEmpty, "trial \(trial): a chain has no merge, yet warned \(rf.warnings)")
      checked += 1
    }
    #expect(checked > 100, "only \(checked) random chains fitted their input")
  }

  @Test("Random two-path graphs: the merge holds the union of both paths; misaligned ones warn")
  func randomTwoPath() throws {
    var rng = SplitMix(state: 7)
    var checked = 0
    var misaligned = 0
    for trial in 0..<3000 where checked < 300 {
      let parts = (0..<4).map { _ in (0..<Int.random(in: 0...3, using: &rng)).map { _ in randomWindow(&rng) } }
      let (trunk, a, b, tail) = (parts[0], parts[1], parts[2], parts[3])
      let n = Int.random(in: 16...80, using: &rng)
      func length(_ ls: [Window1D], _ n: Int) -> Int {
        ls.reduce(n) { $0 < 1 ? $0 : $1.outputLength($0) }
      }
      let t = length(trunk, n)
      guard t >= 1, length(a, t) >= 1, length(a, t) == length(b, t), length(tail, length(a, t)) >= 1 else { continue }
      let flat = { (ls: [Window1D]) in ls.map { identity1D($0.pool, ceil: $0.ceil) } }
      var m = GraphMaker()
      let top = m.chain("trunk", trunk, flat(trunk), from: 0)
      let ea = m.chain("a", a, flat(a), from: top)
      let eb = m.chain("b", b, flat(b), from: top)
      let concat = Bool.random(using: &rng)
      let merge = m.add("merge", concat ? .concat : .add, [ea, eb])
      let out = m.chain("tail", tail, flat(tail), from: merge, channels: concat ? 2 : 1)
      let rf = try ReceptiveFields(m.graph(input: [1, n, 1], output: out))
      let pa = trunk + a
      let pb = trunk + b
      let fa = rf.nodes[ea].h
      let fb = rf.nodes[eb].h
      if fa.stride != fb.stride {
        #expect(rf.warnings.contains { $0.layer == "merge" && $0.message.contains("effective stride") })
        #expect(rf.output.approximate)
        continue
      }
      let mergedLength = length(a, t)
      expectSpans(
        rf.nodes[merge].h, length: mergedLength,
        support: { bruteSupport(pa, unit: $0).union(bruteSupport(pb, unit: $0)) }, "trial \(trial) merge \(pa) | \(pb)")
      expectSpans(
        rf.output.h, length: length(tail, mergedLength),
        support: { u in
          var s: Set<Int> = [u]
          for l in tail.reversed() { s = Set(s.flatMap(l.window)) }
          return Set(s.flatMap { bruteSupport(pa, unit: $0).union(bruteSupport(pb, unit: $0)) })
        }, "trial \(trial) tail \(tail)")
      let aligned = fa.centreOffset == fb.centreOffset
      let warned = rf.warnings.contains { $0.layer == "merge" && $0.message.contains("centre offset") }
      #expect(aligned != warned, "trial \(trial): centres \(fa.centreOffset) and \(fb.centreOffset), warned: \(warned)")
      if aligned {
        #expect(rf.nodes[merge].h.size == max(fa.size, fb.size), "aligned paths: the field is the larger one")
      } else {
        misaligned += 1
      }
      checked += 1
    }
    #expect(checked >= 100, "only \(checked) random two-path graphs fitted")
    #expect(misaligned >= 5, "the sweep met only \(misaligned) misaligned graphs")
  }

  @Test("A 2×2/2 path beside a 3×3/2 padded path is misaligned by half a pixel, and the warning says so")
  func misalignedWarning() throws {
    var m = GraphMaker()
    let a = Window1D(pool: false, kernel: 2, stride: 2, padding: 0, dilation: 1, ceil: false)
    let b = Window1D(pool: false, kernel: 3, stride: 2, padding: 1, dilation: 1, ceil: false)
    let ea = m.chain("short", [a], [a], from: 0)
    let eb = m.chain("padded", [b], [b], from: 0)
    let merge = m.add("join", .concat, [ea, eb])
    let rf = try ReceptiveFields(m.graph(input: [1, 8, 8], output: merge))
    #expect(rf.nodes[merge].h == AxisField(size: 3, stride: 2, padding: 1))
    let w = try #require(rf.warnings.first)
    #expect(w.layer == "join")
    #expect(w.message.contains("centre offset along H: 0.5 (via `short0`) vs 0 (via `padded0`)"), "\(w)")
    #expect(rf.warnings.count == 2, "one warning per axis: \(rf.warnings)")

    // Three inputs: the warning compares the first input with each other one, the field spans all.
    var t = GraphMaker()
    let c = Window1D(pool: false, kernel: 4, stride: 2, padding: 1, dilation: 1, ceil: false)
    let e1 = t.chain("short", [a], [a], from: 0)
    let e2 = t.chain("padded", [b], [b], from: 0)
    let e3 = t.chain("even", [c], [c], from: 0)
    let three = t.add("join", .concat, [e1, e2, e3])
    let rt = try ReceptiveFields(t.graph(input: [1, 8, 8], output: three))
    #expect(rt.nodes[three].h == AxisField(size: 4, stride: 2, padding: 1), "[2u, 2u+1] ∪ [2u-1, 2u+1] ∪ [2u-1, 2u+2]")
    let alongH = rt.warnings.filter { $0.message.contains("along H") }
    #expect(alongH.count == 1, "short0 and even0 are both centred at 0.5; only padded0 differs: \(alongH)")
    #expect(
      alongH.first?.message.hasPrefix(
        "its inputs disagree on the centre offset along H: 0.5 (via `short0`) vs 0 (via `padded0`)") == true)

    var s = GraphMaker()
    let five = Window1D(pool: false, kernel: 5, stride: 1, padding: 0, dilation: 1, ceil: false)
    let two = Window1D(pool: false, kernel: 2, stride: 2, padding: 0, dilation: 1, ceil: false)
    let x = s.chain("wide", [five], [five], from: 0)
    let y = s.chain("strided", [two], [two], from: 0)
    let j = s.add("sum", .add, [x, y])
    let rs = try ReceptiveFields(s.graph(input: [1, 8, 8], output: j))
    #expect(
      rs.warnings.first?.message.contains("effective stride along H: 1 (via `wide0`) vs 2 (via `strided0`)") == true)
    #expect(rs.output.approximate)
  }

  @Test("Flatten, linear and global pooling make the field global; adaptive pools at a given size")
  func globalAndAdaptive() throws {
    let alex = try ReceptiveFields(try builtin("alexnet"))
    let row = { (p: String) in alex.rows.first { $0.path == p }! }
    #expect(row("avgpool").field.h == AxisField(size: 195, stride: 32, padding: 66), "6×6 → 6×6 is the identity")
    #expect(row("classifier").field.global)
    #expect(row("classifier").coverage == 1)
    let big = try ReceptiveFields(try builtin("alexnet"), input: [3, 479, 479])  // features 14×14 → 6×6: uneven
    #expect(big.rows.first { $0.path == "avgpool" }!.field.approximate)
    #expect(big.warnings.contains { $0.layer == "avgpool" && $0.message.contains("uneven") })
    let evenly = try ReceptiveFields(try builtin("alexnet"), input: [3, 415, 415])  // 12×12 → 6×6: 2×2/2
    #expect(evenly.rows.first { $0.path == "avgpool" }!.field.h == AxisField(size: 227, stride: 64, padding: 66))
    let resnet = try ReceptiveFields(try builtin("resnet18"))
    #expect(resnet.rows.first { $0.path == "avgpool" }!.field.global)
    #expect(resnet.rows.first { $0.path == "layer4" }!.outgrowsInput)
    #expect(!resnet.rows.first { $0.path == "layer1" }!.outgrowsInput)
    #expect(resnet.rows.first { $0.path == "layer4" }!.coverage == 1)
    #expect(resnet.globalFrom?.path == "avgpool")
    // GoogLeNet's auxiliary heads turn global early; the main line does so at its avgpool.
    let aux = try ReceptiveFields(try builtin("googlenet", overrides: [("aux_logits", "true")]))
    #expect(aux.rows.first { $0.path == "aux1" }!.field.global)
    #expect(aux.globalFrom?.path == "avgpool")
    #expect(aux.warnings.map(\.layer) == ["aux1.adaptive_avgpool", "aux2.adaptive_avgpool"], "14 → 4 bins are uneven")
  }

  @Test("LeNet-5's subsampling and rectangular kernels")
  func lenetAndRectangles() throws {
    let lenet = try ReceptiveFields(try builtin("lenet5_original"))
    let c5 = try #require(lenet.rows.first { $0.path.hasSuffix("C5") })
    // C1 5 → S2 6/2 → C3 14 → S4 16/4 → C5 32/4: a C5 unit sees the whole 32×32 input.
    #expect(c5.field.h == AxisField(size: 32, stride: 4, padding: 0))
    var m = GraphMaker()
    let h = Window1D(pool: false, kernel: 1, stride: 1, padding: 0, dilation: 1, ceil: false)
    let w = Window1D(pool: false, kernel: 7, stride: 1, padding: 3, dilation: 1, ceil: false)
    let out = m.chain("c", [h, w], [w, h], from: 0)
    let rf = try ReceptiveFields(m.graph(input: [1, 17, 17], output: out))
    #expect(rf.output.h == AxisField(size: 7, stride: 1, padding: 3))
    #expect(rf.output.w == AxisField(size: 7, stride: 1, padding: 3))
    #expect(rf.nodes[1].h.size == 1 && rf.nodes[1].w.size == 7)
    let row = try #require(rf.rows.first { $0.path == "c0" })
    #expect(abs(row.coverage - 7.0 / 289) < 1e-12, "a 1×7 field at the centre covers 7 of 17×17 pixels")
  }

  @Test("torchvision endpoints measured by back-propagation (reference/receptive_fields.json)")
  func referenceEndpoints() throws {
    let data = try Data(contentsOf: referenceDir.appendingPathComponent("receptive_fields.json"))
    let json = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
    let endpoints = try #require(json["endpoints"] as? [String: [String: Int]])
    #expect(endpoints.count == 20)
    var cache: [String: ReceptiveFields] = [:]
    for (key, want) in endpoints.sorted(by: { $0.key < $1.key }) {
      let parts = key.split(separator: "/").map(String.init)
      let rf = try cache[parts[0]] ?? ReceptiveFields(try builtin(parts[0]))
      cache[parts[0]] = rf
      let row = try #require(rf.rows.first { $0.path == parts[1] }, "\(key): no such module path")
      for axis in [row.field.h, row.field.w] {
        #expect(
          axis == AxisField(size: want["size"]!, stride: want["stride"]!, padding: want["padding"]!),
          "\(key): computed \(axis), measured \(want)")
      }
      #expect(!row.field.global && !row.field.approximate)
    }
  }

  /// Back-propagates the set of positions unit `u` depends on through the real graph, along one axis.
  private func graphSupport(_ s: Summary, node: Int, unit u: Int, axis: Int) -> Set<Int>? {
    var sets: [Int: Set<Int>] = [node: [u]]
    for id in stride(from: node, through: 0, by: -1) {
      guard let here = sets.removeValue(forKey: id) else { continue }
      let n = s.graph.nodes[id]
      if n.op == .input { return here }
      let pick = { (p: Pair) in axis == 1 ? p.h : p.w }
      var below: Set<Int>
      switch n.op {
      case .conv(let c):
        let before = c.prePad.map { axis == 1 ? $0.top : $0.left } ?? pick(c.padding)
        below = Set(
          here.flatMap { x in
            (0..<pick(c.kernel)).map { x * pick(c.stride) - before + pick(c.dilation) * $0 }
          })
      case .pool(let p):
        below = Set(
          here.flatMap { x in
            (0..<pick(p.kernel)).map { x * pick(p.stride) - pick(p.padding) + pick(p.dilation) * $0 }
          })
      case .local(let l):
        below = Set(here.flatMap { x in (0..<pick(l.kernel)).map { x * pick(l.stride) - pick(l.padding) + $0 } })
      case .subsample(_, let k):
        below = Set(here.flatMap { x in (0..<k).map { x * k + $0 } })
      case .convTranspose(let c):
        // Unit o receives cell i when i·s − p + a·d = o for a tap a.
        let (s0, p0, d0) = (pick(c.stride), pick(c.padding), pick(c.dilation))
        below = Set(
          here.flatMap { o in
            (0..<pick(c.kernel)).compactMap { a -> Int? in
              let t = o + p0 - a * d0
              return ((t % s0) + s0) % s0 == 0 ? (t >= 0 ? t / s0 : -((-t) / s0)) : nil
            }
          })
      case .pad(let p):
        below = Set(here.map { $0 - (axis == 1 ? p.top : p.left) })
      case .crop(let c):
        let inLen = s.shapes[n.inputs[0]]
        let at = c.start(inLen[1], inLen[2], to: s.shapes[id][1], s.shapes[id][2])
        below = Set(here.map { $0 + pick(at) })
      case .upsample(let up) where !up.alignCorners:
        // nn.Upsample: nearest reads floor(o·n/m); bilinear reads floor(src) and, with a non-zero weight,
        // the next cell, src = max((o + ½)·n/m − ½, 0), clamped at the last cell.
        let (len, out) = (s.shapes[n.inputs[0]][axis], s.shapes[id][axis])
        below = Set(
          here.flatMap { o -> [Int] in
            if up.mode == .nearest { return [min(o * len / out, len - 1)] }
            let src = max((Double(o) + 0.5) * Double(len) / Double(out) - 0.5, 0)
            let i0 = min(Int(src), len - 1)
            return src > Double(i0) && i0 + 1 < len ? [i0, i0 + 1] : [i0]
          })
      case .adaptiveAvgPool(let oh, let ow):
        let o = axis == 1 ? oh : ow
        let len = s.shapes[n.inputs[0]][axis]
        guard len % o == 0 else { return nil }
        below = Set(here.flatMap { x in ((x * len) / o)..<(((x + 1) * len) / o) })
      case .flatten, .linear, .rbf:
        return nil
      case .maxUnpool(let m):
        // Unit x receives pooled unit i when i·s − p + a·d = x for a tap a; the switches of those
        // units come from the pool's input through the same window, so the pool's value is read too.
        let (k, st, p, d) = (
          pick(m.window.kernel), pick(m.window.stride), pick(m.window.padding), pick(m.window.dilation)
        )
        below = Set(
          here.flatMap { x in
            (0..<k).compactMap { a -> Int? in
              let t = x + p - a * d
              return ((t % st) + st) % st == 0 ? t / st : nil
            }
          })
        sets[m.pool, default: []].formUnion(below)
      default:
        below = here
      }
      // A crop's or a like-upsampling's second input only gives the size.
      var reads = n.inputs
      if case .crop = n.op { reads = [n.inputs[0]] }
      if case .upsample(let up) = n.op, up.like { reads = [n.inputs[0]] }
      for i in reads {
        // A broadcast input of an add or mul gives its one unit along the axis to every output unit.
        let broadcast =
          (n.op == .add || n.op == .mul) && s.shapes[i].count == 3 && s.shapes[i][axis] == 1 && s.shapes[id][axis] > 1
        sets[i, default: []].formUnion(broadcast ? [0] : below)
      }
    }
    return nil
  }

  /// The zoo models that upsample: the gated inpainting generator's decoder and the two upsampler
  /// snippets (which upsample first, so every field is given as the whole input).
  static let upsamplingModels: Set<String> = ["gated_inpaint_coarse", "upsample_conv_256", "upsample_transpose_256"]

  @Test(
    "Every zoo model: stages and blocks equal a set back-propagation through the graph, with no warnings but unpooling envelopes"
  )
  func everyZooModel() throws {
    let zoo = try Zoo.builtin()
    var models = 0
    for file in zoo.files {
      for model in file.models {
        let rf = try ReceptiveFields(try file.graph(model))
        // Strided transposed convolutions, upsamplings (FCN, U-Net, the gated generator) and SegNet's
        // unpoolings give neighbouring units fields of different sizes: their envelope is flagged with a
        // warning (one per unpool), and rows after them contain the brute-force support rather than equal
        // its hull (docs/receptive-fields.md).
        let unpools = rf.summary.graph.nodes.filter { $0.op.kindName == "max_unpool" }.map(\.name)
        #expect(
          rf.warnings.filter { $0.message.contains("unpooling") }.map(\.layer) == unpools
            && rf.warnings.allSatisfy {
              $0.message.contains("unpooling")
                || $0.message.contains("gives neighbouring units fields of different sizes")
                || $0.message.contains("upsampl") || $0.message.contains("a fraction of a pixel")
            },
          "\(model.name): \(rf.warnings)")
        if Self.upsamplingModels.contains(model.name) { #expect(!rf.warnings.isEmpty, "\(model.name): no warning") }
        let rows = rf.rows.filter { $0.depth <= 2 && !$0.field.global && !$0.field.approximate }
        #expect(
          !rows.isEmpty || model.name.hasPrefix("upsample_"), "\(model.name): no stage or block with a local field")
        models += 1
        for row in rows {
          for (axis, field) in [(1, row.field.h), (2, row.field.w)] {
            let u = (rf.summary.shapes[row.node][axis] - 1) / 2
            let support = try #require(
              graphSupport(rf.summary, node: row.node, unit: u, axis: axis), "\(model.name) \(row.path)")
            let hull = support.min()!...support.max()!
            #expect(
              row.field.approximate
                ? field.span(of: u).contains(hull.lowerBound) && field.span(of: u).contains(hull.upperBound)
                : field.span(of: u) == hull,
              "\(model.name) \(row.path) axis \(axis): recurrence \(field), brute force \(support.min()!)...\(support.max()!)"
            )
          }
        }
      }
    }
    #expect(models == allModels.count, "checked \(models) models of \(allModels.count)")
  }
}

@Suite("adaptive pooling envelope")
struct AdaptivePoolEnvelopeTests {
  /// With uneven bins, unit `i`'s reported field must contain PyTorch's bin `i` for every `i`.
  @Test func everyBinLiesInsideItsUnitsField() throws {
    for n in 1...40 {
      for o in 1...min(n, 12) where o > 1 {
        let nodes = [
          Node(id: 0, name: "input", op: .input, inputs: []),
          Node(id: 1, name: "pool", op: .adaptiveAvgPool(outH: o, outW: 1), inputs: [0]),
        ]
        let g = Graph(name: "t", inputShape: [1, n, 1], nodes: nodes, outputs: [1], modules: [])
        let f = try ReceptiveFields(g).nodes[1].h
        for i in 0..<o {
          let bin = (i * n) / o...(((i + 1) * n + o - 1) / o - 1)
          let span = f.span(of: i)
          #expect(
            span.lowerBound <= bin.lowerBound && bin.upperBound <= span.upperBound,
            "n=\(n) o=\(o): unit \(i) sees \(span) but its bin is \(bin)")
        }
      }
    }
  }
}
