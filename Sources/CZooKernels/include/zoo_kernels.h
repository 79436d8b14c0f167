// CNN Zoo's own compute kernels: a packed-weight SGEMM for convolutions and single-sample linear
// layers (AVX-512), the input copies and element-wise passes around it, and a small thread pool.
// OpenBLAS stays the path on CPUs without AVX-512, for grouped convolutions and batched linear layers.
#ifndef ZOO_KERNELS_H
#define ZOO_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Rows of A per micro-tile (output channels) and floats of B per micro-tile (output positions).
enum { ZK_MR = 8, ZK_NR = 48 };

/// 1 when this CPU (and the OS) runs AVX-512F code, else 0.
int zk_has_avx512(void);

/// The kernel tiers: the same GEMM, narrow-column GEMM and Winograd (contracts below) for AVX-512
/// (hand-written intrinsics), and from one source in Clang's vector extensions (tier.h) for
/// AVX2 + FMA, NEON (arm64) and the compiler's portable baseline. Every tier reads the same packed
/// weights (tiles of 8 and 32 rows) and runs on the pool.
enum { ZK_ISA_GENERIC = 0, ZK_ISA_AVX2 = 1, ZK_ISA_AVX512 = 2, ZK_ISA_NEON = 3 };

/// The activations the kernels apply in their epilogues (`zk_gemm_args.relu`, `zk_depthwise_on`,
/// `zk_activation_on`), as PyTorch's float32 CPU kernels define them: ReLU `max(x, 0)`, ReLU6
/// `min(max(x, 0), 6)`, sigmoid `1 / (1 + e^−x)`, SiLU `x / (1 + e^−x)`, hard sigmoid
/// `min(max(x + 3, 0), 6) / 6`, hard swish `x · min(max(x + 3, 0), 6) / 6`. e^x is a vectorised
/// polynomial within about 1 ulp of libm's `expf` (act.h).
enum {
  ZK_ACT_NONE = 0,
  ZK_ACT_RELU = 1,
  ZK_ACT_RELU6 = 2,
  ZK_ACT_SIGMOID = 3,
  ZK_ACT_SILU = 4,
  ZK_ACT_HARDSIGMOID = 5,
  ZK_ACT_HARDSWISH = 6,
};

/// 1 when this build and CPU run tier `isa`, else 0.
int zk_isa_supported(int isa);

/// Floats `zk_pack_a_rows_in_place` leaves for an `m × k` matrix: `ceil(m / rows) · k · rows`.
size_t zk_packed_a_rows_count(int m, int k, int rows);

/// Packs the row-major `[m, k]` matrix `a` in place into tiles of `rows` rows (8 for `zk_gemm`, 32
/// for `zk_gemm_t`): tile `t`, column `kk`, row `r` goes to `a[(t · k + kk) · rows + r]`; rows past
/// `m` are zero. `a` has room for `zk_packed_a_rows_count(m, k, rows)` floats and `tmp` for
/// `rows · k`: tile `t` occupies the floats its rows did, so each tile is copied out and packed back
/// over itself.
void zk_pack_a_rows_in_place(float *a, int m, int k, int rows, float *tmp);

/// `C = act(A · B + bias)` with A packed in tiles of 8 rows.
///
/// B is addressed through a per-row offset table: `B[kk, p] = b[boff[kk] + p]` for `p < n`. A plain
/// row-major B has `boff[kk] = kk · ldb`; a convolution over the padded, phase-split copy of its
/// input (`zk_phase_pad`) of width `grid_w` is the same GEMM with one offset per tap ("implicit
/// im2col"): position `p = y · grid_w + x` of the grid is output `(y, x)` when `x < out_w`.
///
/// Plain mode (`grid_w == 0`): `C[m, p]` is `c[m · ldc + p]`. Grid mode: only positions with
/// `x < out_w` are stored, to `c[m · ldc + y · out_w + x]`; B must then be readable (the values are
/// dropped) for as many floats past `boff[k − 1] + n` as the widest tap reaches.
typedef struct {
  int m, n, k;
  const float *a_packed;
  const float *b;
  const long *boff;
  /// `m` values, or NULL.
  const float *bias;
  /// The activation after the bias (and the residual), a `ZK_ACT_*` code: 0 none, 1 ReLU (hence
  /// the name), or any other. (Winograd's `relu` stays 0 or 1.)
  int relu;
  float *c;
  long ldc;
  int grid_w, out_w;
  /// NULL, or (plain mode only) a tensor laid out as C, `residual[m · ldc + p]`, added after the
  /// bias and before the ReLU: ResNet's `relu(bn3(conv3(x)) + identity)` in one pass.
  const float *residual;
} zk_gemm_args;

