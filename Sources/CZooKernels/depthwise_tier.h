// The depthwise kernel of one tier (included by depthwise.c, which defines `dw_job`, `dw_space` and
// `ZK_DW_ROW`, once per tier). Defines before including: `ZKD_T` (the suffix of `dw_part_<T>`),
// `ZKD_W` (floats per vector), `ZKD_TARGET` (the `target` attribute), `ZKD_FUSED` (1 with a fused
// multiply-add). Undefines them.
#define ZKD_CAT_(a, b) a##b
#define ZKD_CAT(a, b) ZKD_CAT_(a, b)
#define ZKD_FN(name) ZKD_CAT(ZKD_CAT(name, _), ZKD_T)
#define ZKD_INL static inline __attribute__((always_inline)) ZKD_TARGET
#define ZKD_VF ZKD_CAT(zka_vf_, ZKD_T)

#define ZKA_W ZKD_W
#define ZKA_SUFFIX ZKD_T
#define ZKA_TARGET ZKD_TARGET
#define ZKA_FUSED ZKD_FUSED
#include "act.h"

ZKD_INL ZKD_VF ZKD_FN(dw_load)(const float *p) {
  ZKD_VF v;
  memcpy(&v, p, sizeof v);
  return v;
}

// The fast path: a K×K filter, dilation 1, column stride S (1 or 2), any row stride. The plane is
// copied once, zero-padded, into the thread's buffer: with S = 2 each row as its even padded
// columns, then its odd ones, so that every tap is an unconditional contiguous read. Each output
// vector sums its K² taps in a register, then takes the bias, the activation and the store.
ZKD_INL void ZKD_FN(dwk_plane)(const int K, const int S, const dw_job *J, const float *src, const float *filter,
                               float b, float *dst) {
  const int pw = J->pw, ph = J->ph, wp = J->wd + 2 * pw, half = (wp + 1) / 2;
  const int hp_need = (J->oh - 1) * J->sh + K;
  const int hp = J->h + 2 * ph > hp_need ? J->h + 2 * ph : hp_need;
  // Row floats: the padded row (or its two phases) and a vector and a filter width of slack.
  const long wpad = (S == 1 ? wp : 2 * half) + ZKD_W + K;
  float *buf = dw_space((size_t)hp * (size_t)wpad);
  for (int py = 0; py < hp; py++) {
    float *r = buf + (long)py * wpad;
    const int iy = py - ph;
    if (iy < 0 || iy >= J->h) {
      memset(r, 0, sizeof(float) * (size_t)wpad);
      continue;
    }
    const float *in = src + (long)iy * J->wd;
    if (S == 1) {
      memset(r, 0, sizeof(float) * (size_t)pw);
      memcpy(r + pw, in, sizeof(float) * (size_t)J->wd);
      memset(r + pw + J->wd, 0, sizeof(float) * (size_t)(wpad - pw - J->wd));
    } else {
      // Even padded columns x = 2k in r[k], odd ones x = 2k + 1 in r[half + k]; input column x − pw,
      // zero outside the image. Two strided copies without a branch per column.
      memset(r, 0, sizeof(float) * (size_t)wpad);
      for (int k = (pw + 1) / 2; 2 * k - pw < J->wd; k++) r[k] = in[2 * k - pw];
      for (int k = pw / 2; 2 * k + 1 - pw < J->wd; k++) r[half + k] = in[2 * k + 1 - pw];
    }
  }
  ZKD_VF f[K * K];
  for (int t = 0; t < K * K; t++) f[t] = (ZKD_VF)(filter[t]);
  const ZKD_VF bias = (ZKD_VF)(b);
  const int act = J->act;
  for (int oy = 0; oy < J->oh; oy++) {
    const float *rows = buf + (long)oy * J->sh * wpad;
    float *out = dst + (long)oy * J->ow;
    for (int ox = 0; ox < J->ow; ox += ZKD_W) {
      ZKD_VF acc = bias;
      for (int i = 0; i < K; i++) {
        const float *r = rows + (long)i * wpad;
        for (int j = 0; j < K; j++) {
          const float *p = S == 1 ? r + ox + j : r + (j & 1) * half + ox + (j >> 1);
          acc = ZKD_CAT(zka_fma_, ZKD_T)(f[i * K + j], ZKD_FN(dw_load)(p), acc);
        }
      }
      acc = ZKD_CAT(zka_apply_, ZKD_T)(acc, act);
      const int n = J->ow - ox;
      if (n >= ZKD_W) {
        memcpy(out + ox, &acc, sizeof acc);
      } else {
        float t[ZKD_W];
        memcpy(t, &acc, sizeof acc);
        memcpy(out + ox, t, sizeof(float) * (size_t)n);
      }
    }
  }
}

