// The engine's GEMM, narrow-column GEMM and Winograd F(2×2, 3×3) and F(4×4, 3×3) written once in Clang's vector
// extensions, instantiated per kernel tier by the files that include it (tier_avx2.c,
// tier_generic.c, tier_neon.c). Each defines before including:
//
// - `ZK_T`: the tier's name, the suffix of the functions made here (`zk_gemm_<ZK_T>`, …);
// - `ZK_W`: floats per vector (8 for AVX2, 4 for SSE2 and NEON);
// - `ZK_TARGET`: the `target` attribute of the tier's functions (empty for the baseline);
// - `ZK_GR`, `ZK_GV`: the GEMM's register block, `ZK_GR` rows × `ZK_GV` vectors (the 8 rows of a
//   packed tile run as blocks of ZK_GR rows and one of the rest);
// - `ZK_FUSED`: 1 when the tier has a fused multiply-add (AVX2's FMA, NEON's FMLA), else 0;
// - `ZK_TV`, `ZK_TP`: the narrow-column GEMM's register block, `ZK_TV` vectors of rows (dividing
//   32 / ZK_W) × `ZK_TP` columns (dividing 12).
//
// The weights are packed as for the AVX-512 kernels (tiles of 8 rows for the GEMM, 32 for the
// narrow-column GEMM and Winograd), so a plan's packed weights do not depend on the tier; the
// register block walks a packed tile in parts. Tiles are computed into a small buffer, then the
// epilogue (bias, residual, the activation of act.h) and the store (plain, or through the padded grid) run from it,
// once per tile; the parallel loops are the pool's (`zk_parallel_chunks`), as on AVX-512.
#include "zoo_kernels.h"
#include "split.h"

#include <stdlib.h>
#include <string.h>

#define ZK_CAT_(a, b) a##b
#define ZK_CAT(a, b) ZK_CAT_(a, b)
#define ZK_FN(name) ZK_CAT(ZK_CAT(name, _), ZK_T)
#define ZK_INLINE static inline __attribute__((always_inline)) ZK_TARGET

typedef float vf __attribute__((ext_vector_type(ZK_W)));

// The epilogues' activations (`zka_apply_<ZK_T>`, act.h).
#define ZKA_W ZK_W
#define ZKA_SUFFIX ZK_T
#define ZKA_TARGET ZK_TARGET
#define ZKA_FUSED ZK_FUSED
#include "act.h"
#define ZK_ACT ZK_CAT(zka_apply_, ZK_T)

enum { GMR = 8, GNR = ZK_GV * ZK_W, TMR = 32, TNP = 12 };

/// Panels of B per group (about 96 columns): see `ggemm_part`.
enum { GROUP = (96 + GNR - 1) / GNR };

ZK_INLINE vf vload(const float *p) {
  vf v;
  memcpy(&v, p, sizeof v);
  return v;
}

ZK_INLINE void vstore(float *p, vf v) { memcpy(p, &v, sizeof v); }

ZK_INLINE vf vsplat(float x) { return (vf)(x); }

/// `a · b + c`, fused where the tier has the instruction. (Written as `c + a * b`, Clang contracted
/// it too, but its register allocation then rotated the AVX2 block's accumulators through copies
/// every step: 21 against 50+ GFLOP/s.)
ZK_INLINE vf vfma(vf a, vf b, vf c) {
#if ZK_FUSED
  return __builtin_elementwise_fma(a, b, c);
#else
  return a * b + c;
#endif
}

ZK_INLINE vf vmax0(vf v) {
  vf z = vsplat(0.0f);
  return v > z ? v : z;
}

/// The first `n` lanes of `v` to `p` (all when `n ≥ ZK_W`, none when `n ≤ 0`).
ZK_INLINE void vstore_n(float *p, vf v, int n) {
  if (n >= ZK_W) {
    vstore(p, v);
  } else if (n > 0) {
    float t[ZK_W];
    vstore(t, v);
    memcpy(p, t, sizeof(float) * (size_t)n);
  }
}

ZK_INLINE vf vload_n(const float *p, int n) {
  if (n >= ZK_W) return vload(p);
  float t[ZK_W] = {0};
  if (n > 0) memcpy(t, p, sizeof(float) * (size_t)n);
  return vload(t);
}

// ---------------------------------------------------------------------------------------------
// The GEMM (`zk_gemm`'s contract, zoo_kernels.h).

typedef struct {
  const float *a;  // the packed 8-row tile, from the block's first step of k
  const float *b;  // B shifted to the tile's first column, or the packed panel (`k × GNR`)
  const long *boff;
  int k, ncols;
} gblock;

