// Unit tests of CZooKernels in C, for every kernel tier this build and CPU run: on x86-64 the
// generic, AVX2 and AVX-512 tiers, on aarch64 (here under qemu-user, see scripts/test-arm64.sh) the
// NEON and generic tiers. Not a SwiftPM target: scripts/test-arm64.sh compiles it with the kernels'
// sources, natively and for aarch64.
//
// Every expected value is computed here from the kernel's contract in zoo_kernels.h with naive loops
// in double (the convolution by its definition, Winograd by its matrices, pooling by its window
// rules); no kernel code is shared with the references. Sizes sweep the edges of every tier's
// blocking: 1×1, sizes that are not multiples of a vector (4, 8 or 16 floats), of a register block,
// of a packed tile (8 or 32 rows), of a group of panels, k in one, two and three blocks, odd
// channels, private and shared Winograd bands; each on 1 and 2 threads of the pool.
//
// Invariants: outputs within `1e-5 · max(1, max |expected|)` of the reference (exact for copies and
// maxima); nothing written outside the output (guard values after every output buffer, and between
// its rows when they are strided, stay); nothing read or written past any buffer (each ends at an
// inaccessible page, so such an access faults, and the fault is reported as a failure).
// A failure names the kernel, the invariant, the tier, the threads and the sizes, and the exit
// status is 1. Usage: `kernel_tests [--random N] [--seed S] [--bench]`: `--random N` adds N random
// shapes per tiered kernel, tier and thread count (seeded by S); `--bench` also times the GEMM per
// tier (meaningless under emulation).
#define _GNU_SOURCE
#include "zoo_kernels.h"

#include <math.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

// ---------------------------------------------------------------------------------------------
// Bookkeeping.

static const double REL_TOL = 1e-5;
/// A value no kernel computes from the test data: marks floats that must stay unwritten.
static const float GUARD = -7777.25f;

static long checks, failures;
static char context[512];  // "tier neon, 2 threads" etc.

static void set_context(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(context, sizeof context, fmt, ap);
  va_end(ap);
}

static void fail(const char *kernel, const char *sizes, const char *fmt, ...) {
  failures++;
  if (failures > 40) return;  // the first ones say enough
  fprintf(stderr, "FAIL %s [%s] %s: ", kernel, context, sizes);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

/// `got[i]` within `REL_TOL · max(1, max |ref|)` of `ref[i]` for `i < n` (`rows × cols` when
/// printing an index: `[i / cols, i % cols]`).
static void expect_close(const char *kernel, const char *sizes, const char *what, const float *got, const double *ref,
                         long n, long cols) {
  checks++;
  double scale = 1;
  for (long i = 0; i < n; i++) scale = fmax(scale, fabs(ref[i]));
  const double tol = REL_TOL * scale;
  for (long i = 0; i < n; i++) {
    double d = fabs((double)got[i] - ref[i]);
    if (!(d <= tol)) {  // NaN fails too
      fail(kernel, sizes, "%s: [%ld, %ld] = %.9g, expected %.9g (|diff| %.3g > %.3g = 1e-5 of max |expected| %.4g)",
           what, i / cols, i % cols, got[i], ref[i], d, tol, scale);
      return;
    }
  }
}

/// `got[i] == ref[i]` exactly (copies, maxima).
static void expect_equal(const char *kernel, const char *sizes, const char *what, const float *got, const float *ref,
                         long n, long cols) {
  checks++;
  for (long i = 0; i < n; i++) {
    if (!(got[i] == ref[i]) && !(isnan(got[i]) && isnan(ref[i]))) {
      fail(kernel, sizes, "%s: [%ld, %ld] = %.9g, expected exactly %.9g", what, i / cols, i % cols, got[i], ref[i]);
      return;
    }
  }
}

/// Columns `width ..< stride` of the `rows` rows of a strided output still hold `GUARD` (the kernel
/// wrote only its columns).
static void expect_row_gaps(const char *kernel, const char *sizes, const float *buf, long rows, long width,
                            long stride) {
  checks++;
  for (long r = 0; r < rows; r++)
    for (long c = width; c < stride; c++)
      if (buf[r * stride + c] != GUARD) {
        fail(kernel, sizes, "wrote outside the rows: row %ld column %ld (row width %ld, stride %ld) is %.9g", r, c,
             width, stride, buf[r * stride + c]);
        return;
      }
}

// The kernel call under way, for the fault handler.
static const char *running_kernel = "", *running_sizes = "";

static void running(const char *kernel, const char *sizes) {
  running_kernel = kernel;
  running_sizes = sizes;
}

static void on_fault(int sig) {
  char text[1024];
  int n = snprintf(text, sizeof text,
                   "FAIL %s [%s] %s: signal %d, an access past the end of a buffer (its guard page) or a crash\n",
                   running_kernel, context, running_sizes, sig);
  if (n > 0) (void)!write(2, text, (size_t)(n < (int)sizeof text ? n : (int)sizeof text - 1));
  _exit(1);
}

/// Buffers from `fenced`: where their mapping starts and how long it is.
typedef struct {
  void *user, *base;
  size_t length;
} mapping;
static mapping mappings[256];

/// `floats` floats (4-byte aligned) that end exactly where an inaccessible page begins: a kernel that
/// reads or writes one float past them faults.
static float *fenced(long floats) {
  const size_t page = (size_t)sysconf(_SC_PAGESIZE);
  const size_t bytes = sizeof(float) * (size_t)(floats > 0 ? floats : 1);
  const size_t data = (bytes + page - 1) / page * page;
  char *base = mmap(NULL, data + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (base == MAP_FAILED || mprotect(base + data, page, PROT_NONE) != 0) abort();
  float *p = (float *)(base + data - bytes);
  for (size_t i = 0; i < sizeof mappings / sizeof *mappings; i++)
    if (!mappings[i].user) {
      mappings[i] = (mapping){p, base, data + page};
      return p;
    }
  abort();  // more live buffers than any test holds
}

/// Frees a buffer from `fenced` or from malloc.
static void release(void *p) {
  if (!p) return;
  for (size_t i = 0; i < sizeof mappings / sizeof *mappings; i++)
    if (mappings[i].user == p) {
      munmap(mappings[i].base, mappings[i].length);
      mappings[i].user = NULL;
      return;
    }
  free(p);
}

/// An output of `n` floats, all `GUARD`, fenced right after the last.
static float *alloc_floats(long n) {
  float *p = fenced(n);
  for (long i = 0; i < n; i++) p[i] = GUARD;
  return p;
}

static double *alloc_doubles(long n) {
  double *p = calloc((size_t)(n > 0 ? n : 1), sizeof(double));
  if (!p) abort();
  return p;
}

/// xorshift64*, values in [−1, 1).
static unsigned long long rng_state = 88172645463325252ull;
static float rnd(void) {
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return (float)((rng_state * 2685821657736338717ull) >> 40) * 0x1p-23f - 1.0f;
}
/// An input of `n` random floats, fenced right after the last.
static float *random_floats(long n) {
  float *p = fenced(n);
  for (long i = 0; i < n; i++) p[i] = rnd();
  return p;
}

/// PyTorch's output size of a window along one axis (dilation `d`, ceil mode `ceil`).
static int window_out(int n, int k, int s, int p, int d, int ceil) {
  int num = n + 2 * p - d * (k - 1) - 1 + (ceil ? s - 1 : 0);
  int out = (num >= 0 ? num / s : -((-num + s - 1) / s)) + 1;
  if (ceil && (out - 1) * s >= n + p) out--;
  return out;
}

/// The weight `a` (`m × k`, row-major) packed for the GEMMs, through `zk_pack_a_rows_in_place`.
static float *pack(const float *a, int m, int k, int rows) {
  size_t count = zk_packed_a_rows_count(m, k, rows);
  float *p = fenced((long)count);
  memcpy(p, a, sizeof(float) * (size_t)m * (size_t)k);
  float *tmp = malloc(sizeof(float) * (size_t)rows * (size_t)k);
  zk_pack_a_rows_in_place(p, m, k, rows, tmp);
  release(tmp);
  return p;
}

static const char *tier_name(int isa) {
  switch (isa) {
  case ZK_ISA_GENERIC: return "generic";
  case ZK_ISA_AVX2: return "avx2";
  case ZK_ISA_AVX512: return "avx512";
  case ZK_ISA_NEON: return "neon";
  default: return "?";
  }
}

// ---------------------------------------------------------------------------------------------
// Packing (the layout zoo_kernels.h states).

static void test_pack(void) {
  static const int cases[][3] = {{1, 1, 8}, {7, 3, 8}, {8, 5, 8}, {9, 4, 8}, {17, 2, 8},
                                 {33, 7, 32}, {70, 11, 32}, {32, 1, 32}, {1, 9, 32}};
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    const int m = cases[c][0], k = cases[c][1], rows = cases[c][2];
    char sizes[64];
    snprintf(sizes, sizeof sizes, "m=%d k=%d rows=%d", m, k, rows);
    const long tiles = (m + rows - 1) / rows, count = tiles * k * rows;
    checks++;
    if ((long)zk_packed_a_rows_count(m, k, rows) != count)
      fail("zk_packed_a_rows_count", sizes, "%zu, expected ceil(m / rows) · k · rows = %ld",
           zk_packed_a_rows_count(m, k, rows), count);
    float *a = random_floats((long)m * k);
    float *p = pack(a, m, k, rows);
    float *want = alloc_floats(count);
    for (long t = 0; t < tiles; t++)
      for (int kk = 0; kk < k; kk++)
        for (int r = 0; r < rows; r++) {
          long row = t * rows + r;
          want[(t * k + kk) * rows + r] = row < m ? a[row * k + kk] : 0.0f;
        }
    expect_equal("zk_pack_a_rows_in_place", sizes, "tile t, column kk, row r at (t·k + kk)·rows + r", p, want, count,
                 rows);
    release(a), release(p), release(want);
  }
}

// ---------------------------------------------------------------------------------------------
// The pool.

typedef struct {
  atomic_int *seen;
  int chunks;
  atomic_int bad_count;
  int nested;
} pool_probe;

static void nested_fn(void *p, int index, int count) {
  atomic_int *hits = p;
  if (index >= 0 && index < count) atomic_fetch_add(&hits[index], 1);
}

static void probe_fn(void *p, int index, int count) {
  pool_probe *q = p;
  if (count != q->chunks || index < 0 || index >= count) {
    atomic_fetch_add(&q->bad_count, 1);
    return;
  }
  atomic_fetch_add(&q->seen[index], 1);
  if (q->nested) {
    // A call from inside a job runs on the calling thread and must still run every chunk.
    atomic_int hits[5];
    for (int i = 0; i < 5; i++) atomic_init(&hits[i], 0);
    zk_parallel_chunks(2, 5, nested_fn, hits);
    for (int i = 0; i < 5; i++)
      if (atomic_load(&hits[i]) != 1) atomic_fetch_add(&q->bad_count, 1);
  }
}

static void test_pool(void) {
  static const int cases[][2] = {{1, 1}, {1, 7}, {2, 1}, {2, 2}, {2, 17}, {3, 50}, {2, 64}};
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++)
    for (int nested = 0; nested < 2; nested++) {
      const int threads = cases[c][0], chunks = cases[c][1];
      char sizes[64];
      snprintf(sizes, sizeof sizes, "threads=%d chunks=%d%s", threads, chunks, nested ? " nested" : "");
      atomic_int seen[64];
      for (int i = 0; i < 64; i++) atomic_init(&seen[i], 0);
      pool_probe q = {seen, chunks, 0, nested};
      running("zk_parallel_chunks", sizes);
      zk_parallel_chunks(threads, chunks, probe_fn, &q);
      checks++;
      if (atomic_load(&q.bad_count))
        fail("zk_parallel_chunks", sizes, "%d calls with a wrong (index, count) or a nested call that missed a chunk",
             atomic_load(&q.bad_count));
      for (int i = 0; i < chunks; i++)
        if (atomic_load(&seen[i]) != 1) {
          fail("zk_parallel_chunks", sizes, "chunk %d ran %d times, expected once", i, atomic_load(&seen[i]));
          break;
        }
    }
}

