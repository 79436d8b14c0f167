// Element-wise kernels of the forward pass, split across the pool's threads in chunks.
#include "zoo_kernels.h"
#include "split.h"

typedef struct {
  const float *a, *b;
  float *out;
  long count;
  int relu;
} add_job;

#if defined(__x86_64__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void add_part(void *p, int index, int count) {
  const add_job *J = p;
  long begin = J->count * index / count, end = J->count * (index + 1) / count;
  const float *a = J->a, *b = J->b;
  float *out = J->out;
  if (J->relu) {
    for (long i = begin; i < end; i++) {
      float v = a[i] + b[i];
      out[i] = v > 0 ? v : 0;
    }
  } else {
    for (long i = begin; i < end; i++) out[i] = a[i] + b[i];
  }
}

void zk_add(const float *a, const float *b, float *out, long count, int relu, int threads) {
  add_job job = {a, b, out, count, relu};
  int used = zk_split(threads, count, count, 32768);
  zk_parallel_chunks(used, zk_chunks(used, count), add_part, &job);
}

typedef struct {
  const float *src, *scale, *shift;
  float *dst;
  int channels;
  long planes, spatial;
  int relu;
} affine_job;

#if defined(__x86_64__)
__attribute__((target_clones("avx512f", "avx2", "default")))
#endif
static void affine_part(void *p, int index, int count) {
  const affine_job *J = p;
  long begin = J->planes * index / count, end = J->planes * (index + 1) / count;
  for (long plane = begin; plane < end; plane++) {
    const float a = J->scale[plane % J->channels], b = J->shift[plane % J->channels];
    const float *x = J->src + plane * J->spatial;
    float *y = J->dst + plane * J->spatial;
    if (J->relu) {
      for (long i = 0; i < J->spatial; i++) {
        float v = x[i] * a + b;
        y[i] = v > 0 ? v : 0;
      }
    } else {
      for (long i = 0; i < J->spatial; i++) y[i] = x[i] * a + b;
    }
  }
}

void zk_channel_affine(const float *src, float *dst, const float *scale, const float *shift, int channels,
                       long planes, long spatial, int relu, int threads) {
  affine_job job = {src, scale, shift, dst, channels, planes, spatial, relu};
  int used = zk_split(threads, planes, planes * spatial, 32768);
  zk_parallel_chunks(used, zk_chunks(used, planes), affine_part, &job);
}