// `acc[r][v] (+)= Σ_kk A[r0 + r, kk] · B[kk, ZK_W·v …]` for rows r0 ..< r0 + GR of the tile, into
// `out` (`GMR × GNR`); `full`: all GNR columns are in B (else the last ones are read as zeros);
// `packed`: B is a packed panel, row kk at `b + kk · GNR`.
ZK_INLINE void gblock_rows(const int GR, const gblock *j, int r0, int full, int packed, float out[GMR][GNR]) {
  vf acc[ZK_GR][ZK_GV];
  for (int r = 0; r < GR; r++)
    for (int v = 0; v < ZK_GV; v++) acc[r][v] = vload(&out[r0 + r][v * ZK_W]);
  const float *ap = j->a + r0;
#pragma clang loop unroll(disable)
  for (int kk = 0; kk < j->k; kk++) {
    const float *bp = packed ? j->b + (long)kk * GNR : j->b + j->boff[kk];
    vf bv[ZK_GV];
    if (full) {
      for (int v = 0; v < ZK_GV; v++) bv[v] = vload(bp + v * ZK_W);
    } else {
      for (int v = 0; v < ZK_GV; v++) bv[v] = vload_n(bp + v * ZK_W, j->ncols - v * ZK_W);
    }
    for (int r = 0; r < GR; r++) {
      vf a = vsplat(ap[r]);
      for (int v = 0; v < ZK_GV; v++) acc[r][v] = vfma(a, bv[v], acc[r][v]);
    }
    ap += GMR;
  }
  for (int r = 0; r < GR; r++)
    for (int v = 0; v < ZK_GV; v++) vstore(&out[r0 + r][v * ZK_W], acc[r][v]);
}

// The 8 rows of a tile as blocks of ZK_GR rows, and the GMR mod ZK_GR left over.
ZK_INLINE void gblock_tile(const gblock *j, int full, int packed, float out[GMR][GNR]) {
  int r0 = 0;
  for (; r0 + ZK_GR <= GMR; r0 += ZK_GR) gblock_rows(ZK_GR, j, r0, full, packed, out);
  if (GMR % ZK_GR) gblock_rows(GMR % ZK_GR, j, r0, full, packed, out);
}

static ZK_TARGET void gblock_full(const gblock *j, float out[GMR][GNR]) { gblock_tile(j, 1, 0, out); }

static ZK_TARGET void gblock_edge(const gblock *j, float out[GMR][GNR]) { gblock_tile(j, 0, 0, out); }

static ZK_TARGET void gblock_packed(const gblock *j, float out[GMR][GNR]) { gblock_tile(j, 1, 1, out); }

// Each thread's buffer of packed panels of B (a group's, `GROUP × kc × GNR` floats), kept between
// calls. B's rows are a whole row of the input apart (a 3 KB stride at 28×28 positions): read in
// place, a panel of 16 columns touches a cache line per row and the rows collide in the cache sets;
// packed, the group's panels are contiguous and stay in L2 while every tile of A passes over them.
static _Thread_local float *pack_buf;
static _Thread_local size_t pack_cap;

static float *pack_space(size_t floats) {
  if (floats > pack_cap) {
    free(pack_buf);
    pack_buf = malloc(sizeof(float) * floats);
    if (!pack_buf) abort();  // a few hundred KB
    pack_cap = floats;
  }
  return pack_buf;
}

// Packs the `ncols` columns of B's rows `b + boff[kk]` (a group of panels) into panels of GNR
// columns, `k × GNR` floats apart in `dst`, zeros past `ncols`. Row by row across the whole group, so
// each row's cache lines are read once and whole, with the rows ahead prefetched (they are a row of
// the input apart, too far for the hardware prefetcher).
static ZK_TARGET void pack_group(const float *b, const long *boff, int k, int ncols, float *dst) {
  const int npanels = (ncols + GNR - 1) / GNR;
  for (int kk = 0; kk < k; kk++) {
    if (kk + 8 < k) {
      const char *ahead = (const char *)(b + boff[kk + 8]);
      for (int off = 0; off < ncols * 4; off += 64) __builtin_prefetch(ahead + off);
    }
    const float *src = b + boff[kk];
    for (int p = 0; p < npanels; p++) {
      float *row = dst + ((long)p * k + kk) * GNR;
      int n = ncols - p * GNR < GNR ? ncols - p * GNR : GNR;
      if (n == GNR) {
        for (int v = 0; v < ZK_GV; v++) vstore(row + v * ZK_W, vload(src + p * GNR + v * ZK_W));
      } else {
        memcpy(row, src + p * GNR, sizeof(float) * (size_t)n);
        memset(row + n, 0, sizeof(float) * (size_t)(GNR - n));
      }
    }
  }
}

// Copies rows 0 ..< rows of the tile's part of C to `tmp` (`to_c` 0) or back (`to_c` 1): plain mode,
// or grid positions n0 ..< n0 + ncols of which those with x < out_w are outputs.
static void gtile_copy(const zk_gemm_args *g, int m0, int rows, int n0, int ncols, float tmp[GMR][GNR], int to_c) {
  if (g->grid_w == 0) {
    for (int r = 0; r < rows; r++) {
      float *row = g->c + (long)(m0 + r) * g->ldc + n0;
      if (to_c)
        memcpy(row, tmp[r], sizeof(float) * (size_t)ncols);
      else
        memcpy(tmp[r], row, sizeof(float) * (size_t)ncols);
    }
    return;
  }
  const int gw = g->grid_w, ow = g->out_w;
  int p = n0;
  const int end = n0 + ncols;
  while (p < end) {
    int y = p / gw;
    int x = p - y * gw;
    int seg_end = (y + 1) * gw < end ? (y + 1) * gw : end;
    int x_end = seg_end - y * gw < ow ? seg_end - y * gw : ow;
    if (x < x_end) {
      size_t bytes = (size_t)(x_end - x) * sizeof(float);
      for (int r = 0; r < rows; r++) {
        float *out = g->c + (long)(m0 + r) * g->ldc + (long)y * ow + x;
        if (to_c)
          memcpy(out, &tmp[r][p - n0], bytes);
        else
          memcpy(&tmp[r][p - n0], out, bytes);
      }
    }
    p = seg_end;
  }
}

