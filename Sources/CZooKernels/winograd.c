// Winograd F(2×2, 3×3) on the engine's own kernels, AVX-512: 3×3 convolutions with stride 1 and
// dilation 1 (see Winograd.swift for the algebra). Per band of tile rows:
//
//   1. input transform, in parallel over input channels: for 16 horizontally adjacent tiles at once
//      (a tile per lane), the 4×4 patch's columns are the even and odd halves of two vector loads
//      from a zero-padded copy of the four input rows, and `Bᵀ d B` is 32 adds and subtracts; the 16
//      results go to `V[ξ][c][t ..< t + 16]`, contiguous;
//   2. 16 GEMMs `M[ξ] = U[ξ] · V[ξ]` (`[Cout, Cin] · [Cin, T]`) on the narrow-column kernel, one
//      per chunk of the pool, U packed in tiles of 32 rows at load time;
//   3. output transform, in parallel over output channels: `Aᵀ M A` for 16 tiles per vector, plus
//      the bias and ReLU, interleaved into two output rows of 32 columns, stored under a mask where
//      the output ends.
#include "zoo_kernels.h"
#include "split.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

#define ZK_AVX512 __attribute__((target("avx512f,avx2,fma")))

typedef struct {
  const float *src;
  int cin, h, w, ph, pw, cout, oh, ow;
  const float *u;
  long u_stride;
  const float *bias;
  int relu;
  const float *residual;  // laid out as dst, or NULL
  float *dst;
  // The band: tile rows ty0 ..< ty0 + rows of tiles_w tiles each, t = rows · tiles_w.
  int ty0, rows, tiles_w;
  long t;
  float *v, *m;
  const long *boff;  // B's row offsets for V[ξ]: c · t
} wino_job;

// Row buffers: 2 · tiles_w + 2 columns of the padded input and a vector's slack past 16-tile blocks.
static inline int row_floats(int tiles_w) { return (tiles_w + 15) / 16 * 32 + 48; }

static ZK_AVX512 void input_range(const wino_job *J, int begin, int end) {
  const int rf = row_floats(J->tiles_w);
  float rows[4][rf];
  const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  const long t = J->t;
  for (int c = begin; c < end; c++) {
    const float *plane = J->src + (long)c * J->h * J->w;
    for (int r = 0; r < J->rows; r++) {
      int ty = J->ty0 + r;
      // Padded rows 2·ty ..< 2·ty + 4: column q is input column q − pw, zero outside.
      for (int i = 0; i < 4; i++) {
        int iy = 2 * ty + i - J->ph;
        memset(rows[i], 0, sizeof(float) * (size_t)rf);
        if (iy < 0 || iy >= J->h) continue;
        // Columns past rf are never read (a padding wider than the buffer leaves nothing to copy).
        int lo = J->pw, n = J->w;
        if (lo + n > rf) n = rf - lo;
        if (n > 0) memcpy(rows[i] + lo, plane + (long)iy * J->w, sizeof(float) * (size_t)n);
      }
      for (int tx = 0; tx < J->tiles_w; tx += 16) {
        __m512 d[4][4];
        for (int i = 0; i < 4; i++) {
          const float *q = rows[i] + 2 * tx;
          __m512 a = _mm512_loadu_ps(q), b = _mm512_loadu_ps(q + 16);
          __m512 a2 = _mm512_loadu_ps(q + 2), b2 = _mm512_loadu_ps(q + 18);
          d[i][0] = _mm512_permutex2var_ps(a, even, b);
          d[i][1] = _mm512_permutex2var_ps(a, odd, b);
          d[i][2] = _mm512_permutex2var_ps(a2, even, b2);
          d[i][3] = _mm512_permutex2var_ps(a2, odd, b2);
        }
        __m512 s[4][4];
        for (int j = 0; j < 4; j++) {
          s[0][j] = _mm512_sub_ps(d[0][j], d[2][j]);
          s[1][j] = _mm512_add_ps(d[1][j], d[2][j]);
          s[2][j] = _mm512_sub_ps(d[2][j], d[1][j]);
          s[3][j] = _mm512_sub_ps(d[1][j], d[3][j]);
        }
        __mmask16 k = zk_lanes(J->tiles_w - tx);
        float *out = J->v + (long)c * t + (long)r * J->tiles_w + tx;
        const long xs = (long)J->cin * t;  // floats between V[ξ] and V[ξ + 1]
        for (int i = 0; i < 4; i++) {
          _mm512_mask_storeu_ps(out + (4 * i + 0) * xs, k, _mm512_sub_ps(s[i][0], s[i][2]));
          _mm512_mask_storeu_ps(out + (4 * i + 1) * xs, k, _mm512_add_ps(s[i][1], s[i][2]));
          _mm512_mask_storeu_ps(out + (4 * i + 2) * xs, k, _mm512_sub_ps(s[i][2], s[i][1]));
          _mm512_mask_storeu_ps(out + (4 * i + 3) * xs, k, _mm512_sub_ps(s[i][1], s[i][3]));
        }
      }
    }
  }
}

