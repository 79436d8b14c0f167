import ZooGraph

/// The receptive field of a layer along one axis.
///
/// Output unit `u` (0-based) sees the input pixels `u·stride − padding … u·stride − padding + size − 1`,
/// counted in input pixels with no clipping at the border (pixels below 0 or past the end are padding).
///
/// Recurrences, from the input (`size 1, stride 1, padding 0`) through a window op with kernel `k`,
/// stride `s`, padding `p` and dilation `d` (effective kernel `d·(k − 1) + 1`):
///
///     size'    = size + d·(k − 1)·stride
///     padding' = padding + p·stride
///     stride'  = stride·s
///
/// Ceil-mode pools use the same recurrences (ceil mode only adds a last window; every window
/// follows the same rule). Element-wise and 1×1 ops leave the field unchanged.
public struct AxisField: Sendable, Hashable {
  /// Input pixels one output unit sees, from its first to its last (holes of dilated kernels included).
  public var size: Int
  /// Effective stride (jump): how far the field moves, in input pixels, from one unit to the next.
  public var stride: Int
  /// Effective padding `P`: the first pixel unit 0 sees is `−P`.
  public var padding: Int

  public init(size: Int, stride: Int, padding: Int) {
    self.size = size
    self.stride = stride
    self.padding = padding
  }

  /// The input itself: every pixel sees itself.
  public static let unit = AxisField(size: 1, stride: 1, padding: 0)

  /// The centre of unit 0's field in input pixels: `(size − 1)/2 − padding` (a half when `size` is even).
  /// Unit `u`'s centre is `u·stride + centreOffset`.
  public var centreOffset: Double { Double(size - 1) / 2 - Double(padding) }

  /// Twice the centre offset, an exact integer for comparisons.
  var doubledCentre: Int { size - 1 - 2 * padding }

  /// First and last input pixel that output unit `u` sees (unclipped).
  public func span(of u: Int) -> ClosedRange<Int> {
    let first = u * stride - padding
    return first...(first + size - 1)
  }

  /// The field after a sliding window with kernel `k`, stride `s`, padding `p`, dilation `d`.
  /// Returns nil when the numbers overflow 64-bit integers.
  public func through(kernel k: Int, stride s: Int, padding p: Int, dilation d: Int = 1) -> AxisField? {
    let (grow, o1) = (d * (k - 1)).multipliedReportingOverflow(by: stride)
    let (size2, o2) = size.addingReportingOverflow(grow)
    let (shift, o3) = p.multipliedReportingOverflow(by: stride)
    let (pad2, o4) = padding.addingReportingOverflow(shift)
    let (stride2, o5) = stride.multipliedReportingOverflow(by: s)
    if o1 || o2 || o3 || o4 || o5 { return nil }
    return AxisField(size: size2, stride: stride2, padding: pad2)
  }
}

extension AxisField {
  /// The field after a transposed convolution with kernel `k`, stride `s`, padding `p`, dilation `d`
  /// (docs/receptive-fields.md). Unit `o` reads the cells `i` of the layer below with
  /// `i·s − p + a·d = o` for a tap `a`, whose hull is `⌈(o + p − D)/s⌉ … ⌊(o + p)/s⌋` with `D = d·(k − 1)`.
  /// With `s = 1` that is a sliding window over `D + 1` cells starting at `o − (D − p)`, and the field is
  /// exact: `size' = size + D·J`, `padding' = padding + (D − p)·J`, `stride' = J`. With `s > 1` the hull's
  /// ends move in steps of `J` every `s` units, which no (size, stride, padding) triple describes; when
  /// `s` divides `J` the result is the smallest linear envelope `size' = size + D·J/s`,
  /// `padding' = padding + (D − p)·J/s`, `stride' = J/s` (`exact` false). Returns nil when `s` does not
  /// divide `J` (the field would move a fraction of a pixel per unit) or the numbers overflow.
  public func throughTransposed(kernel k: Int, stride s: Int, padding p: Int, dilation d: Int)
    -> (field: AxisField, exact: Bool)?
  {
    guard stride % s == 0 else { return nil }
    let step = stride / s
    let (span, o1) = (d * (k - 1)).multipliedReportingOverflow(by: step)
    let (size2, o2) = size.addingReportingOverflow(span)
    let (shift, o3) = (d * (k - 1) - p).multipliedReportingOverflow(by: step)
    let (pad2, o4) = padding.addingReportingOverflow(shift)
    if o1 || o2 || o3 || o4 { return nil }
    return (AxisField(size: size2, stride: step, padding: pad2), s == 1)
  }
}

