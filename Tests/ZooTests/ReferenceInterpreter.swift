import Foundation
import ZooAnalysis
import ZooEngine
import ZooGraph

/// The forward pass written as the definitions of the ops, in float64, one node at a time: no plan,
/// no fusion, no packing, no kernels shared with the engine. It is what every engine path is
/// checked against (EnginePropertyTests). Only the analyzer's shapes are shared (tested on their
/// own against torchvision).
///
/// Layout NCHW, batch first, as the engine's. Each op follows PyTorch's definition (`nn.Conv2d`,
/// `nn.MaxPool2d`, `nn.AvgPool2d` with its divisor rule, `nn.AdaptiveAvgPool2d`'s bins,
/// `nn.LocalResponseNorm`, …).
struct ReferenceInterpreter {
  let graph: Graph
  let batch: Int
  let shapes: [[Int]]
  let weights: [String: [Double]]

  init(graph: Graph, input: [Int]? = nil, batch: Int, weights: [String: Tensor]) throws {
    let summary = try Summary(graph, input: input, batch: batch)
    self.graph = graph
    self.batch = batch
    self.shapes = summary.shapes
    self.weights = weights.mapValues { $0.data.map(Double.init) }
  }

  /// Every graph output for input `x` (`batch × C × H × W`).
  func run(_ x: [Float]) -> [[Double]] {
    var values = [[Double]](repeating: [], count: graph.nodes.count)
    for node in graph.nodes {
      values[node.id] = node.op == .input ? x.map(Double.init) : evaluate(node, values)
    }
    return graph.outputs.map { values[$0] }
  }

  private func w(_ node: Node, _ key: String) -> [Double] { weights["\(node.name).\(key)"]! }

  /// `combine` folded over the inputs at every output index, by broadcasting's definition: the
  /// output element at `(n, i₀, i₁, …)` of `outShape` reads, from an input of per-sample shape `s`,
  /// the element at `(n, j₀, j₁, …)` with `jₐ = 0` where `sₐ = 1` and `jₐ = iₐ` otherwise.
  private func broadcast(
    _ node: Node, _ values: [[Double]], _ outShape: [Int], _ start: Double, _ combine: (Double, Double) -> Double
  ) -> [Double] {
    let perSample = outShape.reduce(1, *)
    var y = [Double](repeating: start, count: batch * perSample)
    for o in y.indices {
      // The output's multi-index, last axis fastest.
      var rest = o % perSample
      var index = [Int](repeating: 0, count: outShape.count)
      for a in outShape.indices.reversed() {
        index[a] = rest % outShape[a]
        rest /= outShape[a]
      }
      for i in node.inputs {
        let s = shapes[i]
        precondition(s.count == outShape.count, "broadcast inputs of one rank")
        var flat = o / perSample
        for a in s.indices { flat = flat * s[a] + (s[a] == 1 ? 0 : index[a]) }
        y[o] = combine(y[o], values[i][flat])
      }
    }
    return y
  }

