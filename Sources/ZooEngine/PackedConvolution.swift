import CZooKernels
import ZooGraph

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Convolution on the engine's own GEMM (``CZooKernels``, on the tier of ``isa``): weights packed once, inputs read
/// in place.
///
/// The weight of one group-free convolution is the GEMM matrix `A = [O, K]`, `K = C · kh · kw`,
/// packed at load time, in place, into tiles of 8 output channels (`zk_pack_a_rows_in_place`). Per
/// sample:
///
/// - **any stride, kernel, padding, dilation**: the input is copied once into zero-padded planes
///   split by stride phase (``Grid``), in which every tap `(c, i, j)` is a shifted contiguous read:
///   `B[(c, i, j), p] = grid[offset(c, i, j) + p]` for positions `p = y·wq + x`, an im2col that is never
///   written out. Grid columns `x ≥ OW` are computed and dropped (2 of 58 at 56×56 with a 3×3
///   kernel). A 1×1 convolution with stride 1 and no padding reads its input directly.
/// - **few output positions** (``narrowColumns``, the 14×14 and 7×7 stages) and enough output
///   channels (``narrowMinChannels``, or a 1×1 convolution read in place): `zk_gemm_t` runs the
///   GEMM with its vectors along the output channels instead (49 positions would fill only 49 of the
///   64 lanes of four position vectors), on bands of output rows unfolded by `zk_im2col` into
///   `[K, columns]`. (Reading the grid there measured slower: ResNet-50 28.5 against 23.6 ms.)
///
/// Bias (with batch norm folded in) and the activation are applied in the GEMM's epilogue, once per
/// tile, vectorised (act.h: ReLU, ReLU6, sigmoid, SiLU, hard sigmoid, hard swish); the others
/// (tanh, GELU, …) run as a pass after it. Output size per axis as for every convolution:
/// `floor((n + 2·p − d·(k − 1) − 1) / s) + 1`.
///
/// Used for every convolution with one group and no connection table, on every CPU (the tiers of
/// ``PlanOptions/ISA``); `ZOO_KERNELS=blas` turns it off, for measuring against OpenBLAS.
struct PackedConvolution {
  /// Whether the engine uses its own kernels: `ZOO_KERNELS` not `blas`.
  static let isAvailable: Bool = {
    if let text = getenv("ZOO_KERNELS"), String(cString: text) == "blas" { return false }
    return true
  }()

  /// Whether this CPU runs AVX-512F code.
  static let cpuHasAVX512: Bool = zk_has_avx512() != 0

  static func applies(_ c: Conv2D) -> Bool { c.groups == 1 && c.table == nil }

  /// The `[O, K]` weight in tiles of 8 rows (`zk_gemm`) or 32 rows (`zk_gemm_t`).
  let packed: [Float]
  let outChannels: Int
  let k: Int
  /// Whether the GEMM runs on the narrow-column kernel (`zk_gemm_t`: vectors along the output
  /// channels, a broadcast per position).
  let transposed: Bool
  /// The tier that runs the GEMM (the packing is the same on every tier).
  let isa: PlanOptions.ISA

  /// Output positions per sample up to which the narrow-column kernel is used
  /// (`ZOO_NARROW_COLUMNS`, default 196: the 14×14 and 7×7 stages of the 224×224 networks, where it
  /// measured faster on ResNet-18: best of 4 interleaved rounds 11.4 ms against 12.0 with 64 and
  /// 12.9 with none).
  static let narrowColumns = environmentInt("ZOO_NARROW_COLUMNS") ?? 196

  /// Output channels from which a convolution that needs an im2col band takes the narrow-column
  /// kernel (`ZOO_NARROW_MIN_CHANNELS`, default 128); fewer take the grid instead. The band costs
  /// `K × positions` writes and reads whatever the channels, the GEMM `channels × K × positions`:
  /// DenseNet-121's 3×3 convolutions to 32 channels at 14×14 spent more on the band than on the GEMM
  /// (DenseNet-121 19.7 → 18.9 ms; 64 and 256 measured the same, the ResNets did not move).
  static let narrowMinChannels = environmentInt("ZOO_NARROW_MIN_CHANNELS") ?? 128

  /// Whether a convolution with `outH × outW` positions runs on the narrow-column kernel: few
  /// positions, and either a 1×1 convolution read in place or at least ``narrowMinChannels`` outputs.
  static func isNarrow(_ c: Conv2D, outH: Int, outW: Int) -> Bool {
    outH * outW <= narrowColumns && (isDirect(c) || c.outChannels >= narrowMinChannels)
  }

