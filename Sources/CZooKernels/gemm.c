// Packed-weight SGEMM for convolutions, AVX-512.
//
// A (the weights) is packed once at load time into tiles of 8 rows (`zk_pack_a_rows_in_place`). B is
// read in place through a row-offset table, which makes a convolution over the padded, phase-split
// copy of its input an "implicit im2col" GEMM (see zoo_kernels.h). The micro-tile is 8 rows × 48 columns: 24 zmm
// accumulators, three vector loads of B and eight broadcasts of A per step of k, and the whole k
// loop runs in registers, so the epilogue (bias, ReLU, the store through the padded grid) happens once
// per tile. Edge tiles (fewer rows, fewer columns) are the same code with smaller constants; the last
// vector of a row is loaded and stored under a mask.
#include "zoo_kernels.h"
#include "split.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

size_t zk_packed_a_rows_count(int m, int k, int rows) {
  return (size_t)((m + rows - 1) / rows) * (size_t)k * (size_t)rows;
}

static void pack_rows(const float *a, int m, int k, long lda, int rows, float *dst) {
  int tiles = (m + rows - 1) / rows;
  for (int t = 0; t < tiles; t++) {
    float *out = dst + (size_t)t * (size_t)k * (size_t)rows;
    for (int kk = 0; kk < k; kk++) {
      for (int r = 0; r < rows; r++) {
        int row = t * rows + r;
        out[(size_t)kk * (size_t)rows + (size_t)r] = row < m ? a[(size_t)row * (size_t)lda + (size_t)kk] : 0.0f;
      }
    }
  }
}

void zk_pack_a_rows_in_place(float *a, int m, int k, int rows, float *tmp) {
  int tiles = (m + rows - 1) / rows;
  for (int t = 0; t < tiles; t++) {
    int n = m - t * rows < rows ? m - t * rows : rows;
    float *tile = a + (size_t)t * (size_t)k * (size_t)rows;
    memcpy(tmp, tile, sizeof(float) * (size_t)n * (size_t)k);
    pack_rows(tmp, n, k, k, rows, tile);
  }
}

static int kc_limit;
static pthread_once_t kc_limit_once = PTHREAD_ONCE_INIT;

static void read_kc_limit(void) {
  const char *text = getenv("ZOO_GEMM_KC");
  int v = text ? atoi(text) : 0;
  kc_limit = v > 0 ? v : 1024;
}

// The most steps of k per block: a block of B (k × 48 floats) stays near the core while the tiles
// of A pass over it. `ZOO_GEMM_KC` overrides (for measuring); it is read once, on the first call
// from any thread. Every tier's GEMMs use it, so it is built on every architecture.
static int block_limit(void) {
  pthread_once(&kc_limit_once, read_kc_limit);
  return kc_limit;
}

int zk_k_block(int k) {
  const int blocks = (k + block_limit() - 1) / block_limit();
  return (k + blocks - 1) / blocks;
}

#if defined(__x86_64__)
#include <immintrin.h>

#define ZK_AVX512 __attribute__((target("avx512f,avx2,fma")))

#define ZKA_W 16
#define ZKA_SUFFIX avx512
#define ZKA_TARGET ZK_AVX512
#define ZKA_FUSED 1
#include "act.h"

static int has_avx512;
static pthread_once_t has_avx512_once = PTHREAD_ONCE_INIT;

static void detect_avx512(void) {
  __builtin_cpu_init();
  has_avx512 = __builtin_cpu_supports("avx512f") ? 1 : 0;
}

// Detected once, whichever threads ask first (pthread_once orders the write before every read).
int zk_has_avx512(void) {
  pthread_once(&has_avx512_once, detect_avx512);
  return has_avx512;
}

typedef struct {
  const float *a;     // the packed tile: k × 8
  const float *b;     // B shifted to the tile's first column
  const long *boff;
  int k;
  __mmask16 last;     // lanes of the last vector that are columns of C
  const float *bias;  // the tile's first row's bias, or NULL
  const float *residual;  // laid out as C, or NULL (plain mode)
  int relu;
  // Where the tile goes.
  float *c;
  long ldc;
  int m0, n0, ncols, grid_w, out_w;
  // k is split into blocks (see `zk_gemm`): the first starts from zero, later ones add to what C
  // holds, the final one applies the bias and ReLU.
  int first, final;
} tile_job;

