// Register-only multiply-add loops: each tier's arithmetic peak, with no memory traffic, for
// `zoo bench` to report a model's rate as a share of what the tier's instructions can reach.
//
// Each loop keeps independent accumulators, at least the FMA latency × ports of the cores it runs
// on (Zen 4 and Skylake need 8, Apple's cores 16 at 4 per cycle) and no more than the registers
// hold beside the two operands: 16 with AVX-512's and NEON's 32 registers, 12 with AVX2's and
// SSE2's 16 (16 there spilled to the stack inside the loop and measured a third of the peak). So
// the loop is bound by multiply-add throughput alone. The accumulators start from values the compiler cannot see,
// and their sum is returned, so the loop can be neither folded nor removed.
#include "zoo_kernels.h"

#include <stdlib.h>

#define ZK_PEAK_LOOP(W, ACC, FMA)                                                                                 \
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
  ZK_PEAK_LOOP(16, 16, ZK_FUSED_MA)
}

__attribute__((target("avx2,fma"), noinline)) static float peak_avx2(long iterations, float seed) {
  ZK_PEAK_LOOP(8, 12, ZK_FUSED_MA)
}
#endif

#if defined(__aarch64__)
__attribute__((noinline)) static float peak_neon(long iterations, float seed) { ZK_PEAK_LOOP(4, 16, ZK_FUSED_MA) }
#endif

// The portable tier's loop is the tier's own arithmetic: a separate multiply and add on x86-64's
// SSE2 baseline (contraction off, as the tier compiles them), a fused one on arm64.
#pragma clang fp contract(off)
__attribute__((noinline)) static float peak_generic(long iterations, float seed) {
#if defined(__aarch64__)
  ZK_PEAK_LOOP(4, 16, ZK_FUSED_MA)
#else
  ZK_PEAK_LOOP(4, 12, ZK_PLAIN_MA)
#endif
}

/// Multiply-adds per step of tier `isa`'s loop: its accumulators × its lanes.
static int step_width(int isa) {
  switch (isa) {
  case ZK_ISA_AVX512: return 16 * 16;
  case ZK_ISA_AVX2: return 12 * 8;
#if defined(__aarch64__)
  default: return 16 * 4;
#else
  default: return 12 * 4;
#endif
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
  return 2.0 * step_width(isa) * (double)iterations * threads;
}
