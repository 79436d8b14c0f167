@preconcurrency import Yams
import ZooGraph

/// An op's arguments in order (the first is the one written as the op's value) with defaults;
/// `nil` marks a required argument.
struct OpSpec {
  var args: [(String, Value?)]
  /// Arguments whose value is one of a few words, written unquoted (`approximate: tanh`); see
  /// ``Builder/wordValue(_:_:words:)``.
  var words: [String: [String]] = [:]
}

let opSpecs: [String: OpSpec] = [
  "conv": OpSpec(
    args: [
      ("out", nil), ("kernel", nil), ("stride", .int(1)), ("padding", .int(0)), ("dilation", .int(1)),
      ("groups", .int(1)), ("bias", .bool(true)), ("table", .null),
      ("padding_mode", .string(PadMode.zeros.rawValue)),
    ],
    words: ["padding": ["same"], "padding_mode": padModes]),
  "pad": OpSpec(
    args: [("pad", nil), ("mode", .string(PadMode.zeros.rawValue)), ("value", .int(0))],
    words: ["mode": padModes]),
  "conv_transpose": OpSpec(args: [
    ("out", nil), ("kernel", nil), ("stride", .int(1)), ("padding", .int(0)), ("output_padding", .int(0)),
    ("dilation", .int(1)), ("groups", .int(1)), ("bias", .bool(true)),
  ]),
  "linear": OpSpec(args: [("out", nil), ("bias", .bool(true))]),
  "bn": OpSpec(args: [("eps", .double(1e-5))]),
  "lrn": OpSpec(args: [("size", nil), ("alpha", .double(1e-4)), ("beta", .double(0.75)), ("k", .double(1))]),
  "relu": OpSpec(args: []),
  "leaky_relu": OpSpec(args: [("slope", .double(0.01))]),
  "tanh": OpSpec(args: []),
  "sigmoid": OpSpec(args: []),
  "scaled_tanh": OpSpec(args: [("a", .double(1.7159)), ("s", .double(2.0 / 3.0))]),
  "relu6": OpSpec(args: []),
  "hardsigmoid": OpSpec(args: []),
  "hardswish": OpSpec(args: []),
  "silu": OpSpec(args: []),
  "gelu": OpSpec(
    args: [("approximate", .string(GELUApproximation.erf.rawValue))],
    words: ["approximate": geluApproximations]),
  "softmax": OpSpec(args: []),
  "maxpool": OpSpec(args: [
    ("kernel", nil), ("stride", .null), ("padding", .int(0)), ("dilation", .int(1)), ("ceil", .bool(false)),
  ]),
  "avgpool": OpSpec(args: [
    ("kernel", nil), ("stride", .null), ("padding", .int(0)), ("ceil", .bool(false)),
    ("count_include_pad", .bool(true)),
  ]),
  "adaptive_avgpool": OpSpec(args: [("size", nil)]),
  "adaptive_maxpool": OpSpec(args: [("size", nil)]),
  "upsample": OpSpec(
    args: [
      ("scale_factor", .null), ("size", .null), ("mode", .string(Upsample.Mode.nearest.rawValue)),
      ("align_corners", .bool(false)), ("like", .null),
    ],
    words: ["mode": upsampleModes]),
  "flatten": OpSpec(args: []),
  "dropout": OpSpec(args: [("p", .double(0.5))]),
  "identity": OpSpec(args: []),
  "subsample": OpSpec(args: [("kernel", .int(2))]),
  "rbf": OpSpec(args: [("classes", nil)]),
  "channel_shuffle": OpSpec(args: [("groups", nil)]),
  "maxout": OpSpec(args: [("k", nil)]),
  "local": OpSpec(args: [
    ("out", nil), ("kernel", nil), ("stride", .int(1)), ("padding", .int(0)), ("bias", .bool(true)), ("tile", .null),
  ]),
]

