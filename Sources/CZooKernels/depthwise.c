// Depthwise convolution: one kh × kw filter per plane (groups == input channels == output channels),
// as direct loops over output rows, split across the pool's threads by plane.
#include "zoo_kernels.h"
#include "split.h"

typedef struct {
  const float *x, *w, *bias;
  float *y;
  int channels, h, wd, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, relu;
  long planes;
} dw_job;

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
    for (int oy = 0; oy < J->oh; oy++) {
      float *row = dst + (long)oy * J->ow;
      for (int ox = 0; ox < J->ow; ox++) row[ox] = b;
      for (int i = 0; i < J->kh; i++) {
        const int iy = oy * J->sh - J->ph + i * J->dh;
        if (iy < 0 || iy >= J->h) continue;
        const float *in = src + (long)iy * J->wd;
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
          } else {
            for (int ox = lo; ox < hi; ox++) row[ox] += wv * in[ox * J->sw + off];
          }
        }
      }
      if (J->relu)
        for (int ox = 0; ox < J->ow; ox++) row[ox] = row[ox] > 0 ? row[ox] : 0;
    }
  }
}

void zk_depthwise(const float *x, const float *w, const float *bias, float *y, int batch, int channels, int h, int wd,
                  int oh, int ow, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw, int relu,
                  int threads) {
  dw_job job = {x, w, bias, y, channels, h, wd, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, relu,
                (long)batch * channels};
  long work = job.planes * oh * ow * kh * kw;
  int used = zk_split(threads, job.planes, work, 65536);
  zk_parallel_chunks(used, zk_chunks(used, job.planes), dw_part, &job);
}
