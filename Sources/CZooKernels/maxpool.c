// Max pooling, and average pooling whose windows all lie inside the image, NCHW, planes split across
// the pool's threads; AVX-512 passes over whole planes where the CPU has it.
//
// Both take, per output row, the maxima (sums) of the window's input rows into a row buffer, then
// the window's taps along that buffer: branch-free contiguous loops the compiler vectorizes. Max
// pooling of planes up to 32 wide keeps the row in two registers instead (`max_plane_small`:
// GoogLeNet's 480 × 14 × 14 branch pool 63 → 33 µs on one thread), and so does stride 2 with windows
// up to 3 wide on wider planes (`max_plane_stride2`: the stems' 64 × 112 × 112 pool 80 → 41 µs on
// two threads). Dilation 1.
#include "zoo_kernels.h"
#include "split.h"

#include <stdlib.h>

typedef struct {
  const float *src;
  float *dst;
  int planes, h, w, kh, kw, sh, sw, ph, pw, oh, ow;
  int average;  // 1: the mean of the window instead of its maximum
  float *buffers;  // per thread: `per_thread` floats, allocated by the caller (a malloc on a worker
                   // would give it its own arena, whose pages stay resident)
  long per_thread;
} maxpool_job;

// Max pooling, plane by plane. Padding is −∞ (it never wins, as in PyTorch), so the windows read a
// row buffer `V` of `wv` floats whose column `c` is input column `c − pw`, −∞ outside the image:
// per output row, `V` takes the maxima of the window's input rows (those inside the image; every
// window holds at least one), then each output is the maximum of `kw` taps along `V`. Stride 2
// splits `V` into its even and odd columns (`E`, `O`), so every tap is a shifted contiguous read.
// `wv` covers the last window, ceil mode included: `max(pw + w, (ow − 1)·sw + kw)`.
static long max_row_floats(const maxpool_job *J) {
  long wp = (long)(J->ow - 1) * J->sw + J->kw, wv = J->pw + J->w > wp ? J->pw + J->w : wp;
  // V, E and O for one row (`max_plane`) or for every output row (`max_plane_avx512`), with slack.
  long rows = J->oh, strides = ((wv + 15) / 16 * 16 + 16) + 2 * (((wv + 1) / 2 + 15) / 16 * 16 + 16);
  return rows * strides + 2 * wv + 128;
}

static inline __attribute__((always_inline)) void max_plane(const maxpool_job *J, const float *src, float *dst,
                                                            float *buf) {
  const int h = J->h, w = J->w, kh = J->kh, kw = J->kw, sh = J->sh, sw = J->sw, ph = J->ph, pw = J->pw;
  const int oh = J->oh, ow = J->ow;
  const int wp = (ow - 1) * sw + kw, wv = pw + w > wp ? pw + w : wp;
  float *V = buf, *E = V + wv + 32, *O = E + wv / 2 + 32;
  const float ninf = -__builtin_inff();
  for (int c = 0; c < pw; c++) V[c] = ninf;
  for (int c = pw + w; c < wv; c++) V[c] = ninf;
  float *row = V + pw;
  for (int y = 0; y < oh; y++) {
    int y0 = y * sh - ph;
    int ys = y0 < 0 ? 0 : y0, ye = y0 + kh < h ? y0 + kh : h;
    const float *first = src + (long)ys * w;
    for (int c = 0; c < w; c++) row[c] = first[c];
    for (int iy = ys + 1; iy < ye; iy++) {
      const float *line = src + (long)iy * w;
      for (int c = 0; c < w; c++) row[c] = line[c] > row[c] ? line[c] : row[c];
    }
    float *out = dst + (long)y * ow;
    if (sw == 1) {
      for (int x = 0; x < ow; x++) {
        float m = V[x];
        for (int j = 1; j < kw; j++) m = V[x + j] > m ? V[x + j] : m;
        out[x] = m;
      }
    } else if (sw == 2) {
      for (int i = 0; i < (wv + 1) / 2; i++) E[i] = V[2 * i];
      for (int i = 0; i < wv / 2; i++) O[i] = V[2 * i + 1];
      for (int x = 0; x < ow; x++) {
        float m = E[x];
        for (int j = 1; j < kw; j++) {
          float t = (j % 2 == 0 ? E : O)[x + j / 2];
          m = t > m ? t : m;
        }
        out[x] = m;
      }
    } else {
      for (int x = 0; x < ow; x++) {
        const float *t = V + (long)x * sw;
        float m = t[0];
        for (int j = 1; j < kw; j++) m = t[j] > m ? t[j] : m;
        out[x] = m;
      }
    }
  }
}