typedef struct {
  const zk_gemm_args *g;
  int mtiles, panels, m_major;
  long items;
} ggemm_ctx;

static ZK_TARGET void ggemm_part(void *p, int index, int count) {
  const ggemm_ctx *ctx = p;
  const zk_gemm_args *g = ctx->g;
  long items = ctx->items;
  long begin = items * index / count, end = items * (index + 1) / count;
  const int kc = zk_k_block(g->k);
  const float *residual = g->grid_w == 0 ? g->residual : NULL;
  float tmp[GMR][GNR];
  float *panels = ctx->m_major ? NULL : pack_space((size_t)GROUP * (size_t)kc * GNR);
  for (int k0 = 0; k0 < g->k; k0 += kc) {
    gblock j;
    j.k = g->k - k0 < kc ? g->k - k0 : kc;
    j.boff = g->boff + k0;
    const int first = k0 == 0, final = k0 + j.k == g->k;
    // The group `panels` holds for this block of k (−1: none yet).
    long held = -1;
    for (long it = begin; it < end; it++) {
      int t, q;
      if (ctx->m_major) {
        t = (int)(it / ctx->panels);
        q = (int)(it % ctx->panels);
      } else {
        // Groups of GROUP panels; within a group, each tile of A takes the group's panels in turn,
        // so it is read from L1 that many times while the group's B stays in L2.
        const long per_group = (long)ctx->mtiles * GROUP;
        const long gi = it / per_group, rest = it % per_group;
        const int width = ctx->panels - (int)gi * GROUP < GROUP ? ctx->panels - (int)gi * GROUP : GROUP;
        const long in_group = rest;
        if (in_group >= (long)ctx->mtiles * width) continue;  // past the last, narrower group
        t = (int)(in_group / width);
        q = (int)(gi * GROUP + in_group % width);
      }
      const int m0 = t * GMR, n0 = q * GNR;
      const int rows = g->m - m0 < GMR ? g->m - m0 : GMR;
      j.ncols = g->n - n0 < GNR ? g->n - n0 : GNR;
      j.a = g->a_packed + (size_t)t * (size_t)g->k * GMR + (size_t)k0 * GMR;
      j.b = g->b + n0;
      if (first)
        memset(tmp, 0, sizeof tmp);
      else
        gtile_copy(g, m0, rows, n0, j.ncols, tmp, 0);
      if (panels) {
        const long group = q / GROUP;
        if (held != group) {
          const int gn0 = (int)group * GROUP * GNR;
          const int gcols = g->n - gn0 < GROUP * GNR ? g->n - gn0 : GROUP * GNR;
          pack_group(g->b + gn0, j.boff, j.k, gcols, panels);
          held = group;
        }
        j.b = panels + (size_t)(q % GROUP) * (size_t)j.k * GNR;
        gblock_packed(&j, tmp);
      } else if (j.ncols == GNR) {
        gblock_full(&j, tmp);
      } else {
        gblock_edge(&j, tmp);
      }
      if (final) {
        for (int r = 0; r < rows; r++) {
          float *row = tmp[r];
          if (g->bias) {
            vf b = vsplat(g->bias[m0 + r]);
            for (int v = 0; v < ZK_GV; v++) vstore(row + v * ZK_W, vload(row + v * ZK_W) + b);
          }
          if (residual) {
            const float *res = residual + (long)(m0 + r) * g->ldc + n0;
            for (int c = 0; c < j.ncols; c++) row[c] += res[c];
          }
          if (g->relu)
            for (int v = 0; v < ZK_GV; v++) vstore(row + v * ZK_W, ZK_ACT(vload(row + v * ZK_W), g->relu));
        }
      }
      gtile_copy(g, m0, rows, n0, j.ncols, tmp, 1);
    }
  }
}

void ZK_FN(zk_gemm)(const zk_gemm_args *g, int threads) {
  if (g->m <= 0 || g->n <= 0) return;
  ggemm_ctx ctx;
  ctx.g = g;
  ctx.mtiles = (g->m + GMR - 1) / GMR;
  ctx.panels = (g->n + GNR - 1) / GNR;
  // Few panels: split the rows, so each thread streams part of the weights (as on AVX-512).
  ctx.m_major = ctx.panels <= 3 * 48 / GNR;
  // Items: (tile, panel) pairs; in groups of panels, the last group counted at full width (its
  // missing pairs are skipped) so that every group starts at a multiple of mtiles · GROUP.
  long items = ctx.m_major ? (long)ctx.mtiles * ctx.panels
                           : (long)ctx.mtiles * GROUP * ((ctx.panels + GROUP - 1) / GROUP);
  ctx.items = items;
  int used = zk_split(threads, items, items, 0);
  zk_parallel_chunks(used, zk_chunks(used, items), ggemm_part, &ctx);
}