// ---------------------------------------------------------------------------------------------
// GEMM, plain mode (`zk_gemm_on`) and narrow-column (`zk_gemm_t_on`).

/// Variant flags of a GEMM case.
/// `V_ACT(code)`: the activation `code` (`ZK_ACT_*`) instead of ReLU.
enum { V_BIAS = 1, V_RELU = 2, V_RESIDUAL = 4, V_SCATTERED = 8 };
#define V_ACT(code) ((code) << 4)

/// The activation code of variant `v`.
static int variant_act(int v) { return v & V_RELU ? ZK_ACT_RELU : (v >> 4) & 15; }

static const char *act_name(int act) {
  static const char *names[] = {"none", "relu", "relu6", "sigmoid", "silu", "hardsigmoid", "hardswish"};
  return act >= 0 && act <= ZK_ACT_HARDSWISH ? names[act] : "?";
}

/// `min(max(v, 0), 6)` with NaN clamped to 0, as the kernels' ReLU has always done.
static double clamp06(double v) {
  const double t = v > 0 ? v : 0;
  return t < 6 ? t : 6;
}

/// The activation `act` in double, from its definition (zoo_kernels.h).
static double act_ref(int act, double v) {
  switch (act) {
  case ZK_ACT_RELU: return v > 0 ? v : 0;
  case ZK_ACT_RELU6: return clamp06(v);
  case ZK_ACT_SIGMOID: return 1 / (1 + exp(-v));
  case ZK_ACT_SILU: return v / (1 + exp(-v));
  case ZK_ACT_HARDSIGMOID: return clamp06(v + 3) / 6;
  case ZK_ACT_HARDSWISH: return v * clamp06(v + 3) / 6;
  default: return v;
  }
}

static void flags_text(int v, char *out, size_t size) {
  const int act = variant_act(v);
  snprintf(out, size, "%s%s%s%s%s", v & V_BIAS ? " +bias" : "", v & V_RESIDUAL ? " +residual" : "",
           act ? " +" : "", act ? act_name(act) : "", v & V_SCATTERED ? " (B rows through a reversed, spaced offset table)" : "");
}

static void run_gemm_case(int isa, int threads, int transposed, int m, int n, int k, int v) {
  const char *kernel = transposed ? "zk_gemm_t" : "zk_gemm";
  char flags[128], sizes[256];
  flags_text(v, flags, sizeof flags);
  snprintf(sizes, sizeof sizes, "m=%d n=%d k=%d%s", m, n, k, flags);
  float *a = random_floats((long)m * k);
  float *ap = pack(a, m, k, transposed ? 32 : ZK_MR);
  // B: row kk at boff[kk]; scattered: rows in reverse order, `ldb = n + 3` apart.
  const long ldb = v & V_SCATTERED ? n + 3 : n;
  long *boff = malloc(sizeof(long) * (size_t)k);
  for (int kk = 0; kk < k; kk++) boff[kk] = (v & V_SCATTERED ? (long)(k - 1 - kk) : (long)kk) * ldb;
  float *b = random_floats(ldb * k);
  float *bias = v & V_BIAS ? random_floats(m) : NULL;
  const long ldc = v & V_SCATTERED ? n + 5 : n;
  float *residual = v & V_RESIDUAL ? random_floats(ldc * m) : NULL;
  float *c = alloc_floats(ldc * m);
  double *ref = alloc_doubles((long)m * n);
  for (int i = 0; i < m; i++)
    for (int p = 0; p < n; p++) {
      double s = 0;
      for (int kk = 0; kk < k; kk++) s += (double)a[(long)i * k + kk] * b[boff[kk] + p];
      if (bias) s += bias[i];
      if (residual) s += residual[(long)i * ldc + p];
      ref[(long)i * n + p] = act_ref(variant_act(v), s);
    }
  zk_gemm_args g = {m, n, k, ap, b, boff, bias, variant_act(v), c, ldc, 0, 0, residual};
  running(kernel, sizes);
  if (transposed)
    zk_gemm_t_on(isa, &g, threads);
  else
    zk_gemm_on(isa, &g, threads);
  float *dense = alloc_floats((long)m * n);
  for (int i = 0; i < m; i++) memcpy(dense + (long)i * n, c + (long)i * ldc, sizeof(float) * (size_t)n);
  expect_close(kernel, sizes, "C = act(A·B + bias + residual)", dense, ref, (long)m * n, n);
  expect_row_gaps(kernel, sizes, c, m, n, ldc);
  release(a), release(ap), release(boff), release(b), release(bias), release(residual), release(c), release(ref);
  release(dense);
}

static void test_gemm(int isa, int threads) {
  // m: 1, a tile of 8 and around it, several tiles; n: around every tier's vector (4, 8, 16), panel
  // (8, 12, 16, 48), the m-major limit (144 columns) and groups of panels (about 96 columns; 500 and
  // 1,000 end in a partial group); k: 1, small, and 1,100 / 2,100 (two and three blocks of k).
  static const int cases[][3] = {{1, 1, 1},    {1, 5, 3},     {8, 48, 16},  {7, 47, 9},    {9, 49, 64},
                                 {13, 96, 5},  {17, 145, 33}, {8, 200, 1},  {3, 500, 20},  {16, 1000, 8},
                                 {5, 13, 1100}, {9, 150, 1100}, {2, 7, 2100}, {24, 97, 300}, {6, 12, 2},
                                 {11, 4, 7},    {4, 17, 12}};
  static const int variants[] = {0, V_BIAS | V_RELU, V_BIAS | V_RESIDUAL | V_RELU | V_SCATTERED, V_RESIDUAL};
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    for (int vi = 0; vi < 4; vi++) {
      if (vi == 3 && c % 3) continue;  // the residual without bias and ReLU on a third of the sizes
      run_gemm_case(isa, threads, 0, cases[c][0], cases[c][1], cases[c][2], variants[vi]);
    }
    // The other activations of the epilogue, one per size in turn.
    const int act = ZK_ACT_RELU6 + (int)(c % 5);
    run_gemm_case(isa, threads, 0, cases[c][0], cases[c][1], cases[c][2],
                  V_BIAS | V_ACT(act) | (c % 2 ? V_RESIDUAL : 0));
  }
}