  private func evaluate(_ node: Node, _ values: [[Double]]) -> [Double] {
    let x = values[node.inputs[0]]
    let inShape = shapes[node.inputs[0]]
    let outShape = shapes[node.id]
    let perSample = outShape.reduce(1, *)
    switch node.op {
    case .input, .flatten, .dropout, .identity:
      return x
    case .conv(let c):
      // nn.Conv2d with a padding_mode other than zeros (or an asymmetric padding): F.pad, then the
      // convolution with no padding of its own.
      if let p = c.prePad {
        let padded = [inShape[0], inShape[1] + p.top + p.bottom, inShape[2] + p.left + p.right]
        return conv(
          c, pad(p, x, inShape), padded, outShape, weight: w(node, "weight"), bias: c.bias ? w(node, "bias") : nil)
      }
      return conv(c, x, inShape, outShape, weight: w(node, "weight"), bias: c.bias ? w(node, "bias") : nil)
    case .pad(let p):
      return pad(p, x, inShape)
    case .crop:
      // x[:, :, oy:oy + h, ox:ox + w]; the offset comes from the shapes (the centre, or the given one).
      guard case .crop(let c) = node.op else { fatalError() }
      let (channels, h, wd, oh, ow) = (inShape[0], inShape[1], inShape[2], outShape[1], outShape[2])
      let at = c.start(h, wd, to: oh, ow)
      var y: [Double] = []
      for plane in 0..<(batch * channels) {
        for i in 0..<oh { for j in 0..<ow { y.append(x[(plane * h + at.h + i) * wd + at.w + j]) } }
      }
      return y
    case .convTranspose(let c):
      return convTranspose(c, x, inShape, outShape, weight: w(node, "weight"), bias: c.bias ? w(node, "bias") : nil)
    case .linear(let i, let o, let hasBias):
      let weight = w(node, "weight")
      let bias = hasBias ? w(node, "bias") : nil
      var y = [Double](repeating: 0, count: batch * o)
      for n in 0..<batch {
        for j in 0..<o {
          var s = bias?[j] ?? 0
          for k in 0..<i { s += weight[j * i + k] * x[n * i + k] }
          y[n * o + j] = s
        }
      }
      return y
    case .batchNorm(let channels, let eps):
      let (g, b, m, v) = (w(node, "weight"), w(node, "bias"), w(node, "running_mean"), w(node, "running_var"))
      let spatial = perSample / channels
      return x.indices.map { i in
        let c = i / spatial % channels
        return (x[i] - m[c]) / (v[c] + eps).squareRoot() * g[c] + b[c]
      }
    case .lrn(let size, let alpha, let beta, let k):
      let (channels, spatial) = (inShape[0], perSample / inShape[0])
      return x.indices.map { i in
        let (n, c, p) = (i / perSample, i / spatial % channels, i % spatial)
        var sum = 0.0
        for cc in (c - size / 2)...(c + (size - 1) / 2) where cc >= 0 && cc < channels {
          let v = x[(n * channels + cc) * spatial + p]
          sum += v * v
        }
        return x[i] / pow(k + alpha * sum / Double(size), beta)
      }
    case .activation(let a):
      return x.map { activate(a, $0) }
    case .pool(let p):
      return pool(p, x, inShape, outShape)
    case .adaptiveAvgPool(let oh, let ow):
      return adaptivePool(x, inShape, oh, ow) { $0.reduce(0, +) / Double($0.count) }
    case .upsample(let u):
      // nn.Upsample: nearest reads floor(o·n/m); bilinear interpolates between floor(src) and the
      // next pixel (clamped), src = max((o + ½)·n/m − ½, 0), or o·(n − 1)/(m − 1) with align_corners.
      let (channels, h, wd) = (inShape[0], inShape[1], inShape[2])
      let (oh, ow) = (outShape[1], outShape[2])
      func source(_ o: Int, _ n: Int, _ m: Int) -> (Int, Int, Double) {
        if u.mode == .nearest { return (Swift.min(o * n / m, n - 1), Swift.min(o * n / m, n - 1), 0) }
        let src =
          u.alignCorners
          ? (m > 1 ? Double(o * (n - 1)) / Double(m - 1) : 0)
          : Swift.max((Double(o) + 0.5) * Double(n) / Double(m) - 0.5, 0)
        let i0 = Swift.min(Int(src.rounded(.down)), n - 1)
        return (i0, Swift.min(i0 + 1, n - 1), src - Double(i0))
      }
      var y: [Double] = []
      for plane in 0..<(batch * channels) {
        for i in 0..<oh {
          let (y0, y1, ty) = source(i, h, oh)
          for j in 0..<ow {
            let (x0, x1, tx) = source(j, wd, ow)
            let v = { (r: Int, c: Int) in x[(plane * h + r) * wd + c] }
            y.append(
              (1 - ty) * ((1 - tx) * v(y0, x0) + tx * v(y0, x1)) + ty * ((1 - tx) * v(y1, x0) + tx * v(y1, x1)))
          }
        }
      }
      return y
    case .adaptiveMaxPool(let oh, let ow):
      // A NaN wins, as in PyTorch.
      return adaptivePool(x, inShape, oh, ow) { bin in
        bin.reduce(-Double.infinity) { m, v in v > m || v.isNaN ? v : m }
      }
    case .softmax:
      var y: [Double] = []
      for n in 0..<batch {
        let row = x[(n * perSample)..<((n + 1) * perSample)]
        let m = row.max()!
        let e = row.map { exp($0 - m) }
        let s = e.reduce(0, +)
        y += e.map { $0 / s }
      }
      return y
    case .concat:
      let spatial = outShape[1] * outShape[2]
      var y: [Double] = []
      for n in 0..<batch {
        for i in node.inputs {
          let count = shapes[i][0] * spatial
          y += values[i][(n * count)..<((n + 1) * count)]
        }
      }
      return y
    case .channelShuffle(let g):
      // torch's definition: view [N, g, C/g, H·W], transpose the two channel axes, flatten.
      let (c, spatial) = (inShape[0], inShape[1] * inShape[2])
      let perGroup = c / g
      var y = [Double](repeating: .nan, count: x.count)
      for n in 0..<batch {
        for a in 0..<g {
          for b in 0..<perGroup {
            for k in 0..<spatial {
              // Element [n, a, b, k] of the view moves to [n, b, a, k] of the transposed tensor.
              y[((n * perGroup + b) * g + a) * spatial + k] = x[((n * g + a) * perGroup + b) * spatial + k]
            }
          }
        }
      }
      return y
    case .channelSlice(let start, let count):
      let (c, spatial) = (inShape[0], inShape[1] * inShape[2])
      var y: [Double] = []
      for n in 0..<batch {
        y += x[((n * c + start) * spatial)..<((n * c + start + count) * spatial)]
      }
      return y
    case .add:
      return broadcast(node, values, outShape, 0.0, +)
    case .mul:
      return broadcast(node, values, outShape, 1.0, *)
    case .subsample(let channels, let k):
      let (weight, bias) = (w(node, "weight"), w(node, "bias"))
      let (h, wd, oh, ow) = (inShape[1], inShape[2], outShape[1], outShape[2])
      var y: [Double] = []
      for n in 0..<batch {
        for c in 0..<channels {
          for i in 0..<oh {
            for j in 0..<ow {
              var s = 0.0
              for a in 0..<k { for b in 0..<k { s += x[((n * channels + c) * h + i * k + a) * wd + j * k + b] } }
              y.append(weight[c] * s + bias[c])
            }
          }
        }
      }
      return y
    case .maxUnpool(let u):
      // `F.max_unpool2d(x, indices, output_size=pool input size)`, with the indices of
      // `F.max_pool2d(pool_input, return_indices=True)` recomputed here from the pool's input: per window,
      // scanned row-major, the first maximum (a NaN, and then a later NaN, wins: `val > max || isnan(val)`).
      let source = graph.nodes[u.pool].inputs[0]
      let (p, below) = (u.window, values[source])
      let (h, wd) = (outShape[1], outShape[2])
      let (ph, pw) = (inShape[1], inShape[2])
      var y = [Double](repeating: 0, count: batch * outShape.reduce(1, *))
      for plane in 0..<(batch * inShape[0]) {
        for i in 0..<ph {
          for j in 0..<pw {
            var best = -Double.infinity
            var at = -1
            for a in 0..<p.kernel.h {
              let yy = i * p.stride.h - p.padding.h + a * p.dilation.h
              guard yy >= 0 && yy < h else { continue }
              for b in 0..<p.kernel.w {
                let xx = j * p.stride.w - p.padding.w + b * p.dilation.w
                guard xx >= 0 && xx < wd else { continue }
                let v = below[(plane * h + yy) * wd + xx]
                if at < 0 || v > best || v.isNaN { (best, at) = (v, yy * wd + xx) }
              }
            }
            y[plane * h * wd + at] = x[(plane * ph + i) * pw + j]
          }
        }
      }
      return y
    case .local(let l):
      // Output (y, x) uses kernel weight[y mod th, x mod tw] ([out, in, kh, kw]) over conv's window.
      let weight = w(node, "weight")
      let bias = l.bias ? w(node, "bias") : nil
      let (cin, h, wd, cout, oh, ow) = (inShape[0], inShape[1], inShape[2], outShape[0], outShape[1], outShape[2])
      let (kh, kw) = (l.kernel.h, l.kernel.w)
      var y = [Double](repeating: 0, count: batch * cout * oh * ow)
      for n in 0..<batch {
        for o in 0..<cout {
          for i in 0..<oh {
            for j in 0..<ow {
              let t = (i % l.tile.h) * l.tile.w + j % l.tile.w
              var s = bias?[t * cout + o] ?? 0
              for c in 0..<cin {
                for a in 0..<kh {
                  let yy = i * l.stride.h - l.padding.h + a
                  guard yy >= 0 && yy < h else { continue }
                  for b in 0..<kw {
                    let xx = j * l.stride.w - l.padding.w + b
                    guard xx >= 0 && xx < wd else { continue }
                    s += weight[(((t * cout + o) * cin + c) * kh + a) * kw + b] * x[((n * cin + c) * h + yy) * wd + xx]
                  }
                }
              }
              y[((n * cout + o) * oh + i) * ow + j] = s
            }
          }
        }
      }
      return y
    case .maxout(let k):
      // `x.view(N, C / k, k, H, W).amax(2)`.
      let (c, spatial) = (inShape[0], inShape[1] * inShape[2])
      var y: [Double] = []
      for n in 0..<batch {
        for g in 0..<(c / k) {
          for q in 0..<spatial {
            var m = -Double.infinity
            for t in 0..<k {
              let v = x[(n * c + g * k + t) * spatial + q]
              if v > m || v.isNaN { m = v }
            }
            y.append(m)
          }
        }
      }
      return y
    case .rbf(let i, let classes):
      let weight = w(node, "weight")
      var y: [Double] = []
      for n in 0..<batch {
        for j in 0..<classes {
          var s = 0.0
          for k in 0..<i {
            let d = x[n * i + k] - weight[j * i + k]
            s += d * d
          }
          y.append(s)
        }
      }
      return y
    }
  }