  /// Packs `weight` (`[O, K]`, row-major) in place and takes it, leaving `weight` empty: a model's
  /// weights are never held twice while they load.
  init(_ c: Conv2D, packing weight: inout [Float], transposed: Bool, isa: PlanOptions.ISA) {
    self.isa = isa
    let (m, k) = (c.outChannels, weight.count / c.outChannels)
    let rows: Int32 = transposed ? 32 : 8
    let count = zk_packed_a_rows_count(Int32(m), Int32(k), rows)
    if weight.count < count { weight.append(contentsOf: repeatElement(0, count: count - weight.count)) }
    var tmp = [Float](repeating: 0, count: Int(rows) * k)
    weight.withUnsafeMutableBufferPointer { w in
      tmp.withUnsafeMutableBufferPointer { t in
        zk_pack_a_rows_in_place(w.baseAddress!, Int32(m), Int32(k), rows, t.baseAddress!)
      }
    }
    packed = weight
    weight = []
    outChannels = m
    self.k = k
    self.transposed = transposed
  }

  /// Floats of the packed weight.
  static func packedCount(_ c: Conv2D, transposed: Bool) -> Int {
    zk_packed_a_rows_count(
      Int32(c.outChannels), Int32(c.inChannels * c.kernel.h * c.kernel.w), transposed ? 32 : 8)
  }

  static func isDirect(_ c: Conv2D) -> Bool {
    c.kernel == Pair(1) && c.stride == Pair(1) && c.padding == Pair(0)
  }

  /// Floats of scratch one call needs: the grid copy of the input (``Grid``), or an im2col band on
  /// the narrow-column kernel.
  static func scratchElements(_ c: Conv2D, inH: Int, inW: Int, transposed: Bool, im2colElements: Int) -> Int {
    if isDirect(c) { return 0 }
    return transposed ? im2colElements : Grid(c, inH: inH, inW: inW).elements
  }

  /// The input of a convolution laid out so that every tap is a shifted contiguous read
  /// (`zk_phase_pad`), and B's row offsets into it.
  ///
  /// Per axis, tap `i` reads input row `y·s + i·d − p` for output row `y`; writing `i·d − p = s·δ + φ`
  /// with `0 ≤ φ < s`, that is row `y + δ` of phase `φ` (rows `≡ φ mod s`). The copy holds, per
  /// channel, one `hq × wq` plane per phase pair that some tap uses, rows `δ_min ..< OH + δ_max`
  /// (zero outside the image), so tap `(c, i, j)` is the grid read at offset
  /// `plane(c, φ_i, φ_j) + (δ_i − δ_min)·wq + (δ_j − δ_min)`. Output `(y, x)` is grid position
  /// `y·wq + x`; the `wq − OW` columns past the output are computed and dropped. With stride 1 this is
  /// the zero-padded input (one phase, `δ = i·d − p`); with stride 2 a 3×3 kernel uses all four
  /// phases and a 1×1 kernel one.
  struct Grid {
    var rowPhases: [Int32] = []
    var colPhases: [Int32] = []
    var dminH = 0
    var dminW = 0
    var hq = 0
    var wq = 0
    var outW = 0
    var offsets: [Int] = []
    /// Floats read past the last plane (the last grid rows' dropped columns), kept zero.
    var slack = 0
    /// Floats of the copy, slack included.
    var elements: Int { channels * rowPhases.count * colPhases.count * hq * wq + slack }
    var channels = 0
    var inH = 0
    var inW = 0

