// Depthwise convolution: one kh × kw filter per plane (groups == input channels == output channels),
// as direct loops over output rows, split across the pool's threads by plane.
#include "zoo_kernels.h"
#include "split.h"

/// Widest half row the stride-2 path splits on the stack (wider rows take the strided loop).
#define ZK_DW_ROW 2048

typedef struct {
  const float *x, *w, *bias;
  float *y;
  int channels, h, wd, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw;
  float lo, hi;
  long planes;
} dw_job;

// 3×3, dilation 1, stride 1 or 2 (MobileNet's depthwise layers): each input row the window needs is
// copied once per output row into a zero-padded buffer (split into even and odd columns at stride 2),
// so all nine taps are unconditional contiguous reads and the sum stays in a register.
#if defined(__x86_64__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void dw3_plane(const dw_job *J, const float *src, const float *filter, float b, float *dst) {
  const int pw = J->pw, wp = J->wd + 2 * pw, half = (wp + 1) / 2;
  float rows[3][2 * ZK_DW_ROW + 2];
  for (int oy = 0; oy < J->oh; oy++) {
    for (int i = 0; i < 3; i++) {
      const int iy = oy * J->sh - J->ph + i;
      float *r = rows[i];
      if (iy < 0 || iy >= J->h) {
        for (int x = 0; x < wp + 1; x++) r[x] = 0;
        continue;
      }
      const float *in = src + (long)iy * J->wd;
      if (J->sw == 1) {
        for (int x = 0; x < pw; x++) r[x] = 0;
        for (int x = 0; x < J->wd; x++) r[pw + x] = in[x];
        for (int x = pw + J->wd; x < wp + 1; x++) r[x] = 0;
      } else {
        // Even padded columns in r[0 ..< half], odd ones in r[half ..< 2·half].
        for (int x = 0; x < 2 * half; x++) {
          const int ix = x - pw;
          r[(x & 1) * half + (x >> 1)] = ix >= 0 && ix < J->wd ? in[ix] : 0;
        }
      }
    }
    float *out = dst + (long)oy * J->ow;
    const float lo = J->lo, hi = J->hi;
    if (J->sw == 1) {
      const float *a = rows[0], *c = rows[1], *e = rows[2];
      for (int ox = 0; ox < J->ow; ox++) {
        float v = b + filter[0] * a[ox] + filter[1] * a[ox + 1] + filter[2] * a[ox + 2] + filter[3] * c[ox] +
                  filter[4] * c[ox + 1] + filter[5] * c[ox + 2] + filter[6] * e[ox] + filter[7] * e[ox + 1] +
                  filter[8] * e[ox + 2];
        v = v > lo ? v : lo;
        out[ox] = v < hi ? v : hi;
      }
    } else {
      const float *a0 = rows[0], *a1 = rows[0] + half, *c0 = rows[1], *c1 = rows[1] + half, *e0 = rows[2],
                  *e1 = rows[2] + half;
      for (int ox = 0; ox < J->ow; ox++) {
        float v = b + filter[0] * a0[ox] + filter[1] * a1[ox] + filter[2] * a0[ox + 1] + filter[3] * c0[ox] +
                  filter[4] * c1[ox] + filter[5] * c0[ox + 1] + filter[6] * e0[ox] + filter[7] * e1[ox] +
                  filter[8] * e0[ox + 1];
        v = v > lo ? v : lo;
        out[ox] = v < hi ? v : hi;
      }
    }
  }
}

// For each tap, the output row gains `weight · input row` over the columns whose input lies inside
// the image; with stride 1 that is a contiguous multiply-add the compiler vectorises.
#if defined(__x86_64__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void dw_part(void *p, int index, int count) {
  const dw_job *J = p;
  long begin = J->planes * index / count, end = J->planes * (index + 1) / count;
  for (long plane = begin; plane < end; plane++) {
    const int c = (int)(plane % J->channels);
    const float *filter = J->w + (long)c * J->kh * J->kw;
    const float b = J->bias ? J->bias[c] : 0;
    const float *src = J->x + plane * J->h * J->wd;
    float *dst = J->y + plane * J->oh * J->ow;
    if (J->kh == 3 && J->kw == 3 && J->dh == 1 && J->dw == 1 && (J->sh == 1 || J->sh == 2) &&
        (J->sw == 1 || J->sw == 2) && J->wd + 2 * J->pw + 2 <= 2 * ZK_DW_ROW) {
      dw3_plane(J, src, filter, b, dst);
      continue;
    }
    for (int oy = 0; oy < J->oh; oy++) {
      float *row = dst + (long)oy * J->ow;
      for (int ox = 0; ox < J->ow; ox++) row[ox] = b;
      for (int i = 0; i < J->kh; i++) {
        const int iy = oy * J->sh - J->ph + i * J->dh;
        if (iy < 0 || iy >= J->h) continue;
        const float *in = src + (long)iy * J->wd;
        // Stride 2: the row's even and odd columns apart, so every tap reads contiguously.
        float phase[2][ZK_DW_ROW];
        const int split = J->sw == 2 && J->wd <= 2 * ZK_DW_ROW;
        if (split)
          for (int x = 0; x < J->wd; x++) phase[x & 1][x >> 1] = in[x];
        for (int j = 0; j < J->kw; j++) {
          const float wv = filter[i * J->kw + j];
          const int off = j * J->dw - J->pw;
          // Output columns ox with 0 ≤ ox · sw + off < wd.
          int lo = off >= 0 ? 0 : (-off + J->sw - 1) / J->sw;
          int hi = J->wd - 1 - off >= 0 ? (J->wd - 1 - off) / J->sw + 1 : 0;
          if (hi > J->ow) hi = J->ow;
          if (J->sw == 1) {
            const float *s = in + off;
            for (int ox = lo; ox < hi; ox++) row[ox] += wv * s[ox];
          } else if (split) {
            // Column 2·ox + off is phase (off & 1), index ox + (off >> 1) (an arithmetic shift: floor),
            // never negative for ox ≥ lo; indexed rather than through a pointer shifted by off >> 1, which
            // would point before the array when off < 0 (undefined, and flagged by -fsanitize=bounds).
            const float *s = phase[off & 1];
            const int shift = off >> 1;
            for (int ox = lo; ox < hi; ox++) row[ox] += wv * s[ox + shift];
          } else {
            for (int ox = lo; ox < hi; ox++) row[ox] += wv * in[ox * J->sw + off];
          }
        }
      }
      const float lo = J->lo, hi = J->hi;
      for (int ox = 0; ox < J->ow; ox++) {
        float v = row[ox] > lo ? row[ox] : lo;
        row[ox] = v < hi ? v : hi;
      }
    }
  }
}

void zk_depthwise(const float *x, const float *w, const float *bias, float *y, int batch, int channels, int h, int wd,
                  int oh, int ow, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, float lo,
                  float hi, int threads) {
  dw_job job = {x, w, bias, y, channels, h, wd, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, lo, hi, (long)batch * channels};
  long work = job.planes * oh * ow * kh * kw;
  int used = zk_split(threads, job.planes, work, 65536);
  zk_parallel_chunks(used, zk_chunks(used, job.planes), dw_part, &job);
}
