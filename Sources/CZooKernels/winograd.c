// Winograd F(2×2, 3×3) and F(4×4, 3×3) on the engine's own kernels, AVX-512: 3×3 convolutions with
// stride 1 and dilation 1 (see Winograd.swift for the algebra). One driver for both tile sizes;
// per band of tile rows (F(2×2) described, F(4×4) at `input_range4` and `output_range4`):
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
  int tile;          // output tile side: 2 (F(2×2, 3×3)) or 4 (F(4×4, 3×3))
  int npos;          // positions of a transformed tile: (m + 2)²
} wino_job;

// Row buffers: m · tiles_w + 2 columns of the padded input and a vector's slack past 16-tile blocks
// (a multiple of 16).
static inline int row_floats(int tiles_w, int m) { return (tiles_w + 15) / 16 * 16 * m + 48; }

static ZK_AVX512 void input_range2(const wino_job *J, int begin, int end) {
  const int rf = row_floats(J->tiles_w, 2);
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

// F(4×4, 3×3)'s `Bᵀ x` for the six values x0 … x5 of a column (or row) of the 6×6 patch:
//   4x0 − 5x2 + x4,  (x4 − 4x2) ± (x3 − 4x1),  (x4 − x2) ± 2(x3 − x1),  4x1 − 5x3 + x5.
static inline ZK_AVX512 void bt6(const __m512 x[6], __m512 y[6]) {
  const __m512 two = _mm512_set1_ps(2.0f), four = _mm512_set1_ps(4.0f), five = _mm512_set1_ps(5.0f);
  __m512 a = _mm512_fnmadd_ps(four, x[2], x[4]), b = _mm512_fnmadd_ps(four, x[1], x[3]);
  __m512 c = _mm512_sub_ps(x[4], x[2]), d = _mm512_mul_ps(two, _mm512_sub_ps(x[3], x[1]));
  y[0] = _mm512_fmadd_ps(four, x[0], _mm512_fnmadd_ps(five, x[2], x[4]));
  y[1] = _mm512_add_ps(a, b);
  y[2] = _mm512_sub_ps(a, b);
  y[3] = _mm512_add_ps(c, d);
  y[4] = _mm512_sub_ps(c, d);
  y[5] = _mm512_fmadd_ps(four, x[1], _mm512_fnmadd_ps(five, x[3], x[5]));
}

// F(4×4, 3×3)'s `Aᵀ x`: x0 + (x1 + x2) + (x3 + x4), (x1 − x2) + 2(x3 − x4), (x1 + x2) + 4(x3 + x4),
// (x1 − x2) + 8(x3 − x4) + x5.
static inline ZK_AVX512 void at6(const __m512 x[6], __m512 y[4]) {
  __m512 s12 = _mm512_add_ps(x[1], x[2]), d12 = _mm512_sub_ps(x[1], x[2]);
  __m512 s34 = _mm512_add_ps(x[3], x[4]), d34 = _mm512_sub_ps(x[3], x[4]);
  y[0] = _mm512_add_ps(_mm512_add_ps(x[0], s12), s34);
  y[1] = _mm512_fmadd_ps(_mm512_set1_ps(2.0f), d34, d12);
  y[2] = _mm512_fmadd_ps(_mm512_set1_ps(4.0f), s34, s12);
  y[3] = _mm512_add_ps(_mm512_fmadd_ps(_mm512_set1_ps(8.0f), d34, d12), x[5]);
}

// F(4×4): per tile row, the six padded input rows 4·ty ..< 4·ty + 6 are combined vertically (`Bᵀ d`,
// vectors along the columns, in place), then for 16 tiles at once the six columns 4·tx … 4·tx + 5
// of each combined row are its floats in phases 0–3 of four (two rounds of even/odd halves of four
// vector loads) and phases 0 and 1 moved on by one tile (the next float appended), and `· B` is the
// same combination along the row.
static ZK_AVX512 void input_range4(const wino_job *J, int begin, int end) {
  const int rf = row_floats(J->tiles_w, 4);
  float rows[6][rf];
  const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
  const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
  const long t = J->t, xs = (long)J->cin * t;
  // Columns the tiles read: up to 4 · tx + 66 for the last block of 16 tiles.
  const int xend = (J->tiles_w + 15) / 16 * 64 + 16;
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
      for (int x = 0; x < xend; x += 16) {
        __m512 d[6], e[6];
        for (int i = 0; i < 6; i++) d[i] = _mm512_loadu_ps(rows[i] + x);
        bt6(d, e);
        for (int i = 0; i < 6; i++) _mm512_storeu_ps(rows[i] + x, e[i]);
      }
      for (int tx = 0; tx < J->tiles_w; tx += 16) {
        __mmask16 k = zk_lanes(J->tiles_w - tx);
        float *out = J->v + (long)c * t + (long)r * J->tiles_w + tx;
        for (int i = 0; i < 6; i++) {
          const float *q = rows[i] + 4 * tx;
          __m512 a = _mm512_loadu_ps(q), b = _mm512_loadu_ps(q + 16);
          __m512 cc = _mm512_loadu_ps(q + 32), dd = _mm512_loadu_ps(q + 48);
          __m512 e1 = _mm512_permutex2var_ps(a, even, b), o1 = _mm512_permutex2var_ps(a, odd, b);
          __m512 e2 = _mm512_permutex2var_ps(cc, even, dd), o2 = _mm512_permutex2var_ps(cc, odd, dd);
          __m512 p[6], y[6];
          p[0] = _mm512_permutex2var_ps(e1, even, e2);
          p[1] = _mm512_permutex2var_ps(o1, even, o2);
          p[2] = _mm512_permutex2var_ps(e1, odd, e2);
          p[3] = _mm512_permutex2var_ps(o1, odd, o2);
          p[4] = _mm512_castsi512_ps(
              _mm512_alignr_epi32(_mm512_castps_si512(_mm512_set1_ps(q[64])), _mm512_castps_si512(p[0]), 1));
          p[5] = _mm512_castsi512_ps(
              _mm512_alignr_epi32(_mm512_castps_si512(_mm512_set1_ps(q[65])), _mm512_castps_si512(p[1]), 1));
          bt6(p, y);
          for (int j = 0; j < 6; j++) _mm512_mask_storeu_ps(out + (6 * i + j) * xs, k, y[j]);
        }
      }
    }
  }
}