  /// `F.pad(x, (left, right, top, bottom), mode, value)` by its definition: padded position `i` of an
  /// axis of `n` cells (from `−before`) reads cell `i` when inside; otherwise `constant` gives the value,
  /// `reflect` the mirror image about the edge cell (`−i`, or `2(n − 1) − i` past the end), `replicate`
  /// the nearest edge cell, `circular` cell `i mod n`.
  private func pad(_ p: Padding2D, _ x: [Double], _ inShape: [Int]) -> [Double] {
    let (channels, h, wd) = (inShape[0], inShape[1], inShape[2])
    func source(_ i: Int, _ n: Int) -> Int? {
      if (0..<n).contains(i) { return i }
      switch p.mode {
      case .zeros: return nil
      case .reflect: return i < 0 ? -i : 2 * (n - 1) - i
      case .replicate: return Swift.min(Swift.max(i, 0), n - 1)
      case .circular:
        var j = i
        while j < 0 { j += n }
        return j % n
      }
    }
    var y: [Double] = []
    for plane in 0..<(batch * channels) {
      for i in -p.top..<(h + p.bottom) {
        for j in -p.left..<(wd + p.right) {
          if let r = source(i, h), let c = source(j, wd) {
            y.append(x[(plane * h + r) * wd + c])
          } else {
            y.append(p.value)
          }
        }
      }
    }
    return y
  }