static void test_gemm_t(int isa, int threads) {
  // m around the 32-row tile and the tiers' row vectors (4, 8, 16); n around the 12-column chunks
  // (and 49, ResNet's 7×7); k as for the GEMM.
  static const int cases[][3] = {{1, 1, 1},    {5, 3, 7},       {31, 12, 16}, {32, 13, 9},  {33, 49, 64},
                                 {70, 49, 1100}, {64, 64, 3},   {40, 25, 2100}, {100, 1, 50}, {7, 60, 2},
                                 {16, 24, 5},  {48, 11, 33},    {3, 37, 300}};
  static const int variants[] = {0, V_BIAS | V_RELU, V_BIAS | V_RESIDUAL | V_RELU | V_SCATTERED, V_RESIDUAL | V_RELU};
  for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
    for (int vi = 0; vi < 4; vi++) {
      if (vi == 3 && c % 3) continue;
      run_gemm_case(isa, threads, 1, cases[c][0], cases[c][1], cases[c][2], variants[vi]);
    }
    const int act = ZK_ACT_RELU6 + (int)(c % 5);
    run_gemm_case(isa, threads, 1, cases[c][0], cases[c][1], cases[c][2],
                  V_BIAS | V_ACT(act) | (c % 2 ? V_RESIDUAL : 0));
  }
}

// ---------------------------------------------------------------------------------------------
// Convolutions: the definition, and the engine's two layouts of B (the phase-split grid for
// `zk_gemm`'s grid mode, and `zk_im2col` bands for `zk_gemm_t`).

typedef struct {
  int cin, h, w, cout, kh, kw, sh, sw, ph, pw, dh, dw;
} conv_shape;

static int conv_oh(const conv_shape *s) { return window_out(s->h, s->kh, s->sh, s->ph, s->dh, 0); }
static int conv_ow(const conv_shape *s) { return window_out(s->w, s->kw, s->sw, s->pw, s->dw, 0); }

static void conv_text(const conv_shape *s, char *out, size_t size) {
  snprintf(out, size, "%d→%d %d×%d stride %d,%d pad %d,%d dil %d,%d on %d×%d", s->cin, s->cout, s->kh, s->kw, s->sh,
           s->sw, s->ph, s->pw, s->dh, s->dw, s->h, s->w);
}

/// `y[o, oy, ox] = bias[o] + Σ x[c, oy·sh − ph + i·dh, ox·sw − pw + j·dw] · w[o, c, i, j]`, zero
/// outside the image (PyTorch's `nn.Conv2d`, one group), then ReLU when `relu`.
static void conv_reference(const conv_shape *s, const float *x, const float *w, const float *bias, int relu,
                           double *y) {
  const int oh = conv_oh(s), ow = conv_ow(s);
  for (int o = 0; o < s->cout; o++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++) {
        double sum = bias ? bias[o] : 0;
        for (int c = 0; c < s->cin; c++)
          for (int i = 0; i < s->kh; i++)
            for (int j = 0; j < s->kw; j++) {
              int iy = oy * s->sh - s->ph + i * s->dh, ix = ox * s->sw - s->pw + j * s->dw;
              if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w) continue;
              sum += (double)x[((long)c * s->h + iy) * s->w + ix] * w[(((long)o * s->cin + c) * s->kh + i) * s->kw + j];
            }
        y[((long)o * oh + oy) * ow + ox] = relu && sum < 0 ? 0 : sum;
      }
}

/// The phase-split grid of zoo_kernels.h's `zk_phase_pad`, as the engine lays it out: per axis, tap
/// `i` reads input row `y·s + i·d − p = s·(y + δ) + φ` (0 ≤ φ < s), so it is row `y + δ` of phase φ.
typedef struct {
  int rows[16], cols[16], nph, npw, dmin_h, dmin_w, hq, wq, slack;
  long *boff;  // per tap (c, i, j)
  long floats;
} grid_layout;

static void taps(int k, int d, int p, int s, int *delta, int *phase) {
  for (int i = 0; i < k; i++) {
    int r = i * d - p;
    delta[i] = r >= 0 ? r / s : -((-r + s - 1) / s);
    phase[i] = r - s * delta[i];
  }
}

static int phase_slot(const int *list, int n, int phase) {
  for (int i = 0; i < n; i++)
    if (list[i] == phase) return i;
  return -1;
}

static void grid_build(const conv_shape *s, grid_layout *g) {
  int dh[16], ph_[16], dw[16], pw_[16];
  taps(s->kh, s->dh, s->ph, s->sh, dh, ph_);
  taps(s->kw, s->dw, s->pw, s->sw, dw, pw_);
  g->nph = g->npw = 0;
  for (int p = 0; p < s->sh; p++)
    for (int i = 0; i < s->kh; i++)
      if (ph_[i] == p) {
        g->rows[g->nph++] = p;
        break;
      }
  for (int p = 0; p < s->sw; p++)
    for (int j = 0; j < s->kw; j++)
      if (pw_[j] == p) {
        g->cols[g->npw++] = p;
        break;
      }
  int dmax_h = dh[0], dmax_w = dw[0];
  g->dmin_h = dh[0], g->dmin_w = dw[0];
  for (int i = 1; i < s->kh; i++) {
    g->dmin_h = dh[i] < g->dmin_h ? dh[i] : g->dmin_h;
    dmax_h = dh[i] > dmax_h ? dh[i] : dmax_h;
  }
  for (int j = 1; j < s->kw; j++) {
    g->dmin_w = dw[j] < g->dmin_w ? dw[j] : g->dmin_w;
    dmax_w = dw[j] > dmax_w ? dw[j] : dmax_w;
  }
  g->hq = conv_oh(s) + dmax_h - g->dmin_h;
  g->wq = conv_ow(s) + dmax_w - g->dmin_w;
  g->slack = dmax_w - g->dmin_w + 16;
  g->floats = (long)s->cin * g->nph * g->npw * g->hq * g->wq + g->slack;
  g->boff = malloc(sizeof(long) * (size_t)s->cin * s->kh * s->kw);
  const long plane = (long)g->hq * g->wq;
  long t = 0;
  for (int c = 0; c < s->cin; c++)
    for (int i = 0; i < s->kh; i++)
      for (int j = 0; j < s->kw; j++) {
        long slot = ((long)c * g->nph + phase_slot(g->rows, g->nph, ph_[i])) * g->npw +
                    phase_slot(g->cols, g->npw, pw_[j]);
        g->boff[t++] = slot * plane + (long)(dh[i] - g->dmin_h) * g->wq + (dw[j] - g->dmin_w);
      }
}

/// `zk_phase_pad` against its contract: plane `(c, a, b)` at `(u, v)` holds
/// `src[c, sh·(u + dmin_h) + row_phases[a], sw·(v + dmin_w) + col_phases[b]]`, zero outside the image;
/// `slack` zeros follow.
static void check_phase_pad(const conv_shape *s, const grid_layout *g, const float *x, const float *got,
                            const char *sizes) {
  float *want = alloc_floats(g->floats);
  long q = 0;
  for (int c = 0; c < s->cin; c++)
    for (int a = 0; a < g->nph; a++)
      for (int b = 0; b < g->npw; b++, q++)
        for (int u = 0; u < g->hq; u++)
          for (int v = 0; v < g->wq; v++) {
            int iy = s->sh * (u + g->dmin_h) + g->rows[a], ix = s->sw * (v + g->dmin_w) + g->cols[b];
            want[(q * g->hq + u) * g->wq + v] =
                iy >= 0 && iy < s->h && ix >= 0 && ix < s->w ? x[((long)c * s->h + iy) * s->w + ix] : 0.0f;
          }
  for (long i = g->floats - g->slack; i < g->floats; i++) want[i] = 0.0f;
  expect_equal("zk_phase_pad", sizes, "plane (c, a, b) at (u, v), then slack zeros", got, want, g->floats, g->wq);
  release(want);
}