static void input_part(void *p, int index, int count) {
  const wino_job *J = p;
  input_range(J, (int)((long)J->cin * index / count), (int)((long)J->cin * (index + 1) / count));
}

static void gemm_part(void *p, int xi, int count) {
  (void)count;
  const wino_job *J = p;
  zk_gemm_args g = {J->cout, (int)J->t, J->cin, J->u + (long)xi * J->u_stride, J->v + (long)xi * J->cin * J->t,
                    J->boff, NULL, 0, J->m + (long)xi * J->cout * J->t, J->t, 0, 0, NULL};
  zk_gemm_t(&g, 1);
}

static ZK_AVX512 void output_range(const wino_job *J, int begin, int end) {
  // Interleaving y·0 (even output columns) and y·1 (odd): lanes 0–15 and 16–31 of the row.
  const __m512i lo_idx = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512i hi_idx = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
  const long t = J->t, xs = (long)J->cout * t;
  const __m512 zero = _mm512_setzero_ps();
  for (int o = begin; o < end; o++) {
    const __m512 bias = _mm512_set1_ps(J->bias ? J->bias[o] : 0.0f);
    for (int r = 0; r < J->rows; r++) {
      int y = 2 * (J->ty0 + r);
      for (int tx = 0; tx < J->tiles_w; tx += 16) {
        __mmask16 k = zk_lanes(J->tiles_w - tx);
        const float *mp = J->m + (long)o * t + (long)r * J->tiles_w + tx;
        __m512 mv[16];
        for (int x = 0; x < 16; x++) mv[x] = _mm512_maskz_loadu_ps(k, mp + x * xs);
        __m512 s0[4], s1[4];
        for (int j = 0; j < 4; j++) {
          s0[j] = _mm512_add_ps(_mm512_add_ps(mv[j], mv[4 + j]), mv[8 + j]);
          s1[j] = _mm512_sub_ps(_mm512_sub_ps(mv[4 + j], mv[8 + j]), mv[12 + j]);
        }
        __m512 y00 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s0[0], s0[1]), s0[2]), bias);
        __m512 y01 = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(s0[1], s0[2]), s0[3]), bias);
        __m512 y10 = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(s1[0], s1[1]), s1[2]), bias);
        __m512 y11 = _mm512_add_ps(_mm512_sub_ps(_mm512_sub_ps(s1[1], s1[2]), s1[3]), bias);
        // Output columns 2·tx ..< 2·tx + 32 of rows y and y + 1, clipped to ow (and oh); then the
        // residual (laid out as the output) and the ReLU.
        int x0 = 2 * tx, n = J->ow - x0;
        __mmask16 k0 = zk_lanes(n), k1 = zk_lanes(n - 16);
        __m512 out[2][2] = {{_mm512_permutex2var_ps(y00, lo_idx, y01), _mm512_permutex2var_ps(y00, hi_idx, y01)},
                            {_mm512_permutex2var_ps(y10, lo_idx, y11), _mm512_permutex2var_ps(y10, hi_idx, y11)}};
        const int rows = y + 1 < J->oh ? 2 : 1;
        for (int i = 0; i < rows; i++) {
          long at = (long)o * J->oh * J->ow + (long)(y + i) * J->ow + x0;
          if (J->residual) {
            out[i][0] = _mm512_add_ps(out[i][0], _mm512_maskz_loadu_ps(k0, J->residual + at));
            if (n > 16) out[i][1] = _mm512_add_ps(out[i][1], _mm512_maskz_loadu_ps(k1, J->residual + at + 16));
          }
          if (J->relu) {
            out[i][0] = _mm512_max_ps(out[i][0], zero);
            out[i][1] = _mm512_max_ps(out[i][1], zero);
          }
          _mm512_mask_storeu_ps(J->dst + at, k0, out[i][0]);
          if (n > 16) _mm512_mask_storeu_ps(J->dst + at + 16, k1, out[i][1]);
        }
      }
    }
  }
}