/// Runs the GEMM on `threads` threads of the pool (1 = the calling thread only). Requires AVX-512.
void zk_gemm(const zk_gemm_args *args, int threads);

/// Unfolds output rows `y0 ..< y0 + rows` (of width `ow`) of a convolution over `channels` planes of
/// `h × w` into `dst` `[channels · kh · kw, rows · ow]`: row `(c, i, j)`, column `(y − y0, x)` holds
/// `src[c, y·sh − ph + i·dh, x·sw − pw + j·dw]`, zero outside the image. Any stride; stride 2 is
/// vectorized with AVX-512 when present.
void zk_im2col(const float *src, int channels, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int dh,
               int dw, int y0, int rows, int ow, float *dst, int threads);

/// The same product as `zk_gemm` for GEMMs with few columns (n ≲ 64): vectors along the rows of C
/// (32 per tile), a broadcast per column, so no lane idles at n = 49. A packed with 32-row tiles;
/// plain mode only (`grid_w` must be 0).
void zk_gemm_t(const zk_gemm_args *args, int threads);

/// Max pooling with dilation 1 of `planes` planes of `h × w` into `oh × ow` (sizes computed by the
/// caller, ceil mode included): output `(y, x)` is the maximum over the window rows
/// `y·sh − ph ..< +kh` and columns `x·sw − pw ..< +kw` clipped to the image (each window must hold
/// at least one input element, as PyTorch's rules guarantee).
void zk_maxpool(const float *src, int planes, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int oh,
                int ow, float *dst, int threads);

/// The input of a convolution with any stride, padded and split by phase so that every tap of the
/// kernel is a shifted contiguous read (the GEMM's grid mode): plane `(c, a, b)` of `hq × wq` holds
/// `src[c, sh·(u + dmin_h) + row_phases[a], sw·(v + dmin_w) + col_phases[b]]` at `(u, v)`, zero
/// outside the image. For stride 1 it is the zero-padded input. `slack` zeros follow the last plane.
void zk_phase_pad(const float *src, int channels, int h, int w, int sh, int sw, const int *row_phases, int nph,
                  const int *col_phases, int npw, int dmin_h, int dmin_w, int hq, int wq, int slack, float *dst,
                  int threads);

/// Average pooling without padding whose windows all lie inside the image (`(oh − 1)·sh + kh ≤ h`,
/// likewise for columns): each output is the mean of its `kh · kw` inputs.
void zk_avgpool_inside(const float *src, int planes, int h, int w, int kh, int kw, int sh, int sw, int oh, int ow,
                       float *dst, int threads);

/// Depthwise convolution, NCHW, on tier `isa` (which must be supported): plane `(n, c)` of `h × wd`
/// is convolved with the `kh × kw` filter `w[c]` (PyTorch's `[C, 1, kh, kw]`) into plane `(n, c)` of
/// `oh × ow`, with strides, zero padding and dilations per axis as in `nn.Conv2d`; then `bias[c]`
/// (NULL: none), then the activation `act` (a `ZK_ACT_*` code). Output size per axis:
/// `floor((n + 2·p − d·(k − 1) − 1) / s) + 1`. Square 3×3, 5×5 and 7×7 filters with dilation 1 and
/// column stride 1 or 2 (MobileNet's, EfficientNet's, MNASNet's) run on a fast path, any other shape
/// on a per-tap loop.
void zk_depthwise_on(int isa, const float *x, const float *w, const float *bias, float *y, int batch, int channels,
                     int h, int wd, int oh, int ow, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw,
                     int act, int threads);

/// `dst[i] = act(src[i] + add)` for `i < count` on tier `isa` (which must be supported), on the
/// calling thread; `act` a `ZK_ACT_*` code. `dst` may be `src`.
void zk_activation_on(int isa, int act, const float *src, float *dst, long count, float add);

/// `y[i] = e^x[i]` for `i < count` by the vectorised polynomial of tier `isa` the activations use
/// (for tests of its accuracy).
void zk_exp_on(int isa, const float *x, float *y, long count);

/// `out = a + b` over `count` floats, then `max(·, 0)` when `relu` (ResNet's `relu(out + identity)`).
/// `out` may be `a` or `b`.
void zk_add(const float *a, const float *b, float *out, long count, int relu, int threads);

/// Batch norm at inference: plane `q` (channel `q mod channels`) of `spatial` floats becomes
/// `x · scale[c] + shift[c]`, then `max(·, 0)` when `relu`. `dst` may be `src`.
void zk_channel_affine(const float *src, float *dst, const float *scale, const float *shift, int channels,
                       long planes, long spatial, int relu, int threads);