static const conv_shape conv_cases[] = {
    // cin, h, w, cout, kh, kw, sh, sw, ph, pw, dh, dw
    {5, 9, 9, 9, 3, 3, 1, 1, 1, 1, 1, 1},      // an 11-wide grid (narrower than a 16-float vector)
    {4, 20, 20, 13, 3, 3, 1, 1, 1, 1, 1, 1},   // a 22-wide grid, 440 positions (groups of panels)
    {3, 37, 37, 8, 3, 3, 2, 2, 1, 1, 1, 1},    // stride 2: four phases, odd sizes
    {3, 23, 21, 16, 7, 7, 2, 2, 3, 3, 1, 1},   // a stem
    {6, 14, 14, 7, 1, 1, 2, 2, 0, 0, 1, 1},    // 1×1 stride 2: one phase, a 7-wide grid
    {2, 15, 17, 10, 3, 3, 1, 1, 2, 2, 2, 2},   // dilation 2
    {2, 12, 12, 32, 5, 5, 1, 1, 0, 0, 1, 1},   // padding 0, 32 rows
    {3, 10, 9, 5, 1, 3, 2, 1, 0, 1, 1, 1},     // a rectangular kernel, strides 2 and 1
    {120, 8, 8, 9, 3, 3, 1, 1, 1, 1, 1, 1},    // k = 1,080: two blocks of k
    {2, 10, 11, 3, 3, 3, 3, 3, 1, 1, 1, 1},    // stride 3
    {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1},      // 1×1 on 1×1
    {3, 5, 40, 4, 3, 3, 2, 2, 1, 1, 1, 1},     // stride 2 on a 40-wide row (AVX-512's even-lane copy)
};

/// `zk_phase_pad`, then `zk_gemm` in grid mode over it, for convolution `s` (`ci` picks bias and ReLU).
static void run_conv_grid(int isa, int threads, const conv_shape *s, int ci) {
  const int oh = conv_oh(s), ow = conv_ow(s), k = s->cin * s->kh * s->kw;
  const int relu = ci % 2, with_bias = ci % 3 != 2;
  char sizes[256], shape[160];
  conv_text(s, shape, sizeof shape);
  snprintf(sizes, sizeof sizes, "%s%s%s", shape, with_bias ? " +bias" : "", relu ? " +relu" : "");
  float *x = random_floats((long)s->cin * s->h * s->w);
  float *w = random_floats((long)s->cout * k);
  float *bias = with_bias ? random_floats(s->cout) : NULL;
  grid_layout g;
  grid_build(s, &g);
  float *grid = alloc_floats(g.floats);
  running("zk_phase_pad", sizes);
  zk_phase_pad(x, s->cin, s->h, s->w, s->sh, s->sw, g.rows, g.nph, g.cols, g.npw, g.dmin_h, g.dmin_w, g.hq, g.wq,
               g.slack, grid, threads);
  check_phase_pad(s, &g, x, grid, sizes);
  float *ap = pack(w, s->cout, k, ZK_MR);
  const long spatial = (long)oh * ow;
  float *y = alloc_floats(spatial * s->cout);
  zk_gemm_args a = {s->cout, oh * g.wq, k, ap, grid, g.boff, bias, relu, y, spatial, g.wq, ow, NULL};
  running("zk_gemm (grid mode)", sizes);
  zk_gemm_on(isa, &a, threads);
  double *ref = alloc_doubles(spatial * s->cout);
  conv_reference(s, x, w, bias, relu, ref);
  expect_close("zk_gemm (grid mode over zk_phase_pad)", sizes, "convolution", y, ref, spatial * s->cout, spatial);
  release(x), release(w), release(bias), release(g.boff), release(grid), release(ap), release(y), release(ref);
}

static void test_conv_grid(int isa, int threads) {
  for (size_t ci = 0; ci < sizeof conv_cases / sizeof *conv_cases; ci++)
    run_conv_grid(isa, threads, &conv_cases[ci], (int)ci);
}

/// `zk_im2col` against its contract: row `(c, i, j)`, column `(y − y0, x)` holds
/// `src[c, y·sh − ph + i·dh, x·sw − pw + j·dw]`, zero outside the image.
static void check_im2col(const conv_shape *s, const float *x, int y0, int rows, const float *got, const char *sizes) {
  const int ow = conv_ow(s);
  const long cols = (long)rows * ow, krows = (long)s->cin * s->kh * s->kw;
  float *want = alloc_floats(krows * cols);
  for (int c = 0; c < s->cin; c++)
    for (int i = 0; i < s->kh; i++)
      for (int j = 0; j < s->kw; j++)
        for (int y = y0; y < y0 + rows; y++)
          for (int xx = 0; xx < ow; xx++) {
            int iy = y * s->sh - s->ph + i * s->dh, ix = xx * s->sw - s->pw + j * s->dw;
            want[(((long)c * s->kh + i) * s->kw + j) * cols + (long)(y - y0) * ow + xx] =
                iy >= 0 && iy < s->h && ix >= 0 && ix < s->w ? x[((long)c * s->h + iy) * s->w + ix] : 0.0f;
          }
  expect_equal("zk_im2col", sizes, "row (c, i, j), column (y − y0, x)", got, want, krows * cols, cols);
  release(want);
}

/// The engine's narrow path: output rows in bands unfolded by `zk_im2col`, each band a `zk_gemm_t`
/// into its rows of the output (`ldc` = the whole plane).
static void run_conv_narrow(int isa, int threads, const conv_shape *s, int ci) {
  const int oh = conv_oh(s), ow = conv_ow(s), k = s->cin * s->kh * s->kw;
  const int relu = ci % 2 == 0, with_bias = ci % 3 != 1;
  const int band = oh > 3 ? (oh + 2) / 3 : 1;  // bands of about a third of the rows (the last shorter)
  char sizes[256], shape[160];
  conv_text(s, shape, sizeof shape);
  snprintf(sizes, sizeof sizes, "%s in bands of %d rows%s%s", shape, band, with_bias ? " +bias" : "",
           relu ? " +relu" : "");
  float *x = random_floats((long)s->cin * s->h * s->w);
  float *w = random_floats((long)s->cout * k);
  float *bias = with_bias ? random_floats(s->cout) : NULL;
  float *ap = pack(w, s->cout, k, 32);
  const long spatial = (long)oh * ow;
  float *y = alloc_floats(spatial * s->cout);
  float *cols = alloc_floats((long)k * band * ow);
  long *boff = malloc(sizeof(long) * (size_t)k);
  for (int y0 = 0; y0 < oh; y0 += band) {
    const int rows = oh - y0 < band ? oh - y0 : band;
    const int n = rows * ow;
    for (long i = 0; i < (long)k * band * ow; i++) cols[i] = GUARD;
    running("zk_im2col", sizes);
    zk_im2col(x, s->cin, s->h, s->w, s->kh, s->kw, s->sh, s->sw, s->ph, s->pw, s->dh, s->dw, y0, rows, ow, cols,
              threads);
    char band_sizes[300];
    snprintf(band_sizes, sizeof band_sizes, "%s, rows %d..<%d", sizes, y0, y0 + rows);
    check_im2col(s, x, y0, rows, cols, band_sizes);
    for (int kk = 0; kk < k; kk++) boff[kk] = (long)kk * n;
    zk_gemm_args a = {s->cout, n, k, ap, cols, boff, bias, relu, y + (long)y0 * ow, spatial, 0, 0, NULL};
    running("zk_gemm_t (over zk_im2col bands)", sizes);
    zk_gemm_t_on(isa, &a, threads);
  }
  double *ref = alloc_doubles(spatial * s->cout);
  conv_reference(s, x, w, bias, relu, ref);
  expect_close("zk_gemm_t (over zk_im2col bands)", sizes, "convolution", y, ref, spatial * s->cout, spatial);
  release(x), release(w), release(bias), release(ap), release(y), release(cols), release(boff), release(ref);
}

static void test_conv_narrow(int isa, int threads) {
  for (size_t ci = 0; ci < sizeof conv_cases / sizeof *conv_cases; ci++)
    run_conv_narrow(isa, threads, &conv_cases[ci], (int)ci);
}

// ---------------------------------------------------------------------------------------------
// Winograd F(2×2, 3×3) and F(4×4, 3×3): the matrices of Lavin and Gray, "Fast Algorithms for
// Convolutional Neural Networks" (2016): Y = Aᵀ [Σ_c U_{o,c} ⊙ (Bᵀ d_c B)] A with U = G g Gᵀ, for
// F(4×4) with the interpolation points 0, ±1, ±2 and ∞.

typedef struct {
  int m, n;  // output tile side, input tile side (m + 2)
  const double *bt, *g, *at;  // n × n, n × 3, m × n, row-major
} wino_mats;

static const double BT2[] = {1, 0, -1, 0, 0, 1, 1, 0, 0, -1, 1, 0, 0, 1, 0, -1};
static const double G2[] = {1, 0, 0, 0.5, 0.5, 0.5, 0.5, -0.5, 0.5, 0, 0, 1};
static const double AT2[] = {1, 1, 1, 0, 0, 1, -1, -1};
static const double BT4[] = {4, 0, -5, 0,  1, 0, 0, -4, -4, 1,  1, 0, 0, 4, -4, -1, 1, 0,
                             0, -2, -1, 2, 1, 0, 0, 2,  -1, -2, 1, 0, 0, 4, 0,  -5, 0, 1};
static const double G4[] = {1.0 / 4,  0,        0,        -1.0 / 6, -1.0 / 6, -1.0 / 6,
                            -1.0 / 6, 1.0 / 6,  -1.0 / 6, 1.0 / 24, 1.0 / 12, 1.0 / 6,
                            1.0 / 24, -1.0 / 12, 1.0 / 6, 0,        0,        1};