#define ZKD_PLANE(K, S) \
  static ZKD_TARGET void ZKD_FN(ZKD_CAT(ZKD_CAT(dwk_plane_, K), ZKD_CAT(_, S)))( \
      const dw_job *J, const float *src, const float *filter, float b, float *dst) { \
    ZKD_FN(dwk_plane)(K, S, J, src, filter, b, dst); \
  }
ZKD_PLANE(3, 1) ZKD_PLANE(3, 2) ZKD_PLANE(5, 1) ZKD_PLANE(5, 2) ZKD_PLANE(7, 1) ZKD_PLANE(7, 2)
#undef ZKD_PLANE

// Any other shape: for each tap, the output row gains `weight · input row` over the columns whose
// input lies inside the image (with stride 1 a contiguous multiply-add the compiler vectorises),
// then the activation runs over the row.
static ZKD_TARGET void ZKD_FN(dw_general)(const dw_job *J, const float *src, const float *filter, float b,
                                          float *dst) {
  for (int oy = 0; oy < J->oh; oy++) {
    float *row = dst + (long)oy * J->ow;
    for (int ox = 0; ox < J->ow; ox++) row[ox] = b;
    for (int i = 0; i < J->kh; i++) {
      const int iy = oy * J->sh - J->ph + i * J->dh;
      if (iy < 0 || iy >= J->h) continue;
      const float *in = src + (long)iy * J->wd;
      // Stride 2: the row's even and odd columns apart, so every tap reads contiguously.
      float phase[2][ZK_DW_ROW];
      const int split = J->sw == 2 && J->wd <= 2 * ZK_DW_ROW;
      if (split)
        for (int x = 0; x < J->wd; x++) phase[x & 1][x >> 1] = in[x];
      for (int j = 0; j < J->kw; j++) {
        const float wv = filter[i * J->kw + j];
        const int off = j * J->dw - J->pw;
        // Output columns ox with 0 ≤ ox · sw + off < wd.
        int lo = off >= 0 ? 0 : (-off + J->sw - 1) / J->sw;
        int hi = J->wd - 1 - off >= 0 ? (J->wd - 1 - off) / J->sw + 1 : 0;
        if (hi > J->ow) hi = J->ow;
        if (J->sw == 1) {
          const float *s = in + off;
          for (int ox = lo; ox < hi; ox++) row[ox] += wv * s[ox];
        } else if (split) {
          // Column 2·ox + off is phase (off & 1), index ox + (off >> 1) (an arithmetic shift: floor),
          // never negative for ox ≥ lo; indexed rather than through a pointer shifted by off >> 1, which
          // would point before the array when off < 0 (undefined, and flagged by -fsanitize=bounds).
          const float *s = phase[off & 1];
          const int shift = off >> 1;
          for (int ox = lo; ox < hi; ox++) row[ox] += wv * s[ox + shift];
        } else {
          for (int ox = lo; ox < hi; ox++) row[ox] += wv * in[ox * J->sw + off];
        }
      }
    }
    if (J->act != ZK_ACT_NONE) ZKD_CAT(zka_array_, ZKD_T)(J->act, row, row, J->ow, 0);
  }
}

static ZKD_TARGET void ZKD_FN(dw_part)(void *p, int index, int count) {
  const dw_job *J = p;
  long begin = J->planes * index / count, end = J->planes * (index + 1) / count;
  const int fast = J->kh == J->kw && (J->kh == 3 || J->kh == 5 || J->kh == 7) && J->dh == 1 && J->dw == 1 &&
                   (J->sw == 1 || J->sw == 2);
  for (long plane = begin; plane < end; plane++) {
    const int c = (int)(plane % J->channels);
    const float *filter = J->w + (long)c * J->kh * J->kw;
    const float b = J->bias ? J->bias[c] : 0;
    const float *src = J->x + plane * J->h * J->wd;
    float *dst = J->y + plane * J->oh * J->ow;
    if (!fast) {
      ZKD_FN(dw_general)(J, src, filter, b, dst);
    } else if (J->kh == 3) {
      (J->sw == 1 ? ZKD_FN(dwk_plane_3_1) : ZKD_FN(dwk_plane_3_2))(J, src, filter, b, dst);
    } else if (J->kh == 5) {
      (J->sw == 1 ? ZKD_FN(dwk_plane_5_1) : ZKD_FN(dwk_plane_5_2))(J, src, filter, b, dst);
    } else {
      (J->sw == 1 ? ZKD_FN(dwk_plane_7_1) : ZKD_FN(dwk_plane_7_2))(J, src, filter, b, dst);
    }
  }
}

#undef ZKD_VF
#undef ZKD_INL
#undef ZKD_FN
#undef ZKD_T
#undef ZKD_W
#undef ZKD_TARGET
#undef ZKD_FUSED