/// The padding modes of `conv`'s `padding_mode` and `pad`'s `mode` (PyTorch's).
let padModes = PadMode.allCases.map(\.rawValue)
/// The words of `upsample`'s `mode` and `gelu`'s `approximate` (PyTorch's).
let upsampleModes = Upsample.Mode.allCases.map(\.rawValue)
let geluApproximations = GELUApproximation.allCases.map(\.rawValue)

/// The largest size, channel count or kernel a definition may use (sizes multiply: keeping each below
/// 2³¹ keeps every intermediate of the output-size formula inside 64 bits).
public let maxSize = Int(Int32.max)

/// Typed access to bound argument values, with errors at the layer's position.
struct Args {
  var values: [String: Value]
  var builder: Builder
  var at: Yams.Node

  func fail(_ message: String) -> DefinitionError { builder.error(at, message) }

  /// An error at the layer, naming it when it has a plain `name:` (a templated name is built later).
  func named(_ message: String) -> DefinitionError {
    builder.error(at, (at.mapping?["name"]?.plainWord.map { "layer `\($0)`: " } ?? "") + message)
  }

  func int(_ k: String, min: Int) throws(DefinitionError) -> Int {
    guard case .int(let i)? = values[k] else {
      throw fail("`\(k)` must be an integer, got \(values[k]?.description ?? "nothing")")
    }
    guard i >= min else { throw fail("`\(k)` must be ≥ \(min), got \(i)") }
    guard i <= maxSize else { throw fail("`\(k)` must be ≤ \(maxSize), got \(i)") }
    return i
  }

  func double(_ k: String) throws(DefinitionError) -> Double {
    switch values[k] {
    case .int(let i)?: return Double(i)
    case .double(let d)?: return d
    default: throw fail("`\(k)` must be a number, got \(values[k]?.description ?? "nothing")")
    }
  }

  func bool(_ k: String) throws(DefinitionError) -> Bool {
    guard case .bool(let b)? = values[k] else {
      throw fail("`\(k)` must be true or false, got \(values[k]?.description ?? "nothing")")
    }
    return b
  }

  /// An integer for both axes, or `[h, w]`.
  func pair(_ k: String, min: Int) throws(DefinitionError) -> Pair {
    switch values[k] {
    case .int(let i)?:
      guard i >= min, i <= maxSize else { throw fail("`\(k)` must be in \(min)...\(maxSize), got \(i)") }
      return Pair(i)
    case .list(let l)? where l.count == 2:
      if case .int(let h) = l[0], case .int(let w) = l[1], h >= min, w >= min, h <= maxSize, w <= maxSize {
        return Pair(h, w)
      }
    default: break
    }
    throw fail(
      "`\(k)` must be an integer ≥ \(min) or [height, width], got \(values[k]?.description ?? "nothing")")
  }

  /// Paddings `[top, bottom, left, right]` from an integer (all four), `[h, w]` (top and bottom `h`,
  /// left and right `w`) or `[top, bottom, left, right]`, each in `0...maxSize`.
  func sides(_ k: String) throws(DefinitionError) -> [Int] {
    var items: [Value] = []
    switch values[k] {
    case .int?: items = [values[k]!]
    case .list(let l)? where [2, 4].contains(l.count): items = l
    default: break
    }
    var out: [Int] = []
    for item in items {
      guard case .int(let i) = item else { break }
      guard i >= 0 else { throw named("`\(k)` must be ≥ 0 on every side, got \(values[k]!)") }
      guard i <= maxSize else { throw named("`\(k)` must be ≤ \(maxSize), got \(values[k]!)") }
      out.append(i)
    }
    guard !items.isEmpty, out.count == items.count else {
      throw named(
        "`\(k)` must be an integer, [height, width] or [top, bottom, left, right], got "
          + (values[k]?.description ?? "nothing"))
    }
    switch out.count {
    case 1: return [out[0], out[0], out[0], out[0]]
    case 2: return [out[0], out[0], out[1], out[1]]
    default: return out
    }
  }

  func isNull(_ k: String) -> Bool { values[k] == nil || values[k] == .null }