static const double AT4[] = {1, 1, 1, 1, 1, 0, 0, 1, -1, 2, -2, 0, 0, 1, 1, 4, 4, 0, 0, 1, -1, 8, -8, 1};
static const wino_mats WINO2 = {2, 4, BT2, G2, AT2}, WINO4 = {4, 6, BT4, G4, AT4};

/// `U[ξ][o][c] = (G g_{o,c} Gᵀ)[i][j]`, ξ = n·i + j, for `w` `[cout, cin, 3, 3]`.
static void winograd_weights(const wino_mats *W, const float *w, int cout, int cin, float *u) {
  const long plane = (long)cout * cin;
  const int n = W->n;
  for (long oc = 0; oc < plane; oc++) {
    double gg[6][3];
    for (int i = 0; i < n; i++)
      for (int j = 0; j < 3; j++) {
        double s = 0;
        for (int t = 0; t < 3; t++) s += W->g[i * 3 + t] * w[oc * 9 + t * 3 + j];
        gg[i][j] = s;
      }
    for (int i = 0; i < n; i++)
      for (int j = 0; j < n; j++) {
        double s = 0;
        for (int t = 0; t < 3; t++) s += gg[i][t] * W->g[j * 3 + t];
        u[(n * i + j) * plane + oc] = (float)s;
      }
  }
}

/// The transforms by their definition for any `U` (not only `G g Gᵀ`): output tile `(ty, tx)` is
/// `Aᵀ [Σ_c U_{o,c} ⊙ (Bᵀ d_c B)] A`, `d_c` the n×n patch at rows `m·ty − ph …`, columns
/// `m·tx − pw …` (zero outside), clipped to `oh × ow`; then bias, residual, ReLU.
static void winograd_reference(const wino_mats *W, const float *x, int cin, int h, int w, int ph, int pw, int cout,
                               int oh, int ow, const float *u, const float *bias, const float *residual, int relu,
                               double *y) {
  const long plane = (long)cout * cin;
  const int m = W->m, n = W->n, np = n * n;
  const int tiles_h = (oh + m - 1) / m, tiles_w = (ow + m - 1) / m;
  double *v = alloc_doubles((long)np * cin);
  for (int ty = 0; ty < tiles_h; ty++)
    for (int tx = 0; tx < tiles_w; tx++) {
      for (int c = 0; c < cin; c++) {
        double d[6][6], t[6][6];
        for (int i = 0; i < n; i++)
          for (int j = 0; j < n; j++) {
            int iy = m * ty - ph + i, ix = m * tx - pw + j;
            d[i][j] = iy >= 0 && iy < h && ix >= 0 && ix < w ? x[((long)c * h + iy) * w + ix] : 0;
          }
        for (int i = 0; i < n; i++)
          for (int j = 0; j < n; j++) {
            t[i][j] = 0;
            for (int q = 0; q < n; q++) t[i][j] += W->bt[i * n + q] * d[q][j];
          }
        for (int i = 0; i < n; i++)
          for (int j = 0; j < n; j++) {
            double s = 0;
            for (int q = 0; q < n; q++) s += t[i][q] * W->bt[j * n + q];
            v[(n * i + j) * (long)cin + c] = s;
          }
      }
      for (int o = 0; o < cout; o++) {
        double mm[6][6], am[4][6];
        for (int xi = 0; xi < np; xi++) {
          double s = 0;
          for (int c = 0; c < cin; c++) s += (double)u[xi * plane + (long)o * cin + c] * v[xi * (long)cin + c];
          mm[xi / n][xi % n] = s;
        }
        for (int a = 0; a < m; a++)
          for (int j = 0; j < n; j++) {
            am[a][j] = 0;
            for (int q = 0; q < n; q++) am[a][j] += W->at[a * n + q] * mm[q][j];
          }
        for (int a = 0; a < m; a++)
          for (int b = 0; b < m; b++) {
            int oy = m * ty + a, ox = m * tx + b;
            if (oy >= oh || ox >= ow) continue;
            double s = 0;
            for (int q = 0; q < n; q++) s += am[a][q] * W->at[b * n + q];
            long at = ((long)o * oh + oy) * ow + ox;
            if (bias) s += bias[o];
            if (residual) s += residual[at];
            y[at] = relu && s < 0 ? 0 : s;
          }
      }
    }
  release(v);
}

typedef struct {
  int cin, cout, h, w, ph, pw, band_rows, private_slots;
} wino_case;

/// `zk_winograd_f2x3` (`tile` 2) or `zk_winograd_f4x3` (`tile` 4) for case `q`, with `U = G g Gᵀ`
/// against the convolution or (`arbitrary`) any `U` against the transforms' definition; `v` picks
/// bias, residual and ReLU.
static void run_winograd(int isa, int threads, int tile, const wino_case *q, int arbitrary, int v) {
  const wino_mats *W = tile == 4 ? &WINO4 : &WINO2;
  const char *kernel = tile == 4 ? "zk_winograd_f4x3" : "zk_winograd_f2x3";
  const int np = W->n * W->n;
  const int oh = q->h + 2 * q->ph - 2, ow = q->w + 2 * q->pw - 2;
  const int tiles_w = (ow + tile - 1) / tile;
  const int with_bias = v % 2 == 0, relu = v % 3 != 0, with_residual = v % 4 >= 2;
  char sizes[300];
  snprintf(sizes, sizeof sizes,
           "%d→%d on %d×%d pad %d,%d (output %d×%d), bands of %d tile rows, %d private slots, U %s%s%s%s", q->cin,
           q->cout, q->h, q->w, q->ph, q->pw, oh, ow, q->band_rows, q->private_slots,
           arbitrary ? "arbitrary (the transforms alone)" : "= G g Gᵀ (the convolution)",
           with_bias ? " +bias" : "", with_residual ? " +residual" : "", relu ? " +relu" : "");
  const long plane = (long)q->cout * q->cin, out = (long)q->cout * oh * ow;
  float *x = random_floats((long)q->cin * q->h * q->w);
  float *w = random_floats(plane * 9);
  float *u = alloc_floats(np * plane);
  if (arbitrary)
    for (long i = 0; i < np * plane; i++) u[i] = rnd();
  else
    winograd_weights(W, w, q->cout, q->cin, u);
  const long stride = (long)zk_packed_a_rows_count(q->cout, q->cin, 32);
  float *up = alloc_floats(np * stride);
  float *tmp = malloc(sizeof(float) * 32 * (size_t)q->cin);
  for (int xi = 0; xi < np; xi++) {
    memcpy(up + xi * stride, u + xi * plane, sizeof(float) * (size_t)plane);
    zk_pack_a_rows_in_place(up + xi * stride, q->cout, q->cin, 32, tmp);
  }
  release(tmp);
  float *bias = with_bias ? random_floats(q->cout) : NULL;
  float *residual = with_residual ? random_floats(out) : NULL;
  const int slots = q->private_slots > 0 ? q->private_slots : 1;
  const long scratch_floats = (long)slots * np * (q->cin + q->cout) * q->band_rows * tiles_w;
  float *scratch = alloc_floats(scratch_floats);
  float *y = alloc_floats(out);
  running(kernel, sizes);
  (tile == 4 ? zk_winograd_f4x3_on : zk_winograd_f2x3_on)(isa, x, q->cin, q->h, q->w, q->ph, q->pw, q->cout, oh, ow,
                                                          up, stride, bias, relu, residual, y, scratch, q->band_rows,
                                                          q->private_slots, threads);
  double *ref = alloc_doubles(out);
  if (arbitrary) {
    winograd_reference(W, x, q->cin, q->h, q->w, q->ph, q->pw, q->cout, oh, ow, u, bias, residual, relu, ref);
  } else {
    conv_shape s = {q->cin, q->h, q->w, q->cout, 3, 3, 1, 1, q->ph, q->pw, 1, 1};
    conv_reference(&s, x, w, bias, 0, ref);
    for (long i = 0; i < out; i++) {
      if (residual) ref[i] += residual[i];
      if (relu && ref[i] < 0) ref[i] = 0;
    }
  }
  expect_close(kernel, sizes, arbitrary ? "Aᵀ[Σ U ⊙ BᵀdB]A" : "convolution", y, ref, out, ow);
  release(x), release(w), release(u), release(up), release(bias), release(residual), release(scratch), release(y);
  release(ref);
}

