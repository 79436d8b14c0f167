// The activations the kernels' epilogues apply (`ZK_ACT_*`, zoo_kernels.h), on one vector, written
// once in Clang's vector extensions and instantiated per vector width and target by the files that
// include it: the tiers (tier.h), the AVX-512 GEMMs (gemm.c, gemm_t.c), the depthwise kernel and the
// activation pass (act.c). Each defines before including:
//
// - `ZKA_W`: floats per vector;
// - `ZKA_SUFFIX`: the suffix of the names made here (`zka_vf_<SUFFIX>`, `zka_exp_<SUFFIX>`,
//   `zka_apply_<SUFFIX>`);
// - `ZKA_TARGET`: the `target` attribute of the functions (empty for the baseline);
// - `ZKA_FUSED`: 1 when the target has a fused multiply-add, else 0 (a separate multiply and add:
//   without the instruction, `fma` would be a call to libm's software fma).
//
// It may be included several times in one file, with different parameters; it undefines them.
//
// e^x is Cephes' `expf`: `x = n·ln 2 + r` with `n = round(x / ln 2)`, `|r| ≤ ln 2 / 2`, ln 2 in two
// parts (Cody and Waite) so that `r` is exact, e^r by a degree-7 polynomial, then `· 2^n` as two
// exact powers of two so that results down to the subnormals (x ≥ −103.97) round once. About 1 ulp
// from the correctly rounded value (the test in kernel_tests.c sweeps it against libm's `expf`):
// +∞ above 88.72, 0 below −103.97, NaN for NaN.
#include <stdint.h>

#define ZKA_CAT_(a, b) a##b
#define ZKA_CAT(a, b) ZKA_CAT_(a, b)
#define ZKA_VF ZKA_CAT(zka_vf_, ZKA_SUFFIX)
#define ZKA_VI ZKA_CAT(zka_vi_, ZKA_SUFFIX)
#define ZKA_INL static inline __attribute__((always_inline, unused)) ZKA_TARGET

typedef float ZKA_VF __attribute__((ext_vector_type(ZKA_W)));
typedef int32_t ZKA_VI __attribute__((ext_vector_type(ZKA_W)));

ZKA_INL ZKA_VF ZKA_CAT(zka_fma_, ZKA_SUFFIX)(ZKA_VF a, ZKA_VF b, ZKA_VF c) {
#if ZKA_FUSED
  return __builtin_elementwise_fma(a, b, c);
#else
  return a * b + c;
#endif
}

/// `2^n` for integer `n` in `[−126, 127]`, exactly.
ZKA_INL ZKA_VF ZKA_CAT(zka_pow2_, ZKA_SUFFIX)(ZKA_VI n) {
  ZKA_VI bits = (n + 127) << 23;
  ZKA_VF f;
  __builtin_memcpy(&f, &bits, sizeof f);
  return f;
}

ZKA_INL ZKA_VF ZKA_CAT(zka_exp_, ZKA_SUFFIX)(ZKA_VF x) {
#define FMA ZKA_CAT(zka_fma_, ZKA_SUFFIX)
  const ZKA_VF hi = 89.0f, lo = -104.0f;
  // NaN fails every comparison: it is set aside as 0 and put back at the end.
  ZKA_VF c = x < hi ? x : hi;
  c = c > lo ? c : lo;
  c = x == x ? c : 0.0f;
  // n = floor(c / ln 2 + 1/2) in [−150, 128], by truncation and a step down where it rounded up
  // (a floor instruction is not in every target: SSE2 would call libm per lane).
  ZKA_VF t = FMA(c, (ZKA_VF)1.44269504088896341f, (ZKA_VF)0.5f);
  ZKA_VI ni = __builtin_convertvector(t, ZKA_VI);
  ZKA_VF n = __builtin_convertvector(ni, ZKA_VF);
  ZKA_VI up = n > t;  // −1 (all bits) where true
  ni += up;
  n = __builtin_convertvector(ni, ZKA_VF);
  ZKA_VF r = FMA(n, (ZKA_VF)-0.693359375f, c);
  r = FMA(n, (ZKA_VF)2.12194440e-4f, r);
  ZKA_VF p = (ZKA_VF)1.9875691500e-4f;
  p = FMA(p, r, (ZKA_VF)1.3981999507e-3f);
  p = FMA(p, r, (ZKA_VF)8.3334519073e-3f);
  p = FMA(p, r, (ZKA_VF)4.1665795894e-2f);
  p = FMA(p, r, (ZKA_VF)1.6666665459e-1f);
  p = FMA(p, r, (ZKA_VF)5.0000001201e-1f);
  p = FMA(p, r * r, r) + 1.0f;
  // 2^n as 2^(n/2) · 2^(n − n/2): each factor is a normal float for every n in range, the first
  // product is exact, and only the second rounds (into the subnormals, or up to +∞).
  ZKA_VI n1 = ni >> 1;
  ZKA_VF y = p * ZKA_CAT(zka_pow2_, ZKA_SUFFIX)(n1) * ZKA_CAT(zka_pow2_, ZKA_SUFFIX)(ni - n1);
  return x == x ? y : x;
#undef FMA
}