// ---------------------------------------------------------------------------------------------
// The narrow-column GEMM (`zk_gemm_t`'s contract): vectors along the rows of C.

typedef struct {
  const float *a;  // the packed 32-row tile, from the block's first step of k
  const float *b;
  const long *boff;
  int k;
} tblock;

// `out[p][r0 + …]` (+)= the block of ZK_TV vectors of rows from r0 and NP columns from p0.
ZK_INLINE void tblock_body(const int NP, const tblock *j, int r0, int p0, float out[TNP][TMR]) {
  vf acc[ZK_TP][ZK_TV];
  for (int p = 0; p < NP; p++)
    for (int v = 0; v < ZK_TV; v++) acc[p][v] = vload(&out[p0 + p][r0 + v * ZK_W]);
  const float *ap = j->a + r0;
#pragma clang loop unroll(disable)
  for (int kk = 0; kk < j->k; kk++) {
    const float *bp = j->b + j->boff[kk] + p0;
    vf a[ZK_TV];
    for (int v = 0; v < ZK_TV; v++) a[v] = vload(ap + v * ZK_W);
    for (int p = 0; p < NP; p++) {
      vf bb = vsplat(bp[p]);
      for (int v = 0; v < ZK_TV; v++) acc[p][v] = vfma(a[v], bb, acc[p][v]);
    }
    ap += TMR;
  }
  for (int p = 0; p < NP; p++)
    for (int v = 0; v < ZK_TV; v++) vstore(&out[p0 + p][r0 + v * ZK_W], acc[p][v]);
}

#define ZK_TB(NP) \
  static ZK_TARGET void ZK_CAT(tblock_, NP)(const tblock *j, int r0, int p0, float out[TNP][TMR]) { \
    tblock_body(NP, j, r0, p0, out);                                                               \
  }
ZK_TB(1) ZK_TB(2) ZK_TB(3) ZK_TB(4) ZK_TB(5) ZK_TB(6) ZK_TB(7) ZK_TB(8) ZK_TB(9) ZK_TB(10) ZK_TB(11) ZK_TB(12)
typedef void (*tblock_fn)(const tblock *, int, int, float[TNP][TMR]);
static const tblock_fn tblocks[TNP] = {tblock_1, tblock_2, tblock_3, tblock_4,  tblock_5,  tblock_6,
                                       tblock_7, tblock_8, tblock_9, tblock_10, tblock_11, tblock_12};

typedef struct {
  const zk_gemm_args *g;
  int mtiles, chunks, chunk;
  float *partial;  // items × TNP × TMR floats when k runs in several blocks, else NULL
} tgemm_ctx;

static ZK_TARGET void tgemm_part(void *p, int index, int count) {
  const tgemm_ctx *ctx = p;
  const zk_gemm_args *g = ctx->g;
  long items = (long)ctx->mtiles * ctx->chunks;
  long begin = items * index / count, end = items * (index + 1) / count;
  if (begin >= end) return;
  const int kc = zk_k_block(g->k);
  float local[TNP][TMR];
  for (int k0 = 0; k0 < g->k; k0 += kc) {
    tblock j;
    j.k = g->k - k0 < kc ? g->k - k0 : kc;
    j.boff = g->boff + k0;
    const int first = k0 == 0, final = k0 + j.k == g->k;
    for (long it = begin; it < end; it++) {
      int t = (int)(it / ctx->chunks), q = (int)(it % ctx->chunks);
      int m0 = t * TMR, n0 = q * ctx->chunk;
      int rows = g->m - m0 < TMR ? g->m - m0 : TMR;
      int cols = g->n - n0 < ctx->chunk ? g->n - n0 : ctx->chunk;
      float(*tmp)[TMR] = ctx->partial ? (float(*)[TMR])(ctx->partial + (size_t)it * TNP * TMR) : local;
      if (first) memset(tmp, 0, sizeof(float) * TNP * TMR);
      j.a = g->a_packed + (size_t)t * (size_t)g->k * TMR + (size_t)k0 * TMR;
      j.b = g->b + n0;
      // Rows past m are zero in the packed tile; whole vectors of them are skipped.
      const int row_end = (rows + ZK_W * ZK_TV - 1) / (ZK_W * ZK_TV) * (ZK_W * ZK_TV);
      for (int r0 = 0; r0 < row_end; r0 += ZK_W * ZK_TV)
        for (int p0 = 0; p0 < cols; p0 += ZK_TP) {
          int np = cols - p0 < ZK_TP ? cols - p0 : ZK_TP;
          tblocks[np - 1](&j, r0, p0, tmp);
        }
      if (!final) continue;
      const float *bias = g->bias ? g->bias + m0 : NULL;
      const float *res = g->residual ? g->residual + (long)m0 * g->ldc + n0 : NULL;
      float *c = g->c + (long)m0 * g->ldc + n0;
      for (int r = 0; r < rows; r++) {
        float b = bias ? bias[r] : 0.0f;
        for (int pp = 0; pp < cols; pp++) {
          float v = tmp[pp][r] + b;
          if (res) v += res[(long)r * g->ldc + pp];
          tmp[pp][r] = v;
        }
      }
      // The activation along the channels (TMR floats per column, whole vectors).
      if (g->relu)
        for (int pp = 0; pp < cols; pp++)
          for (int r0 = 0; r0 < rows; r0 += ZK_W) vstore(&tmp[pp][r0], ZK_ACT(vload(&tmp[pp][r0]), g->relu));
      for (int r = 0; r < rows; r++) {
        float *row = c + (long)r * g->ldc;
        for (int pp = 0; pp < cols; pp++) row[pp] = tmp[pp][r];
      }
    }
  }
}