static void test_winograd(int isa, int threads) {
  static const wino_case cases[] = {
      {1, 1, 3, 3, 0, 0, 1, 0},      // one 1×1 output
      {3, 5, 4, 4, 1, 1, 1, 2},      // 4×4 output, private bands
      {7, 9, 9, 9, 1, 1, 2, 0},      // 9×9: 5 tiles per row (3 of F(4×4)), the last clipped
      {17, 33, 16, 16, 1, 1, 3, 2},  // 33 outputs: a partial 32-row tile
      {2, 3, 13, 34, 0, 1, 1, 0},    // 11 × 34: 17 tiles per row (past a 16-tile vector)
      {33, 4, 10, 7, 2, 0, 2, 1},    // unequal padding, 13 × 5
      {5, 40, 31, 30, 1, 1, 100, 0}, // one band of every tile row
      {4, 6, 6, 37, 2, 2, 2, 4},     // more slots than threads
      {2, 2, 5, 6, 1, 2, 1, 2},      // padding 2 on the columns
      {3, 4, 70, 69, 1, 1, 2, 0},    // 70 × 69: F(4×4)'s 18 tiles per row (past a 16-tile vector)
      {2, 3, 7, 134, 1, 0, 1, 2},    // 7 × 132: 33 tiles of F(4×4), 66 of F(2×2) per row
  };
  for (int tile = 2; tile <= 4; tile += 2)
    for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++)
      for (int arbitrary = 0; arbitrary < 2; arbitrary++)
        run_winograd(isa, threads, tile, &cases[ci], arbitrary, (int)ci + arbitrary);
}

/// A random integer in `lo ... hi`.
static int rnd_int(int lo, int hi) { return lo + (int)((rnd() + 1.0f) * 0.5f * (float)(hi - lo + 1)) % (hi - lo + 1); }

/// `count` random cases of each tiered kernel (`--random N`): GEMM, narrow GEMM, convolutions
/// through the grid and through im2col bands, and Winograd, on shapes drawn from wide ranges.
static void test_random(int isa, int threads, int count) {
  for (int i = 0; i < count; i++) {
    const int big_k = rnd_int(0, 9) == 0;
    run_gemm_case(isa, threads, 0, rnd_int(1, 40), rnd_int(1, 320), big_k ? rnd_int(1025, 1400) : rnd_int(1, 200),
                  rnd_int(0, 15));
    run_gemm_case(isa, threads, 1, rnd_int(1, 80), rnd_int(1, 70), big_k ? rnd_int(1025, 1400) : rnd_int(1, 200),
                  rnd_int(0, 15));
    conv_shape c;
    do {
      c = (conv_shape){rnd_int(1, 6), rnd_int(1, 24), rnd_int(1, 24), rnd_int(1, 20), rnd_int(1, 5), rnd_int(1, 5),
                       rnd_int(1, 3), rnd_int(1, 3), rnd_int(0, 2), rnd_int(0, 2), rnd_int(1, 2), rnd_int(1, 2)};
    } while (conv_oh(&c) < 1 || conv_ow(&c) < 1);
    run_conv_grid(isa, threads, &c, i);
    run_conv_narrow(isa, threads, &c, i);
    wino_case q;
    do {
      q = (wino_case){rnd_int(1, 20), rnd_int(1, 40), rnd_int(1, 26), rnd_int(1, 26), rnd_int(0, 2), rnd_int(0, 2),
                      rnd_int(0, 3) == 0 ? 100 : rnd_int(1, 4), rnd_int(0, 3)};
    } while (q.h + 2 * q.ph - 2 < 1 || q.w + 2 * q.pw - 2 < 1);
    run_winograd(isa, threads, 2 + 2 * (i / 2 % 2), &q, i % 2, i);
  }
}

static void test_depthwise(int isa, int threads) {
  // batch, channels, h, w, kh, kw, sh, sw, ph, pw, dh, dw
  static const int cases[][12] = {
      {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1},    {2, 3, 7, 9, 3, 3, 1, 1, 1, 1, 1, 1},
      {1, 5, 8, 11, 3, 3, 2, 2, 1, 1, 1, 1},   {1, 4, 13, 12, 3, 3, 2, 2, 0, 1, 1, 1},
      {2, 3, 10, 10, 5, 5, 2, 2, 2, 2, 1, 1},  {1, 2, 9, 12, 3, 3, 1, 1, 2, 2, 2, 2},
      {1, 3, 11, 10, 3, 5, 3, 2, 1, 2, 1, 1},  {1, 2, 6, 7, 7, 7, 1, 1, 3, 3, 1, 1},
      {2, 8, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1},  {2, 8, 32, 33, 5, 5, 2, 2, 2, 2, 1, 1},
      {1, 7, 17, 19, 3, 3, 2, 1, 1, 1, 1, 1},  {1, 4, 14, 14, 5, 5, 1, 1, 2, 2, 1, 1},
      {1, 4, 7, 7, 5, 5, 1, 1, 2, 2, 1, 1},    {1, 3, 15, 15, 5, 5, 2, 2, 2, 2, 1, 1},
      {1, 3, 112, 112, 3, 3, 2, 2, 1, 1, 1, 1}, {1, 3, 20, 37, 5, 5, 3, 2, 1, 2, 1, 1},
      {1, 2, 9, 9, 7, 7, 2, 2, 3, 3, 1, 1},    {1, 2, 3, 2, 5, 5, 1, 1, 2, 2, 1, 1},
      {1, 2, 5, 6, 3, 3, 1, 2, 0, 0, 1, 1},
  };
  for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
    const int *c = cases[ci];
    const int batch = c[0], ch = c[1], h = c[2], w = c[3], kh = c[4], kw = c[5], sh = c[6], sw = c[7], ph = c[8],
              pw = c[9], dh = c[10], dw = c[11];
    const int oh = window_out(h, kh, sh, ph, dh, 0), ow = window_out(w, kw, sw, pw, dw, 0);
    const int act = (int)(ci % (ZK_ACT_HARDSWISH + 1));
    const int with_bias = ci % 2 == 0;
    char sizes[256];
    snprintf(sizes, sizeof sizes, "batch %d, %d channels, %d×%d stride %d,%d pad %d,%d dil %d,%d on %d×%d, %s%s",
             batch, ch, kh, kw, sh, sw, ph, pw, dh, dw, h, w, act_name(act), with_bias ? " +bias" : "");
    const long out = (long)batch * ch * oh * ow;
    float *x = random_floats((long)batch * ch * h * w);
    float *wt = random_floats((long)ch * kh * kw);
    for (long i = 0; i < (long)ch * kh * kw; i++) wt[i] *= 4;  // outputs past ReLU6's 6
    float *bias = with_bias ? random_floats(ch) : NULL;
    float *y = alloc_floats(out);
    running("zk_depthwise_on", sizes);
    zk_depthwise_on(isa, x, wt, bias, y, batch, ch, h, w, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw, act, threads);
    double *ref = alloc_doubles(out);
    for (int n = 0; n < batch; n++)
      for (int cc = 0; cc < ch; cc++)
        for (int oy = 0; oy < oh; oy++)
          for (int ox = 0; ox < ow; ox++) {
            double s = bias ? bias[cc] : 0;
            for (int i = 0; i < kh; i++)
              for (int j = 0; j < kw; j++) {
                int iy = oy * sh - ph + i * dh, ix = ox * sw - pw + j * dw;
                if (iy >= 0 && iy < h && ix >= 0 && ix < w)
                  s += (double)x[(((long)n * ch + cc) * h + iy) * w + ix] * wt[((long)cc * kh + i) * kw + j];
              }
            ref[(((long)n * ch + cc) * oh + oy) * ow + ox] = act_ref(act, s);
          }
    expect_close("zk_depthwise_on", sizes, "act(depthwise convolution + bias)", y, ref, out, ow);
    release(x), release(wt), release(bias), release(y), release(ref);
  }
}


// ---------------------------------------------------------------------------------------------
// e^x and the activations (act.h).

/// The distance from `got` to `want` in units in the last place of `want` (a float), subnormal
/// spacing included.
static double ulps(float got, double want) {
  const double spacing = fabs(want) < 0x1p-126 ? 0x1p-149 : ldexp(1.0, ilogb(want) - 23);
  return fabs((double)got - want) / spacing;
}