  /// Adaptive pooling: bin `i` of an axis of length `n` into `o` bins spans
  /// `floor(i·n/o) ..< ceil((i+1)·n/o)`, and `reduce` makes one output of the bin's values.
  private func adaptivePool(
    _ x: [Double], _ inShape: [Int], _ oh: Int, _ ow: Int, reduce: ([Double]) -> Double
  ) -> [Double] {
    let (channels, h, wd) = (inShape[0], inShape[1], inShape[2])
    var y: [Double] = []
    for plane in 0..<(batch * channels) {
      for i in 0..<oh {
        let (y0, y1) = (i * h / oh, ((i + 1) * h + oh - 1) / oh)
        for j in 0..<ow {
          let (x0, x1) = (j * wd / ow, ((j + 1) * wd + ow - 1) / ow)
          y.append(reduce((y0..<y1).flatMap { yy in (x0..<x1).map { x[(plane * h + yy) * wd + $0] } }))
        }
      }
    }
    return y
  }

  private func activate(_ a: Activation, _ v: Double) -> Double {
    switch a {
    case .relu: max(v, 0)
    case .leakyReLU(let slope): v >= 0 ? v : slope * v
    case .tanh: tanh(v)
    case .sigmoid: 1 / (1 + exp(-v))
    case .scaledTanh(let a, let s): a * tanh(s * v)
    case .relu6: min(max(v, 0), 6)
    case .hardsigmoid: min(max(v + 3, 0), 6) / 6
    case .hardswish: v * min(max(v + 3, 0), 6) / 6
    case .silu: v / (1 + exp(-v))
    case .gelu(.erf): 0.5 * v * (1 + erf(v / 2.0.squareRoot()))
    case .gelu(.tanh): 0.5 * v * (1 + tanh((2 / Double.pi).squareRoot() * (v + 0.044715 * v * v * v)))
    }
  }

