import CBLAS
import CZooKernels
import ZooGraph

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Winograd F(2×2, 3×3) and F(4×4, 3×3) for 3×3 convolutions with stride 1, dilation 1 and one group
/// (any padding).
///
/// F(2×2, 3×3): each 2×2 block of output (a tile) is computed from the 4×4 input patch `d` under it
/// (rows `2·ty − ph …+3`, columns `2·tx − pw …+3`, zero outside the input) and the 3×3 kernel `g` as
///
///     Y = Aᵀ [ Σ_c (G g_{o,c} Gᵀ) ⊙ (Bᵀ d_c B) ] A
///
/// with
///
///     Bᵀ = | 1  0 −1  0 |     G = | 1    0    0   |     Aᵀ = | 1  1  1  0 |
///          | 0  1  1  0 |         | ½    ½    ½   |          | 0  1 −1 −1 |
///          | 0 −1  1  0 |         | ½   −½    ½   |
///          | 0  1  0 −1 |         | 0    0    1   |
///
/// F(4×4, 3×3) (Lavin and Gray's matrices, interpolation points 0, ±1, ±2 and ∞): 4×4 tiles of
/// output from 6×6 patches (rows `4·ty − ph …+5`), with
///
///     Bᵀ = | 4  0 −5  0  1  0 |     G = |  ¼     0     0  |     Aᵀ = | 1  1  1  1  1  0 |
///          | 0 −4 −4  1  1  0 |         | −⅙    −⅙    −⅙  |          | 0  1 −1  2 −2  0 |
///          | 0  4 −4 −1  1  0 |         | −⅙     ⅙    −⅙  |          | 0  1  1  4  4  0 |
///          | 0 −2 −1  2  1  0 |         | 1/24  1/12   ⅙  |          | 0  1 −1  8 −8  1 |
///          | 0  2 −1 −2  1  0 |         | 1/24 −1/12   ⅙  |
///          | 0  4  0 −5  0  1 |         |  0     0     1  |
///
/// The weights (batch norm already folded in) are transformed once, in double, into P matrices
/// `U[ξ] = [Cout, Cin]`, P = 16 (F(2×2)) or 36 (F(4×4)), ξ = n·i + j the position in the n×n
/// transformed tile (n = 4 or 6). Per run, a band of tile rows is transformed into P matrices
/// `V[ξ] = [Cin, T]` (T tiles of the band, row-major by tile row then tile column), P GEMMs give
/// `M[ξ] = U[ξ] · V[ξ]` (`[Cout, T]`), and the inverse transform writes each tile's outputs (clipped
/// where the output side is not a multiple of the tile). F(2×2)'s GEMMs do 16 multiplies per 4
/// outputs instead of 36 (2.25× fewer), F(4×4)'s 36 per 16 instead of 144 (4× fewer), and its
/// transforms touch 2.25 values per output instead of 4.
///
/// Two paths:
/// - **the engine's** (``runPacked(input:output:batch:inH:inW:conv:bias:relu:residual:scratch:threads:)``,
///   `zk_winograd_f2x3` and `zk_winograd_f4x3`, one driver over the tile size): transforms of 16
///   (AVX-512) or 8 or 4 (the other tiers) tiles per vector, the GEMMs on the narrow-column kernel
///   with each `U[ξ]` packed in tiles of 32 rows, bias, residual and ReLU in the output transform;
///   F(4×4) or F(2×2) per layer by ``engineTile(_:inH:inW:)``;
/// - **OpenBLAS** (``run(input:output:batch:inH:inW:conv:scratch:threads:)``, F(2×2) only): SIMD4
///   transforms (four tiles per vector where their window lies inside the input, one at a time at
///   the borders), 16 `sgemm`s, then the im2col path's bias and activation epilogue.
///
/// Scratch: `P · (Cin + Cout) · T` floats per band, with T the tiles of as many tile rows as fit
/// in ``WinogradConvolution/scratchBudget`` (``WinogradConvolution/engineScratchBudget`` on the
/// engine's path; never fewer than one tile row nor than ``WinogradConvolution/minimumTiles`` tiles).
///
/// Accuracy: F(2×2, 3×3)'s transforms only add, subtract and halve; on the PyTorch fixtures the error
/// stays at 2.8e-7–3.6e-7 of the output's largest magnitude, as with im2col (tolerance 1e-4).
/// F(4×4, 3×3)'s constants (up to 8 in `Aᵀ`, 5 in `Bᵀ`, 1/24 in `G`) round more: against a float64
/// direct convolution, on post-ReLU inputs with He-scaled weights, 3.7e-6 of the output's largest
/// magnitude with 3 input channels up to 1.5e-5 with 512 (VGG-16's 512-channel layers; F(2×2)
/// 1.5e-7–8.2e-7 on the same layers), a margin of 6× or more under 1e-4, so it is not restricted
/// by channel count.
///
/// When it is used: see ``WinogradConvolution/isUsed(_:inH:inW:engine:)`` and ``engineTile(_:inH:inW:)``.
struct WinogradConvolution {
  /// Floats of scratch a band aims for: 1 MB on the OpenBLAS path (as im2col); 4 MB on the
  /// engine's, where a 28×28 layer of 128 channels then runs as one band (with four bands its 16
  /// GEMMs of 49 columns made ResNet-18's layer2 convolutions 0.8 ms instead of 0.45).
  static let scratchBudget = 1 << 18
  static let engineScratchBudget = 1 << 20
  /// Fewest tiles per band (keeps the GEMMs wide where channels are many).
  static let minimumTiles = 64

