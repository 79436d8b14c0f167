// The transposed micro-kernel, for GEMMs with few columns (the 7×7 stages: 49 output positions).
//
// The vectors run along the rows of C (32 output channels, two zmm) and each column is a broadcast
// of one B value, so no lane is wasted when n is 49. A is packed in tiles of 32 rows
// (`zk_pack_a_rows(…, 32)`), B is plain (`B[kk, p] = b[boff[kk] + p]`). A tile is 32 rows × up to 12
// columns (24 accumulators); the epilogue adds the bias and applies ReLU on the channel vectors,
// then writes the tile transposed through a small buffer.
#include "zoo_kernels.h"
#include "split.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define ZK_AVX512 __attribute__((target("avx512f,avx2,fma")))

#define ZKA_W 16
#define ZKA_SUFFIX avx512
#define ZKA_TARGET ZK_AVX512
#define ZKA_FUSED 1
#include "act.h"

enum { ZK_TMR = 32, ZK_TNP = 12 };

typedef struct {
  const float *a;  // the packed tile: k × 32
  const float *b;  // B shifted to the tile's first column
  const long *boff;
  int k;
  const float *bias;  // the tile's first row's bias, or NULL
  const float *residual;  // shifted as C, or NULL
  int relu;
  float *c;  // C shifted to the tile's first row and column
  long ldc;
  int rows, cols;  // of C in this tile
  // k runs in blocks: the raw sums of a tile wait in `partial` (cols × 32 floats) between them.
  float *partial;
  int first, final;
} ttile_job;


#define ZK_T_FOR_ACC(X)                                                                                           \
  X(0) X(1) X(2) X(3) X(4) X(5) X(6) X(7) X(8) X(9) X(10) X(11)
#define ZK_T_DECLARE(p) __m512 lo##p = _mm512_setzero_ps(), hi##p = _mm512_setzero_ps();
#define ZK_T_FMA(p)                                                                                               \
  if (NP > p) {                                                                                                   \
    __m512 bb = _mm512_set1_ps(bp[p]);                                                                            \
    lo##p = _mm512_fmadd_ps(a0, bb, lo##p);                                                                       \
    if (MV > 1) hi##p = _mm512_fmadd_ps(a1, bb, hi##p);                                                           \
  }
#define ZK_T_RESUME(p)                                                                                            \
  if (NP > p) {                                                                                                   \
    lo##p = _mm512_loadu_ps(j->partial + p * ZK_TMR);                                                             \
    if (MV > 1) hi##p = _mm512_loadu_ps(j->partial + p * ZK_TMR + 16);                                            \
  }