  /// `y[n, o, i, j] = b[o] + Σ_{c ∈ group or table of o, ki, kj} W · x[n, c, i·s − p + ki·d, j·s − p + kj·d]`.
  private func conv(
    _ c: Conv2D, _ x: [Double], _ inShape: [Int], _ outShape: [Int], weight: [Double], bias: [Double]?
  ) -> [Double] {
    let (h, wd, oh, ow) = (inShape[1], inShape[2], outShape[1], outShape[2])
    let (kh, kw) = (c.kernel.h, c.kernel.w)
    // The input channels of every output channel, and where its weights start.
    var sources: [[Int]] = []
    var firstWeight: [Int] = []
    if let table = c.table {
      var offset = 0
      for t in table {
        sources.append(t)
        firstWeight.append(offset)
        offset += t.count * kh * kw
      }
    } else {
      let (cg, og) = (c.inChannels / c.groups, c.outChannels / c.groups)
      for o in 0..<c.outChannels {
        sources.append(Array((o / og * cg)..<(o / og * cg + cg)))
        firstWeight.append(o * cg * kh * kw)
      }
    }
    var y = [Double](repeating: 0, count: batch * c.outChannels * oh * ow)
    for n in 0..<batch {
      for o in 0..<c.outChannels {
        for i in 0..<oh {
          for j in 0..<ow {
            var s = bias?[o] ?? 0
            for (t, ch) in sources[o].enumerated() {
              for a in 0..<kh {
                let yy = i * c.stride.h - c.padding.h + a * c.dilation.h
                guard yy >= 0 && yy < h else { continue }
                for b in 0..<kw {
                  let xx = j * c.stride.w - c.padding.w + b * c.dilation.w
                  guard xx >= 0 && xx < wd else { continue }
                  s += weight[firstWeight[o] + (t * kh + a) * kw + b] * x[((n * c.inChannels + ch) * h + yy) * wd + xx]
                }
              }
            }
            y[((n * c.outChannels + o) * oh + i) * ow + j] = s
          }
        }
      }
    }
    return y
  }

