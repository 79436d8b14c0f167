// im2col for strided convolutions: row (c, i, j) of the output matrix holds, for output rows
// y0 ..< y0 + rows and columns 0 ..< ow, the input value at
// (y·sh − ph + i·dh, x·sw − pw + j·dw), zero outside the image. Rows are split across the pool's
// threads. Stride 2 along a row takes the even lanes of two vector loads (AVX-512); other strides
// copy element by element over the columns that are inside the image.
#include "zoo_kernels.h"
#include "split.h"

#include <string.h>

#if defined(__x86_64__)
#include <immintrin.h>

__attribute__((target("avx512f"))) int zk_gather2(const float *line, int n, float *out) {
  // out[x] = line[2x] for x < n, in vectors while the 32 loaded floats are those of the row.
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  int x = 0;
  for (; x + 16 <= n; x += 16) {
    __m512 lo = _mm512_loadu_ps(line + 2 * x);
    __m512 hi = _mm512_maskz_loadu_ps(0x7FFF, line + 2 * x + 16);  // lane 31 is never needed
    _mm512_storeu_ps(out + x, _mm512_permutex2var_ps(lo, even, hi));
  }
  return x;
}
#endif

typedef struct {
  const float *src;
  int channels, h, w, kh, kw, sh, sw, ph, pw, dh, dw, y0, rows, ow;
  float *dst;
  int avx512;
} im2col_job;

#if defined(__x86_64__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void im2col_part(void *p, int index, int count) {
  const im2col_job *J = p;
  int krows = J->channels * J->kh * J->kw;
  int begin = (int)((long)krows * index / count), end = (int)((long)krows * (index + 1) / count);
  long columns = (long)J->rows * J->ow;
  for (int r = begin; r < end; r++) {
    int ch = r / (J->kh * J->kw), i = (r / J->kw) % J->kh, j = r % J->kw;
    const float *plane = J->src + (long)ch * J->h * J->w;
    float *out = J->dst + (long)r * columns;
    int x0 = j * J->dw - J->pw;
    // Output columns whose input column is inside the row: lo ..< hi.
    int lo = x0 >= 0 ? 0 : (-x0 + J->sw - 1) / J->sw;
    int hi = J->w - 1 - x0 >= 0 ? (J->w - 1 - x0) / J->sw + 1 : 0;
    if (hi > J->ow) hi = J->ow;
    if (lo > hi) lo = hi;
    for (int y = J->y0; y < J->y0 + J->rows; y++, out += J->ow) {
      int iy = y * J->sh - J->ph + i * J->dh;
      // Rows are short (7 to 56 floats): plain loops, which the compiler vectorizes, beat calls.
      if (iy < 0 || iy >= J->h) {
        for (int x = 0; x < J->ow; x++) out[x] = 0;
        continue;
      }
      const float *line = plane + (long)iy * J->w + x0;
      for (int x = 0; x < lo; x++) out[x] = 0;
      int x = lo;
      if (J->sw == 1) {
        for (; x < hi; x++) out[x] = line[x];
      }
#if defined(__x86_64__)
      else if (J->sw == 2 && J->avx512) {
        x += zk_gather2(line + 2 * lo, hi - lo, out + lo);
      }
#endif
      for (; x < hi; x++) out[x] = line[(long)x * J->sw];
      for (int z = hi; z < J->ow; z++) out[z] = 0;
    }
  }
}

void zk_im2col(const float *src, int channels, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int dh,
               int dw, int y0, int rows, int ow, float *dst, int threads) {
  im2col_job job = {src, channels, h, w, kh, kw, sh, sw, ph, pw, dh, dw, y0, rows, ow, dst, zk_has_avx512()};
  int krows = channels * kh * kw;
  int used = zk_split(threads, krows, krows, 0);
  zk_parallel_chunks(used, zk_chunks(used, krows), im2col_part, &job);
}
