// The NEON tier of the engine's kernels (tier.h), arm64 only: 4 floats per vector and the 32
// vector registers used for larger blocks than the generic tier's: the GEMM's 8 rows × 3 vectors
// (24 accumulators), the narrow-column GEMM's 16 rows × 6 columns.
#if defined(__aarch64__)
#define ZK_T neon
#define ZK_W 4
#define ZK_TARGET
#define ZK_FUSED 1
#define ZK_GR 8
#define ZK_GV 3
#define ZK_TV 4
#define ZK_TP 6
#include "tier.h"
#endif