/// The vectorised e^x of tier `isa` against libm's `exp` in double over a sweep:
/// every 1,009th float bit pattern between −104.5 and 89.5 (normal and subnormal results), the edges of the range, and the
/// special values. Invariants: within 2 ulps of e^x wherever the result is a float (normal or
/// subnormal); +∞ exactly where e^x overflows (x > 88.7228) and for +∞; 0 where it is below half the
/// smallest subnormal (x < −103.973) and for −∞; NaN for NaN.
static void test_exp(int isa) {
  long n = 0;
  float *x = alloc_floats(4000000);
  for (int sign = 0; sign < 2; sign++) {
    const float limit = sign ? 104.5f : 89.5f;
    for (uint32_t bits = 0;; bits += 1009) {
      float v;
      memcpy(&v, &bits, sizeof v);
      if (!(v <= limit)) break;
      x[n++] = sign ? -v : v;
    }
  }
  static const float specials[] = {0.0f, -0.0f, 88.72283f, 88.72284f, 88.7228f, 89.0f, 100.0f, 1e30f,
                                   -87.33654f, -87.34f, -103.97f, -103.972f, -103.973f, -103.98f, -104.0f,
                                   -150.0f, -1e30f, 1e-30f, -1e-30f, 0x1p-149f, 0.5f, -0.5f, 0.34657359f,
                                   INFINITY, -INFINITY, NAN, -NAN};
  for (size_t i = 0; i < sizeof specials / sizeof *specials; i++) x[n++] = specials[i];
  float *y = alloc_floats(n);
  running("zk_exp_on", "sweep");
  zk_exp_on(isa, x, y, n);
  checks++;
  double worst = 0;
  long worst_at = -1;
  for (long i = 0; i < n; i++) {
    const double want = exp((double)x[i]);
    const char *broken = NULL;
    if (isnan(x[i])) {
      if (!isnan(y[i])) broken = "e^NaN is not NaN";
    } else if (want > 0x1.fffffep127 * (1 + 0x1p-25)) {
      if (!(isinf(y[i]) && y[i] > 0)) broken = "e^x past the largest float is not +inf";
    } else if (want < 0x1p-150) {
      if (!(y[i] == 0)) broken = "e^x below half the smallest subnormal is not 0";
    } else {
      const double u = ulps(y[i], want);
      if (u > worst) worst = u, worst_at = i;
      if (!(u <= 2)) broken = "e^x is more than 2 ulps from libm's";
    }
    if (broken) {
      char sizes[96];
      snprintf(sizes, sizeof sizes, "x = %.9g (input %ld of %ld)", x[i], i, n);
      fail("zk_exp_on", sizes, "%s: got %.9g, libm %.9g", broken, y[i], want);
      break;
    }
  }
  if (worst_at >= 0 && getenv("ZK_VERBOSE"))
    printf("    e^x worst: %.3f ulps at x = %.9g\n", worst, x[worst_at]);
  release(x), release(y);
}

/// Every activation of tier `isa` on random values, large and special ones, with and without the
/// added constant, in and out of place, against its definition in double: within 1e-6 of
/// max(1, |expected|), ±∞ and NaN exactly where the definition gives them (the clamps take NaN to 0).
static void test_activation(int isa) {
  const long n = 1000;
  float *x = random_floats(n);
  for (long i = 0; i < n; i++) x[i] *= (i % 3 == 0 ? 200 : 8);
  static const float specials[] = {0, -0.0f, 3, -3, 6, -6, 88.8f, -88.8f, 104, -104, 1e30f, -1e30f,
                                   INFINITY, -INFINITY, NAN};
  for (size_t i = 0; i < sizeof specials / sizeof *specials; i++) x[i * 7] = specials[i];
  for (int act = ZK_ACT_NONE; act <= ZK_ACT_HARDSWISH; act++)
    for (int variant = 0; variant < 2; variant++) {
      const float add = variant ? 0.75f : 0;
      const long count = variant ? n - 3 : n;  // a partial last vector
      char sizes[96];
      snprintf(sizes, sizeof sizes, "%s of %ld values%s", act_name(act), count, variant ? " + 0.75, in place" : "");
      float *src = alloc_floats(count);
      memcpy(src, x, sizeof(float) * (size_t)count);
      float *dst = variant ? src : alloc_floats(count);
      running("zk_activation_on", sizes);
      zk_activation_on(isa, act, src, dst, count, add);
      checks++;
      for (long i = 0; i < count; i++) {
        const float v = x[i] + add;
        const double want = act_ref(act, (double)v);
        const int ok = isnan(want)   ? isnan(dst[i])
                       : isinf(want) ? (double)dst[i] == want
                                     : fabs((double)dst[i] - want) <= 1e-6 * fmax(1, fabs(want));
        if (!ok) {
          fail("zk_activation_on", sizes, "act(%.9g) = %.9g, expected %.9g", v, dst[i], want);
          break;
        }
      }
      if (!variant) release(dst);
      release(src);
    }
  release(x);
}

// ---------------------------------------------------------------------------------------------
// Untiered kernels (their own dispatch: AVX-512 paths where the CPU has it, plain C elsewhere).

static void test_eltwise(int threads) {
  static const long counts[] = {1, 7, 16, 17, 33, 40000};
  for (size_t ci = 0; ci < sizeof counts / sizeof *counts; ci++)
    for (int relu = 0; relu < 2; relu++)
      for (int place = 0; place < 3; place++) {  // out apart, out = a, out = b
        const long n = counts[ci];
        char sizes[96];
        snprintf(sizes, sizeof sizes, "count %ld%s%s", n, relu ? " +relu" : "",
                 place == 1 ? " (out = a)" : place == 2 ? " (out = b)" : "");
        float *a = random_floats(n), *b = random_floats(n);
        float *want = alloc_floats(n);
        for (long i = 0; i < n; i++) {
          float s = (float)((double)a[i] + b[i]);  // one rounding, as a float add
          want[i] = relu && s < 0 ? 0 : s;
        }
        float *out = place == 1 ? a : place == 2 ? b : alloc_floats(n);
        running("zk_add", sizes);
        zk_add(a, b, out, n, relu, threads);
        expect_equal("zk_add", sizes, "a + b", out, want, n, n);
        if (place == 0) release(out);
        release(a), release(b), release(want);
      }
  // channels, planes, spatial
  static const long affine[][3] = {{3, 3, 1}, {3, 6, 7}, {5, 10, 49}, {4, 8, 5000}, {1, 1, 17}};
  for (size_t ci = 0; ci < sizeof affine / sizeof *affine; ci++)
    for (int relu = 0; relu < 2; relu++)
      for (int in_place = 0; in_place < 2; in_place++) {
        const int channels = (int)affine[ci][0];
        const long planes = affine[ci][1], spatial = affine[ci][2], n = planes * spatial;
        char sizes[128];
        snprintf(sizes, sizeof sizes, "%d channels, %ld planes of %ld%s%s", channels, planes, spatial,
                 relu ? " +relu" : "", in_place ? " (in place)" : "");
        float *x = random_floats(n), *scale = random_floats(channels), *shift = random_floats(channels);
        double *ref = alloc_doubles(n);
        for (long q = 0; q < planes; q++)
          for (long i = 0; i < spatial; i++) {
            double v = (double)x[q * spatial + i] * scale[q % channels] + shift[q % channels];
            ref[q * spatial + i] = relu && v < 0 ? 0 : v;
          }
        float *y = in_place ? x : alloc_floats(n);
        running("zk_channel_affine", sizes);
        zk_channel_affine(x, y, scale, shift, channels, planes, spatial, relu, threads);
        expect_close("zk_channel_affine", sizes, "x · scale[c] + shift[c]", y, ref, n, spatial);
        if (!in_place) release(y);
        release(x), release(scale), release(shift), release(ref);
      }
}

