// The portable tier of the engine's kernels (tier.h): 4 floats per vector in the compiler's
// baseline (SSE2 on x86-64, NEON on arm64); the GEMM's register block is 6 rows × 2 vectors (as AVX2:
// 15 of the 16 registers), the narrow-column GEMM's 8 rows × 6 columns.
#define ZK_T generic
#define ZK_W 4
#define ZK_TARGET
#if defined(__aarch64__)
#define ZK_FUSED 1
#else
#define ZK_FUSED 0
#endif
#define ZK_GR 6
#define ZK_GV 2
#define ZK_TV 2
#define ZK_TP 6
#include "tier.h"
