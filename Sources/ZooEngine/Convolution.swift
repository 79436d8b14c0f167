import CBLAS
import CZooKernels
import ZooGraph

/// 2-D convolution (cross-correlation, `nn.Conv2d`), NCHW float32.
///
/// Weight `[O, C/groups, kh, kw]` is, per group, the row-major GEMM matrix `A = [O/g, K]` with
/// `K = C/g · kh · kw`. The input of one sample and group is unfolded (im2col) into
/// `B = [K, OH·OW]`, row `(c, i, j)`, column `(y, x)` holding `in[c, y·sh − ph + i·dh, x·sw − pw + j·dw]`
/// (zero outside), and `out = A · B` is one sgemm per band of output rows (see ``scratchBudget``). A 1×1 convolution with stride 1 and no padding
/// reads the input directly as `B`. The epilogue adds the bias (with batch norm folded in at load
/// time) and applies the fused activation, in parallel over channels.
///
/// Output size per axis: `floor((n + 2·p − d·(k − 1) − 1) / s) + 1`.
final class ConvolutionKernel {
  let conv: Conv2D
  /// `[O, C/g, kh, kw]`, batch norm folded in.
  var weight: [Float]
  /// `[O]`, zero when the layer has none; batch norm's shift folded in.
  var bias: [Float]
  var activation: Activation?
  /// Set when the convolution runs as Winograd F(2×2, 3×3) or F(4×4, 3×3) (see
  /// ``WinogradConvolution``); the transformed weights are made by ``finishLoading()``, after batch
  /// norm folding.
  let usesWinograd: Bool
  /// Winograd's output tile side: 2, or 4 on the engine's path (``WinogradConvolution/engineTile(_:inH:inW:)``).
  let winogradTile: Int
  /// Set for a depthwise convolution (one filter per channel: groups = input = output channels),
  /// which runs as direct loops (`zk_depthwise_on`) on every kernel set instead of one tiny GEMM per
  /// channel.
  let usesDepthwise: Bool
  /// Whether Winograd runs on the engine's kernels (`zk_winograd_f2x3`, `zk_winograd_f4x3`) rather than
  /// OpenBLAS.
  let winogradPacked: Bool
  private var winograd: WinogradConvolution?
  /// Set when the convolution runs on the engine's own GEMM (see ``PackedConvolution``); the packed
  /// weights are made by ``finishLoading()``.
  let usesPacked: Bool
  /// On the packed path, whether the narrow-column kernel runs it (few output positions).
  let packedTransposed: Bool
  private var packed: PackedConvolution?
  /// The tier of the engine's kernels (unused on the BLAS path).
  let isa: PlanOptions.ISA
  /// The tier of the depthwise kernel and the activation passes: the plan's on the engine's path,
  /// the fastest this CPU runs on the BLAS path.
  let depthwiseISA: PlanOptions.ISA
  /// The grid layout of the input for the last input size (packed path).
  private var grid: PackedConvolution.Grid?
  /// B's row offsets for a directly read 1×1 input of the last size.
  private var directOffsets: (n: Int, offsets: [Int])?
  /// B's row offsets for an im2col band of the last width.
  private var bandOffsets: (n: Int, offsets: [Int])?