  /// `ZOO_WINOGRAD=0` turns Winograd off by default (``PlanOptions/winograd``); anything else or unset
  /// leaves it on.
  static let enabled: Bool = {
    guard let text = getenv("ZOO_WINOGRAD") else { return true }
    return String(cString: text) != "0"
  }()

  /// Whether the convolution can run as F(2×2, 3×3): 3×3, stride 1, dilation 1, one group, no table.
  static func applies(_ c: Conv2D) -> Bool {
    c.kernel == Pair(3) && c.stride == Pair(1) && c.dilation == Pair(1) && c.groups == 1 && c.table == nil
  }

  /// Output sides for which the OpenBLAS path uses Winograd.
  static let usedSides = 8...32

  /// Output sides for which the engine's path uses Winograd (`ZOO_WINOGRAD_SIDES=LO-HI` overrides,
  /// for measuring): from the 7×7 stages to the 224×224 layers of VGG, all measured to gain
  /// (interleaved rounds, fastest medians: VGG-16 94 → 64 ms with sides 4...256, 72 with 4...64,
  /// 84 with 4...32; ResNet-18 10.3 → 8.0; 4 rather than 8 as the lower end: ResNet-18 8.0 against 8.3).
  static let engineSides: ClosedRange<Int> = {
    if let text = getenv("ZOO_WINOGRAD_SIDES") {
      let parts = String(cString: text).split(separator: "-").compactMap { Int($0) }
      if parts.count == 2 && parts[0] <= parts[1] { return parts[0]...parts[1] }
    }
    return 4...256
  }()

  /// Smallest convolution (MACs computed directly) the engine's path runs as Winograd
  /// (`ZOO_WINOGRAD_MIN_MACS` overrides): below it the three passes' start-up costs more than the
  /// GEMM saves (DenseNet-121's 7×7 layers to 32 channels, 1.8 M MACs: DenseNet-121 16.5–16.8 ms with
  /// a 4 M or 8 M minimum, 17.0 with none).
  static let engineMinimumMACs = environmentInt("ZOO_WINOGRAD_MIN_MACS") ?? 4_000_000