static void test_pooling(int threads) {
  // planes, h, w, kh, kw, sh, sw, ph, pw, ceil
  static const int cases[][10] = {
      {1, 1, 1, 1, 1, 1, 1, 0, 0, 0},    {2, 5, 5, 2, 2, 2, 2, 0, 0, 1},   {3, 10, 13, 3, 3, 2, 2, 0, 0, 1},
      {3, 10, 12, 3, 3, 2, 2, 1, 1, 0},  {2, 10, 11, 2, 2, 2, 2, 0, 0, 1}, {5, 10, 14, 5, 5, 2, 2, 2, 2, 0},
      {4, 9, 11, 3, 3, 1, 1, 1, 1, 0},   {4, 9, 11, 5, 5, 1, 1, 2, 2, 1},  {4, 9, 11, 7, 7, 1, 1, 3, 3, 0},
      {5, 7, 33, 3, 3, 1, 1, 1, 1, 1},   {5, 7, 37, 3, 3, 2, 2, 1, 1, 1},  {5, 7, 50, 3, 3, 2, 2, 0, 0, 1},
      {5, 7, 113, 2, 2, 2, 2, 0, 0, 1},  {5, 7, 40, 3, 3, 3, 3, 1, 1, 1},  {5, 7, 17, 5, 5, 1, 1, 2, 2, 1},
      {5, 7, 32, 3, 3, 1, 1, 1, 1, 1},   {5, 7, 16, 7, 7, 1, 1, 3, 3, 1},  {5, 7, 31, 3, 3, 2, 2, 1, 1, 1},
      {5, 7, 32, 3, 3, 3, 3, 1, 1, 1},   {5, 7, 17, 2, 2, 2, 2, 0, 0, 1},  {64, 16, 16, 3, 3, 2, 2, 1, 1, 0},
      {3, 8, 9, 2, 3, 1, 2, 1, 1, 1},    {3, 12, 10, 3, 2, 3, 1, 0, 1, 0}, {48, 14, 14, 3, 3, 1, 1, 1, 1, 0},
  };
  for (size_t ci = 0; ci < sizeof cases / sizeof *cases; ci++) {
    const int *c = cases[ci];
    const int planes = c[0], h = c[1], w = c[2], kh = c[3], kw = c[4], sh = c[5], sw = c[6], ph = c[7], pw = c[8];
    const int ceil = c[9];
    const int oh = window_out(h, kh, sh, ph, 1, ceil), ow = window_out(w, kw, sw, pw, 1, ceil);
    char sizes[160];
    snprintf(sizes, sizeof sizes, "%d planes of %d×%d, %d×%d stride %d,%d pad %d,%d%s → %d×%d", planes, h, w, kh, kw,
             sh, sw, ph, pw, ceil ? " ceil" : "", oh, ow);
    const long out = (long)planes * oh * ow;
    float *x = random_floats((long)planes * h * w);
    float *want = alloc_floats(out);
    for (int q = 0; q < planes; q++)
      for (int oy = 0; oy < oh; oy++)
        for (int ox = 0; ox < ow; ox++) {
          float m = -INFINITY;
          for (int iy = oy * sh - ph; iy < oy * sh - ph + kh; iy++)
            for (int ix = ox * sw - pw; ix < ox * sw - pw + kw; ix++)
              if (iy >= 0 && iy < h && ix >= 0 && ix < w) {
                float v = x[((long)q * h + iy) * w + ix];
                m = v > m ? v : m;
              }
          want[((long)q * oh + oy) * ow + ox] = m;
        }
    float *y = alloc_floats(out);
    running("zk_maxpool", sizes);
    zk_maxpool(x, planes, h, w, kh, kw, sh, sw, ph, pw, oh, ow, y, threads);
    expect_equal("zk_maxpool", sizes, "the window's maximum", y, want, out, ow);
    release(want), release(y);
    // Average pooling without padding over the windows that lie inside the image.
    if (ph == 0 && pw == 0) {
      const int ah = (h - kh) / sh + 1, aw = (w - kw) / sw + 1;
      const long aout = (long)planes * ah * aw;
      char asizes[160];
      snprintf(asizes, sizeof asizes, "%d planes of %d×%d, %d×%d stride %d,%d → %d×%d", planes, h, w, kh, kw, sh, sw,
               ah, aw);
      double *ref = alloc_doubles(aout);
      for (int q = 0; q < planes; q++)
        for (int oy = 0; oy < ah; oy++)
          for (int ox = 0; ox < aw; ox++) {
            double s = 0;
            for (int i = 0; i < kh; i++)
              for (int j = 0; j < kw; j++) s += x[((long)q * h + oy * sh + i) * w + ox * sw + j];
            ref[((long)q * ah + oy) * aw + ox] = s / (kh * kw);
          }
      float *a = alloc_floats(aout);
      running("zk_avgpool_inside", asizes);
      zk_avgpool_inside(x, planes, h, w, kh, kw, sh, sw, ah, aw, a, threads);
      expect_close("zk_avgpool_inside", asizes, "the window's mean", a, ref, aout, aw);
      release(ref), release(a);
    }
    release(x);
  }
  // Global average pooling (the window is the plane), as the networks' heads use it.
  static const int global[][3] = {{8, 7, 7}, {3, 1, 1}, {5, 13, 9}};
  for (size_t ci = 0; ci < sizeof global / sizeof *global; ci++) {
    const int planes = global[ci][0], h = global[ci][1], w = global[ci][2];
    char sizes[96];
    snprintf(sizes, sizeof sizes, "%d planes of %d×%d, the whole plane", planes, h, w);
    float *x = random_floats((long)planes * h * w);
    double *ref = alloc_doubles(planes);
    for (int q = 0; q < planes; q++) {
      double s = 0;
      for (long i = 0; i < (long)h * w; i++) s += x[(long)q * h * w + i];
      ref[q] = s / (h * w);
    }
    float *a = alloc_floats(planes);
    running("zk_avgpool_inside", sizes);
    zk_avgpool_inside(x, planes, h, w, h, w, 1, 1, 1, 1, a, threads);
    expect_close("zk_avgpool_inside", sizes, "the plane's mean", a, ref, planes, 1);
    release(x), release(ref), release(a);
  }
}

// ---------------------------------------------------------------------------------------------
// Timing (`--bench`): the GEMM's GFLOP/s per tier on ResNet shapes, best of several runs.

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void bench(int isa) {
  // m, n, k: a 56×56 3×3 64→64 layer, a 28×28 3×3 128→128 layer, a 1536² square.
  static const int shapes[][3] = {{64, 3136, 576}, {128, 784, 1152}, {1536, 1536, 1536}};
  for (size_t si = 0; si < sizeof shapes / sizeof *shapes; si++)
    for (int threads = 1; threads <= 2; threads++) {
      const int m = shapes[si][0], n = shapes[si][1], k = shapes[si][2];
      float *a = random_floats((long)m * k), *ap = pack(a, m, k, ZK_MR), *b = random_floats((long)k * n);
      float *c = alloc_floats((long)m * n);
      long *boff = malloc(sizeof(long) * (size_t)k);
      for (int kk = 0; kk < k; kk++) boff[kk] = (long)kk * n;
      zk_gemm_args g = {m, n, k, ap, b, boff, NULL, 0, c, n, 0, 0, NULL};
      double best = 1e30;
      const int runs = m * (double)n * k > 1e9 ? 3 : 10;
      for (int r = 0; r < runs + 1; r++) {
        double t0 = now();
        zk_gemm_on(isa, &g, threads);
        double t = now() - t0;
        if (r > 0 && t < best) best = t;
      }
      printf("bench %-8s m=%-5d n=%-5d k=%-5d %d thread%s: %7.1f GFLOP/s (best of %d)\n", tier_name(isa), m, n, k,
             threads, threads > 1 ? "s" : "", 2.0 * m * n * k / best * 1e-9, runs);
      release(a), release(ap), release(b), release(c), release(boff);
    }
}

// ---------------------------------------------------------------------------------------------

int main(int argc, char **argv) {
  int do_bench = 0, random_cases = 0;
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--bench")) {
      do_bench = 1;
    } else if (!strcmp(argv[i], "--random") && i + 1 < argc && atoi(argv[i + 1]) > 0) {
      random_cases = atoi(argv[++i]);
    } else if (!strcmp(argv[i], "--seed") && i + 1 < argc) {
      rng_state = strtoull(argv[++i], NULL, 10) | 1;
    } else {
      fprintf(stderr, "usage: %s [--random N] [--seed S] [--bench]\n", argv[0]);
      return 2;
    }
  }
#if defined(__aarch64__)
  const char *arch = "aarch64";
  // The tiers an arm64 build must run: a NEON tier that is missing is a failure, not a skip.
  static const int required[] = {ZK_ISA_NEON, ZK_ISA_GENERIC};
#elif defined(__x86_64__)
  const char *arch = "x86-64";
  static const int required[] = {ZK_ISA_GENERIC};
#else
  const char *arch = "other";
  static const int required[] = {ZK_ISA_GENERIC};
#endif
  signal(SIGSEGV, on_fault);
  signal(SIGBUS, on_fault);
  static const int all[] = {ZK_ISA_AVX512, ZK_ISA_AVX2, ZK_ISA_NEON, ZK_ISA_GENERIC};
  int tiers[4], ntiers = 0;
  for (int i = 0; i < 4; i++)
    if (zk_isa_supported(all[i])) tiers[ntiers++] = all[i];
  for (size_t i = 0; i < sizeof required / sizeof *required; i++) {
    checks++;
    if (!zk_isa_supported(required[i])) {
      set_context("%s", arch);
      fail("zk_isa_supported", tier_name(required[i]), "a tier this architecture must run is not supported");
    }
  }
  printf("kernel_tests on %s: tiers", arch);
  for (int i = 0; i < ntiers; i++) printf(" %s", tier_name(tiers[i]));
  printf(" (untiered kernels: %s paths)\n", zk_has_avx512() ? "AVX-512" : "plain C");
  const double t0 = now();

  long before = checks;
  set_context("%s", arch);
  test_pack();
  test_pool();
  for (int threads = 1; threads <= 2; threads++) {
    set_context("%s, untiered, %d thread%s", arch, threads, threads > 1 ? "s" : "");
    test_eltwise(threads);
    test_pooling(threads);
  }
  printf("  untiered (packing, pool, add, affine, max/avg pooling): %ld checks\n", checks - before);
  for (int i = 0; i < ntiers; i++) {
    before = checks;
    const double t = now();
    for (int threads = 1; threads <= 2; threads++) {
      set_context("tier %s, %d thread%s", tier_name(tiers[i]), threads, threads > 1 ? "s" : "");
      test_gemm(tiers[i], threads);
      test_gemm_t(tiers[i], threads);
      test_conv_grid(tiers[i], threads);
      test_conv_narrow(tiers[i], threads);
      test_winograd(tiers[i], threads);
      test_depthwise(tiers[i], threads);
      test_random(tiers[i], threads, random_cases);
    }
    set_context("tier %s", tier_name(tiers[i]));
    test_exp(tiers[i]);
    test_activation(tiers[i]);
    printf("  tier %-8s GEMM, narrow GEMM, grid/im2col convolutions, Winograd, depthwise, e^x, activations: %ld checks "
           "(%.1f s of testing)\n",
           tier_name(tiers[i]), checks - before, now() - t);
  }
  printf("kernel_tests on %s: %ld checks, %ld failed (%.1f s)\n", arch, checks, failures, now() - t0);
  if (do_bench && failures == 0)
    for (int i = 0; i < ntiers; i++) bench(tiers[i]);
  return failures ? 1 : 0;
}