  /// `inH × inW` is the input size the plan runs it on (it chooses between im2col and Winograd).
  /// `packed`: the tier of the engine's own GEMM that runs group-free convolutions, or nil for the BLAS.
  init(
    _ conv: Conv2D, weight: [Float], bias: [Float], inH: Int, inW: Int, packed isa: PlanOptions.ISA?,
    winograd: PlanOptions.Winograd = .whereFaster
  ) {
    let packed = isa != nil
    self.isa = isa ?? .generic
    self.depthwiseISA = isa ?? hostISA
    self.conv = conv
    self.weight = weight
    self.bias = bias
    self.usesDepthwise =
      conv.table == nil && conv.groups > 1 && conv.groups == conv.inChannels && conv.outChannels == conv.groups
    func winogradRuns(engine: Bool) -> Bool {
      switch winograd {
      case .off: false
      case .whereFaster: WinogradConvolution.isUsed(conv, inH: inH, inW: inW, engine: engine)
      case .wherever, .whereverF4: WinogradConvolution.applies(conv)
      }
    }
    let winogradOnEngine = packed && winogradRuns(engine: true)
    self.usesPacked = packed && PackedConvolution.applies(conv) && !winogradOnEngine
    let oh = windowOutputSize(
      inH, kernel: conv.kernel.h, stride: conv.stride.h, padding: conv.padding.h, dilation: conv.dilation.h)
    let ow = windowOutputSize(
      inW, kernel: conv.kernel.w, stride: conv.stride.w, padding: conv.padding.w, dilation: conv.dilation.w)
    self.packedTransposed = usesPacked && PackedConvolution.isNarrow(conv, outH: oh, outW: ow)
    self.usesWinograd =
      winogradOnEngine || (!packed && winogradRuns(engine: false))
    self.winogradPacked = winogradOnEngine
    if !winogradOnEngine {
      self.winogradTile = 2
    } else {
      self.winogradTile =
        switch winograd {
        case .whereverF4: 4
        case .wherever, .off: 2
        case .whereFaster: WinogradConvolution.engineTile(conv, inH: inH, inW: inW)
        }
    }
  }

  /// The path the convolution runs on, for tests and `zoo bench --layers`: `winograd-engine`
  /// (F(2×2, 3×3)), `winograd-f4-engine` (F(4×4, 3×3)), `winograd-blas`, `gemm-direct` (a 1×1 read
  /// in place), `gemm-grid`, `gemm-narrow`, `blas`.
  var path: String {
    if usesDepthwise { return "depthwise" }
    if usesWinograd {
      return winogradPacked ? (winogradTile == 4 ? "winograd-f4-engine" : "winograd-engine") : "winograd-blas"
    }
    if !usesPacked { return "blas" }
    if packedTransposed { return "gemm-narrow" }
    return PackedConvolution.isDirect(conv) ? "gemm-direct" : "gemm-grid"
  }

  /// Transforms the (folded) weights for Winograd, once the plan is complete.
  func finishLoading() {
    if usesWinograd && winograd == nil {
      winograd = WinogradConvolution(conv, weight: weight, packed: winogradPacked, isa: isa, tile: winogradTile)
      weight = []
    }
    if usesPacked && packed == nil {
      packed = PackedConvolution(conv, packing: &weight, transposed: packedTransposed, isa: isa)
    }
  }

  /// Folds batch norm `y = x · scale[o] + shift[o]` into the weights and bias (in double).
  func foldBatchNorm(scale: [Double], shift: [Double]) {
    precondition(usesWinograd ? winograd == nil : packed == nil, "batch norm folded after the weights were transformed")
    let k = weight.count / conv.outChannels
    for o in 0..<conv.outChannels {
      for i in 0..<k { weight[o * k + i] = Float(Double(weight[o * k + i]) * scale[o]) }
      bias[o] = Float(Double(bias[o]) * scale[o] + shift[o])
    }
  }

  /// Floats the kernel holds once ``finishLoading()`` has run: Winograd holds 16 (F(4×4): 36)
  /// transformed values per 9 weights (on the engine's path, its output channels rounded up to a multiple of 32), and
  /// packed weights round the output channels up to a multiple of 8 (32 on the narrow kernel).
  var plannedWeightElements: Int {
    if let winograd { return winograd.u.count + bias.count }
    if let packed { return packed.packed.count + bias.count }
    if usesWinograd {
      return bias.count
        + (winogradPacked
          ? WinogradConvolution.positions(tile: winogradTile)
            * zk_packed_a_rows_count(Int32(conv.outChannels), Int32(conv.inChannels), 32) : weight.count / 9 * 16)
    }
    if usesPacked { return PackedConvolution.packedCount(conv, transposed: packedTransposed) + bias.count }
    return weight.count + bias.count
  }

  var isPointwise: Bool {
    conv.kernel == Pair(1) && conv.stride == Pair(1) && conv.padding == Pair(0)
  }

  /// im2col works on bands of output rows whose columns fit in this many floats (1 MB), so the
  /// scratch stays small (ResNet's 7×7 stem would otherwise need 7.4 MB); a band is never narrower
  /// than 256 output positions, which keeps the GEMMs wide enough to run at full speed.
  static let scratchBudget = 1 << 18

