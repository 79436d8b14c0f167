// The activation pass and e^x on every tier (act.h): the activations a kernel's epilogue cannot
// take run over whole buffers here, vectorised as in the epilogues.
#include "zoo_kernels.h"

#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__)
#define ZKA_W 16
#define ZKA_SUFFIX avx512
#define ZKA_TARGET __attribute__((target("avx512f,avx2,fma")))
#define ZKA_FUSED 1
#include "act.h"
#define ZKA_W 8
#define ZKA_SUFFIX avx2
#define ZKA_TARGET __attribute__((target("avx2,fma")))
#define ZKA_FUSED 1
#include "act.h"
#endif
#if defined(__aarch64__)
#define ZKA_W 4
#define ZKA_SUFFIX neon
#define ZKA_TARGET
#define ZKA_FUSED 1
#include "act.h"
#endif
#define ZKA_W 4
#define ZKA_SUFFIX generic
#define ZKA_TARGET
#if defined(__aarch64__)
#define ZKA_FUSED 1
#else
#define ZKA_FUSED 0
#endif
#include "act.h"

#define ZK_ACT_TIER(T, TARGET)                                                                         \
  static TARGET void activation_##T(int act, const float *src, float *dst, long count, float add) {   \
    zka_array_##T(act, src, dst, count, add);                                                          \
  }                                                                                                    \
  static TARGET void exp_##T(const float *x, float *y, long count) {                                   \
    for (long i = 0; i < count; i += 16) {                                                             \
      float t[16] = {0};                                                                               \
      const long n = count - i < 16 ? count - i : 16;                                                  \
      memcpy(t, x + i, sizeof(float) * (size_t)n);                                                     \
      for (int v = 0; v < 16; v += (int)(sizeof(zka_vf_##T) / sizeof(float))) {                       \
        zka_vf_##T e;                                                                                  \
        memcpy(&e, t + v, sizeof e);                                                                   \
        e = zka_exp_##T(e);                                                                            \
        memcpy(t + v, &e, sizeof e);                                                                   \
      }                                                                                                \
      memcpy(y + i, t, sizeof(float) * (size_t)n);                                                     \
    }                                                                                                  \
  }

#if defined(__x86_64__)
ZK_ACT_TIER(avx512, __attribute__((target("avx512f,avx2,fma"))))
ZK_ACT_TIER(avx2, __attribute__((target("avx2,fma"))))
#endif
#if defined(__aarch64__)
ZK_ACT_TIER(neon, )
#endif
ZK_ACT_TIER(generic, )

// An unsupported tier here is a programmer error: the plan checks `zk_isa_supported` first.
void zk_activation_on(int isa, int act, const float *src, float *dst, long count, float add) {
  switch (isa) {
#if defined(__x86_64__)
  case ZK_ISA_AVX512: activation_avx512(act, src, dst, count, add); return;
  case ZK_ISA_AVX2: activation_avx2(act, src, dst, count, add); return;
#endif
#if defined(__aarch64__)
  case ZK_ISA_NEON: activation_neon(act, src, dst, count, add); return;
#endif
  case ZK_ISA_GENERIC: activation_generic(act, src, dst, count, add); return;
  default: abort();
  }
}

void zk_exp_on(int isa, const float *x, float *y, long count) {
  switch (isa) {
#if defined(__x86_64__)
  case ZK_ISA_AVX512: exp_avx512(x, y, count); return;
  case ZK_ISA_AVX2: exp_avx2(x, y, count); return;
#endif
#if defined(__aarch64__)
  case ZK_ISA_NEON: exp_neon(x, y, count); return;
#endif
  case ZK_ISA_GENERIC: exp_generic(x, y, count); return;
  default: abort();
  }
}
