// The padded, phase-split copy of a convolution's input that lets the GEMM read every tap in place
// (see `zk_phase_pad` in zoo_kernels.h).
#include "zoo_kernels.h"
#include "split.h"

#include <string.h>

#if defined(__x86_64__)
int zk_gather2(const float *line, int n, float *out);
#endif

typedef struct {
  const float *src;
  int channels, h, w, sh, sw;
  const int *row_phases, *col_phases;
  int nph, npw, dmin_h, dmin_w, hq, wq;
  float *dst;
  int avx512;
} phase_job;

static void phase_part(void *p, int index, int count) {
  const phase_job *J = p;
  int planes = J->channels * J->nph * J->npw;
  int begin = (int)((long)planes * index / count), end = (int)((long)planes * (index + 1) / count);
  for (int q = begin; q < end; q++) {
    int c = q / (J->nph * J->npw), a = (q / J->npw) % J->nph, b = q % J->npw;
    const float *plane = J->src + (long)c * J->h * J->w;
    float *out = J->dst + (long)q * J->hq * J->wq;
    int pr = J->row_phases[a], pc = J->col_phases[b];
    // Columns v with 0 ≤ sw·(v + dmin_w) + pc < w: lo ..< hi.
    int x0 = J->sw * J->dmin_w + pc;  // input column of v = 0
    int lo = x0 >= 0 ? 0 : (-x0 + J->sw - 1) / J->sw;
    int hi = J->w - 1 - x0 >= 0 ? (J->w - 1 - x0) / J->sw + 1 : 0;
    if (hi > J->wq) hi = J->wq;
    if (lo > hi) lo = hi;
    for (int u = 0; u < J->hq; u++, out += J->wq) {
      int iy = J->sh * (u + J->dmin_h) + pr;
      if (iy < 0 || iy >= J->h) {
        memset(out, 0, sizeof(float) * (size_t)J->wq);
        continue;
      }
      const float *line = plane + (long)iy * J->w + x0;
      if (lo > 0) memset(out, 0, sizeof(float) * (size_t)lo);
      int v = lo;
      if (J->sw == 1) {
        memcpy(out + lo, line + lo, sizeof(float) * (size_t)(hi - lo));
        v = hi;
      }
#if defined(__x86_64__)
      else if (J->sw == 2 && J->avx512) {
        v += zk_gather2(line + 2 * lo, hi - lo, out + lo);
      }
#endif
      for (; v < hi; v++) out[v] = line[(long)v * J->sw];
      if (hi < J->wq) memset(out + hi, 0, sizeof(float) * (size_t)(J->wq - hi));
    }
  }
}

void zk_phase_pad(const float *src, int channels, int h, int w, int sh, int sw, const int *row_phases, int nph,
                  const int *col_phases, int npw, int dmin_h, int dmin_w, int hq, int wq, int slack, float *dst,
                  int threads) {
  phase_job job = {src, channels, h, w, sh, sw, row_phases, col_phases, nph, npw, dmin_h, dmin_w, hq, wq, dst,
                   zk_has_avx512()};
  int planes = channels * nph * npw;
  int used = zk_split(threads, planes, (long)planes * hq * wq, 16384);
  zk_parallel_chunks(used, zk_chunks(used, planes), phase_part, &job);
  memset(dst + (long)planes * hq * wq, 0, sizeof(float) * (size_t)slack);
}