  /// The scatter that defines a transposed convolution: every input value meets every weight of its
  /// group, `y[n, g·og + o, i·s − p + a·d, j·s − p + b·d] += W[c, o, a, b] · x[n, c, i, j]`, dropping
  /// positions outside the output; then `y += b[o]`.
  private func convTranspose(
    _ c: ConvTranspose2D, _ x: [Double], _ inShape: [Int], _ outShape: [Int], weight: [Double], bias: [Double]?
  ) -> [Double] {
    let (h, wd, oh, ow) = (inShape[1], inShape[2], outShape[1], outShape[2])
    let (kh, kw) = (c.kernel.h, c.kernel.w)
    let (cg, og) = (c.inChannels / c.groups, c.outChannels / c.groups)
    var y = [Double](repeating: 0, count: batch * c.outChannels * oh * ow)
    for n in 0..<batch {
      for ch in 0..<c.inChannels {
        let group = ch / cg
        for i in 0..<h {
          for j in 0..<wd {
            let v = x[((n * c.inChannels + ch) * h + i) * wd + j]
            for o in 0..<og {
              let out = group * og + o
              for a in 0..<kh {
                let yy = i * c.stride.h - c.padding.h + a * c.dilation.h
                guard yy >= 0 && yy < oh else { continue }
                for b in 0..<kw {
                  let xx = j * c.stride.w - c.padding.w + b * c.dilation.w
                  guard xx >= 0 && xx < ow else { continue }
                  y[((n * c.outChannels + out) * oh + yy) * ow + xx] += weight[((ch * og + o) * kh + a) * kw + b] * v
                }
              }
            }
          }
        }
      }
      if let bias {
        for o in 0..<c.outChannels {
          for k in 0..<(oh * ow) { y[(n * c.outChannels + o) * oh * ow + k] += bias[o] }
        }
      }
    }
    return y
  }

  /// Max pooling takes the largest input under the (dilated) window; average pooling divides the sum
  /// of the window's inputs by the window clipped to the padded input (`count_include_pad`) or by
  /// the inputs it covers.
  private func pool(_ p: Pool2D, _ x: [Double], _ inShape: [Int], _ outShape: [Int]) -> [Double] {
    let (h, wd, oh, ow) = (inShape[1], inShape[2], outShape[1], outShape[2])
    var y: [Double] = []
    for plane in 0..<(batch * inShape[0]) {
      for i in 0..<oh {
        for j in 0..<ow {
          let (y0, x0) = (i * p.stride.h - p.padding.h, j * p.stride.w - p.padding.w)
          if p.kind == .max {
            var m = -Double.infinity
            for a in 0..<p.kernel.h {
              let yy = y0 + a * p.dilation.h
              guard yy >= 0 && yy < h else { continue }
              for b in 0..<p.kernel.w {
                let xx = x0 + b * p.dilation.w
                guard xx >= 0 && xx < wd else { continue }
                m = max(m, x[(plane * h + yy) * wd + xx])
              }
            }
            y.append(m)
          } else {
            let (y1, x1) = (min(y0 + p.kernel.h, h + p.padding.h), min(x0 + p.kernel.w, wd + p.padding.w))
            let padded = (y1 - y0) * (x1 - x0)
            let (ya, yb, xa, xb) = (max(y0, 0), min(y1, h), max(x0, 0), min(x1, wd))
            var s = 0.0
            for yy in ya..<max(ya, yb) { for xx in xa..<max(xa, xb) { s += x[(plane * h + yy) * wd + xx] } }
            y.append(s / Double(p.countIncludePad ? padded : (yb - ya) * (xb - xa)))
          }
        }
      }
    }
    return y
  }
}