  /// Output rows per im2col band.
  func bandRows(inH: Int, inW: Int) -> Int {
    let (oh, ow) = outputSize(inH, inW)
    let k = conv.inChannels / conv.groups * conv.kernel.h * conv.kernel.w
    let columns = max(256, Self.scratchBudget / max(k, 1))
    return max(1, min(oh, columns / ow))
  }

  /// Floats of scratch (padded input copy, im2col band or Winograd tiles) one call needs for an
  /// input of `inH × inW`.
  func scratchElements(inH: Int, inW: Int) -> Int {
    if usesWinograd {
      return WinogradConvolution.scratchElements(
        conv, inH: inH, inW: inW, packed: winogradPacked, tile: winogradTile)
    }
    if isPointwise || usesDepthwise { return 0 }
    let (_, ow) = outputSize(inH, inW)
    let im2col = conv.inChannels / conv.groups * conv.kernel.h * conv.kernel.w * bandRows(inH: inH, inW: inW) * ow
    if usesPacked {
      return PackedConvolution.scratchElements(
        conv, inH: inH, inW: inW, transposed: packedTransposed, im2colElements: im2col)
    }
    return im2col
  }

  func outputSize(_ h: Int, _ w: Int) -> (Int, Int) {
    (
      windowOutputSize(
        h, kernel: conv.kernel.h, stride: conv.stride.h, padding: conv.padding.h, dilation: conv.dilation.h),
      windowOutputSize(
        w, kernel: conv.kernel.w, stride: conv.stride.w, padding: conv.padding.w, dilation: conv.dilation.w)
    )
  }

  /// Whether a residual added before the activation can run in this convolution's epilogue
  /// (``run(input:output:batch:inH:inW:residual:scratch:threads:)``): on the engine's path when the
  /// GEMM runs in plain mode (a 1×1 convolution read in place, or the narrow-column kernel) or as
  /// Winograd.
  var fusesResidual: Bool {
    (usesPacked && (PackedConvolution.isDirect(conv) || packedTransposed)) || (usesWinograd && winogradPacked)
  }

  /// `residual`, laid out as the output, is added after the bias and before the activation; only
  /// where ``fusesResidual``.
  func run(
    input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int, inH: Int, inW: Int,
    residual: UnsafePointer<Float>? = nil, scratch: UnsafeMutablePointer<Float>, threads: Int
  ) {
    precondition(residual == nil || fusesResidual, "this convolution cannot add a residual")
    let c = conv
    let (oh, ow) = outputSize(inH, inW)
    let cg = c.inChannels / c.groups
    let og = c.outChannels / c.groups
    let k = cg * c.kernel.h * c.kernel.w
    let spatial = oh * ow
    if let winograd, winograd.packed {
      bias.withUnsafeBufferPointer { b in
        winograd.runPacked(
          input: input, output: output, batch: batch, inH: inH, inW: inW, conv: c, bias: b.baseAddress,
          relu: activation == .relu, residual: residual, scratch: scratch, threads: threads)
      }
      if let a = activation, a != .relu {
        applyBiasAndActivation(
          output, channels: c.outChannels, batch: batch, spatial: spatial, bias: nil, activation: a, threads: threads,
          isa: isa)
      }
      return
    }
    if let winograd {
      winograd.run(
        input: input, output: output, batch: batch, inH: inH, inW: inW, conv: c, scratch: scratch, threads: threads)
      applyBiasAndActivation(
        output, channels: c.outChannels, batch: batch, spatial: spatial, bias: bias, activation: activation,
        threads: threads)
      return
    }
    if usesDepthwise {
      // The activations of act.h run in the kernel, before each vector is stored; others after it.
      weight.withUnsafeBufferPointer { w in
        bias.withUnsafeBufferPointer { b in
          zk_depthwise_on(
            depthwiseISA.code, input, w.baseAddress, b.baseAddress, output, Int32(batch), Int32(c.inChannels),
            Int32(inH), Int32(inW), Int32(oh), Int32(ow), Int32(c.kernel.h), Int32(c.kernel.w), Int32(c.stride.h),
            Int32(c.stride.w), Int32(c.padding.h), Int32(c.padding.w), Int32(c.dilation.h), Int32(c.dilation.w),
            activation?.kernelCode ?? 0, Int32(min(threads, engineLoopThreads)))
        }
      }
      if let a = activation, a.kernelCode == nil {
        applyBiasAndActivation(
          output, channels: c.outChannels, batch: batch, spatial: spatial, bias: nil, activation: a, threads: threads,
          isa: depthwiseISA)
      }
      return
    }
    if let packed {
      runPacked(
        packed, input: input, output: output, batch: batch, inH: inH, inW: inW, residual: residual, scratch: scratch,
        threads: threads)
      return
    }
    let band = bandRows(inH: inH, inW: inW)
    weight.withUnsafeBufferPointer { w in
      for n in 0..<batch {
        for g in 0..<c.groups {
          let src = input + (n * c.inChannels + g * cg) * inH * inW
          let dst = output + (n * c.outChannels + g * og) * spatial
          let a = w.baseAddress! + g * og * k
          if isPointwise {
            cblas_sgemm(
              CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(og), Int32(spatial), Int32(k), 1, a, Int32(k), src,
              Int32(spatial), 0, dst, Int32(spatial))
            continue
          }
          for y0 in stride(from: 0, to: oh, by: band) {
            let rows = min(band, oh - y0)
            let columns = rows * ow
            im2col(src, channels: cg, h: inH, w: inW, rows: y0..<(y0 + rows), ow: ow, into: scratch, threads: threads)
            cblas_sgemm(
              CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(og), Int32(columns), Int32(k), 1, a, Int32(k),
              scratch, Int32(columns), 0, dst + y0 * ow, Int32(spatial))
          }
        }
      }
    }
    applyBiasAndActivation(
      output, channels: c.outChannels, batch: batch, spatial: spatial, bias: bias, activation: activation,
      threads: threads)
  }