/// Winograd F(2×2, 3×3) of `src` (`cin × h × w`) into `dst` (`cout × oh × ow`, `oh = h + 2·ph − 2`,
/// likewise `ow`): a 3×3 convolution with stride 1 and dilation 1, plus `bias` (`cout` values or
/// NULL), plus `residual` when not NULL (laid out as `dst`), and ReLU when `relu`. `u_packed` holds
/// the 16 transformed weight matrices `U[ξ]` (`[cout, cin]`, see Winograd.swift), each packed for `zk_gemm_t` (`zk_pack_a_rows_in_place`
/// with 32 rows), `u_stride` floats apart. The tiles run in bands of `band_rows` tile rows, each
/// band needing `16 · (cin + cout) · band_rows · ceil(ow / 2)` floats of `scratch`:
/// - `private_slots == 0`: the bands in turn, all threads on each of the three steps (scratch: one
///   band);
/// - `private_slots > 0`: each thread takes whole bands through the three steps alone, in one of
///   `private_slots` slots of the scratch (scratch: that many bands; at most that many threads).
/// Requires AVX-512.
void zk_winograd_f2x3(const float *src, int cin, int h, int w, int ph, int pw, int cout, int oh, int ow,
                      const float *u_packed, long u_stride, const float *bias, int relu, const float *residual,
                      float *dst, float *scratch, int band_rows, int private_slots, int threads);

/// Winograd F(4×4, 3×3): the contract of `zk_winograd_f2x3` with tiles of 4×4 outputs, 36
/// transformed weight matrices `U[ξ]` (`U = G g Gᵀ` with F(4×4)'s 6×3 `G`, see Winograd.swift) and
/// `36 · (cin + cout) · band_rows · ceil(ow / 4)` floats of scratch per band. Requires AVX-512.
void zk_winograd_f4x3(const float *src, int cin, int h, int w, int ph, int pw, int cout, int oh, int ow,
                      const float *u_packed, long u_stride, const float *bias, int relu, const float *residual,
                      float *dst, float *scratch, int band_rows, int private_slots, int threads);

/// `zk_parallel_chunks(count, count, fn, ctx)`: `fn(ctx, index, count)` for `index` in `0 ..< count`
/// on up to `count` threads, returning when all are done. The workers spin briefly between calls, then sleep.
void zk_parallel(int count, void (*fn)(void *ctx, int index, int count), void *ctx);

/// Calls `fn(ctx, chunk, chunks)` for `chunk` in `0 ..< chunks` on up to `threads` threads (the caller
/// among them), each thread taking the next chunk from a shared counter until none is left, and
/// returns when all are done: a thread slowed by the rest of the machine takes fewer chunks instead
/// of holding the others up. `fn` must not depend on which thread runs a chunk.
///
/// Safe from any thread and re-entrant. The pool runs one job at a time; a call made while it is busy
/// — from inside `fn` (on the caller or on a worker), or from another thread — runs all its chunks on
/// the calling thread, in order, and never waits for the pool. Two networks run from two threads
/// therefore both make progress, one of them on its own thread only while the other holds the pool.
void zk_parallel_chunks(int threads, int chunks, void (*fn)(void *ctx, int index, int count), void *ctx);

/// `zk_gemm`, `zk_gemm_t`, `zk_winograd_f2x3` and `zk_winograd_f4x3` on tier `isa` (which must be
/// supported).
void zk_gemm_on(int isa, const zk_gemm_args *args, int threads);
void zk_gemm_t_on(int isa, const zk_gemm_args *args, int threads);
void zk_winograd_f2x3_on(int isa, const float *src, int cin, int h, int w, int ph, int pw, int cout, int oh, int ow,
                         const float *u_packed, long u_stride, const float *bias, int relu, const float *residual,
                         float *dst, float *scratch, int band_rows, int private_slots, int threads);
void zk_winograd_f4x3_on(int isa, const float *src, int cin, int h, int w, int ph, int pw, int cout, int oh, int ow,
                         const float *u_packed, long u_stride, const float *bias, int relu, const float *residual,
                         float *dst, float *scratch, int band_rows, int private_slots, int threads);

/// Runs tier `isa`'s register-only multiply-add loop (`iterations` steps of 12 or 16 independent vector
/// multiply-adds, no memory traffic) once on each of `threads` threads and returns the floating-point
/// operations done (2 per lane per multiply-add); the caller times it. `seed` should be a value the
/// compiler cannot see, such as 1. `isa` must be supported.
double zk_fma_peak_run(int isa, int threads, long iterations, float seed);

#ifdef __cplusplus
}
#endif

#endif