  /// One of `words`.
  func word(_ k: String, among words: [String], named: Bool = false) throws(DefinitionError) -> String {
    if case .string(let s)? = values[k], words.contains(s) { return s }
    let got: String
    if case .string(let s)? = values[k] { got = "`\(s)`" } else { got = values[k]?.description ?? "nothing" }
    let message = "`\(k)` must be \(wordList(words)), got \(got)"
    throw named ? self.named(message) : fail(message)
  }
}

/// `` `a`, `b` or `c` ``: the words an argument accepts, for error messages.
func wordList(_ words: [String]) -> String {
  let quoted = words.map { "`\($0)`" }
  guard quoted.count > 1 else { return quoted.first ?? "nothing" }
  return quoted.dropLast().joined(separator: ", ") + " or " + quoted.last!
}

extension Yams.Node {
  /// The text of an unquoted scalar that is one word (a letter or `_`, then letters, digits and `_`),
  /// or nil.
  var plainWord: String? {
    guard case .scalar(let s) = self, s.style == .plain || s.style == .any, !isNull else { return nil }
    let text = s.string
    guard let first = text.unicodeScalars.first, first == "_" || (first.properties.isAlphabetic && first.isASCII)
    else { return nil }
    let ok = text.unicodeScalars.allSatisfy {
      $0.isASCII && ($0 == "_" || $0.properties.isAlphabetic || ("0"..."9").contains($0))
    }
    return ok ? text : nil
  }
}

extension Builder {
  /// The value of a word argument (`approximate: tanh`). An unquoted word is the word itself when it is
  /// one of `words` or names nothing in scope (so a misspelt word is reported as such, not as an unknown
  /// name); any other value is an expression, which must then give one of the words as a string.
  func wordValue(_ node: Yams.Node, _ scope: Scope, words: [String]) throws(DefinitionError) -> Value {
    if let w = node.plainWord, words.contains(w) || scope[w] == nil { return .string(w) }
    return try value(node, scope)
  }
}

