// A small thread pool for the engine's parallel loops: `threads − 1` persistent workers that spin on
// a generation counter for a while after each job (so back-to-back layers start at once), then
// sleep on a condition variable. A job is cut into chunks that the threads take in turn from a shared
// counter, so a thread that runs slower (a core the machine's other tenants share) takes fewer.
//
// One job at a time: the caller that sets the `busy` flag owns the pool until its job is done. A call
// made while the flag is set — from inside a job (on the caller or a worker) or from another thread
// running its own network — runs its chunks on its own thread, in order, instead of waiting for the
// pool (which, from inside a job, would never come free).
#include "zoo_kernels.h"

#include <pthread.h>
#include <stdatomic.h>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define zk_pause() _mm_pause()
#else
#define zk_pause() ((void)0)
#endif

// Pause instructions a worker spins through after a job before it sleeps: about 5 ms here (26 ns
// each). A forward pass has stretches on one thread (small layers, the input copy) longer than the
// 0.5 ms spin this started with; a worker that had gone to sleep in one then took a VM's halt-poll
// wake-up at the next parallel layer, and ResNet-18 and GoogLeNet ran 12 ms instead of 7.6 and 7.3
// (in runs whose other vCPU had been idle a while).
enum { ZK_MAX_WORKERS = 63, ZK_SPIN = 200000 };

static struct {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  atomic_int busy;  // 1 while a job owns the pool
  atomic_long generation;
  atomic_int pending;
  atomic_int sleepers;
  int workers;
  void (*fn)(void *, int, int);
  void *ctx;
  int threads, chunks;
  atomic_int next;  // the next chunk to take
  long start[ZK_MAX_WORKERS + 1];  // the generation each worker starts from
} pool = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER};

static void take_chunks(void) {
  for (;;) {
    int i = atomic_fetch_add_explicit(&pool.next, 1, memory_order_relaxed);
    if (i >= pool.chunks) return;
    pool.fn(pool.ctx, i, pool.chunks);
  }
}

static void *worker(void *arg) {
  int id = (int)(long)arg;
  long seen = pool.start[id];
  for (;;) {
    int spins = 0;
    while (atomic_load_explicit(&pool.generation, memory_order_acquire) == seen && spins < ZK_SPIN) {
      zk_pause();
      spins++;
    }
    if (atomic_load_explicit(&pool.generation, memory_order_acquire) == seen) {
      pthread_mutex_lock(&pool.mu);
      atomic_fetch_add(&pool.sleepers, 1);
      while (atomic_load(&pool.generation) == seen) pthread_cond_wait(&pool.cv, &pool.mu);
      atomic_fetch_sub(&pool.sleepers, 1);
      pthread_mutex_unlock(&pool.mu);
    }
    seen = atomic_load(&pool.generation);
    if (id < pool.threads) take_chunks();
    atomic_fetch_sub_explicit(&pool.pending, 1, memory_order_release);
  }
  return NULL;
}

void zk_parallel_chunks(int threads, int chunks, void (*fn)(void *, int, int), void *ctx) {
  if (chunks < 1) return;
  if (threads > chunks) threads = chunks;
  // Serially on this thread when one thread is asked for, or when the pool is already running a job
  // (a nested call from inside a job, or a call from another thread).
  if (threads <= 1 || atomic_exchange_explicit(&pool.busy, 1, memory_order_acquire)) {
    for (int i = 0; i < chunks; i++) fn(ctx, i, chunks);
    return;
  }
  if (threads - 1 > ZK_MAX_WORKERS) threads = ZK_MAX_WORKERS + 1;
  while (pool.workers < threads - 1) {
    pthread_t t;
    pool.start[pool.workers + 1] = atomic_load(&pool.generation);
    if (pthread_create(&t, NULL, worker, (void *)(long)(pool.workers + 1)) != 0) break;
    pthread_detach(t);
    pool.workers++;
  }
  if (threads > pool.workers + 1) threads = pool.workers + 1;
  pool.fn = fn;
  pool.ctx = ctx;
  pool.threads = threads;
  pool.chunks = chunks;
  atomic_store(&pool.next, 0);
  atomic_store(&pool.pending, pool.workers);
  atomic_fetch_add(&pool.generation, 1);
  if (atomic_load(&pool.sleepers) > 0) {
    pthread_mutex_lock(&pool.mu);
    pthread_cond_broadcast(&pool.cv);
    pthread_mutex_unlock(&pool.mu);
  }
  take_chunks();
  while (atomic_load_explicit(&pool.pending, memory_order_acquire) > 0) zk_pause();
  atomic_store_explicit(&pool.busy, 0, memory_order_release);
}

void zk_parallel(int count, void (*fn)(void *, int, int), void *ctx) { zk_parallel_chunks(count, count, fn, ctx); }