  /// `ZOO_WINOGRAD_TILE=2` or `4` makes every convolution the engine's path runs as Winograd (where
  /// faster) use that tile size, for measuring; unset or anything else leaves the choice to
  /// ``engineTile(_:inH:inW:)``.
  static let forcedTile: Int? = {
    guard let text = getenv("ZOO_WINOGRAD_TILE") else { return nil }
    switch String(cString: text) {
    case "2": return 2
    case "4": return 4
    default: return nil
    }
  }()

  /// Smallest output side (both sides) at which the engine's path takes F(4×4, 3×3) rather than
  /// F(2×2, 3×3): 28 (`ZOO_WINOGRAD_F4_SIDE` overrides, for measuring); see
  /// ``engineTile(_:inH:inW:)``.
  static let f4MinimumSide = environmentInt("ZOO_WINOGRAD_F4_SIDE") ?? 28

  /// The output tile side (2 or 4) for a convolution the engine's path runs as Winograd where
  /// faster: 4 when both output sides are at least ``f4MinimumSide``, else 2 (``forcedTile``
  /// overrides).
  ///
  /// Measured per layer (`zk_winograd_f4x3` time / `zk_winograd_f2x3` time with the plan's bands,
  /// one thread, fastest of 11–15 runs; the table is in docs/engine.md). From 28×28 up F(4×4) gains
  /// on every ResNet, VGG-16, GoogLeNet and DenseNet layer shape measured (AVX-512 0.45–0.90, AVX2
  /// 0.55–0.69). At 14×14 and 7×7 it loses on AVX-512 (1.19–1.89): there the layers stream their
  /// transformed weights, 2.25× larger for F(4×4) (37 MB against 16 MB at 512 channels), to few
  /// tiles (a 14×14 output is 16 tiles of 4×4 against 49 of 2×2, so the 36 GEMMs are narrow), and an
  /// eighth (14×14) to a quarter (7×7) of the tiles' outputs is padding. On AVX2, at 14×14, it gained
  /// on 256 channels (0.91) and lost on DenseNet's 128 → 32 (2.2), so the threshold is the same on
  /// every tier.
  static func engineTile(_ c: Conv2D, inH: Int, inW: Int) -> Int {
    if let forcedTile { return forcedTile }
    let (oh, ow) = outputSize(c, inH: inH, inW: inW)
    return min(oh, ow) >= f4MinimumSide ? 4 : 2
  }

  /// Whether a convolution runs as Winograd for an input of `inH × inW`: when it ``applies(_:)``
  /// and both output sides are in ``engineSides`` with at least ``engineMinimumMACs`` on the
  /// engine's path (`engine`), in ``usedSides`` on OpenBLAS's (the 28×28 and 14×14 stages of the
  /// 224×224 ImageNet networks).
  ///
  /// Measured per layer on OpenBLAS's path (Winograd time / im2col time): 28×28 and 14×14 layers
  /// gain (ResNet 0.6–0.95, VGG-16 512 channels 0.7–0.9, DenseNet-121 block 3 0.57, GoogLeNet's 14×14
  /// inceptions mostly 0.7–0.9); 7×7 layers do not (1.0–1.2: 16 tiles make narrow GEMMs and a quarter
  /// of the tiles' outputs is padding); 56×56 and larger mostly lose (VGG-16 1.3–2.4, DenseNet-121
  /// block 1, GoogLeNet's conv3 1.4): there the transforms' memory traffic costs more than the GEMM
  /// saves. The engine's path, with its own transforms and GEMM, gains at every size from 7×7 up.

  static func isUsed(_ c: Conv2D, inH: Int, inW: Int, engine: Bool = false) -> Bool {
    let (oh, ow) = outputSize(c, inH: inH, inW: inW)
    let sides = engine ? engineSides : usedSides
    let macs = c.outChannels * c.inChannels * 9 * oh * ow
    return applies(c) && sides.contains(oh) && sides.contains(ow)
      && (!engine || macs >= engineMinimumMACs)
  }