static void input_range(const wino_job *J, int begin, int end) {
  if (J->tile == 4)
    input_range4(J, begin, end);
  else
    input_range2(J, begin, end);
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

static ZK_AVX512 void output_range2(const wino_job *J, int begin, int end) {
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

// F(4×4): `Aᵀ M` down each of the six columns of 16 tiles' M, then `· A` along each of the four
// rows, plus the bias; the 16 tiles' four columns are interleaved (two rounds of interleaving pairs)
// into 64 output columns of a row, then the residual and ReLU, stored under masks where the output
// ends.
static ZK_AVX512 void output_range4(const wino_job *J, int begin, int end) {
  const __m512i lo_idx = _mm512_set_epi32(23, 7, 22, 6, 21, 5, 20, 4, 19, 3, 18, 2, 17, 1, 16, 0);
  const __m512i hi_idx = _mm512_set_epi32(31, 15, 30, 14, 29, 13, 28, 12, 27, 11, 26, 10, 25, 9, 24, 8);
  const long t = J->t, xs = (long)J->cout * t;
  const __m512 zero = _mm512_setzero_ps();
  for (int o = begin; o < end; o++) {
    const __m512 bias = _mm512_set1_ps(J->bias ? J->bias[o] : 0.0f);
    for (int r = 0; r < J->rows; r++) {
      int y = 4 * (J->ty0 + r);
      for (int tx = 0; tx < J->tiles_w; tx += 16) {
        __mmask16 k = zk_lanes(J->tiles_w - tx);
        const float *mp = J->m + (long)o * t + (long)r * J->tiles_w + tx;
        __m512 s[6][4];  // s[j][i]: row i of Aᵀ M, column j
        for (int j = 0; j < 6; j++) {
          __m512 col[6];
          for (int i = 0; i < 6; i++) col[i] = _mm512_maskz_loadu_ps(k, mp + (6 * i + j) * xs);
          at6(col, s[j]);
        }
        const int x0 = 4 * tx, n = J->ow - x0;
        const int rows = J->oh - y < 4 ? J->oh - y : 4;
        for (int i = 0; i < rows; i++) {
          __m512 row[6], yv[4];
          for (int j = 0; j < 6; j++) row[j] = s[j][i];
          at6(row, yv);
          for (int j = 0; j < 4; j++) yv[j] = _mm512_add_ps(yv[j], bias);
          __m512 l02 = _mm512_permutex2var_ps(yv[0], lo_idx, yv[2]), h02 = _mm512_permutex2var_ps(yv[0], hi_idx, yv[2]);
          __m512 l13 = _mm512_permutex2var_ps(yv[1], lo_idx, yv[3]), h13 = _mm512_permutex2var_ps(yv[1], hi_idx, yv[3]);
          __m512 out[4] = {_mm512_permutex2var_ps(l02, lo_idx, l13), _mm512_permutex2var_ps(l02, hi_idx, l13),
                           _mm512_permutex2var_ps(h02, lo_idx, h13), _mm512_permutex2var_ps(h02, hi_idx, h13)};
          long at = (long)o * J->oh * J->ow + (long)(y + i) * J->ow + x0;
          for (int v = 0; v < 4 && 16 * v < n; v++) {
            __mmask16 kv = zk_lanes(n - 16 * v);
            if (J->residual) out[v] = _mm512_add_ps(out[v], _mm512_maskz_loadu_ps(kv, J->residual + at + 16 * v));
            if (J->relu) out[v] = _mm512_max_ps(out[v], zero);
            _mm512_mask_storeu_ps(J->dst + at + 16 * v, kv, out[v]);
          }
        }
      }
    }
  }
}

static void output_range(const wino_job *J, int begin, int end) {
  if (J->tile == 4)
    output_range4(J, begin, end);
  else
    output_range2(J, begin, end);
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
    J.m = J.v + J.npos * (long)J.cin * J.t;
    long *boff = P->boffs + (long)index * J.cin;
    for (int c = 0; c < J.cin; c++) boff[c] = (long)c * J.t;
    J.boff = boff;
    input_range(&J, 0, J.cin);
    for (int xi = 0; xi < J.npos; xi++) gemm_part(&J, xi, J.npos);
    output_range(&J, 0, J.cout);
  }
}

// The driver of both tile sizes: `tile` 2 or 4, `(tile + 2)²` transformed positions.
static void winograd_run(int tile, const float *src, int cin, int h, int w, int ph, int pw, int cout, int oh, int ow,
                         const float *u_packed, long u_stride, const float *bias, int relu, const float *residual,
                         float *dst, float *scratch, int band_rows, int private_slots, int threads) {
  const int npos = (tile + 2) * (tile + 2);
  const int tiles_h = (oh + tile - 1) / tile, tiles_w = (ow + tile - 1) / tile;
  if (band_rows < 1) band_rows = 1;
  long max_t = (long)band_rows * tiles_w;
  int slots = private_slots > 0 ? private_slots : 1;
  long *boff = malloc(sizeof(long) * (size_t)cin * (size_t)slots);
  if (!boff) abort();  // a few KB
  wino_job J = {src,  cin,     h,  w,       ph, pw,   cout,    oh,
                ow,   u_packed, u_stride, bias, relu, residual, dst, 0,
                0,    tiles_w, 0,  scratch, scratch + npos * (long)cin * max_t, boff, tile, npos};
  if (private_slots > 0) {
    int bands = (tiles_h + band_rows - 1) / band_rows;
    int used = threads < slots ? threads : slots;
    if (used > bands) used = bands;
    if (used < 1) used = 1;
    private_job P = {J, band_rows, tiles_h, npos * (long)(cin + cout) * max_t, slots, boff};
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
    zk_parallel_chunks(zk_split(threads, npos, npos, 0), npos, gemm_part, &J);
    used = zk_split(threads, cout, (long)cout * J.t, 0);
    zk_parallel_chunks(used, zk_chunks(used, cout), output_part, &J);
  }
  free(boff);
}

#define ZK_WINO_PARAMS                                                                                                 \
  const float *src, int cin, int h, int w, int ph, int pw, int cout, int oh, int ow, const float *u_packed,          \
      long u_stride, const float *bias, int relu, const float *residual, float *dst, float *scratch, int band_rows,  \
      int private_slots, int threads
#define ZK_WINO_ARGS                                                                                                   \
  src, cin, h, w, ph, pw, cout, oh, ow, u_packed, u_stride, bias, relu, residual, dst, scratch, band_rows,            \
      private_slots, threads

void zk_winograd_f2x3(ZK_WINO_PARAMS) { winograd_run(2, ZK_WINO_ARGS); }

void zk_winograd_f4x3(ZK_WINO_PARAMS) { winograd_run(4, ZK_WINO_ARGS); }

#else

// A programmer error off x86-64: callers check zk_has_avx512().
void zk_winograd_f2x3(const float *src, int cin, int h, int w, int ph, int pw, int cout, int oh, int ow,
                      const float *u_packed, long u_stride, const float *bias, int relu, const float *residual,
                      float *dst, float *scratch, int band_rows, int private_slots, int threads) {
  (void)residual, (void)private_slots, (void)src, (void)cin, (void)h, (void)w, (void)ph, (void)pw, (void)cout, (void)oh, (void)ow, (void)u_packed;
  (void)u_stride, (void)bias, (void)relu, (void)dst, (void)scratch, (void)band_rows, (void)threads;
  abort();
}

void zk_winograd_f4x3(const float *src, int cin, int h, int w, int ph, int pw, int cout, int oh, int ow,
                      const float *u_packed, long u_stride, const float *bias, int relu, const float *residual,
                      float *dst, float *scratch, int band_rows, int private_slots, int threads) {
  zk_winograd_f2x3(src, cin, h, w, ph, pw, cout, oh, ow, u_packed, u_stride, bias, relu, residual, dst, scratch,
                   band_rows, private_slots, threads);
}

#endif