void ZK_FN(zk_gemm_t)(const zk_gemm_args *g, int threads) {
  if (g->m <= 0 || g->n <= 0) return;
  int chunks = (g->n + TNP - 1) / TNP;
  tgemm_ctx ctx = {g, (g->m + TMR - 1) / TMR, 0, (g->n + chunks - 1) / chunks, NULL};
  ctx.chunks = (g->n + ctx.chunk - 1) / ctx.chunk;
  long items = (long)ctx.mtiles * ctx.chunks;
  if (zk_k_block(g->k) < g->k) {
    ctx.partial = malloc(sizeof(float) * (size_t)items * TNP * TMR);
    if (!ctx.partial) abort();  // a few hundred KB at most
  }
  int used = zk_split(threads, items, items, 0);
  zk_parallel_chunks(used, zk_chunks(used, items), tgemm_part, &ctx);
  free(ctx.partial);
}

// ---------------------------------------------------------------------------------------------
// Winograd F(2×2, 3×3) and F(4×4, 3×3) (`zk_winograd_f2x3`'s and `zk_winograd_f4x3`'s contracts; the
// steps and the driver as in winograd.c), ZK_W tiles per vector.

#if ZK_W == 4
#define ZK_NEXT 1, 2, 3, 4
#define ZK_EVEN 0, 2, 4, 6
#define ZK_ODD 1, 3, 5, 7
#define ZK_LO 0, 4, 1, 5
#define ZK_HI 2, 6, 3, 7
#elif ZK_W == 8
#define ZK_NEXT 1, 2, 3, 4, 5, 6, 7, 8
#define ZK_EVEN 0, 2, 4, 6, 8, 10, 12, 14
#define ZK_ODD 1, 3, 5, 7, 9, 11, 13, 15
#define ZK_LO 0, 8, 1, 9, 2, 10, 3, 11
#define ZK_HI 4, 12, 5, 13, 6, 14, 7, 15
#else
#error "ZK_W must be 4 or 8"
#endif

typedef struct {
  const float *src;
  int cin, h, w, ph, pw, cout, oh, ow;
  const float *u;
  long u_stride;
  const float *bias;
  int relu;
  const float *residual;
  float *dst;
  int ty0, rows, tiles_w;
  long t;
  float *v, *m;
  const long *boff;
  int tile, npos;  // output tile side (2 or 4) and (tile + 2)² transformed positions
} wjob;

static inline int wrow_floats(int tiles_w, int tile) { return (tiles_w + 15) / 16 * 16 * tile + 48; }

static ZK_TARGET void winput_range2(const wjob *J, int begin, int end) {
  const int rf = wrow_floats(J->tiles_w, 2);
  float rows[4][rf];
  const long t = J->t;
  for (int c = begin; c < end; c++) {
    const float *plane = J->src + (long)c * J->h * J->w;
    for (int r = 0; r < J->rows; r++) {
      int ty = J->ty0 + r;
      for (int i = 0; i < 4; i++) {
        int iy = 2 * ty + i - J->ph;
        memset(rows[i], 0, sizeof(float) * (size_t)rf);
        if (iy < 0 || iy >= J->h) continue;
        int lo = J->pw, n = J->w;
        if (lo + n > rf) n = rf - lo;
        if (n > 0) memcpy(rows[i] + lo, plane + (long)iy * J->w, sizeof(float) * (size_t)n);
      }
      for (int tx = 0; tx < J->tiles_w; tx += ZK_W) {
        vf d[4][4];
        for (int i = 0; i < 4; i++) {
          const float *q = rows[i] + 2 * tx;
          vf a = vload(q), b = vload(q + ZK_W), a2 = vload(q + 2), b2 = vload(q + 2 + ZK_W);
          d[i][0] = __builtin_shufflevector(a, b, ZK_EVEN);
          d[i][1] = __builtin_shufflevector(a, b, ZK_ODD);
          d[i][2] = __builtin_shufflevector(a2, b2, ZK_EVEN);
          d[i][3] = __builtin_shufflevector(a2, b2, ZK_ODD);
        }
        vf s[4][4];
        for (int j = 0; j < 4; j++) {
          s[0][j] = d[0][j] - d[2][j];
          s[1][j] = d[1][j] + d[2][j];
          s[2][j] = d[2][j] - d[1][j];
          s[3][j] = d[1][j] - d[3][j];
        }
        const int n = J->tiles_w - tx;
        float *out = J->v + (long)c * t + (long)r * J->tiles_w + tx;
        const long xs = (long)J->cin * t;
        for (int i = 0; i < 4; i++) {
          vstore_n(out + (4 * i + 0) * xs, s[i][0] - s[i][2], n);
          vstore_n(out + (4 * i + 1) * xs, s[i][1] + s[i][2], n);
          vstore_n(out + (4 * i + 2) * xs, s[i][2] - s[i][1], n);
          vstore_n(out + (4 * i + 3) * xs, s[i][1] - s[i][3], n);
        }
      }
    }
  }
}