// Copies the tile's part of C to `tmp` (`to_c` 0) or back (`to_c` 1). In grid mode, positions
// n0 ..< n0 + ncols of the padded grid, of which those with x < out_w are outputs; the others are
// left alone in `tmp` (computed and dropped).
static inline __attribute__((always_inline)) void tile_copy(const int MR, const tile_job *j, float tmp[][ZK_NR],
                                                             int to_c) {
  if (j->grid_w == 0) {
    for (int r = 0; r < MR; r++) {
      float *row = j->c + (long)(j->m0 + r) * j->ldc + j->n0;
      if (to_c)
        memcpy(row, tmp[r], sizeof(float) * (size_t)j->ncols);
      else
        memcpy(tmp[r], row, sizeof(float) * (size_t)j->ncols);
    }
    return;
  }
  const int gw = j->grid_w, ow = j->out_w;
  int p = j->n0;
  const int end = j->n0 + j->ncols;
  while (p < end) {
    int y = p / gw;
    int x = p - y * gw;
    int seg_end = (y + 1) * gw < end ? (y + 1) * gw : end;
    int x_end = seg_end - y * gw < ow ? seg_end - y * gw : ow;
    if (x < x_end) {
      size_t bytes = (size_t)(x_end - x) * sizeof(float);
      for (int r = 0; r < MR; r++) {
        float *out = j->c + (long)(j->m0 + r) * j->ldc + (long)y * ow + x;
        if (to_c)
          memcpy(out, &tmp[r][p - j->n0], bytes);
        else
          memcpy(&tmp[r][p - j->n0], out, bytes);
      }
    }
    p = seg_end;
  }
}

// Where vector `v` of a grid-mode tile goes in C, for grids at least 16 wide (narrower ones go
// through `tile_copy`): grid positions p0 ..< p0 + 16 (p0 = n0 + 16·v) span at most two grid rows; lanes of row y0 with x < out_w go to
// `c + y0·out_w + x0 + lane` (`off[0]`, mask `mask[0]`), lanes of row y0 + 1 to
// `c + (y0 + 1)·out_w + lane − (gw − x0)` (`off[1]`, `mask[1]`). Lanes past the tile's columns and
// the dropped grid columns (x ≥ out_w) are in neither mask.
typedef struct {
  long off[2];
  __mmask16 mask[2];
} grid_vec;

static inline __attribute__((always_inline)) grid_vec grid_place(const tile_job *j, int v, __mmask16 cols) {
  const int gw = j->grid_w, ow = j->out_w;
  const int p0 = j->n0 + 16 * v;
  const int y0 = p0 / gw, x0 = p0 - y0 * gw;
  grid_vec g;
  // Row y0: lanes 0 ..< min(16, ow − x0).
  int n0 = ow - x0 < 16 ? ow - x0 : 16;
  g.mask[0] = n0 <= 0 ? 0 : (__mmask16)(n0 >= 16 ? 0xFFFF : (1u << n0) - 1);
  g.off[0] = (long)y0 * ow + x0;
  // Row y0 + 1: lanes L = gw − x0 ..< min(16, L + ow).
  int lo = gw - x0;
  int hi = lo + ow < 16 ? lo + ow : 16;
  g.mask[1] = lo >= 16 ? 0 : (__mmask16)(((hi >= 16 ? 0xFFFFu : (1u << hi) - 1)) & ~((1u << lo) - 1));
  g.off[1] = (long)(y0 + 1) * ow - lo;
  g.mask[0] &= cols;
  g.mask[1] &= cols;
  return g;
}

// Accumulator `acc_r_v` is rows r, vector v of the tile; `MR` and `NV` are constants after
// inlining, so the unused ones vanish and the rest live in registers.
#define ZK_FOR_ACC(X) \
  X(0, 0) X(0, 1) X(0, 2) X(1, 0) X(1, 1) X(1, 2) X(2, 0) X(2, 1) X(2, 2) X(3, 0) X(3, 1) X(3, 2) \
  X(4, 0) X(4, 1) X(4, 2) X(5, 0) X(5, 1) X(5, 2) X(6, 0) X(6, 1) X(6, 2) X(7, 0) X(7, 1) X(7, 2)
#define ZK_DECLARE(r, v) __m512 acc_##r##_##v = _mm512_setzero_ps();
#define ZK_FMA(r, v) \
  if (MR > r && NV > v) acc_##r##_##v = _mm512_fmadd_ps(_mm512_set1_ps(ap[r]), bv##v, acc_##r##_##v);
#define ZK_SPILL(r, v) \
  if (MR > r && NV > v) acc[r][v] = acc_##r##_##v;
#define ZK_RESUME_C(r, v) \
  if (MR > r && NV > v) \
    acc_##r##_##v = _mm512_maskz_loadu_ps(v == NV - 1 ? j->last : 0xFFFF, \
                                          j->c + (long)(j->m0 + r) * j->ldc + j->n0 + 16 * v);