  private func runPacked(
    _ packed: PackedConvolution, input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int,
    inH: Int, inW: Int, residual: UnsafePointer<Float>?, scratch: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let c = conv
    let (oh, ow) = outputSize(inH, inW)
    let spatial = oh * ow
    let act = activation?.kernelCode ?? 0
    bias.withUnsafeBufferPointer { b in
      for n in 0..<batch {
        let src = input + n * c.inChannels * inH * inW
        let dst = output + n * c.outChannels * spatial
        let res = residual.map { $0 + n * c.outChannels * spatial }
        if PackedConvolution.isDirect(c) {
          if directOffsets?.n != spatial {
            directOffsets = (spatial, PackedConvolution.plainOffsets(k: packed.k, n: spatial))
          }
          packed.gemm(
            b: src, offsets: directOffsets!.offsets, n: spatial, bias: b.baseAddress, act: act, c: dst,
            ldc: spatial, residual: res, threads: threads)
        } else if !packed.transposed {
          if grid == nil || grid!.inH != inH || grid!.inW != inW {
            grid = PackedConvolution.Grid(c, inH: inH, inW: inW)
          }
          let g = grid!
          g.fill(src, conv: c, into: scratch, threads: min(threads, engineLoopThreads))
          packed.gemm(
            b: scratch, offsets: g.offsets, n: oh * g.wq, bias: b.baseAddress, act: act, c: dst, ldc: spatial,
            gridW: g.wq, outW: ow, threads: threads)
        } else {
          let band = bandRows(inH: inH, inW: inW)
          for y0 in stride(from: 0, to: oh, by: band) {
            let rows = min(band, oh - y0)
            let columns = rows * ow
            im2col(
              src, channels: c.inChannels, h: inH, w: inW, rows: y0..<(y0 + rows), ow: ow, into: scratch,
              threads: threads)
            if bandOffsets?.n != columns {
              bandOffsets = (columns, PackedConvolution.plainOffsets(k: packed.k, n: columns))
            }
            let offsets = bandOffsets!.offsets
            packed.gemm(
              b: scratch, offsets: offsets, n: columns, bias: b.baseAddress, act: act, c: dst + y0 * ow, ldc: spatial,
              residual: res.map { $0 + y0 * ow }, threads: threads)
          }
        }
      }
    }
    if let a = activation, a.kernelCode == nil {
      applyBiasAndActivation(
        output, channels: c.outChannels, batch: batch, spatial: spatial, bias: nil, activation: a, threads: threads,
        isa: isa)
    }
  }