// F(4×4, 3×3)'s `Bᵀ x` for the six values of a column (or row) of the 6×6 patch (as winograd.c's
// `bt6`).
ZK_INLINE void wbt6(const vf x[6], vf y[6]) {
  const vf two = vsplat(2.0f), four = vsplat(4.0f), five = vsplat(5.0f);
  vf a = x[4] - four * x[2], b = x[3] - four * x[1], c = x[4] - x[2], d = two * (x[3] - x[1]);
  y[0] = vfma(four, x[0], x[4] - five * x[2]);
  y[1] = a + b;
  y[2] = a - b;
  y[3] = c + d;
  y[4] = c - d;
  y[5] = vfma(four, x[1], x[5] - five * x[3]);
}

// F(4×4, 3×3)'s `Aᵀ x` (as winograd.c's `at6`).
ZK_INLINE void wat6(const vf x[6], vf y[4]) {
  vf s12 = x[1] + x[2], d12 = x[1] - x[2], s34 = x[3] + x[4], d34 = x[3] - x[4];
  y[0] = x[0] + s12 + s34;
  y[1] = vfma(vsplat(2.0f), d34, d12);
  y[2] = vfma(vsplat(4.0f), s34, s12);
  y[3] = vfma(vsplat(8.0f), d34, d12) + x[5];
}

// F(4×4): the six padded rows combined vertically in place, then ZK_W tiles' six columns from each
// combined row by two rounds of even/odd halves and a shift by one float (as winograd.c's
// `input_range4`).
static ZK_TARGET void winput_range4(const wjob *J, int begin, int end) {
  const int rf = wrow_floats(J->tiles_w, 4);
  float rows[6][rf];
  const long t = J->t, xs = (long)J->cin * t;
  // Columns the tiles read: up to 4 · tx + 4 · ZK_W + 1 for the last vector of tiles.
  const int xend = 4 * ((J->tiles_w - 1) / ZK_W * ZK_W) + 5 * ZK_W;
  for (int c = begin; c < end; c++) {
    const float *plane = J->src + (long)c * J->h * J->w;
    for (int r = 0; r < J->rows; r++) {
      int ty = J->ty0 + r;
      for (int i = 0; i < 6; i++) {
        int iy = 4 * ty + i - J->ph;
        memset(rows[i], 0, sizeof(float) * (size_t)rf);
        if (iy < 0 || iy >= J->h) continue;
        int lo = J->pw, n = J->w;
        if (lo + n > rf) n = rf - lo;
        if (n > 0) memcpy(rows[i] + lo, plane + (long)iy * J->w, sizeof(float) * (size_t)n);
      }
      for (int x = 0; x < xend; x += ZK_W) {
        vf d[6], e[6];
        for (int i = 0; i < 6; i++) d[i] = vload(rows[i] + x);
        wbt6(d, e);
        for (int i = 0; i < 6; i++) vstore(rows[i] + x, e[i]);
      }
      for (int tx = 0; tx < J->tiles_w; tx += ZK_W) {
        const int n = J->tiles_w - tx;
        float *out = J->v + (long)c * t + (long)r * J->tiles_w + tx;
        for (int i = 0; i < 6; i++) {
          const float *q = rows[i] + 4 * tx;
          vf a = vload(q), b = vload(q + ZK_W), cc = vload(q + 2 * ZK_W), dd = vload(q + 3 * ZK_W);
          vf e1 = __builtin_shufflevector(a, b, ZK_EVEN), o1 = __builtin_shufflevector(a, b, ZK_ODD);
          vf e2 = __builtin_shufflevector(cc, dd, ZK_EVEN), o2 = __builtin_shufflevector(cc, dd, ZK_ODD);
          vf p[6], y[6];
          p[0] = __builtin_shufflevector(e1, e2, ZK_EVEN);
          p[1] = __builtin_shufflevector(o1, o2, ZK_EVEN);
          p[2] = __builtin_shufflevector(e1, e2, ZK_ODD);
          p[3] = __builtin_shufflevector(o1, o2, ZK_ODD);
          p[4] = __builtin_shufflevector(p[0], vsplat(q[4 * ZK_W]), ZK_NEXT);
          p[5] = __builtin_shufflevector(p[1], vsplat(q[4 * ZK_W + 1]), ZK_NEXT);
          wbt6(p, y);
          for (int j = 0; j < 6; j++) vstore_n(out + (6 * i + j) * xs, y[j], n);
        }
      }
    }
  }
}