#if defined(__x86_64__)
#include <immintrin.h>

// Row strides of `max_plane_avx512`'s buffers: V rows, and E / O rows.
static inline long v_stride(long wv) { return (wv + 15) / 16 * 16 + 16; }
static inline long e_stride(long wv) { return ((wv + 1) / 2 + 15) / 16 * 16 + 16; }

// `max_plane` with AVX-512, 16 columns per vector (the last under a mask). Each pass runs over the
// whole plane before the next reads its output (rows of V for every output row, then their even and
// odd columns, then the taps), so no load waits for a store it overlaps.
//
// With `avg` (average pooling, every window inside the image, no padding) the passes add instead,
// and the sums are scaled by 1 / (kh · kw).
static inline __attribute__((always_inline, target("avx512f"))) __m512 combine(const int avg, __m512 a, __m512 b) {
  return avg ? _mm512_add_ps(a, b) : _mm512_max_ps(a, b);
}

// A masked store only for a partial vector: on AMD's AVX-512 cores a masked store is several times
// slower than a plain one, so full vectors take the plain store.
static inline __attribute__((always_inline, target("avx512f"))) void store(float *p, __mmask16 k, __m512 v) {
  if (k == 0xFFFF)
    _mm512_storeu_ps(p, v);
  else
    _mm512_mask_storeu_ps(p, k, v);
}