  /// Unfolds output rows `rows` into `col`, `[K, rows.count · ow]` (`zk_im2col`).
  private func im2col(
    _ src: UnsafePointer<Float>, channels: Int, h: Int, w: Int, rows: Range<Int>, ow: Int,
    into col: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let c = conv
    zk_im2col(
      src, Int32(channels), Int32(h), Int32(w), Int32(c.kernel.h), Int32(c.kernel.w), Int32(c.stride.h),
      Int32(c.stride.w), Int32(c.padding.h), Int32(c.padding.w), Int32(c.dilation.h), Int32(c.dilation.w),
      Int32(rows.lowerBound), Int32(rows.count), Int32(ow), col, Int32(min(threads, engineLoopThreads)))
  }
}

/// `x[n, c, :] = act(x[n, c, :] + bias[c])`, in parallel over `batch × channels`, the activation
/// on tier `isa` where it is vectorised (``applyActivation(_:_:_:count:add:isa:)``).
func applyBiasAndActivation(
  _ x: UnsafeMutablePointer<Float>, channels: Int, batch: Int, spatial: Int, bias: [Float]?,
  activation: Activation?, threads: Int, isa: PlanOptions.ISA = hostISA
) {
  if bias == nil && activation == nil { return }
  let p = SharedPointer(x)
  bias.withOptionalBuffer { b in
    let bp = b.map { SharedPointer($0) }
    parallelFor(batch * channels, threads: threads, grain: max(1, 16384 / max(spatial, 1))) { range in
      for nc in range {
        let row = p.p + nc * spatial
        let add = bp.map { $0.p[nc % channels] } ?? 0
        applyActivation(activation, row, row, count: spatial, add: add, isa: isa)
      }
    }
  }
}

extension Optional where Wrapped == [Float] {
  func withOptionalBuffer<R>(_ body: (UnsafePointer<Float>?) -> R) -> R {
    switch self {
    case .none: return body(nil)
    case .some(let a): return a.withUnsafeBufferPointer { body($0.baseAddress) }
    }
  }
}

/// LeNet-5's C3: a convolution with a connection table. Output channel `j` sees the input channels
/// `table[j]`; its weights are the next `table[j].count · kh · kw` values of `[connections, kh, kw]`.
/// Stride 1, no padding (the only form the zoo uses; the definition format allows no other).
final class TableConvolutionKernel {
  let conv: Conv2D
  let weight: [Float]
  let bias: [Float]
  var activation: Activation?

  init(_ conv: Conv2D, weight: [Float], bias: [Float]) {
    self.conv = conv
    self.weight = weight
    self.bias = bias
  }

  func run(input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int, inH: Int, inW: Int) {
    let c = conv
    let table = c.table ?? []
    let oh = windowOutputSize(inH, kernel: c.kernel.h, stride: c.stride.h, padding: c.padding.h, dilation: c.dilation.h)
    let ow = windowOutputSize(inW, kernel: c.kernel.w, stride: c.stride.w, padding: c.padding.w, dilation: c.dilation.w)
    let (kh, kw) = (c.kernel.h, c.kernel.w)
    for n in 0..<batch {
      var wOffset = 0
      for (j, sources) in table.enumerated() {
        let dst = output + (n * c.outChannels + j) * oh * ow
        for y in 0..<oh {
          for x in 0..<ow {
            var acc = bias[j]
            for (t, ch) in sources.enumerated() {
              let plane = input + (n * c.inChannels + ch) * inH * inW
              let wk = wOffset + t * kh * kw
              for i in 0..<kh {
                let iy = y * c.stride.h - c.padding.h + i * c.dilation.h
                if iy < 0 || iy >= inH { continue }
                for jj in 0..<kw {
                  let ix = x * c.stride.w - c.padding.w + jj * c.dilation.w
                  if ix < 0 || ix >= inW { continue }
                  acc += weight[wk + i * kw + jj] * plane[iy * inW + ix]
                }
              }
            }
            dst[y * ow + x] = acc
          }
        }
        wOffset += sources.count * kh * kw
        if let a = activation { applyActivation(a, dst, dst, count: oh * ow) }
      }
    }
  }
}