static void winput_range(const wjob *J, int begin, int end) {
  if (J->tile == 4)
    winput_range4(J, begin, end);
  else
    winput_range2(J, begin, end);
}

static void winput_part(void *p, int index, int count) {
  const wjob *J = p;
  winput_range(J, (int)((long)J->cin * index / count), (int)((long)J->cin * (index + 1) / count));
}

static void wgemm_part(void *p, int xi, int count) {
  (void)count;
  const wjob *J = p;
  zk_gemm_args g = {J->cout, (int)J->t, J->cin, J->u + (long)xi * J->u_stride, J->v + (long)xi * J->cin * J->t,
                    J->boff, NULL, 0, J->m + (long)xi * J->cout * J->t, J->t, 0, 0, NULL};
  ZK_FN(zk_gemm_t)(&g, 1);
}

static ZK_TARGET void woutput_range2(const wjob *J, int begin, int end) {
  const long t = J->t, xs = (long)J->cout * t;
  for (int o = begin; o < end; o++) {
    const vf bias = vsplat(J->bias ? J->bias[o] : 0.0f);
    for (int r = 0; r < J->rows; r++) {
      int y = 2 * (J->ty0 + r);
      for (int tx = 0; tx < J->tiles_w; tx += ZK_W) {
        const int k = J->tiles_w - tx;
        const float *mp = J->m + (long)o * t + (long)r * J->tiles_w + tx;
        vf mv[16];
        for (int x = 0; x < 16; x++) mv[x] = vload_n(mp + x * xs, k);
        vf s0[4], s1[4];
        for (int j = 0; j < 4; j++) {
          s0[j] = mv[j] + mv[4 + j] + mv[8 + j];
          s1[j] = mv[4 + j] - mv[8 + j] - mv[12 + j];
        }
        vf y00 = s0[0] + s0[1] + s0[2] + bias;
        vf y01 = s0[1] - s0[2] - s0[3] + bias;
        vf y10 = s1[0] + s1[1] + s1[2] + bias;
        vf y11 = s1[1] - s1[2] - s1[3] + bias;
        int x0 = 2 * tx, n = J->ow - x0;
        vf out[2][2] = {{__builtin_shufflevector(y00, y01, ZK_LO), __builtin_shufflevector(y00, y01, ZK_HI)},
                        {__builtin_shufflevector(y10, y11, ZK_LO), __builtin_shufflevector(y10, y11, ZK_HI)}};
        const int rows = y + 1 < J->oh ? 2 : 1;
        for (int i = 0; i < rows; i++) {
          long at = (long)o * J->oh * J->ow + (long)(y + i) * J->ow + x0;
          if (J->residual) {
            out[i][0] = out[i][0] + vload_n(J->residual + at, n);
            if (n > ZK_W) out[i][1] = out[i][1] + vload_n(J->residual + at + ZK_W, n - ZK_W);
          }
          if (J->relu) {
            out[i][0] = vmax0(out[i][0]);
            out[i][1] = vmax0(out[i][1]);
          }
          vstore_n(J->dst + at, out[i][0], n);
          vstore_n(J->dst + at + ZK_W, out[i][1], n - ZK_W);
        }
      }
    }
  }
}

// F(4×4): `Aᵀ M A` of ZK_W tiles, plus the bias, interleaved into 4 · ZK_W columns of each of the
// four output rows (as winograd.c's `output_range4`).
static ZK_TARGET void woutput_range4(const wjob *J, int begin, int end) {
  const long t = J->t, xs = (long)J->cout * t;
  for (int o = begin; o < end; o++) {
    const vf bias = vsplat(J->bias ? J->bias[o] : 0.0f);
    for (int r = 0; r < J->rows; r++) {
      int y = 4 * (J->ty0 + r);
      for (int tx = 0; tx < J->tiles_w; tx += ZK_W) {
        const int k = J->tiles_w - tx;
        const float *mp = J->m + (long)o * t + (long)r * J->tiles_w + tx;
        vf s[6][4];
        for (int j = 0; j < 6; j++) {
          vf col[6];
          for (int i = 0; i < 6; i++) col[i] = vload_n(mp + (6 * i + j) * xs, k);
          wat6(col, s[j]);
        }
        const int x0 = 4 * tx, n = J->ow - x0;
        const int rows = J->oh - y < 4 ? J->oh - y : 4;
        for (int i = 0; i < rows; i++) {
          vf row[6], yv[4];
          for (int j = 0; j < 6; j++) row[j] = s[j][i];
          wat6(row, yv);
          for (int j = 0; j < 4; j++) yv[j] = yv[j] + bias;
          vf l02 = __builtin_shufflevector(yv[0], yv[2], ZK_LO), h02 = __builtin_shufflevector(yv[0], yv[2], ZK_HI);
          vf l13 = __builtin_shufflevector(yv[1], yv[3], ZK_LO), h13 = __builtin_shufflevector(yv[1], yv[3], ZK_HI);
          vf out[4] = {__builtin_shufflevector(l02, l13, ZK_LO), __builtin_shufflevector(l02, l13, ZK_HI),
                       __builtin_shufflevector(h02, h13, ZK_LO), __builtin_shufflevector(h02, h13, ZK_HI)};
          long at = (long)o * J->oh * J->ow + (long)(y + i) * J->ow + x0;
          for (int v = 0; v < 4 && ZK_W * v < n; v++) {
            if (J->residual) out[v] = out[v] + vload_n(J->residual + at + ZK_W * v, n - ZK_W * v);
            if (J->relu) out[v] = vmax0(out[v]);
            vstore_n(J->dst + at + ZK_W * v, out[v], n - ZK_W * v);
          }
        }
      }
    }
  }
}

