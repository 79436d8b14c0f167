// Helpers shared by CZooKernels' files (internal): how many of the pool's threads a job takes, how
// the GEMMs cut k into blocks, and the mask of a vector's first lanes.
#ifndef ZK_SPLIT_H
#define ZK_SPLIT_H

#if defined(__x86_64__)
#include <immintrin.h>

/// The mask of the first `n` of 16 lanes (none for `n ≤ 0`, all for `n ≥ 16`).
static inline __mmask16 zk_lanes(int n) {
  return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1);
}
#endif

/// Steps of k per block when `k` runs in equal blocks of at most `ZOO_GEMM_KC` (default 1,024): a
/// block of B stays near the core while the tiles of A pass over it (gemm.c).
int zk_k_block(int k);

/// `threads`, but at least 1, at most `parts` (the job's indivisible pieces), and 1 when `work`
/// (elements touched) is under `min_work`, where waking a worker costs more than it saves.
/// `zk_parallel` runs a count of 1 on the calling thread.
static inline int zk_split(int threads, long parts, long work, long min_work) {
  if (threads < 1 || work < min_work) return 1;
  return parts < threads ? (int)(parts > 1 ? parts : 1) : threads;
}

/// Chunks for `zk_parallel_chunks` when `threads` (from `zk_split`) take a job of `parts` pieces:
/// 8 per thread, so a thread slowed by the rest of the machine costs at most an eighth of its share.
static inline int zk_chunks(int threads, long parts) {
  if (threads <= 1) return 1;
  long c = (long)threads * 8;
  return (int)(parts < c ? parts : c);
}

#endif