static inline __attribute__((always_inline, target("avx512f"))) void window_plane_avx512(
    const int avg, const maxpool_job *J, const float *src, float *dst, float *buf) {
  const int h = J->h, w = J->w, kh = J->kh, kw = J->kw, sh = J->sh, sw = J->sw, ph = J->ph, pw = J->pw;
  const int oh = J->oh, ow = J->ow;
  const int wp = (ow - 1) * sw + kw, wv = pw + w > wp ? pw + w : wp;
  const long vs = v_stride(wv), es = e_stride(wv);
  float *V = buf, *E = V + (long)oh * vs, *O = E + (long)oh * es;
  const __m512 ninf = _mm512_set1_ps(avg ? 0.0f : -__builtin_inff());
  for (int y = 0; y < oh; y++) {
    float *vrow = V + (long)y * vs;
    for (int c = 0; c < vs; c += 16) _mm512_storeu_ps(vrow + c, ninf);
  }
  for (int y = 0; y < oh; y++) {
    int y0 = y * sh - ph;
    int ys = y0 < 0 ? 0 : y0, ye = y0 + kh < h ? y0 + kh : h;
    float *row = V + (long)y * vs + pw;
    for (int c = 0; c < w; c += 16) {
      __mmask16 k = w - c >= 16 ? 0xFFFF : (__mmask16)((1u << (w - c)) - 1);
      const float *in = src + (long)ys * w + c;
      __m512 m = _mm512_maskz_loadu_ps(k, in);
      for (int iy = ys + 1; iy < ye; iy++) m = combine(avg, m, _mm512_maskz_loadu_ps(k, in + (long)(iy - ys) * w));
      store(row + c, k, m);
    }
  }
  if (sw == 2) {
    const __m512i even = _mm512_set_epi32(30, 28, 26, 24, 22, 20, 18, 16, 14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i odd = _mm512_set_epi32(31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    for (int y = 0; y < oh; y++) {
      const float *vrow = V + (long)y * vs;
      float *erow = E + (long)y * es, *orow = O + (long)y * es;
      for (int i = 0; 2 * i < wv; i += 16) {
        __m512 lo = _mm512_loadu_ps(vrow + 2 * i), hi = _mm512_loadu_ps(vrow + 2 * i + 16);
        _mm512_storeu_ps(erow + i, _mm512_permutex2var_ps(lo, even, hi));
        _mm512_storeu_ps(orow + i, _mm512_permutex2var_ps(lo, odd, hi));
      }
    }
  }
  const __m512 scale = _mm512_set1_ps(1.0f / (float)(kh * kw));
  for (int y = 0; y < oh; y++) {
    float *out = dst + (long)y * ow;
    const float *vrow = V + (long)y * vs;
    if (sw == 1 || sw == 2) {
      const float *erow = E + (long)y * es, *orow = O + (long)y * es;
      for (int x = 0; x < ow; x += 16) {
        __mmask16 k = ow - x >= 16 ? 0xFFFF : (__mmask16)((1u << (ow - x)) - 1);
        __m512 m = _mm512_maskz_loadu_ps(k, (sw == 1 ? vrow : erow) + x);
        for (int j = 1; j < kw; j++) {
          const float *t = sw == 1 ? vrow + j : (j % 2 == 0 ? erow : orow) + j / 2;
          m = combine(avg, m, _mm512_maskz_loadu_ps(k, t + x));
        }
        if (avg) m = _mm512_mul_ps(m, scale);
        store(out + x, k, m);
      }
    } else {
      for (int x = 0; x < ow; x++) {
        const float *t = vrow + (long)x * sw;
        float m = t[0];
        for (int j = 1; j < kw; j++) m = avg ? m + t[j] : (t[j] > m ? t[j] : m);
        out[x] = avg ? m * (1.0f / (float)(kh * kw)) : m;
      }
    }
  }
}

// Max pooling of planes at most 32 wide with at most 32 outputs per row (the 28×28 and smaller
// stages), all in registers: an input row is two vectors (lanes past the width −∞), the window's
// rows are combined per output row, and each tap of the window is a permute of that 32-lane row,
// lanes whose input column falls outside the row (the padding) set to −∞. The taps' permute indices
// and masks are the same for every row and plane (`small_taps`).
typedef struct {
  int n;                 // output vectors per row: 1 or 2
  __m512i idx[2][8];     // per output vector and tap: lanes of (lo, hi) to take
  __mmask16 valid[2][8]; // and which of them are inside the row
} small_taps;

static int small_fits(const maxpool_job *J) { return J->w <= 32 && J->ow <= 32 && J->kw <= 8; }

__attribute__((target("avx512f"))) static void small_taps_init(const maxpool_job *J, small_taps *T) {
  const __m512i iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  T->n = J->ow > 16 ? 2 : 1;
  for (int v = 0; v < T->n; v++)
    for (int j = 0; j < J->kw; j++) {
      // Output column x = 16·v + lane reads input column sw·x − pw + j.
      __m512i idx = _mm512_add_epi32(_mm512_mullo_epi32(_mm512_add_epi32(iota, _mm512_set1_epi32(16 * v)),
                                                        _mm512_set1_epi32(J->sw)),
                                     _mm512_set1_epi32(j - J->pw));
      T->valid[v][j] = _mm512_cmpge_epi32_mask(idx, _mm512_setzero_si512()) &
                       _mm512_cmplt_epi32_mask(idx, _mm512_set1_epi32(32));
      T->idx[v][j] = _mm512_and_si512(idx, _mm512_set1_epi32(31));
    }
}

__attribute__((target("avx512f"))) static void max_plane_small(const maxpool_job *J, const small_taps *T,
                                                                const float *src, float *dst) {
  const int h = J->h, w = J->w, kh = J->kh, kw = J->kw, sh = J->sh, ph = J->ph, oh = J->oh, ow = J->ow;
  const __m512 ninf = _mm512_set1_ps(-__builtin_inff());
  const __mmask16 k0 = zk_lanes(w), k1 = zk_lanes(w - 16);
  for (int y = 0; y < oh; y++) {
    int y0 = y * sh - ph;
    int ys = y0 < 0 ? 0 : y0, ye = y0 + kh < h ? y0 + kh : h;
    const float *in = src + (long)ys * w;
    __m512 lo = _mm512_mask_loadu_ps(ninf, k0, in), hi = ninf;
    if (w > 16) hi = _mm512_mask_loadu_ps(ninf, k1, in + 16);
    for (int iy = ys + 1; iy < ye; iy++) {
      in += w;
      lo = _mm512_max_ps(lo, _mm512_mask_loadu_ps(ninf, k0, in));
      if (w > 16) hi = _mm512_max_ps(hi, _mm512_mask_loadu_ps(ninf, k1, in + 16));
    }
    float *out = dst + (long)y * ow;
    for (int v = 0; v < T->n; v++) {
      __m512 m = ninf;
      // A tap whose input column is padding leaves the lane as it was.
      for (int j = 0; j < kw; j++)
        m = _mm512_mask_max_ps(m, T->valid[v][j], m, _mm512_permutex2var_ps(lo, T->idx[v][j], hi));
      _mm512_mask_storeu_ps(out + 16 * v, zk_lanes(ow - 16 * v), m);
    }
  }
}

// Stride-2 max pooling with windows at most 3 wide on planes wider than 32 (the stems' 112 × 112 and
// 56 × 56 pools), in registers: output vector v (16 columns) reads input columns
// 32·v − pw ..< 32·v − pw + 33, three vectors A, B, C of the window rows' maxima; tap j of lane l is
// lane 2·l + j of (A, B) — of C for the one lane that reaches 32. Loads outside the row are masked to
// −∞.
static int stride2_fits(const maxpool_job *J) { return J->sw == 2 && J->kw <= 3 && J->w > 32 && J->ow <= 512; }

__attribute__((target("avx512f"))) static void max_plane_stride2(const maxpool_job *J, const float *src, float *dst) {
  const int h = J->h, w = J->w, kh = J->kh, kw = J->kw, sh = J->sh, ph = J->ph, pw = J->pw, oh = J->oh, ow = J->ow;
  const __m512 ninf = _mm512_set1_ps(-__builtin_inff());
  const __m512i iota = _mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0);
  __m512i idx[3];
  for (int j = 0; j < kw; j++) idx[j] = _mm512_add_epi32(_mm512_add_epi32(iota, iota), _mm512_set1_epi32(j));
  const int nv = (ow + 15) / 16;
  // Per output vector: masks of its three input vectors (columns inside the row).
  __mmask16 km[32][3];
  for (int v = 0; v < nv; v++)
    for (int q = 0; q < 3; q++) {
      int c0 = 32 * v - pw + 16 * q;
      int lo = c0 < 0 ? -c0 : 0, hi = w - c0 < 16 ? w - c0 : 16;
      km[v][q] = lo >= hi ? 0 : (__mmask16)((hi >= 16 ? 0xFFFFu : (1u << hi) - 1) & ~((1u << lo) - 1));
    }
  for (int y = 0; y < oh; y++) {
    int y0 = y * sh - ph;
    int ys = y0 < 0 ? 0 : y0, ye = y0 + kh < h ? y0 + kh : h;
    float *out = dst + (long)y * ow;
    for (int v = 0; v < nv; v++) {
      const float *in = src + (long)ys * w + 32 * v - pw;
      __m512 a = _mm512_mask_loadu_ps(ninf, km[v][0], in), b = _mm512_mask_loadu_ps(ninf, km[v][1], in + 16);
      __m512 c = _mm512_mask_loadu_ps(ninf, km[v][2], in + 32);
      for (int iy = ys + 1; iy < ye; iy++) {
        in += w;
        a = _mm512_max_ps(a, _mm512_mask_loadu_ps(ninf, km[v][0], in));
        b = _mm512_max_ps(b, _mm512_mask_loadu_ps(ninf, km[v][1], in + 16));
        c = _mm512_max_ps(c, _mm512_mask_loadu_ps(ninf, km[v][2], in + 32));
      }
      __m512 m = _mm512_permutex2var_ps(a, idx[0], b);
      if (kw > 1) m = _mm512_max_ps(m, _mm512_permutex2var_ps(a, idx[1], b));
      if (kw > 2) {
        // Lane 15 of tap 2 is lane 32: C's first.
        __m512 t = _mm512_permutex2var_ps(a, idx[2], b);
        t = _mm512_mask_mov_ps(t, (__mmask16)0x8000, _mm512_broadcastss_ps(_mm512_castps512_ps128(c)));
        m = _mm512_max_ps(m, t);
      }
      int n = ow - 16 * v;
      if (n >= 16)
        _mm512_storeu_ps(out + 16 * v, m);
      else
        _mm512_mask_storeu_ps(out + 16 * v, (__mmask16)((1u << n) - 1), m);
    }
  }
}

__attribute__((target("avx512f"))) static void max_plane_avx512(const maxpool_job *J, const float *src, float *dst,
                                                                 float *buf) {
  window_plane_avx512(0, J, src, dst, buf);
}

__attribute__((target("avx512f"))) static void avg_plane_avx512(const maxpool_job *J, const float *src, float *dst,
                                                                 float *buf) {
  window_plane_avx512(1, J, src, dst, buf);
}
#endif

#if defined(__x86_64__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void maxpool_part(void *p, int index, int count) {
  const maxpool_job *J = p;
  int begin = (int)((long)J->planes * index / count), end = (int)((long)J->planes * (index + 1) / count);
  if (!J->average) {
    float *buf = J->buffers + (long)index * J->per_thread;
#if defined(__x86_64__)
    small_taps taps;
    const int small = zk_has_avx512() && small_fits(J);
    const int stride2 = zk_has_avx512() && !small && stride2_fits(J);
    if (small) small_taps_init(J, &taps);
#endif
    for (int plane = begin; plane < end; plane++) {
      const float *src = J->src + (long)plane * J->h * J->w;
      float *dst = J->dst + (long)plane * J->oh * J->ow;
#if defined(__x86_64__)
      if (small) {
        max_plane_small(J, &taps, src, dst);
        continue;
      }
      if (stride2) {
        max_plane_stride2(J, src, dst);
        continue;
      }
      if (zk_has_avx512()) {
        max_plane_avx512(J, src, dst, buf);
        continue;
      }
#endif
      max_plane(J, src, dst, buf);
    }
    return;
  }
  // Average pooling, every window inside the image: per output row the sums of its kh input rows,
  // then kh · kw-element means along the row.
  float *row = J->buffers + (long)index * J->per_thread;
#if defined(__x86_64__)
  if (zk_has_avx512()) {
    for (int plane = begin; plane < end; plane++)
      avg_plane_avx512(J, J->src + (long)plane * J->h * J->w, J->dst + (long)plane * J->oh * J->ow, row);
    return;
  }
#endif
  for (int plane = begin; plane < end; plane++) {
    const float *src = J->src + (long)plane * J->h * J->w;
    float *dst = J->dst + (long)plane * J->oh * J->ow;
    for (int y = 0; y < J->oh; y++) {
      const float *first = src + (long)y * J->sh * J->w;
      for (int x = 0; x < J->w; x++) row[x] = first[x];
      for (int iy = 1; iy < J->kh; iy++) {
        const float *line = first + (long)iy * J->w;
        for (int x = 0; x < J->w; x++) row[x] += line[x];
      }
      float *out = dst + (long)y * J->ow;
      const float scale = 1.0f / (float)(J->kh * J->kw);
      for (int x = 0; x < J->ow; x++) {
        float sum = 0;
        for (int j = 0; j < J->kw; j++) sum += row[x * J->sw + j];
        out[x] = sum * scale;
      }
    }
  }
}

static void pool(const float *src, int planes, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int oh,
                 int ow, float *dst, int threads, int average) {
  int count = zk_split(threads, planes, (long)planes * oh * ow, 4096);
  maxpool_job job = {src, dst, planes, h, w, kh, kw, sh, sw, ph, pw, oh, ow, average, NULL, 0};
  job.per_thread = max_row_floats(&job);
  job.buffers = malloc(sizeof(float) * (size_t)count * (size_t)job.per_thread);
  if (!job.buffers) abort();
  zk_parallel(count, maxpool_part, &job);
  free(job.buffers);
}

void zk_maxpool(const float *src, int planes, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int oh,
                int ow, float *dst, int threads) {
  pool(src, planes, h, w, kh, kw, sh, sw, ph, pw, oh, ow, dst, threads, 0);
}

void zk_avgpool_inside(const float *src, int planes, int h, int w, int kh, int kw, int sh, int sw, int oh, int ow,
                       float *dst, int threads) {
  pool(src, planes, h, w, kh, kw, sh, sw, 0, 0, oh, ow, dst, threads, 1);
}