#define ZK_RESUME(r, v) \
  if (MR > r && NV > v) acc_##r##_##v = _mm512_loadu_ps(&tmp[r][16 * v]);
#define ZK_RESUME_GRID(r, v) \
  if (MR > r && NV > v) { \
    float *row = j->c + (long)(j->m0 + r) * j->ldc; \
    acc_##r##_##v = _mm512_maskz_loadu_ps(gv[v].mask[0], row + gv[v].off[0]); \
    acc_##r##_##v = _mm512_mask_loadu_ps(acc_##r##_##v, gv[v].mask[1], row + gv[v].off[1]); \
  }

static inline __attribute__((always_inline)) ZK_AVX512 void tile_body(const int MR, const int NV, const tile_job *j) {
  ZK_FOR_ACC(ZK_DECLARE)
  // Grid mode stores each vector straight to its (at most two) output rows when the grid is at
  // least 16 wide, else through `tmp` (the 7×7 stages' 9-wide grids).
  const int direct = j->grid_w >= 16;
  float tmp[ZK_MR][ZK_NR];
  grid_vec gv[3];
  if (direct)
    for (int v = 0; v < NV; v++) gv[v] = grid_place(j, v, v == NV - 1 ? j->last : 0xFFFF);
  if (!j->first) {
    if (j->grid_w == 0) {
      ZK_FOR_ACC(ZK_RESUME_C)
    } else if (direct) {
      ZK_FOR_ACC(ZK_RESUME_GRID)
    } else {
      tile_copy(MR, j, tmp, 0);
      ZK_FOR_ACC(ZK_RESUME)
    }
  }
  const float *ap = j->a;
  const float *b = j->b;
  const long *boff = j->boff;
  const __mmask16 last = j->last;
  for (int kk = 0; kk < j->k; kk++) {
    // The packed weights stream from memory once per pass (a network's weights outgrow the caches):
    // fetched 128 steps (4 KB) ahead, the cold convolutions run 5–12% faster.
    if (kk + 128 < j->k) _mm_prefetch((const char *)(ap + ZK_MR * 128), _MM_HINT_T0);
    const float *bp = b + boff[kk];
    __m512 bv0 = NV == 1 ? _mm512_maskz_loadu_ps(last, bp) : _mm512_loadu_ps(bp);
    __m512 bv1 = NV < 2 ? bv0 : NV == 2 ? _mm512_maskz_loadu_ps(last, bp + 16) : _mm512_loadu_ps(bp + 16);
    __m512 bv2 = NV < 3 ? bv0 : _mm512_maskz_loadu_ps(last, bp + 32);
    ZK_FOR_ACC(ZK_FMA)
    ap += ZK_MR;
  }
  // The epilogue works on an array; it runs once per tile.
  __m512 acc[ZK_MR][3];
  ZK_FOR_ACC(ZK_SPILL)
  const __m512 zero = _mm512_setzero_ps();
  if (j->final) {
    for (int r = 0; r < MR; r++) {
      if (j->bias) {
        __m512 bias = _mm512_set1_ps(j->bias[r]);
        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_add_ps(acc[r][v], bias);
      }
      if (j->residual) {
        const float *res = j->residual + (long)(j->m0 + r) * j->ldc + j->n0;
        for (int v = 0; v < NV; v++)
          acc[r][v] = _mm512_add_ps(acc[r][v], _mm512_maskz_loadu_ps(v == NV - 1 ? last : 0xFFFF, res + 16 * v));
      }
      if (j->relu == ZK_ACT_RELU)
        for (int v = 0; v < NV; v++) acc[r][v] = _mm512_max_ps(acc[r][v], zero);
      else if (j->relu)
        for (int v = 0; v < NV; v++) acc[r][v] = (__m512)zka_apply_avx512((zka_vf_avx512)acc[r][v], j->relu);
    }
  }
  if (j->grid_w == 0) {
    for (int r = 0; r < MR; r++) {
      float *row = j->c + (long)(j->m0 + r) * j->ldc + j->n0;
      for (int v = 0; v < NV; v++) {
        if (v == NV - 1)
          _mm512_mask_storeu_ps(row + 16 * v, last, acc[r][v]);
        else
          _mm512_storeu_ps(row + 16 * v, acc[r][v]);
      }
    }
    return;
  }
  if (!direct) {
    for (int r = 0; r < MR; r++)
      for (int v = 0; v < NV; v++) _mm512_storeu_ps(&tmp[r][16 * v], acc[r][v]);
    tile_copy(MR, j, tmp, 1);
    return;
  }
  for (int r = 0; r < MR; r++) {
    float *row = j->c + (long)(j->m0 + r) * j->ldc;
    for (int v = 0; v < NV; v++) {
      _mm512_mask_storeu_ps(row + gv[v].off[0], gv[v].mask[0], acc[r][v]);
      if (gv[v].mask[1]) _mm512_mask_storeu_ps(row + gv[v].off[1], gv[v].mask[1], acc[r][v]);
    }
  }
}

