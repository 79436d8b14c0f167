// Kernel tiers: which ones this CPU runs, and the entry points that take the tier as an argument.
#include "zoo_kernels.h"

#include <stdlib.h>

void zk_gemm_avx2(const zk_gemm_args *args, int threads);
void zk_gemm_t_avx2(const zk_gemm_args *args, int threads);
void zk_winograd_f2x3_avx2(const float *, int, int, int, int, int, int, int, int, const float *, long,
                           const float *, int, const float *, float *, float *, int, int, int);
void zk_winograd_f4x3_avx2(const float *, int, int, int, int, int, int, int, int, const float *, long,
                           const float *, int, const float *, float *, float *, int, int, int);
void zk_winograd_f4x3_generic(const float *, int, int, int, int, int, int, int, int, const float *, long,
                              const float *, int, const float *, float *, float *, int, int, int);
void zk_winograd_f4x3_neon(const float *, int, int, int, int, int, int, int, int, const float *, long,
                           const float *, int, const float *, float *, float *, int, int, int);
void zk_gemm_generic(const zk_gemm_args *args, int threads);
void zk_gemm_t_generic(const zk_gemm_args *args, int threads);
void zk_winograd_f2x3_generic(const float *, int, int, int, int, int, int, int, int, const float *, long,
                              const float *, int, const float *, float *, float *, int, int, int);
void zk_gemm_neon(const zk_gemm_args *args, int threads);
void zk_gemm_t_neon(const zk_gemm_args *args, int threads);
void zk_winograd_f2x3_neon(const float *, int, int, int, int, int, int, int, int, const float *, long,
                           const float *, int, const float *, float *, float *, int, int, int);

int zk_isa_supported(int isa) {
  switch (isa) {
  case ZK_ISA_GENERIC:
    return 1;
#if defined(__x86_64__)
  case ZK_ISA_AVX2:
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  case ZK_ISA_AVX512:
    return zk_has_avx512();
#endif
#if defined(__aarch64__)
  case ZK_ISA_NEON:
    return 1;
#endif
  default:
    return 0;
  }
}

// An unsupported tier here is a programmer error: the plan checks `zk_isa_supported` first.
void zk_gemm_on(int isa, const zk_gemm_args *args, int threads) {
  switch (isa) {
#if defined(__x86_64__)
  case ZK_ISA_AVX512: zk_gemm(args, threads); return;
  case ZK_ISA_AVX2: zk_gemm_avx2(args, threads); return;
#endif
#if defined(__aarch64__)
  case ZK_ISA_NEON: zk_gemm_neon(args, threads); return;
#endif
  case ZK_ISA_GENERIC: zk_gemm_generic(args, threads); return;
  default: abort();
  }
}

void zk_gemm_t_on(int isa, const zk_gemm_args *args, int threads) {
  switch (isa) {
#if defined(__x86_64__)
  case ZK_ISA_AVX512: zk_gemm_t(args, threads); return;
  case ZK_ISA_AVX2: zk_gemm_t_avx2(args, threads); return;
#endif
#if defined(__aarch64__)
  case ZK_ISA_NEON: zk_gemm_t_neon(args, threads); return;
#endif
  case ZK_ISA_GENERIC: zk_gemm_t_generic(args, threads); return;
  default: abort();
  }
}

void zk_winograd_f2x3_on(int isa, const float *src, int cin, int h, int w, int ph, int pw, int cout, int oh, int ow,
                         const float *u_packed, long u_stride, const float *bias, int relu, const float *residual,
                         float *dst, float *scratch, int band_rows, int private_slots, int threads) {
#define ZK_WINO_ARGS \
  src, cin, h, w, ph, pw, cout, oh, ow, u_packed, u_stride, bias, relu, residual, dst, scratch, band_rows, \
      private_slots, threads
  switch (isa) {
#if defined(__x86_64__)
  case ZK_ISA_AVX512: zk_winograd_f2x3(ZK_WINO_ARGS); return;
  case ZK_ISA_AVX2: zk_winograd_f2x3_avx2(ZK_WINO_ARGS); return;
#endif
#if defined(__aarch64__)
  case ZK_ISA_NEON: zk_winograd_f2x3_neon(ZK_WINO_ARGS); return;
#endif
  case ZK_ISA_GENERIC: zk_winograd_f2x3_generic(ZK_WINO_ARGS); return;
  default: abort();
  }
}

// ZK_WINO_ARGS (above) names the same parameters.
void zk_winograd_f4x3_on(int isa, const float *src, int cin, int h, int w, int ph, int pw, int cout, int oh, int ow,
                         const float *u_packed, long u_stride, const float *bias, int relu, const float *residual,
                         float *dst, float *scratch, int band_rows, int private_slots, int threads) {
  switch (isa) {
#if defined(__x86_64__)
  case ZK_ISA_AVX512: zk_winograd_f4x3(ZK_WINO_ARGS); return;
  case ZK_ISA_AVX2: zk_winograd_f4x3_avx2(ZK_WINO_ARGS); return;
#endif
#if defined(__aarch64__)
  case ZK_ISA_NEON: zk_winograd_f4x3_neon(ZK_WINO_ARGS); return;
#endif
  case ZK_ISA_GENERIC: zk_winograd_f4x3_generic(ZK_WINO_ARGS); return;
  default: abort();
  }
}
