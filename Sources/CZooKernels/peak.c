// Register-only multiply-add loops: each tier's arithmetic peak, with no memory traffic, for
// `zoo bench` to report a model's rate as a share of what the tier's instructions can reach.
//
// Each loop keeps ACC independent accumulators (more than the FMA latency × ports of any core
// this runs on: Zen 4 and Skylake need 8, Apple's cores 16 at 4 per cycle), so the loop is bound
// by multiply-add throughput alone. The accumulators start from values the compiler cannot see,
// and their sum is returned, so the loop can be neither folded nor removed.
#include "zoo_kernels.h"

#include <stdlib.h>

enum { ACC = 16 };

#define ZK_PEAK_LOOP(W, FMA)                                                                                 \
  typedef float v __attribute__((ext_vector_type(W)));                                                      \
  v acc[ACC];                                                                                                \
  for (int i = 0; i < ACC; i++) acc[i] = (v)(seed * (float)(i + 1));                                         \
  v a = (v)(seed * 0.999f), b = (v)(seed * 0.001f);                                                          \
  for (long k = 0; k < iterations; k++) {                                                                    \
    _Pragma("clang loop unroll(full)") for (int i = 0; i < ACC; i++) acc[i] = FMA(acc[i], a, b);             \
  }                                                                                                          \
  float s = 0;                                                                                               \
  for (int i = 0; i < ACC; i++)                                                                              \
    for (int j = 0; j < W; j++) s += acc[i][j];                                                              \
  return s;

#define ZK_FUSED_MA(x, y, z) __builtin_elementwise_fma(x, y, z)
#define ZK_PLAIN_MA(x, y, z) ((x) * (y) + (z))

#if defined(__x86_64__)
__attribute__((target("avx512f"), noinline)) static float peak_avx512(long iterations, float seed) {
  ZK_PEAK_LOOP(16, ZK_FUSED_MA)
}

__attribute__((target("avx2,fma"), noinline)) static float peak_avx2(long iterations, float seed) {
  ZK_PEAK_LOOP(8, ZK_FUSED_MA)
}
#endif

#if defined(__aarch64__)
__attribute__((noinline)) static float peak_neon(long iterations, float seed) { ZK_PEAK_LOOP(4, ZK_FUSED_MA) }
#endif

// The portable tier's loop is the tier's own arithmetic: a separate multiply and add on x86-64's
// SSE2 baseline (contraction off, as the tier compiles them), a fused one on arm64.
#pragma clang fp contract(off)
__attribute__((noinline)) static float peak_generic(long iterations, float seed) {
#if defined(__aarch64__)
  ZK_PEAK_LOOP(4, ZK_FUSED_MA)
#else
  ZK_PEAK_LOOP(4, ZK_PLAIN_MA)
#endif
}

static int lanes(int isa) {
  switch (isa) {
  case ZK_ISA_AVX512: return 16;
  case ZK_ISA_AVX2: return 8;
  default: return 4;
  }
}

typedef struct {
  int isa;
  long iterations;
  float seed;
  volatile float sink;
} peak_job;

static void peak_chunk(void *ctx, int index, int count) {
  (void)index;
  (void)count;
  peak_job *job = ctx;
  float s;
  switch (job->isa) {
#if defined(__x86_64__)
  case ZK_ISA_AVX512: s = peak_avx512(job->iterations, job->seed); break;
  case ZK_ISA_AVX2: s = peak_avx2(job->iterations, job->seed); break;
#endif
#if defined(__aarch64__)
  case ZK_ISA_NEON: s = peak_neon(job->iterations, job->seed); break;
#endif
  case ZK_ISA_GENERIC: s = peak_generic(job->iterations, job->seed); break;
  default: abort();  // a programmer error: callers check zk_isa_supported()
  }
  job->sink = s;
}

double zk_fma_peak_run(int isa, int threads, long iterations, float seed) {
  peak_job job = {isa, iterations, seed, 0};
  zk_parallel_chunks(threads, threads, peak_chunk, &job);
  return 2.0 * ACC * lanes(isa) * (double)iterations * threads;
}
