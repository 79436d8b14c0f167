// The AVX2 + FMA tier of the engine's kernels (tier.h): 8 floats per vector; the GEMM's register
// block is 4 rows × 3 vectors (12 of the 16 ymm registers accumulate, 3 hold B, 1 a broadcast), the
// narrow-column GEMM's 16 rows × 6 columns.
#if defined(__x86_64__)
#define ZK_T avx2
#define ZK_W 8
#define ZK_TARGET __attribute__((target("avx2,fma")))
#define ZK_GR 4
#define ZK_GV 3
#define ZK_TV 2
#define ZK_TP 6
#include "tier.h"
#endif