extension ReceptiveField {
  /// The field after `top` rows and `left` columns are put before the map (negative: taken away, as a
  /// crop does): output unit `u` is input unit `u − top`, so the effective padding grows by `top·stride`.
  /// The bottom and right amounts change no unit's field. Nil when the numbers overflow.
  func padded(top: Int, left: Int) -> ReceptiveField? {
    guard let h = h.through(kernel: 1, stride: 1, padding: top), let w = w.through(kernel: 1, stride: 1, padding: left)
    else { return nil }
    var f = self
    f.h = h
    f.w = w
    return f
  }
}

/// The receptive field of one layer: per axis, or the whole input.
public struct ReceptiveField: Sendable, Hashable {
  /// Height axis.
  public var h: AxisField
  /// Width axis.
  public var w: AxisField
  /// True after flatten, linear layers and global pooling: every output depends on the whole input,
  /// and `h`/`w` carry no meaning.
  public var global: Bool
  /// True when the numbers are an envelope rather than exact (an adaptive pool whose bins are
  /// uneven, or paths whose strides disagree); a warning explains each case.
  public var approximate: Bool

  public init(h: AxisField, w: AxisField, global: Bool = false, approximate: Bool = false) {
    self.h = h
    self.w = w
    self.global = global
    self.approximate = approximate
  }

  public static let input = ReceptiveField(h: .unit, w: .unit)

  /// The field after a sliding window on both axes (see ``AxisField/through(kernel:stride:padding:dilation:)``);
  /// nil when the numbers overflow.
  public func through(kernel: Pair, stride: Pair, padding: Pair, dilation: Pair) -> ReceptiveField? {
    guard let h = h.through(kernel: kernel.h, stride: stride.h, padding: padding.h, dilation: dilation.h),
      let w = w.through(kernel: kernel.w, stride: stride.w, padding: padding.w, dilation: dilation.w)
    else { return nil }
    var f = self
    f.h = h
    f.w = w
    return f
  }
  static let whole = ReceptiveField(h: .unit, w: .unit, global: true)
}

/// Receptive fields of every node and every module path of a graph at one input size.
///
/// Multi-path nodes (add, mul, concat) take, per axis, the smallest interval that holds the fields of
/// all their inputs: with equal effective strides this is exact, and when the inputs are also centred
/// alike (the usual case) it is simply the largest field. When the inputs disagree on the stride or
/// on the centre offset, a ``Warning`` names the node and the two values.
///
/// A broadcast input of an add or mul, of size 1 along H or W where the output is larger, lends its
/// single unit to every output unit along that axis, so every output unit depends on everything that
/// unit sees. After a global pool (squeeze-and-excitation) that is the whole input, and the node is
/// global. Otherwise the node is given as global too (the union over all output units of what they
/// see spans the input), flagged approximate with a warning: one output unit may see less.
public struct ReceptiveFields: Sendable {
  public var summary: Summary
  /// The field of every node, indexed like `graph.nodes`.
  public var nodes: [ReceptiveField]
  /// One row per module path, in the order of `summary.rows`.
  public var rows: [Row]
  public var warnings: [Warning]

  public struct Row: Sendable {
    public var path: String
    public var depth: Int
    /// The node whose output the row describes (a module's last node).
    public var node: Int
    public var field: ReceptiveField
    /// Fraction of the input area (0…1) covered by the field of the centre output unit, clipped at the
    /// border; 1 for global rows.
    public var coverage: Double
    /// True when the field is larger than the input along either axis.
    public var outgrowsInput: Bool
  }