  /// `[P, Cout, Cin]` with `P = (tile + 2)²` positions, or with `packed` each of the P matrices in
  /// tiles of 32 rows for `zk_gemm_t` (`packedStride` floats apart).
  let u: [Float]
  let packed: Bool
  /// The tier of the engine's kernels that runs ``runPacked``.
  let isa: PlanOptions.ISA
  /// The output tile's side: 2 (F(2×2, 3×3)) or 4 (F(4×4, 3×3), on the engine's path only).
  let tile: Int
  let packedStride: Int
  let inChannels: Int
  let outChannels: Int
  let padding: Pair

  /// F(2×2, 3×3)'s `G` (4×3) and F(4×4, 3×3)'s (6×3, points 0, ±1, ±2 and ∞), row-major.
  static let g2: [Double] = [1, 0, 0, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0, 0, 1]
  static let g4: [Double] = [
    1.0 / 4, 0, 0, -1.0 / 6, -1.0 / 6, -1.0 / 6, -1.0 / 6, 1.0 / 6, -1.0 / 6, 1.0 / 24, 1.0 / 12, 1.0 / 6, 1.0 / 24,
    -1.0 / 12, 1.0 / 6, 0, 0, 1,
  ]

  /// Positions of a transformed tile for output tiles of side `tile`: `(tile + 2)²`.
  static func positions(tile: Int) -> Int { (tile + 2) * (tile + 2) }

  /// Transforms `weight` `[Cout, Cin, 3, 3]`: `U = G g Gᵀ` per (o, c), in double.
  init(_ c: Conv2D, weight: [Float], packed: Bool = false, isa: PlanOptions.ISA = .generic, tile: Int = 2) {
    precondition(tile == 2 || (tile == 4 && packed), "F(4×4, 3×3) runs on the engine's kernels only")
    self.packed = packed
    self.isa = isa
    self.tile = tile
    inChannels = c.inChannels
    outChannels = c.outChannels
    padding = c.padding
    let n = tile + 2
    let np = n * n
    let gm = tile == 4 ? Self.g4 : Self.g2
    let plane = c.outChannels * c.inChannels
    var u = [Float](repeating: 0, count: np * plane)
    var t = [Double](repeating: 0, count: n * 3)
    for oc in 0..<plane {
      // t = G g  (n×3)
      for i in 0..<n {
        for j in 0..<3 {
          var s = 0.0
          for k in 0..<3 { s += gm[3 * i + k] * Double(weight[oc * 9 + 3 * k + j]) }
          t[3 * i + j] = s
        }
      }
      // U = t Gᵀ  (n×n)
      for i in 0..<n {
        for j in 0..<n {
          var s = 0.0
          for k in 0..<3 { s += t[3 * i + k] * gm[3 * j + k] }
          u[(n * i + j) * plane + oc] = Float(s)
        }
      }
    }
    if packed {
      let stride = zk_packed_a_rows_count(Int32(c.outChannels), Int32(c.inChannels), 32)
      var p = [Float](repeating: 0, count: np * stride)
      var tmp = [Float](repeating: 0, count: 32 * c.inChannels)
      p.withUnsafeMutableBufferPointer { pb in
        for xi in 0..<np {
          let dst = pb.baseAddress! + xi * stride
          for i in 0..<plane { dst[i] = u[xi * plane + i] }
          zk_pack_a_rows_in_place(dst, Int32(c.outChannels), Int32(c.inChannels), 32, &tmp)
        }
      }
      self.u = p
      self.packedStride = stride
    } else {
      self.u = u
      self.packedStride = plane
    }
  }

  static func outputSize(_ c: Conv2D, inH: Int, inW: Int) -> (Int, Int) {
    (inH + 2 * c.padding.h - 2, inW + 2 * c.padding.w - 2)
  }