/// `act(v)` for a `ZK_ACT_*` code: ReLU `max(v, 0)`, ReLU6 `min(max(v, 0), 6)`, sigmoid
/// `1 / (1 + e^−v)`, SiLU `v / (1 + e^−v)`, hard sigmoid `min(max(v + 3, 0), 6) / 6`, hard swish
/// `v · min(max(v + 3, 0), 6) / 6`, each in the order PyTorch's CPU kernels evaluate it; any other
/// code leaves `v`.
ZKA_INL ZKA_VF ZKA_CAT(zka_apply_, ZKA_SUFFIX)(ZKA_VF v, int act) {
  const ZKA_VF zero = 0.0f, six = 6.0f, one = 1.0f;
  switch (act) {
  case ZK_ACT_RELU:
    return v > zero ? v : zero;
  case ZK_ACT_RELU6: {
    ZKA_VF t = v > zero ? v : zero;
    return t < six ? t : six;
  }
  case ZK_ACT_SIGMOID:
    return one / (one + ZKA_CAT(zka_exp_, ZKA_SUFFIX)(-v));
  case ZK_ACT_SILU:
    return v / (one + ZKA_CAT(zka_exp_, ZKA_SUFFIX)(-v));
  case ZK_ACT_HARDSIGMOID: {
    ZKA_VF t = v + 3.0f;
    t = t > zero ? t : zero;
    t = t < six ? t : six;
    return t / six;
  }
  case ZK_ACT_HARDSWISH: {
    ZKA_VF t = v + 3.0f;
    t = t > zero ? t : zero;
    t = t < six ? t : six;
    return v * t / six;
  }
  default:
    return v;
  }
}

ZKA_INL void ZKA_CAT(zka_array_run_, ZKA_SUFFIX)(const int act, const float *src, float *dst, long count, float add) {
  long i = 0;
  for (; i + ZKA_W <= count; i += ZKA_W) {
    ZKA_VF v;
    __builtin_memcpy(&v, src + i, sizeof v);
    v = ZKA_CAT(zka_apply_, ZKA_SUFFIX)(v + add, act);
    __builtin_memcpy(dst + i, &v, sizeof v);
  }
  if (i < count) {
    float t[ZKA_W] = {0};
    __builtin_memcpy(t, src + i, sizeof(float) * (size_t)(count - i));
    ZKA_VF v;
    __builtin_memcpy(&v, t, sizeof v);
    v = ZKA_CAT(zka_apply_, ZKA_SUFFIX)(v + add, act);
    __builtin_memcpy(t, &v, sizeof v);
    __builtin_memcpy(dst + i, t, sizeof(float) * (size_t)(count - i));
  }
}

/// `dst[i] = act(src[i] + add)` for `i < count`, whole vectors and then the rest through a
/// zero-padded one. `dst` may be `src`.
ZKA_INL void ZKA_CAT(zka_array_, ZKA_SUFFIX)(int act, const float *src, float *dst, long count, float add) {
  // One loop per activation, each with its code a constant.
#define ZKA_RUN(code) \
  case code: ZKA_CAT(zka_array_run_, ZKA_SUFFIX)(code, src, dst, count, add); return;
  switch (act) {
    ZKA_RUN(ZK_ACT_RELU)
    ZKA_RUN(ZK_ACT_RELU6)
    ZKA_RUN(ZK_ACT_SIGMOID)
    ZKA_RUN(ZK_ACT_SILU)
    ZKA_RUN(ZK_ACT_HARDSIGMOID)
    ZKA_RUN(ZK_ACT_HARDSWISH)
    default: ZKA_CAT(zka_array_run_, ZKA_SUFFIX)(ZK_ACT_NONE, src, dst, count, add);
  }
#undef ZKA_RUN
}

#undef ZKA_INL
#undef ZKA_VI
#undef ZKA_VF
#undef ZKA_W
#undef ZKA_SUFFIX
#undef ZKA_TARGET
#undef ZKA_FUSED