#define ZK_TILE(MR, NV) \
  static ZK_AVX512 void tile_##MR##_##NV(const tile_job *j) { tile_body(MR, NV, j); }
#define ZK_TILES(MR) ZK_TILE(MR, 1) ZK_TILE(MR, 2) ZK_TILE(MR, 3)
ZK_TILES(1)
ZK_TILES(2)
ZK_TILES(3)
ZK_TILES(4)
ZK_TILES(5)
ZK_TILES(6)
ZK_TILES(7)
ZK_TILES(8)

typedef void (*tile_fn)(const tile_job *);
#define ZK_ROW(MR) {tile_##MR##_1, tile_##MR##_2, tile_##MR##_3}
static const tile_fn tiles[ZK_MR][3] = {ZK_ROW(1), ZK_ROW(2), ZK_ROW(3), ZK_ROW(4),
                                         ZK_ROW(5), ZK_ROW(6), ZK_ROW(7), ZK_ROW(8)};

typedef struct {
  const zk_gemm_args *g;
  int mtiles, panels;
  int m_major;
} gemm_ctx;

static void gemm_part(void *p, int index, int count) {
  const gemm_ctx *ctx = p;
  const zk_gemm_args *g = ctx->g;
  long items = (long)ctx->mtiles * ctx->panels;
  long begin = items * index / count, end = items * (index + 1) / count;
  tile_job j;
  j.relu = g->relu;
  j.residual = g->grid_w == 0 ? g->residual : NULL;
  j.c = g->c;
  j.ldc = g->ldc;
  j.grid_w = g->grid_w;
  j.out_w = g->out_w;
  const int kc = zk_k_block(g->k);
  for (int k0 = 0; k0 < g->k; k0 += kc) {
    j.k = g->k - k0 < kc ? g->k - k0 : kc;
    j.boff = g->boff + k0;
    j.first = k0 == 0;
    j.final = k0 + j.k == g->k;
    for (long it = begin; it < end; it++) {
      int t, q;
      if (ctx->m_major) {
        t = (int)(it / ctx->panels);
        q = (int)(it % ctx->panels);
      } else {
        q = (int)(it / ctx->mtiles);
        t = (int)(it % ctx->mtiles);
      }
      int m0 = t * ZK_MR;
      int mr = g->m - m0 < ZK_MR ? g->m - m0 : ZK_MR;
      int n0 = q * ZK_NR;
      int ncols = g->n - n0 < ZK_NR ? g->n - n0 : ZK_NR;
      int nv = (ncols + 15) / 16;
      int tail = ncols - 16 * (nv - 1);
      j.a = g->a_packed + (size_t)t * (size_t)g->k * ZK_MR + (size_t)k0 * ZK_MR;
      j.b = g->b + n0;
      j.last = (__mmask16)(tail == 16 ? 0xFFFF : (1u << tail) - 1);
      j.bias = g->bias ? g->bias + m0 : NULL;
      j.m0 = m0;
      j.n0 = n0;
      j.ncols = ncols;
      tiles[mr - 1][nv - 1](&j);
    }
  }
}

void zk_gemm(const zk_gemm_args *g, int threads) {
  if (g->m <= 0 || g->n <= 0) return;
  gemm_ctx ctx;
  ctx.g = g;
  ctx.mtiles = (g->m + ZK_MR - 1) / ZK_MR;
  ctx.panels = (g->n + ZK_NR - 1) / ZK_NR;
  // Few panels (the 7×7 stages): split the rows, so each thread streams half the weights.
  ctx.m_major = ctx.panels <= 3;
  long items = (long)ctx.mtiles * ctx.panels;
  int used = zk_split(threads, items, items, 0);
  zk_parallel_chunks(used, zk_chunks(used, items), gemm_part, &ctx);
}

#else  // not x86-64: no AVX-512; the engine uses the BLAS path and never calls zk_gemm.

int zk_has_avx512(void) { return 0; }

void zk_gemm(const zk_gemm_args *g, int threads) {
  (void)g, (void)threads;
  abort();  // a programmer error: callers check zk_has_avx512()
}

#endif