  /// Tile rows per band (`packed`: on the engine's path) for output tiles of side `tile`.
  static func bandTileRows(_ c: Conv2D, inH: Int, inW: Int, packed: Bool, tile: Int = 2) -> Int {
    let (oh, ow) = outputSize(c, inH: inH, inW: inW)
    let tilesH = (oh + tile - 1) / tile
    let tilesW = (ow + tile - 1) / tile
    let np = positions(tile: tile)
    if packed && usesPrivateBands(c, tile: tile) {
      let tiles = privateBandBytes / (4 * np * (c.inChannels + c.outChannels))
      return max(1, min(tilesH, tiles / tilesW))
    }
    let budget = packed ? engineScratchBudget : scratchBudget
    let tiles = max(minimumTiles, budget / (np * (c.inChannels + c.outChannels)))
    return max(1, min(tilesH, tiles / tilesW))
  }

  /// On the engine's path, convolutions whose transformed weights fit this many bytes (they then
  /// stay in a core's 1 MB L2 cache) run in private bands: each thread takes bands of tile rows
  /// through all three steps alone, so a band's V and M stay in its L2 too. Larger ones run each
  /// band on all threads, with a barrier between the steps, so their weights stream once per band.
  ///
  /// For F(4×4) the limit is a quarter higher (640 KB), so that its 64 × 64 and 128 → 32 layers
  /// (590 KB, with a 192 KB band still inside a 1 MB L2) keep private bands as under F(2×2): on AVX2,
  /// DenseNet's 128 → 32 layer at 28×28 took 0.34 ms in private bands against 0.76 ms in shared ones
  /// (F(2×2) 0.49); on AVX-512 at one thread the two were within 5%.
  static let privateWeightBytes = environmentInt("ZOO_WINOGRAD_PRIVATE_U") ?? 512 << 10
  /// Bytes of V and M a private band aims for (at least one tile row).
  static let privateBandBytes = environmentInt("ZOO_WINOGRAD_PRIVATE_BAND", minimum: 1) ?? 192 << 10
  /// Threads that may run private bands at once: each needs a band of scratch.
  static let privateSlots = max(1, min(4, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))))

  static func usesPrivateBands(_ c: Conv2D, tile: Int = 2) -> Bool {
    4 * positions(tile: tile) * zk_packed_a_rows_count(Int32(c.outChannels), Int32(c.inChannels), 32)
      <= (tile == 4 ? privateWeightBytes / 4 * 5 : privateWeightBytes)
  }

  /// Floats of scratch one call needs.
  static func scratchElements(_ c: Conv2D, inH: Int, inW: Int, packed: Bool, tile: Int = 2) -> Int {
    let (_, ow) = outputSize(c, inH: inH, inW: inW)
    let t = bandTileRows(c, inH: inH, inW: inW, packed: packed, tile: tile) * ((ow + tile - 1) / tile)
    let slots = packed && usesPrivateBands(c, tile: tile) ? privateSlots : 1
    return slots * positions(tile: tile) * (c.inChannels + c.outChannels) * t
  }

  /// The engine's path (`packed`): writes `act(conv(input) + bias + residual)` to `output` with
  /// `zk_winograd_f2x3` or `zk_winograd_f4x3` (``tile``), ReLU fused when `relu`, `residual` (laid
  /// out as `output`) optional.
  func runPacked(
    input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int, inH: Int, inW: Int,
    conv: Conv2D, bias: UnsafePointer<Float>?, relu: Bool, residual: UnsafePointer<Float>? = nil,
    scratch: UnsafeMutablePointer<Float>, threads: Int
  ) {
    precondition(packed, "runPacked needs weights packed for the engine")
    let (oh, ow) = Self.outputSize(conv, inH: inH, inW: inW)
    let band = Self.bandTileRows(conv, inH: inH, inW: inW, packed: true, tile: tile)
    let kernel = tile == 4 ? zk_winograd_f4x3_on : zk_winograd_f2x3_on
    u.withUnsafeBufferPointer { ub in
      for n in 0..<batch {
        kernel(
          isa.code, input + n * inChannels * inH * inW, Int32(inChannels), Int32(inH), Int32(inW), Int32(padding.h),
          Int32(padding.w), Int32(outChannels), Int32(oh), Int32(ow), ub.baseAddress!, packedStride, bias,
          relu ? 1 : 0, residual.map { $0 + n * outChannels * oh * ow }, output + n * outChannels * oh * ow, scratch,
          Int32(band),
          Self.usesPrivateBands(conv, tile: tile) ? Int32(Self.privateSlots) : 0, Int32(threads))
      }
    }
  }

  /// Writes the convolution (without bias) of `input` `[batch, Cin, inH, inW]` to `output`.
  func run(
    input: UnsafePointer<Float>, output: UnsafeMutablePointer<Float>, batch: Int, inH: Int, inW: Int,
    conv: Conv2D, scratch: UnsafeMutablePointer<Float>, threads: Int
  ) {
    precondition(tile == 2, "the OpenBLAS path runs F(2×2, 3×3)")
    let (oh, ow) = Self.outputSize(conv, inH: inH, inW: inW)
    let tilesH = (oh + 1) / 2
    let tilesW = (ow + 1) / 2
    let band = Self.bandTileRows(conv, inH: inH, inW: inW, packed: false)
    let cin = inChannels
    let cout = outChannels
    u.withUnsafeBufferPointer { ub in
      for n in 0..<batch {
        let src = input + n * cin * inH * inW
        let dst = output + n * cout * oh * ow
        for ty0 in stride(from: 0, to: tilesH, by: band) {
          let rows = min(band, tilesH - ty0)
          let t = rows * tilesW
          let v = scratch
          let m = scratch + 16 * cin * t
          transformInput(src, h: inH, w: inW, ty0: ty0, rows: rows, tilesW: tilesW, into: v, threads: threads)
          for xi in 0..<16 {
            cblas_sgemm(
              CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(cout), Int32(t), Int32(cin), 1,
              ub.baseAddress! + xi * cout * cin, Int32(cin), v + xi * cin * t, Int32(t), 0, m + xi * cout * t,
              Int32(t))
          }
          transformOutput(m, tiles: t, ty0: ty0, tilesW: tilesW, oh: oh, ow: ow, into: dst, threads: threads)
        }
      }
    }
  }

  /// `V[ξ][c, t] = (Bᵀ d B)[ξ]` for the tiles of tile rows `ty0 ..< ty0 + rows`.
  private func transformInput(
    _ src: UnsafePointer<Float>, h: Int, w: Int, ty0: Int, rows: Int, tilesW: Int,
    into v: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let t = rows * tilesW
    let cin = inChannels
    let stride = cin * t
    let (ph, pw) = (padding.h, padding.w)
    let s = SharedPointer(src)
    let d = SharedPointer(v)
    parallelFor(cin, threads: threads, grain: 4) { range in
      for c in range {
        let plane = UnsafePointer(s.p + c * h * w)
        var out = d.p + c * t
        for ty in ty0..<(ty0 + rows) {
          let iy0 = 2 * ty - ph
          let rowsInside = iy0 >= 0 && iy0 + 4 <= h
          var tx = 0
          // Four tiles at once where their 4×10 input window is inside the plane.
          while rowsInside && tx + 4 <= tilesW && 2 * tx - pw >= 0 && 2 * tx - pw + 10 <= w {
            Self.transformFour(plane + iy0 * w + 2 * tx - pw, w: w, out, stride: stride)
            out += 4
            tx += 4
          }
          while tx < tilesW {
            defer { tx += 1 }
            let ix0 = 2 * tx - pw
            var r0: SIMD4<Float>
            var r1: SIMD4<Float>
            var r2: SIMD4<Float>
            var r3: SIMD4<Float>
            if rowsInside && ix0 >= 0 && ix0 + 4 <= w {
              let p = plane + iy0 * w + ix0
              r0 = SIMD4(p[0], p[1], p[2], p[3])
              r1 = SIMD4(p[w], p[w + 1], p[w + 2], p[w + 3])
              r2 = SIMD4(p[2 * w], p[2 * w + 1], p[2 * w + 2], p[2 * w + 3])
              r3 = SIMD4(p[3 * w], p[3 * w + 1], p[3 * w + 2], p[3 * w + 3])
            } else {
              r0 = Self.load(plane, h: h, w: w, y: iy0, x: ix0)
              r1 = Self.load(plane, h: h, w: w, y: iy0 + 1, x: ix0)
              r2 = Self.load(plane, h: h, w: w, y: iy0 + 2, x: ix0)
              r3 = Self.load(plane, h: h, w: w, y: iy0 + 3, x: ix0)
            }
            // Bᵀ d: combine rows.
            let a0 = r0 - r2
            let a1 = r1 + r2
            let a2 = r2 - r1
            let a3 = r1 - r3
            // (Bᵀ d) B: combine columns of each row.
            Self.store(a0, out, stride: stride, base: 0)
            Self.store(a1, out, stride: stride, base: 4)
            Self.store(a2, out, stride: stride, base: 8)
            Self.store(a3, out, stride: stride, base: 12)
            out += 1
          }
        }
      }
    }
  }

  /// The input transform of four horizontally adjacent tiles whose 4×10 window starts at `p`, one
  /// tile per SIMD lane: column `j` of the four patches is the even or odd half of eight floats.
  @inline(__always)
  private static func transformFour(_ p: UnsafePointer<Float>, w: Int, _ out: UnsafeMutablePointer<Float>, stride: Int)
  {
    func row(_ r: Int) -> (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>) {
      let a = UnsafeRawPointer(p + r * w).loadUnaligned(as: SIMD8<Float>.self)
      let b = UnsafeRawPointer(p + r * w + 2).loadUnaligned(as: SIMD8<Float>.self)
      return (a.evenHalf, a.oddHalf, b.evenHalf, b.oddHalf)
    }
    let d0 = row(0)
    let d1 = row(1)
    let d2 = row(2)
    let d3 = row(3)
    // Bᵀ d, per column j.
    let t0 = (d0.0 - d2.0, d0.1 - d2.1, d0.2 - d2.2, d0.3 - d2.3)
    let t1 = (d1.0 + d2.0, d1.1 + d2.1, d1.2 + d2.2, d1.3 + d2.3)
    let t2 = (d2.0 - d1.0, d2.1 - d1.1, d2.2 - d1.2, d2.3 - d1.3)
    let t3 = (d1.0 - d3.0, d1.1 - d3.1, d1.2 - d3.2, d1.3 - d3.3)
    func put(_ t: (SIMD4<Float>, SIMD4<Float>, SIMD4<Float>, SIMD4<Float>), _ i: Int) {
      let o = out + 4 * i * stride
      UnsafeMutableRawPointer(o).storeBytes(of: t.0 - t.2, as: SIMD4<Float>.self)
      UnsafeMutableRawPointer(o + stride).storeBytes(of: t.1 + t.2, as: SIMD4<Float>.self)
      UnsafeMutableRawPointer(o + 2 * stride).storeBytes(of: t.2 - t.1, as: SIMD4<Float>.self)
      UnsafeMutableRawPointer(o + 3 * stride).storeBytes(of: t.1 - t.3, as: SIMD4<Float>.self)
    }
    put(t0, 0)
    put(t1, 1)
    put(t2, 2)
    put(t3, 3)
  }

  /// Row `y` of the plane, columns `x ..< x + 4`, zero outside.
  @inline(__always)
  private static func load(_ plane: UnsafePointer<Float>, h: Int, w: Int, y: Int, x: Int) -> SIMD4<Float> {
    var r = SIMD4<Float>(repeating: 0)
    if y < 0 || y >= h { return r }
    let line = plane + y * w
    for j in 0..<4 where x + j >= 0 && x + j < w { r[j] = line[x + j] }
    return r
  }

  /// Writes `a B` (one row of the transformed tile) to `V[base ..< base + 4]`.
  @inline(__always)
  private static func store(_ a: SIMD4<Float>, _ out: UnsafeMutablePointer<Float>, stride: Int, base: Int) {
    out[base * stride] = a[0] - a[2]
    out[(base + 1) * stride] = a[1] + a[2]
    out[(base + 2) * stride] = a[2] - a[1]
    out[(base + 3) * stride] = a[1] - a[3]
  }

  /// `Y = Aᵀ M A` for every output channel and tile of the band, clipped to the output.
  private func transformOutput(
    _ m: UnsafeMutablePointer<Float>, tiles t: Int, ty0: Int, tilesW: Int, oh: Int, ow: Int,
    into dst: UnsafeMutablePointer<Float>, threads: Int
  ) {
    let cout = outChannels
    let stride = cout * t
    let s = SharedPointer(m)
    let d = SharedPointer(dst)
    parallelFor(cout, threads: threads, grain: 4) { range in
      for o in range {
        let mp = UnsafePointer(s.p + o * t)
        let plane = d.p + o * oh * ow
        var i = 0
        while i < t {
          let y = 2 * (ty0 + i / tilesW)
          let x = 2 * (i % tilesW)
          // Four tiles of one tile row at once when their 2×8 outputs are all inside.
          if i % tilesW + 4 <= tilesW && x + 8 <= ow && y + 2 <= oh {
            let p = mp + i
            func m(_ xi: Int) -> SIMD4<Float> { UnsafeRawPointer(p + xi * stride).loadUnaligned(as: SIMD4<Float>.self) }
            let s00 = m(0) + m(4) + m(8)
            let s01 = m(1) + m(5) + m(9)
            let s02 = m(2) + m(6) + m(10)
            let s03 = m(3) + m(7) + m(11)
            let s10 = m(4) - m(8) - m(12)
            let s11 = m(5) - m(9) - m(13)
            let s12 = m(6) - m(10) - m(14)
            let s13 = m(7) - m(11) - m(15)
            let y00 = s00 + s01 + s02
            let y01 = s01 - s02 - s03
            let y10 = s10 + s11 + s12
            let y11 = s11 - s12 - s13
            let out = plane + y * ow + x
            UnsafeMutableRawPointer(out).storeBytes(
              of: SIMD8(y00[0], y01[0], y00[1], y01[1], y00[2], y01[2], y00[3], y01[3]), as: SIMD8<Float>.self)
            UnsafeMutableRawPointer(out + ow).storeBytes(
              of: SIMD8(y10[0], y11[0], y10[1], y11[1], y10[2], y11[2], y10[3], y11[3]), as: SIMD8<Float>.self)
            i += 4
            continue
          }
          defer { i += 1 }
          let p = mp + i
          let m0 = SIMD4(p[0], p[stride], p[2 * stride], p[3 * stride])
          let m1 = SIMD4(p[4 * stride], p[5 * stride], p[6 * stride], p[7 * stride])
          let m2 = SIMD4(p[8 * stride], p[9 * stride], p[10 * stride], p[11 * stride])
          let m3 = SIMD4(p[12 * stride], p[13 * stride], p[14 * stride], p[15 * stride])
          // Aᵀ M: combine rows; then · A: combine columns.
          let s0 = m0 + m1 + m2
          let s1 = m1 - m2 - m3
          let out = plane + y * ow + x
          out[0] = s0[0] + s0[1] + s0[2]
          let wide = x + 1 < ow
          if wide { out[1] = s0[1] - s0[2] - s0[3] }
          if y + 1 < oh {
            out[ow] = s1[0] + s1[1] + s1[2]
            if wide { out[ow + 1] = s1[1] - s1[2] - s1[3] }
          }
        }
      }
    }
  }
}
