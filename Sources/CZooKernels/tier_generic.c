// The portable tier of the engine's kernels (tier.h): 4 floats per vector in the compiler's
// baseline (SSE2 on x86-64, NEON on arm64); the GEMM's register block is 4 rows × 3 vectors, the
// narrow-column GEMM's 8 rows × 6 columns (16 registers).
#define ZK_T generic
#define ZK_W 4
#define ZK_TARGET
#define ZK_GR 4
#define ZK_GV 3
#define ZK_TV 2
#define ZK_TP 6
#include "tier.h"
