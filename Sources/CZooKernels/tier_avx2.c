// The AVX2 + FMA tier of the engine's kernels (tier.h): 8 floats per vector; the GEMM's register
// block is 6 rows × 2 vectors (12 of the 16 ymm registers accumulate, 2 hold B, 1 a broadcast; 4 × 3
// used all 16 and Clang then copied the accumulators around every step), the narrow-column GEMM's 16
// rows × 6 columns.
#if defined(__x86_64__)
#define ZK_T avx2
#define ZK_W 8
#define ZK_TARGET __attribute__((target("avx2,fma")))
#define ZK_FUSED 1
#define ZK_GR 6
#define ZK_GV 2
#define ZK_TV 2
#define ZK_TP 6
#include "tier.h"
#endif
