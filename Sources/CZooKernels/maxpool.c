// Max pooling, and average pooling whose windows all lie inside the image, NCHW, planes split across
// the pool's threads.
//
// Per output row, the maxima of the kernel's input rows (clipped to the image) are taken column by
// column into a row buffer, then tap by tap along that buffer over the output columns whose tap is
// inside the image: branch-free contiguous loops the compiler vectorizes. Padding never wins
// (it is −∞ in PyTorch). Dilation 1.
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

#if defined(__x86_64__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void maxpool_part(void *p, int index, int count) {
  const maxpool_job *J = p;
  int begin = (int)((long)J->planes * index / count), end = (int)((long)J->planes * (index + 1) / count);
  // Stride 1 with "same" width (GoogLeNet's branch pools): whole-plane passes, long vector loops.
  if (!J->average && J->sh == 1 && J->sw == 1 && J->ow == J->w) {
    float *v = J->buffers + (long)index * J->per_thread;
    const long n = (long)J->oh * J->w;
    for (int plane = begin; plane < end; plane++) {
      const float *src = J->src + (long)plane * J->h * J->w;
      float *dst = J->dst + (long)plane * J->oh * J->ow;
      for (long p = 0; p < n; p++) v[p] = -__builtin_inff();
      for (int i = 0; i < J->kh; i++) {
        // Output rows y whose tap i, row y − ph + i, is inside the image.
        int ylo = J->ph - i > 0 ? J->ph - i : 0;
        int yhi = J->h + J->ph - i < J->oh ? J->h + J->ph - i : J->oh;
        if (ylo >= yhi) continue;
        const float *in = src + (long)(ylo - J->ph + i) * J->w;
        float *out = v + (long)ylo * J->w;
        for (long p = 0; p < (long)(yhi - ylo) * J->w; p++) out[p] = in[p] > out[p] ? in[p] : out[p];
      }
      for (long p = 0; p < n; p++) dst[p] = -__builtin_inff();
      for (int j = 0; j < J->kw; j++) {
        int off = j - J->pw;
        long lo = off < 0 ? -off : 0, hi = off > 0 ? n - off : n;
        for (long p = lo; p < hi; p++) dst[p] = v[p + off] > dst[p] ? v[p + off] : dst[p];
      }
      // Columns whose window crosses the row's edge (the first pw, the last kw − 1 − pw) also read
      // the neighbouring row in the passes above: redo them from their own row.
      int left = J->pw < J->w ? J->pw : J->w;
      int right = J->w - (J->kw - 1 - J->pw) > left ? J->w - (J->kw - 1 - J->pw) : left;
      for (int y = 0; y < J->oh; y++) {
        const float *vr = v + (long)y * J->w;
        for (int x = 0; x < J->w; x++) {
          if (x == left) x = right;
          if (x >= J->w) break;
          float m = -__builtin_inff();
          for (int j = 0; j < J->kw; j++) {
            int ix = x - J->pw + j;
            if (ix >= 0 && ix < J->w) m = vr[ix] > m ? vr[ix] : m;
          }
          dst[(long)y * J->w + x] = m;
        }
      }
    }
    return;
  }
  float *row = J->buffers + (long)index * J->per_thread;
  for (int plane = begin; plane < end; plane++) {
    const float *src = J->src + (long)plane * J->h * J->w;
    float *dst = J->dst + (long)plane * J->oh * J->ow;
    for (int y = 0; y < J->oh; y++) {
      int y0 = y * J->sh - J->ph;
      int ys = y0 < 0 ? 0 : y0, ye = y0 + J->kh < J->h ? y0 + J->kh : J->h;
      const float *first = src + (long)ys * J->w;
      for (int x = 0; x < J->w; x++) row[x] = first[x];
      for (int iy = ys + 1; iy < ye; iy++) {
        const float *line = src + (long)iy * J->w;
        if (J->average)
          for (int x = 0; x < J->w; x++) row[x] += line[x];
        else
          for (int x = 0; x < J->w; x++) row[x] = line[x] > row[x] ? line[x] : row[x];
      }
      float *out = dst + (long)y * J->ow;
      if (J->average) {
        // Only windows inside the image (the caller checks): kh · kw elements each.
        const float scale = 1.0f / (float)(J->kh * J->kw);
        for (int x = 0; x < J->ow; x++) {
          float sum = 0;
          for (int j = 0; j < J->kw; j++) sum += row[x * J->sw + j];
          out[x] = sum * scale;
        }
        continue;
      }
      for (int x = 0; x < J->ow; x++) out[x] = -__builtin_inff();
      // Stride 2: the row's even and odd columns, each contiguous (`half` floats apart).
      float *phases = row + J->w;
      const int half = (J->w + 1) / 2;
      if (J->sw == 2) {
        for (int i = 0; i < half; i++) phases[i] = row[2 * i];
        for (int i = 0; i < J->w / 2; i++) phases[half + i] = row[2 * i + 1];
      }
      for (int j = 0; j < J->kw; j++) {
        // Output columns whose tap j is inside the row: lo ..< hi.
        int off = j - J->pw;
        int lo = off >= 0 ? 0 : (-off + J->sw - 1) / J->sw;
        int hi = J->w - 1 - off >= 0 ? (J->w - 1 - off) / J->sw + 1 : 0;
        if (hi > J->ow) hi = J->ow;
        const float *tap = row + off;
        if (J->sw == 1) {
          for (int x = lo; x < hi; x++) out[x] = tap[x] > out[x] ? tap[x] : out[x];
        } else if (J->sw == 2) {
          // row[2x + off] is phase (off mod 2) at x + floor(off / 2): a contiguous read.
          int q = off >= 0 ? off / 2 : -((-off + 1) / 2);
          const float *ph = (off - 2 * q == 0 ? phases : phases + half) + q;
          for (int x = lo; x < hi; x++) out[x] = ph[x] > out[x] ? ph[x] : out[x];
        } else {
          for (int x = lo; x < hi; x++) out[x] = tap[(long)x * J->sw] > out[x] ? tap[(long)x * J->sw] : out[x];
        }
      }
    }
  }
}

static void pool(const float *src, int planes, int h, int w, int kh, int kw, int sh, int sw, int ph, int pw, int oh,
                 int ow, float *dst, int threads, int average) {
  int count = zk_split(threads, planes, (long)planes * oh * ow, 4096);
  // The whole-plane path's buffer (oh · w), or the row path's: the row and its two phases (2 · w).
  long per_thread = (long)(oh > 2 ? oh : 2) * w + 2;
  maxpool_job job = {src, dst, planes, h, w, kh, kw, sh, sw, ph, pw, oh, ow, average, NULL, per_thread};
  job.buffers = malloc(sizeof(float) * (size_t)(count * per_thread));
  if (!job.buffers) abort();  // a few hundred KB at most
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