#define ZK_T_SAVE(p)                                                                                              \
  if (NP > p) {                                                                                                   \
    _mm512_storeu_ps(j->partial + p * ZK_TMR, lo##p);                                                             \
    if (MV > 1) _mm512_storeu_ps(j->partial + p * ZK_TMR + 16, hi##p);                                            \
  }
#define ZK_T_SPILL(p)                                                                                             \
  if (NP > p) {                                                                                                   \
    _mm512_storeu_ps(&tmp[p][0], act(_mm512_add_ps(lo##p, bias0), relu));                                       \
    if (MV > 1) _mm512_storeu_ps(&tmp[p][16], act(_mm512_add_ps(hi##p, bias1), relu));                          \
  }

static inline __attribute__((always_inline)) ZK_AVX512 __m512 act(__m512 v, int code) {
  if (code == ZK_ACT_NONE) return v;
  if (code == ZK_ACT_RELU) return _mm512_max_ps(v, _mm512_setzero_ps());
  return (__m512)zka_apply_avx512((zka_vf_avx512)v, code);
}

static inline __attribute__((always_inline)) ZK_AVX512 void ttile_body(const int MV, const int NP,
                                                                       const ttile_job *j) {
  ZK_T_FOR_ACC(ZK_T_DECLARE)
  if (!j->first) {
    ZK_T_FOR_ACC(ZK_T_RESUME)
  }
  const float *ap = j->a;
  const float *b = j->b;
  const long *boff = j->boff;
  for (int kk = 0; kk < j->k; kk++) {
    const float *bp = b + boff[kk];
    // The weights stream from memory (see gemm.c), 96 steps (12 KB) ahead: a 7×7 layer's cold
    // 512 × 2048 GEMM went from 296 to 426 GFLOP/s.
    if (kk + 96 < j->k) {
      _mm_prefetch((const char *)(ap + ZK_TMR * 96), _MM_HINT_T0);
      _mm_prefetch((const char *)(ap + ZK_TMR * 96 + 16), _MM_HINT_T0);
    }
    __m512 a0 = _mm512_loadu_ps(ap);
    __m512 a1 = MV > 1 ? _mm512_loadu_ps(ap + 16) : a0;
    ZK_T_FOR_ACC(ZK_T_FMA)
    ap += ZK_TMR;
  }
  if (!j->final) {
    ZK_T_FOR_ACC(ZK_T_SAVE)
    return;
  }
  // Epilogue: bias and ReLU per channel (a lane), then C[r, p] = tmp[p][r].
  __m512 bias0 = _mm512_setzero_ps(), bias1 = _mm512_setzero_ps();
  if (j->bias) {
    __mmask16 m0 = j->rows >= 16 ? 0xFFFF : (__mmask16)((1u << j->rows) - 1);
    bias0 = _mm512_maskz_loadu_ps(m0, j->bias);
    if (MV > 1) {
      __mmask16 m1 = j->rows >= 32 ? 0xFFFF : (__mmask16)((1u << (j->rows - 16)) - 1);
      bias1 = _mm512_maskz_loadu_ps(m1, j->bias + 16);
    }
  }
  // With a residual the ReLU waits for it: act(acc + bias + residual).
  const int relu = j->residual ? 0 : j->relu;
  float tmp[ZK_TNP][ZK_TMR];
  ZK_T_FOR_ACC(ZK_T_SPILL)
  if (j->residual) {
    for (int r = 0; r < j->rows; r++) {
      const float *res = j->residual + (long)r * j->ldc;
      for (int p = 0; p < NP; p++) tmp[p][r] += res[p];
    }
    if (j->relu)
      for (int p = 0; p < NP; p++) {
        _mm512_storeu_ps(&tmp[p][0], act(_mm512_loadu_ps(&tmp[p][0]), j->relu));
        if (MV > 1) _mm512_storeu_ps(&tmp[p][16], act(_mm512_loadu_ps(&tmp[p][16]), j->relu));
      }
  }
  for (int r = 0; r < j->rows; r++) {
    float *row = j->c + (long)r * j->ldc;
    for (int p = 0; p < NP; p++) row[p] = tmp[p][r];
  }
}

#define ZK_TTILE(MV, NP) \
  static ZK_AVX512 void ttile_##MV##_##NP(const ttile_job *j) { ttile_body(MV, NP, j); }
#define ZK_TTILES(MV)                                                                                             \
  ZK_TTILE(MV, 1) ZK_TTILE(MV, 2) ZK_TTILE(MV, 3) ZK_TTILE(MV, 4) ZK_TTILE(MV, 5) ZK_TTILE(MV, 6) ZK_TTILE(MV, 7)   \
  ZK_TTILE(MV, 8) ZK_TTILE(MV, 9) ZK_TTILE(MV, 10) ZK_TTILE(MV, 11) ZK_TTILE(MV, 12)
ZK_TTILES(1)
ZK_TTILES(2)

typedef void (*ttile_fn)(const ttile_job *);
#define ZK_TROW(MV)                                                                                                 \
  {ttile_##MV##_1, ttile_##MV##_2, ttile_##MV##_3, ttile_##MV##_4,  ttile_##MV##_5,  ttile_##MV##_6,                \
   ttile_##MV##_7, ttile_##MV##_8, ttile_##MV##_9, ttile_##MV##_10, ttile_##MV##_11, ttile_##MV##_12}
static const ttile_fn ttiles[2][ZK_TNP] = {ZK_TROW(1), ZK_TROW(2)};

typedef struct {
  const zk_gemm_args *g;
  int mtiles, chunks, chunk;  // chunk: columns per chunk (the last may have fewer)
  float *partial;             // items × 12 × 32 floats when k runs in several blocks, else NULL
} tgemm_ctx;

static void tgemm_part(void *p, int index, int count) {
  const tgemm_ctx *ctx = p;
  const zk_gemm_args *g = ctx->g;
  long items = (long)ctx->mtiles * ctx->chunks;
  long begin = items * index / count, end = items * (index + 1) / count;
  if (begin >= end) return;
  const int kc = zk_k_block(g->k);
  // The buffer is allocated by the caller: a malloc on a worker would give it its own arena, whose
  // pages stay resident.
  float *partial = ctx->partial ? ctx->partial + (size_t)begin * ZK_TNP * ZK_TMR : NULL;
  ttile_job j;
  j.relu = g->relu;
  j.ldc = g->ldc;
  for (int k0 = 0; k0 < g->k; k0 += kc) {
    j.k = g->k - k0 < kc ? g->k - k0 : kc;
    j.boff = g->boff + k0;
    j.first = k0 == 0;
    j.final = k0 + j.k == g->k;
    for (long it = begin; it < end; it++) {
      int t = (int)(it / ctx->chunks), q = (int)(it % ctx->chunks);
      int m0 = t * ZK_TMR, n0 = q * ctx->chunk;
      j.rows = g->m - m0 < ZK_TMR ? g->m - m0 : ZK_TMR;
      j.cols = g->n - n0 < ctx->chunk ? g->n - n0 : ctx->chunk;
      j.a = g->a_packed + (size_t)t * (size_t)g->k * ZK_TMR + (size_t)k0 * ZK_TMR;
      j.b = g->b + n0;
      j.bias = g->bias ? g->bias + m0 : NULL;
      j.c = g->c + (long)m0 * g->ldc + n0;
      j.residual = g->residual ? g->residual + (long)m0 * g->ldc + n0 : NULL;
      j.partial = partial ? partial + (size_t)(it - begin) * ZK_TNP * ZK_TMR : NULL;
      ttiles[j.rows > 16 ? 1 : 0][j.cols - 1](&j);
    }
  }
}

void zk_gemm_t(const zk_gemm_args *g, int threads) {
  if (g->m <= 0 || g->n <= 0) return;
  // Columns in equal chunks of at most 12 (49 → 10, 10, 10, 10, 9).
  int chunks = (g->n + ZK_TNP - 1) / ZK_TNP;
  tgemm_ctx ctx = {g, (g->m + ZK_TMR - 1) / ZK_TMR, 0, (g->n + chunks - 1) / chunks, NULL};
  ctx.chunks = (g->n + ctx.chunk - 1) / ctx.chunk;
  long items = (long)ctx.mtiles * ctx.chunks;
  if (zk_k_block(g->k) < g->k) {
    ctx.partial = aligned_alloc(64, sizeof(float) * (size_t)items * ZK_TNP * ZK_TMR);
    if (!ctx.partial) abort();  // a few hundred KB at most
  }
  int used = zk_split(threads, items, items, 0);
  zk_parallel_chunks(used, zk_chunks(used, items), tgemm_part, &ctx);
  free(ctx.partial);
}

#else

void zk_gemm_t(const zk_gemm_args *g, int threads) {
  (void)g, (void)threads;
  abort();  // a programmer error: callers check zk_has_avx512()
}

#endif