static void woutput_range(const wjob *J, int begin, int end) {
  if (J->tile == 4)
    woutput_range4(J, begin, end);
  else
    woutput_range2(J, begin, end);
}

static void woutput_part(void *p, int index, int count) {
  const wjob *J = p;
  woutput_range(J, (int)((long)J->cout * index / count), (int)((long)J->cout * (index + 1) / count));
}

typedef struct {
  wjob base;
  int band_rows, tiles_h;
  long slot_floats;
  int slots;
  long *boffs;
} wprivate_job;

static void wprivate_part(void *p, int index, int count) {
  const wprivate_job *P = p;
  for (int b = index; b * P->band_rows < P->tiles_h; b += count) {
    wjob J = P->base;
    J.ty0 = b * P->band_rows;
    J.rows = P->tiles_h - J.ty0 < P->band_rows ? P->tiles_h - J.ty0 : P->band_rows;
    J.t = (long)J.rows * J.tiles_w;
    J.v = P->base.v + (long)index * P->slot_floats;
    J.m = J.v + J.npos * (long)J.cin * J.t;
    long *boff = P->boffs + (long)index * J.cin;
    for (int c = 0; c < J.cin; c++) boff[c] = (long)c * J.t;
    J.boff = boff;
    winput_range(&J, 0, J.cin);
    for (int xi = 0; xi < J.npos; xi++) wgemm_part(&J, xi, J.npos);
    woutput_range(&J, 0, J.cout);
  }
}

static void ZK_FN(winograd_run)(int tile, const float *src, int cin, int h, int w, int ph, int pw, int cout, int oh,
                                int ow, const float *u_packed, long u_stride, const float *bias, int relu,
                                const float *residual, float *dst, float *scratch, int band_rows, int private_slots,
                                int threads) {
  const int npos = (tile + 2) * (tile + 2);
  const int tiles_h = (oh + tile - 1) / tile, tiles_w = (ow + tile - 1) / tile;
  if (band_rows < 1) band_rows = 1;
  long max_t = (long)band_rows * tiles_w;
  int slots = private_slots > 0 ? private_slots : 1;
  long *boff = malloc(sizeof(long) * (size_t)cin * (size_t)slots);
  if (!boff) abort();  // a few KB
  wjob J = {src,  cin,     h,  w,       ph, pw,   cout,    oh,
            ow,   u_packed, u_stride, bias, relu, residual, dst, 0,
            0,    tiles_w, 0,  scratch, scratch + npos * (long)cin * max_t, boff, tile, npos};
  if (private_slots > 0) {
    int bands = (tiles_h + band_rows - 1) / band_rows;
    int used = threads < slots ? threads : slots;
    if (used > bands) used = bands;
    if (used < 1) used = 1;
    wprivate_job P = {J, band_rows, tiles_h, npos * (long)(cin + cout) * max_t, slots, boff};
    zk_parallel_chunks(used, used, wprivate_part, &P);
    free(boff);
    return;
  }
  for (int ty0 = 0; ty0 < tiles_h; ty0 += band_rows) {
    J.ty0 = ty0;
    J.rows = tiles_h - ty0 < band_rows ? tiles_h - ty0 : band_rows;
    J.t = (long)J.rows * tiles_w;
    for (int c = 0; c < cin; c++) boff[c] = (long)c * J.t;
    int used = zk_split(threads, cin, (long)cin * J.t, 0);
    zk_parallel_chunks(used, zk_chunks(used, cin), winput_part, &J);
    zk_parallel_chunks(zk_split(threads, npos, npos, 0), npos, wgemm_part, &J);
    used = zk_split(threads, cout, (long)cout * J.t, 0);
    zk_parallel_chunks(used, zk_chunks(used, cout), woutput_part, &J);
  }
  free(boff);
}

#define ZK_WPARAMS                                                                                                     \
  const float *src, int cin, int h, int w, int ph, int pw, int cout, int oh, int ow, const float *u_packed,          \
      long u_stride, const float *bias, int relu, const float *residual, float *dst, float *scratch, int band_rows,  \
      int private_slots, int threads
#define ZK_WARGS                                                                                                       \
  src, cin, h, w, ph, pw, cout, oh, ow, u_packed, u_stride, bias, relu, residual, dst, scratch, band_rows,            \
      private_slots, threads

void ZK_FN(zk_winograd_f2x3)(ZK_WPARAMS) { ZK_FN(winograd_run)(2, ZK_WARGS); }

void ZK_FN(zk_winograd_f4x3)(ZK_WPARAMS) { ZK_FN(winograd_run)(4, ZK_WARGS); }
