// Depthwise convolution: one kh × kw filter per plane (groups == input channels == output channels),
// as direct loops over output rows, split across the pool's threads by plane, on every kernel tier
// (depthwise_tier.h), with the activation applied before each output vector is stored.
#include "zoo_kernels.h"
#include "split.h"

#include <stdlib.h>
#include <string.h>

/// Widest half row the general loop's stride-2 path splits on the stack (wider rows take the
/// strided loop).
#define ZK_DW_ROW 2048

typedef struct {
  const float *x, *w, *bias;
  float *y;
  int channels, h, wd, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw;
  int act;
  long planes;
} dw_job;

// Each thread's zero-padded copy of a plane (the fast path's), kept between calls.
static _Thread_local float *dw_buf;
static _Thread_local size_t dw_cap;

static float *dw_space(size_t floats) {
  if (floats > dw_cap) {
    free(dw_buf);
    dw_buf = malloc(sizeof(float) * floats);
    if (!dw_buf) abort();  // a plane, a few hundred KB at most for the zoo's inputs
    dw_cap = floats;
  }
  return dw_buf;
}

#if defined(__x86_64__)
#define ZKD_T avx512
#define ZKD_W 16
#define ZKD_TARGET __attribute__((target("avx512f,avx2,fma")))
#define ZKD_FUSED 1
#include "depthwise_tier.h"
#define ZKD_T avx2
#define ZKD_W 8
#define ZKD_TARGET __attribute__((target("avx2,fma")))
#define ZKD_FUSED 1
#include "depthwise_tier.h"
#endif
#if defined(__aarch64__)
#define ZKD_T neon
#define ZKD_W 4
#define ZKD_TARGET
#define ZKD_FUSED 1
#include "depthwise_tier.h"
#endif
#define ZKD_T generic
#define ZKD_W 4
#define ZKD_TARGET
#if defined(__aarch64__)
#define ZKD_FUSED 1
#else
#define ZKD_FUSED 0
#endif
#include "depthwise_tier.h"

void zk_depthwise_on(int isa, const float *x, const float *w, const float *bias, float *y, int batch, int channels,
                     int h, int wd, int oh, int ow, int kh, int kw, int sh, int sw, int ph, int pw, int dh, int dw,
                     int act, int threads) {
  void (*part)(void *, int, int);
  switch (isa) {
#if defined(__x86_64__)
  case ZK_ISA_AVX512: part = dw_part_avx512; break;
  case ZK_ISA_AVX2: part = dw_part_avx2; break;
#endif
#if defined(__aarch64__)
  case ZK_ISA_NEON: part = dw_part_neon; break;
#endif
  case ZK_ISA_GENERIC: part = dw_part_generic; break;
  default: abort();  // a programmer error: the plan checks `zk_isa_supported` first
  }
  dw_job job = {x, w, bias, y, channels, h, wd, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, act, (long)batch * channels};
  long work = job.planes * oh * ow * kh * kw;
  int used = zk_split(threads, job.planes, work, 65536);
  zk_parallel_chunks(used, zk_chunks(used, job.planes), part, &job);
}