  /// A multi-path node whose paths disagree, or a field that is only approximate.
  public struct Warning: Sendable, CustomStringConvertible {
    /// The node's path.
    public var layer: String
    public var message: String
    public var description: String { "`\(layer)`: \(message)" }
  }

  /// Computes the fields of every node of `summary.graph` at `summary.input`.
  public init(_ summary: Summary) throws(AnalysisError) {
    self.summary = summary
    let graph = summary.graph
    var fields: [ReceptiveField] = []
    var warnings: [Warning] = []
    fields.reserveCapacity(graph.nodes.count)
    for node in graph.nodes {
      // A crop's or an upsampling's second input only gives a size: its values are never read.
      let sizeOnly: Bool
      switch node.op {
      case .crop: sizeOnly = true
      case .upsample(let u): sizeOnly = u.like
      default: sizeOnly = false
      }
      let ins = (sizeOnly ? Array(node.inputs.prefix(1)) : node.inputs).map { fields[$0] }
      func overflow() -> AnalysisError {
        AnalysisError(layer: node.name, message: "the receptive field overflows 64-bit integers")
      }
      if node.op == .input {
        fields.append(.input)
        continue
      }
      if ins.contains(where: \.global) {
        fields.append(.whole)
        continue
      }
      let x = ins[0]
      var f = x
      /// Marks the field as an upper bound, with its warning: the whole input when an axis would move a
      /// fraction of a pixel per unit, else the envelope window when neighbouring units' fields differ.
      func flagUpperBound(
        fraction: [String], exact: Bool, fractional: @autoclosure () -> String, envelope: @autoclosure () -> String
      ) {
        if !fraction.isEmpty {
          f = .whole
          f.approximate = true
          warnings.append(Warning(layer: node.name, message: fractional()))
        } else if !exact {
          f.approximate = true
          warnings.append(Warning(layer: node.name, message: envelope()))
        }
      }
      /// The field after a transposed window (``AxisField/throughTransposed(kernel:stride:padding:dilation:)``),
      /// with the warnings of an envelope or a fractional stride.
      func transposed(
        _ kernel: Pair, _ stride: Pair, _ padding: Pair, _ dilation: Pair, what: String, kind: String,
        from x: ReceptiveField? = nil
      ) throws(AnalysisError) {
        let x = x ?? ins[0]
        f = x
        if x.global { return }
        var exact = true
        var fraction: [String] = []
        for (axis, a, k, s, p, d) in [
          ("H", x.h, kernel.h, stride.h, padding.h, dilation.h),
          ("W", x.w, kernel.w, stride.w, padding.w, dilation.w),
        ] {
          if let (g, e) = a.throughTransposed(kernel: k, stride: s, padding: p, dilation: d) {
            if axis == "H" { f.h = g } else { f.w = g }
            exact = exact && e
          } else if a.stride % s != 0 {
            fraction.append("\(axis) \(a.stride)/\(s)")
          } else {
            throw overflow()
          }
        }
        flagUpperBound(
          fraction: fraction, exact: exact,
          fractional: "the \(what)'s stride does not divide the effective stride "
            + "(\(fraction.joined(separator: ", "))), so the field would move a fraction of a pixel per unit; "
            + "it is given as the whole input (an upper bound)",
          envelope: "\(kind) with stride \(stride) gives neighbouring units fields of "
            + "different sizes; the field given is the smallest (size, stride, padding) window that "
            + "contains every unit's (an upper bound)")
      }
      switch node.op {
      case .input, .batchNorm, .lrn, .activation, .dropout, .identity, .softmax:
        break
      case .channelShuffle, .channelSlice:
        // Channels move; every output value is an input value at the same position.
        break
      case .flatten, .linear, .rbf:
        f = .whole
      case .conv(let c):
        // A padding before the convolution moves the window by its top and left amounts.
        let padded = c.prePad.map { x.padded(top: $0.top, left: $0.left) } ?? x
        guard let p = padded,
          let g = p.through(kernel: c.kernel, stride: c.stride, padding: c.padding, dilation: c.dilation)
        else { throw overflow() }
        f = g
      case .pad(let p):
        guard let g = x.padded(top: p.top, left: p.left) else { throw overflow() }
        f = g
      case .crop(let c):
        // Output unit u is input unit u + offset: a negative padding.
        let shape = summary.shapes[node.inputs[0]]
        let out = summary.shapes[node.id]
        let at = c.start(shape[1], shape[2], to: out[1], out[2])
        guard let g = x.padded(top: -at.h, left: -at.w) else { throw overflow() }
        f = g
      case .local(let l):
        // The window a convolution reads; only the weights differ from position to position.
        guard let g = x.through(kernel: l.kernel, stride: l.stride, padding: l.padding, dilation: Pair(1))
        else { throw overflow() }
        f = g
      case .convTranspose(let c):
        try transposed(
          c.kernel, c.stride, c.padding, c.dilation, what: "transposed convolution", kind: "a transposed convolution")
      case .maxUnpool(let u):
        // Unit `o` receives value `x[i]` only from the pooled units `i` whose window holds `o`: the
        // pool's window transposed (docs/receptive-fields.md). Which of them lands on `o` is decided by
        // the switches, a discrete choice inside that same window; the field is that of the values.
        // The switches of the pooled units whose window holds `o` come from the pool's input through the
        // same window: the field also holds the pool's field transposed (inside the values' field when
        // the values descend from the pool, as in SegNet).
        let w = u.window
        let saved = warnings.count
        try transposed(
          w.kernel, w.stride, w.padding, w.dilation, what: "unpooling", kind: "an unpooling", from: fields[u.pool])
        warnings.removeSubrange(saved...)
        let switches = f
        try transposed(w.kernel, w.stride, w.padding, w.dilation, what: "unpooling", kind: "an unpooling")
        if switches.global {
          f = .whole
          f.approximate = true
        } else if !f.global {
          var problems: [String] = []
          for axis in ["H", "W"] {
            let (merged, problem) = mergeAxis(axis == "H" ? f.h : f.w, axis == "H" ? switches.h : switches.w)
            if axis == "H" { f.h = merged } else { f.w = merged }
            if let problem, problem.what == "effective stride" { problems.append("\(axis): \(problem.consequence)") }
          }
          if !problems.isEmpty {
            f.approximate = true
            warnings.append(
              Warning(
                layer: node.name,
                message: "its values and its pool's switches (`\(graph.nodes[u.pool].name)`) disagree on the "
                  + "effective stride; " + problems.joined(separator: "; ")))
          }
        }
      case .maxout:
        // Channels combine; every output value reads the same position.
        break
      case .pool(let p):
        guard let g = x.through(kernel: p.kernel, stride: p.stride, padding: p.padding, dilation: p.dilation)
        else { throw overflow() }
        f = g
      case .subsample(_, let k):
        guard let g = x.through(kernel: Pair(k), stride: Pair(k), padding: Pair(0), dilation: Pair(1))
        else { throw overflow() }
        f = g
      case .adaptiveAvgPool(let oh, let ow), .adaptiveMaxPool(let oh, let ow):
        let shape = summary.shapes[node.inputs[0]]
        if oh == 1 && ow == 1 {
          f = .whole
          break
        }
        var uneven: [String] = []
        for (axis, n, o) in [("H", shape[1], oh), ("W", shape[2], ow)] {
          let geometry = adaptiveGeometry(n, o)
          guard
            let g = (axis == "H" ? x.h : x.w).through(
              kernel: geometry.kernel, stride: geometry.stride, padding: geometry.padding)
          else { throw overflow() }
          if axis == "H" { f.h = g } else { f.w = g }
          if !geometry.exact { uneven.append("\(axis) \(n) → \(o)") }
        }
        if !uneven.isEmpty {
          f.approximate = true
          warnings.append(
            Warning(
              layer: node.name,
              message: "adaptive pooling \(uneven.joined(separator: ", ")) has uneven bins; the field given is the "
                + "smallest window that contains every bin (an upper bound)"))
        }
      case .upsample(let u):
        // Nearest by an integer s reads input floor(o/s): a transposed window with kernel s and
        // stride s. Bilinear (align_corners false) by s reads floor(src) and floor(src) + 1 with
        // src = (o + 0.5)/s − 0.5: within the transposed window with kernel 2s, stride s and padding
        // ⌈s/2⌉ (clamped reads at the borders carry zero weight).
        let shape = summary.shapes[node.inputs[0]]
        let out = summary.shapes[node.id]
        var integer: Pair? = u.scale
        if integer == nil, out[1] % shape[1] == 0, out[2] % shape[2] == 0 {
          integer = Pair(out[1] / shape[1], out[2] / shape[2])
        }
        var fraction: [String] = []
        var exact = true
        if let s = integer, !u.alignCorners || (s.h == 1 && s.w == 1) {
          for (axis, a, k) in [("H", x.h, s.h), ("W", x.w, s.w)] {
            let bilinear = u.mode == .bilinear && k > 1
            let window = bilinear ? 2 * k : k
            let padding = bilinear ? (k + 1) / 2 : 0
            if let (g, e) = a.throughTransposed(kernel: window, stride: k, padding: padding, dilation: 1) {
              if axis == "H" { f.h = g } else { f.w = g }
              exact = exact && e
            } else if a.stride % k != 0 {
              fraction.append("\(axis) \(a.stride)/\(k)")
            } else {
              throw overflow()
            }
          }
        } else {
          fraction.append(u.alignCorners ? "align_corners" : "a size that is not a whole multiple")
        }
        flagUpperBound(
          fraction: fraction, exact: exact,
          fractional: "the upsampling (\(fraction.joined(separator: ", "))) moves the field a fraction of a pixel "
            + "per unit; it is given as the whole input (an upper bound)",
          envelope: "an upsampling gives neighbouring units fields of different sizes; the field given is the "
            + "smallest (size, stride, padding) window that contains every unit's (an upper bound)")
      case .add, .mul, .concat:
        let out = summary.shapes[node.id]
        let broadcast = node.inputs.filter { i in
          let s = summary.shapes[i]
          return s.count == 3 && out.count == 3 && ((s[1] == 1 && out[1] > 1) || (s[2] == 1 && out[2] > 1))
        }
        if !broadcast.isEmpty {
          // Global inputs were handled above; these see only part of the input.
          let names = broadcast.map { "`\(graph.nodes[$0].name)`" }.joined(separator: ", ")
          warnings.append(
            Warning(
              layer: node.name,
              message: "it broadcasts \(names) along H or W, whose one unit does not see the whole input; every "
                + "output unit reads that unit, so the field given is the whole input (an upper bound)"))
          var whole = ReceptiveField.whole
          whole.approximate = true
          f = whole
          break
        }
        var h = x.h
        var w = x.w
        var approximate = ins.contains(where: \.approximate)
        for (i, other) in ins.enumerated().dropFirst() {
          let a = graph.nodes[node.inputs[0]].name
          let b = graph.nodes[node.inputs[i]].name
          for axis in ["H", "W"] {
            let mine = axis == "H" ? h : w
            let theirs = axis == "H" ? other.h : other.w
            // The warning compares the two inputs themselves; the value accumulates over all inputs.
            let (_, problem) = mergeAxis(axis == "H" ? x.h : x.w, theirs)
            let (merged, accumulated) = mergeAxis(mine, theirs)
            if let problem {
              warnings.append(
                Warning(
                  layer: node.name,
                  message: "its inputs disagree on the \(problem.what) along \(axis): \(problem.mine) (via `\(a)`) "
                    + "vs \(problem.theirs) (via `\(b)`); \((accumulated ?? problem).consequence)"))
            }
            if problem?.what == "effective stride" || accumulated?.what == "effective stride" { approximate = true }
            if axis == "H" { h = merged } else { w = merged }
          }
        }
        f = ReceptiveField(h: h, w: w, approximate: approximate)
      }
      fields.append(f)
    }
    self.nodes = fields
    self.warnings = warnings
    let input = summary.input
    self.rows = summary.rows.map { r in
      let n = r.node ?? r.nodes.last ?? 0
      let f = fields[n]
      let out = summary.shapes[n]
      var coverage = 1.0
      var outgrows = false
      if !f.global && out.count == 3 {
        for (axis, dim, len) in [(f.h, input[1], out[1]), (f.w, input[2], out[2])] {
          let span = axis.span(of: (len - 1) / 2)
          let covered = max(0, min(span.upperBound, dim - 1) - max(span.lowerBound, 0) + 1)
          coverage *= Double(covered) / Double(dim)
          if axis.size > dim { outgrows = true }
        }
      }
      return Row(path: r.path, depth: r.depth, node: n, field: f, coverage: coverage, outgrowsInput: outgrows)
    }
  }