    init(_ c: Conv2D, inH: Int, inW: Int) {
      /// Per tap: δ and φ of `i·d − p = s·δ + φ`.
      func taps(_ k: Int, _ d: Int, _ p: Int, _ s: Int) -> [(delta: Int, phase: Int)] {
        (0..<k).map { i in
          let r = i * d - p
          let delta = r >= 0 ? r / s : -((-r + s - 1) / s)
          return (delta, r - s * delta)
        }
      }
      let th = taps(c.kernel.h, c.dilation.h, c.padding.h, c.stride.h)
      let tw = taps(c.kernel.w, c.dilation.w, c.padding.w, c.stride.w)
      let oh = windowOutputSize(
        inH, kernel: c.kernel.h, stride: c.stride.h, padding: c.padding.h, dilation: c.dilation.h)
      let ow = windowOutputSize(
        inW, kernel: c.kernel.w, stride: c.stride.w, padding: c.padding.w, dilation: c.dilation.w)
      let rows = Array(Set(th.map(\.phase))).sorted()
      let cols = Array(Set(tw.map(\.phase))).sorted()
      rowPhases = rows.map { Int32($0) }
      colPhases = cols.map { Int32($0) }
      dminH = th.map(\.delta).min()!
      dminW = tw.map(\.delta).min()!
      hq = oh + th.map(\.delta).max()! - dminH
      wq = ow + tw.map(\.delta).max()! - dminW
      outW = ow
      slack = tw.map(\.delta).max()! - dminW + 16
      channels = c.inChannels
      self.inH = inH
      self.inW = inW
      let plane = hq * wq
      offsets.reserveCapacity(c.inChannels * c.kernel.h * c.kernel.w)
      for ch in 0..<c.inChannels {
        for i in th {
          for j in tw {
            let slot = (ch * rows.count + rows.firstIndex(of: i.phase)!) * cols.count + cols.firstIndex(of: j.phase)!
            offsets.append(slot * plane + (i.delta - dminH) * wq + (j.delta - dminW))
          }
        }
      }
    }

    /// Writes the copy of `src` (`channels × inH × inW`) to `dst`.
    func fill(_ src: UnsafePointer<Float>, conv c: Conv2D, into dst: UnsafeMutablePointer<Float>, threads: Int) {
      rowPhases.withUnsafeBufferPointer { rp in
        colPhases.withUnsafeBufferPointer { cp in
          zk_phase_pad(
            src, Int32(channels), Int32(inH), Int32(inW), Int32(c.stride.h), Int32(c.stride.w), rp.baseAddress!,
            Int32(rp.count), cp.baseAddress!, Int32(cp.count), Int32(dminH), Int32(dminW), Int32(hq), Int32(wq),
            Int32(slack), dst, Int32(threads))
        }
      }
    }
  }

  /// B's row offsets for a plain `[K, n]` matrix, or a 1×1 convolution's input read in place.
  static func plainOffsets(k: Int, n: Int) -> [Int] { (0..<k).map { $0 * n } }

  /// `C = act(A · B + bias)` on the pool's threads, `act` a `ZK_ACT_*` code (0: none; see
  /// ``Activation/kernelCode``). `residual` (laid out as C, plain mode only) is added after the bias,
  /// before the activation.
  func gemm(
    b: UnsafePointer<Float>, offsets: [Int], n: Int, bias: UnsafePointer<Float>?, act: Int32,
    c: UnsafeMutablePointer<Float>, ldc: Int, gridW: Int = 0, outW: Int = 0, residual: UnsafePointer<Float>? = nil,
    threads: Int
  ) {
    precondition(residual == nil || gridW == 0, "a residual needs the plain mode")
    packed.withUnsafeBufferPointer { a in
      offsets.withUnsafeBufferPointer { off in
        var args = zk_gemm_args(
          m: Int32(outChannels), n: Int32(n), k: Int32(k), a_packed: a.baseAddress!, b: b, boff: off.baseAddress!,
          bias: bias, relu: act, c: c, ldc: ldc, grid_w: Int32(gridW), out_w: Int32(outW),
          residual: residual)
        if transposed {
          zk_gemm_t_on(isa.code, &args, Int32(threads))
        } else {
          zk_gemm_on(isa.code, &args, Int32(threads))
        }
      }
    }
  }

  /// Copies `channels` planes of `h × w` into `dst` with `ph`/`pw` zeros around each, and zeros
  /// `slack` floats after the last.
  static func pad(
    _ src: UnsafePointer<Float>, channels: Int, h: Int, w: Int, ph: Int, pw: Int, slack: Int,
    into dst: UnsafeMutablePointer<Float>
  ) {
    let (hp, wp) = (h + 2 * ph, w + 2 * pw)
    for ch in 0..<channels {
      let plane = dst + ch * hp * wp
      if ph > 0 { plane.update(repeating: 0, count: ph * wp) }
      for y in 0..<h {
        let row = plane + (y + ph) * wp
        if pw > 0 {
          row.update(repeating: 0, count: pw)
          (row + pw + w).update(repeating: 0, count: pw)
        }
        (row + pw).update(from: src + (ch * h + y) * w, count: w)
      }
      if ph > 0 { (plane + (ph + h) * wp).update(repeating: 0, count: ph * wp) }
    }
    (dst + channels * hp * wp).update(repeating: 0, count: slack)
  }
}
