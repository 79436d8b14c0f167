// `zk_winograd_f4x3_on`: Winograd F(4×4, 3×3) on a tier (the tiers' F(4×4) are made by tier.h
// beside their F(2×2); `zk_winograd_f2x3_on` is in isa.c).
#include "zoo_kernels.h"

#include <stdlib.h>

void zk_winograd_f4x3_avx2(const float *, int, int, int, int, int, int, int, int, const float *, long,
                           const float *, int, const float *, float *, float *, int, int, int);
void zk_winograd_f4x3_generic(const float *, int, int, int, int, int, int, int, int, const float *, long,
                              const float *, int, const float *, float *, float *, int, int, int);
void zk_winograd_f4x3_neon(const float *, int, int, int, int, int, int, int, int, const float *, long,
                           const float *, int, const float *, float *, float *, int, int, int);

// An unsupported tier here is a programmer error: the plan checks `zk_isa_supported` first.
void zk_winograd_f4x3_on(int isa, const float *src, int cin, int h, int w, int ph, int pw, int cout, int oh, int ow,
                         const float *u_packed, long u_stride, const float *bias, int relu, const float *residual,
                         float *dst, float *scratch, int band_rows, int private_slots, int threads) {
#define ZK_WINO_ARGS                                                                                        \
  src, cin, h, w, ph, pw, cout, oh, ow, u_packed, u_stride, bias, relu, residual, dst, scratch, band_rows, \
      private_slots, threads
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