  /// Builds the summary at `input` (nil: the graph's own input) and computes the fields.
  public init(_ graph: Graph, input: [Int]? = nil) throws(AnalysisError) {
    try self.init(try Summary(graph, input: input))
  }

  /// The field of the graph's main output.
  public var output: ReceptiveField { nodes[summary.graph.outputs[0]] }

  /// The first row from which on every row is global (`avgpool` in a ResNet), or nil. Side heads
  /// that turn global early (GoogLeNet's auxiliary classifiers) do not count.
  public var globalFrom: Row? {
    guard let last = rows.lastIndex(where: { !$0.field.global }) else { return rows.first }
    return last + 1 < rows.count ? rows[last + 1] : nil
  }
}

/// Geometry of PyTorch's adaptive pooling of `n` cells into `o` bins along one axis, where bin `i`
/// spans `floor(i·n/o) ... ceil((i+1)·n/o) − 1`. Exact (`kernel = stride = n/o`, no padding) when `o`
/// divides `n`; otherwise the smallest sliding window (over the two candidate strides `⌊n/o⌋`, `⌈n/o⌉`)
/// whose unit `i` contains bin `i` for every `i`, flagged inexact: an envelope that never understates.
func adaptiveGeometry(_ n: Int, _ o: Int) -> (kernel: Int, stride: Int, padding: Int, exact: Bool) {
  if n % o == 0 { return (n / o, n / o, 0, true) }
  var best: (kernel: Int, stride: Int, padding: Int, exact: Bool)? = nil
  for s in Set([max(1, n / o), max(1, (n + o - 1) / o)]).sorted() {
    var padding = Int.min
    var reach = Int.min
    for i in 0..<o {
      let first = (i * n) / o
      let last = ((i + 1) * n + o - 1) / o - 1
      padding = max(padding, i * s - first)
      reach = max(reach, last - i * s)
    }
    let kernel = reach + padding + 1
    if best == nil || kernel < best!.kernel { best = (kernel, s, padding, false) }
  }
  return best!
}