extension Builder {
  /// The op of a layer reading `x`; `like` tells whether an upsample takes its size from another layer
  /// (given by the caller as the node's second input).
  func makeOp(_ kind: String, _ a: Args, _ x: Tensor, like: Bool = false) throws(DefinitionError) -> Op {
    func channels(_ what: String) throws(DefinitionError) -> Int {
      guard x.shape.count == 3 else {
        throw a.fail("`\(what)` needs a C×H×W feature map, but its input is \(format(x.shape))")
      }
      return x.shape[0]
    }
    func features(_ what: String) throws(DefinitionError) -> Int {
      guard x.shape.count == 1 else {
        throw a.fail("`\(what)` needs a flat vector, but its input is \(format(x.shape)) (add `flatten` before it)")
      }
      return x.shape[0]
    }
    switch kind {
    case "conv":
      let inC = try channels("conv")
      var c = Conv2D(
        inChannels: inC, outChannels: try a.int("out", min: 1), kernel: try a.pair("kernel", min: 1),
        stride: try a.pair("stride", min: 1), dilation: try a.pair("dilation", min: 1),
        groups: try a.int("groups", min: 1), bias: try a.bool("bias"))
      let mode = PadMode(rawValue: try a.word("padding_mode", among: padModes, named: true))!
      let sides: [Int]
      if case .string("same")? = a.values["padding"] {
        // PyTorch's `padding='same'`: stride 1; per axis dilation·(kernel − 1) in all, the smaller half
        // before and the extra one after.
        guard c.stride == Pair(1) else {
          throw a.named("`padding: same` needs stride 1 (PyTorch's rule), got stride \(c.stride)")
        }
        let th = c.dilation.h * (c.kernel.h - 1)
        let tw = c.dilation.w * (c.kernel.w - 1)
        sides = [th / 2, th - th / 2, tw / 2, tw - tw / 2]
      } else if case .string(let s)? = a.values["padding"] {
        throw a.named("`padding` must be an integer, [height, width], [top, bottom, left, right] or `same`, got `\(s)`")
      } else {
        sides = try a.sides("padding")
      }
      if mode == .zeros && sides[0] == sides[1] && sides[2] == sides[3] {
        c.padding = Pair(sides[0], sides[2])
      } else {
        c.prePad = Padding2D(top: sides[0], bottom: sides[1], left: sides[2], right: sides[3], mode: mode)
      }
      guard inC % c.groups == 0, c.outChannels % c.groups == 0 else {
        throw a.fail(
          "groups = \(c.groups) must divide both the input channels (\(inC)) and the output channels (\(c.outChannels))"
        )
      }
      if !a.isNull("table") {
        guard case .list(let rows)? = a.values["table"], rows.count == c.outChannels else {
          throw a.fail("`table` must list the input channels of each of the \(c.outChannels) output channels")
        }
        var table: [[Int]] = []
        for (j, row) in rows.enumerated() {
          guard case .list(let items) = row, !items.isEmpty else {
            throw a.fail("`table` row \(j) must be a non-empty list of input channels")
          }
          var r: [Int] = []
          for item in items {
            guard case .int(let i) = item, i >= 0, i < inC else {
              throw a.fail("`table` row \(j): \(item) is not an input channel (0..<\(inC))")
            }
            r.append(i)
          }
          table.append(r)
        }
        guard c.groups == 1 else { throw a.fail("a connection `table` replaces `groups`; use one or the other") }
        c.table = table
      }
      return .conv(c)
    case "conv_transpose":
      let inC = try channels("conv_transpose")
      let c = ConvTranspose2D(
        inChannels: inC, outChannels: try a.int("out", min: 1), kernel: try a.pair("kernel", min: 1),
        stride: try a.pair("stride", min: 1), padding: try a.pair("padding", min: 0),
        outputPadding: try a.pair("output_padding", min: 0), dilation: try a.pair("dilation", min: 1),
        groups: try a.int("groups", min: 1), bias: try a.bool("bias"))
      guard inC % c.groups == 0, c.outChannels % c.groups == 0 else {
        throw a.fail(
          "groups = \(c.groups) must divide both the input channels (\(inC)) and the output channels (\(c.outChannels))"
        )
      }
      // PyTorch's rule: output padding must be smaller than either the stride or the dilation.
      for (axis, op, s, d) in [
        ("height", c.outputPadding.h, c.stride.h, c.dilation.h), ("width", c.outputPadding.w, c.stride.w, c.dilation.w),
      ] where op >= max(s, d) {
        throw a.named(
          "`output_padding` \(op) (\(axis)) must be smaller than the stride (\(s)) or the dilation (\(d)), "
            + "as in PyTorch")
      }
      return .convTranspose(c)
    case "linear":
      return .linear(
        inFeatures: try features("linear"), outFeatures: try a.int("out", min: 1), bias: try a.bool("bias"))
    case "bn":
      let eps = try a.double("eps")
      guard eps > 0 else { throw a.fail("`eps` must be positive, got \(eps)") }
      return .batchNorm(channels: x.shape[0], eps: eps)
    case "lrn":
      _ = try channels("lrn")
      return .lrn(
        size: try a.int("size", min: 1), alpha: try a.double("alpha"), beta: try a.double("beta"), k: try a.double("k"))
    case "relu": return .activation(.relu)
    case "leaky_relu": return .activation(.leakyReLU(slope: try a.double("slope")))
    case "tanh": return .activation(.tanh)
    case "sigmoid": return .activation(.sigmoid)
    case "scaled_tanh": return .activation(.scaledTanh(a: try a.double("a"), s: try a.double("s")))
    case "relu6": return .activation(.relu6)
    case "hardsigmoid": return .activation(.hardsigmoid)
    case "hardswish": return .activation(.hardswish)
    case "silu": return .activation(.silu)
    case "gelu":
      return .activation(.gelu(GELUApproximation(rawValue: try a.word("approximate", among: geluApproximations))!))
    case "softmax": return .softmax
    case "maxpool", "avgpool":
      _ = try channels(kind)
      let kernel = try a.pair("kernel", min: 1)
      let stride = a.isNull("stride") ? kernel : try a.pair("stride", min: 1)
      return .pool(
        Pool2D(
          kind: kind == "maxpool" ? .max : .avg, kernel: kernel, stride: stride, padding: try a.pair("padding", min: 0),
          dilation: kind == "maxpool" ? try a.pair("dilation", min: 1) : Pair(1), ceilMode: try a.bool("ceil"),
          countIncludePad: kind == "avgpool" ? try a.bool("count_include_pad") : true))
    case "adaptive_avgpool":
      _ = try channels(kind)
      let s = try a.pair("size", min: 1)
      return .adaptiveAvgPool(outH: s.h, outW: s.w)
    case "adaptive_maxpool":
      _ = try channels(kind)
      let s = try a.pair("size", min: 1)
      return .adaptiveMaxPool(outH: s.h, outW: s.w)
    case "upsample":
      _ = try channels(kind)
      let given = [!a.isNull("scale_factor"), !a.isNull("size"), like].filter { $0 }.count
      guard given == 1 else {
        throw a.named("`upsample` needs exactly one of `scale_factor`, `size` and `like`")
      }
      let mode = Upsample.Mode(rawValue: try a.word("mode", among: upsampleModes))!
      let align = try a.bool("align_corners")
      if align && mode == .nearest {
        throw a.fail("`align_corners` only applies to `mode: bilinear`")
      }
      return .upsample(
        Upsample(
          scale: a.isNull("scale_factor") ? nil : try a.pair("scale_factor", min: 1),
          size: a.isNull("size") ? nil : try a.pair("size", min: 1), like: like, mode: mode, alignCorners: align))
    case "pad":
      _ = try channels(kind)
      let sides = try a.sides("pad")
      let mode = PadMode(rawValue: try a.word("mode", among: padModes, named: true))!
      let value = try a.double("value")
      guard value.isFinite else { throw a.named("`value` must be finite, got \(value)") }
      guard value == 0 || mode == .zeros else {
        throw a.named("`value` \(value) is for `mode: zeros` (a constant padding), not `\(mode.rawValue)`")
      }
      return .pad(
        Padding2D(top: sides[0], bottom: sides[1], left: sides[2], right: sides[3], mode: mode, value: value))
    case "flatten": return .flatten
    case "dropout":
      let p = try a.double("p")
      guard p >= 0, p <= 1 else { throw a.fail("`p` must be in [0, 1], got \(p)") }
      return .dropout(p: p)
    case "identity": return .identity
    case "subsample": return .subsample(channels: try channels(kind), kernel: try a.int("kernel", min: 1))
    case "rbf": return .rbf(inFeatures: try features("rbf"), classes: try a.int("classes", min: 1))
    case "channel_shuffle":
      _ = try channels(kind)
      // Whether the channels divide by the groups is checked with the shape, which names the layer.
      return .channelShuffle(groups: try a.int("groups", min: 1))
    case "local":
      let inC = try channels("local")
      let kernel = try a.pair("kernel", min: 1)
      let stride = try a.pair("stride", min: 1)
      let padding = try a.pair("padding", min: 0)
      let oh = windowOutputSize(x.shape[1], kernel: kernel.h, stride: stride.h, padding: padding.h)
      let ow = windowOutputSize(x.shape[2], kernel: kernel.w, stride: stride.w, padding: padding.w)
      // An empty output is refused with the shape, which names the layer.
      let unshared = a.isNull("tile")
      return .local(
        LocalConv2D(
          inChannels: inC, outChannels: try a.int("out", min: 1), kernel: kernel, stride: stride, padding: padding,
          bias: try a.bool("bias"), tile: unshared ? Pair(max(oh, 1), max(ow, 1)) : try a.pair("tile", min: 1),
          unshared: unshared))
    case "maxout":
      _ = try channels(kind)
      // Whether the channels divide by `k` is checked with the shape, which names the layer.
      return .maxout(try a.int("k", min: 1))
    default:
      preconditionFailure("op `\(kind)` has a spec but no constructor")
    }
  }
}