static void output_part(void *p, int index, int count) {
  const wino_job *J = p;
  output_range(J, (int)((long)J->cout * index / count), (int)((long)J->cout * (index + 1) / count));
}

// Private bands: each chunk of the pool is a band of tile rows that one thread takes through all
// three steps in its own slot of the scratch, with no barrier between the steps.
typedef struct {
  wino_job base;
  int band_rows, tiles_h;
  long slot_floats;
  int slots;
  long *boffs;  // per slot, cin offsets
} private_job;

static void private_part(void *p, int index, int count) {
  const private_job *P = p;
  // Chunk `index` of `count` (count ≤ slots) takes bands index, index + count, … in its slot.
  for (int b = index; b * P->band_rows < P->tiles_h; b += count) {
    wino_job J = P->base;
    J.ty0 = b * P->band_rows;
    J.rows = P->tiles_h - J.ty0 < P->band_rows ? P->tiles_h - J.ty0 : P->band_rows;
    J.t = (long)J.rows * J.tiles_w;
    J.v = P->base.v + (long)index * P->slot_floats;
    J.m = J.v + 16 * (long)J.cin * J.t;
    long *boff = P->boffs + (long)index * J.cin;
    for (int c = 0; c < J.cin; c++) boff[c] = (long)c * J.t;
    J.boff = boff;
    input_range(&J, 0, J.cin);
    for (int xi = 0; xi < 16; xi++) gemm_part(&J, xi, 16);
    output_range(&J, 0, J.cout);
  }
}

void zk_winograd_f2x3(const float *src, int cin, int h, int w, int ph, int pw, int cout, int oh, int ow,
                      const float *u_packed, long u_stride, const float *bias, int relu, const float *residual,
                      float *dst, float *scratch, int band_rows, int private_slots, int threads) {
  const int tiles_h = (oh + 1) / 2, tiles_w = (ow + 1) / 2;
  if (band_rows < 1) band_rows = 1;
  long max_t = (long)band_rows * tiles_w;
  int slots = private_slots > 0 ? private_slots : 1;
  long *boff = malloc(sizeof(long) * (size_t)cin * (size_t)slots);
  if (!boff) abort();  // a few KB
  wino_job J = {src, cin, h, w, ph, pw, cout, oh, ow, u_packed, u_stride, bias, relu, residual, dst, 0, 0, tiles_w, 0,
                scratch, scratch + 16 * (long)cin * max_t, boff};
  if (private_slots > 0) {
    int bands = (tiles_h + band_rows - 1) / band_rows;
    int used = threads < slots ? threads : slots;
    if (used > bands) used = bands;
    if (used < 1) used = 1;
    private_job P = {J, band_rows, tiles_h, 16 * (long)(cin + cout) * max_t, slots, boff};
    zk_parallel_chunks(used, used, private_part, &P);
    free(boff);
    return;
  }
  for (int ty0 = 0; ty0 < tiles_h; ty0 += band_rows) {
    J.ty0 = ty0;
    J.rows = tiles_h - ty0 < band_rows ? tiles_h - ty0 : band_rows;
    J.t = (long)J.rows * tiles_w;
    for (int c = 0; c < cin; c++) boff[c] = (long)c * J.t;
    int used = zk_split(threads, cin, (long)cin * J.t, 0);
    zk_parallel_chunks(used, zk_chunks(used, cin), input_part, &J);
    zk_parallel_chunks(zk_split(threads, 16, 16, 0), 16, gemm_part, &J);
    used = zk_split(threads, cout, (long)cout * J.t, 0);
    zk_parallel_chunks(used, zk_chunks(used, cout), output_part, &J);
  }
  free(boff);
}

#else

void zk_winograd_f2x3(const float *src, int cin, int h, int w, int ph, int pw, int cout, int oh, int ow,
                      const float *u_packed, long u_stride, const float *bias, int relu, const float *residual,
                      float *dst, float *scratch, int band_rows, int private_slots, int threads) {
  (void)residual, (void)private_slots, (void)src, (void)cin, (void)h, (void)w, (void)ph, (void)pw, (void)cout, (void)oh, (void)ow, (void)u_packed;
  (void)u_stride, (void)bias, (void)relu, (void)dst, (void)scratch, (void)band_rows, (void)threads;
  abort();  // a programmer error: callers check zk_has_avx512()
}

#endif