/// What two paths into a merge disagree on, for the warning.
struct MergeProblem {
  var what: String
  var mine: String
  var theirs: String
  var consequence: String
}

/// Merges two paths' fields along one axis: the smallest interval holding both (exact when the
/// strides agree). With different strides the larger field is kept.
func mergeAxis(_ a: AxisField, _ b: AxisField) -> (AxisField, MergeProblem?) {
  guard a.stride == b.stride else {
    let keep = (b.size, b.stride) > (a.size, a.stride) ? b : a
    return (
      keep,
      MergeProblem(
        what: "effective stride", mine: "\(a.stride)", theirs: "\(b.stride)",
        consequence: "no single stride describes the node, so the larger field (size \(keep.size), stride "
          + "\(keep.stride)) is given and it is approximate")
    )
  }
  let padding = max(a.padding, b.padding)
  let last = max(a.size - 1 - a.padding, b.size - 1 - b.padding)
  let merged = AxisField(size: last + padding + 1, stride: a.stride, padding: padding)
  guard a.doubledCentre == b.doubledCentre else {
    return (
      merged,
      MergeProblem(
        what: "centre offset", mine: formatHalf(a.doubledCentre), theirs: formatHalf(b.doubledCentre),
        consequence: "the field given (size \(merged.size), padding \(merged.padding)) spans both, so it is "
          + "larger than either path's")
    )
  }
  return (merged, nil)
}

/// `2·x` → `x` printed with at most one decimal: 3 → `1.5`, -4 → `-2`.
func formatHalf(_ doubled: Int) -> String {
  doubled % 2 == 0 ? "\(doubled / 2)" : String(Double(doubled) / 2)
}
