// A persistent thread pool. Workers spin briefly on a job counter, then
// sleep on a condition variable; the caller runs as thread 0, so a run on
// an n-thread pool wakes n - 1 workers and never starts a thread.

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "pool.h"

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() ((void)0)
#endif

// Polls of the job counter before sleeping (a few tens of microseconds):
// enough to bridge back-to-back matrix products without burning a core
// that another process could use.
enum { SPIN_POLLS = 2000 };

struct hydra_pool {
    int32_t threads;
    pthread_t *workers;
    pthread_mutex_t mutex;
    pthread_mutex_t caller;      // one caller (and its nested calls) at a time
    pthread_cond_t work_ready;
    pthread_cond_t work_done;
    _Atomic uint64_t generation; // bumped once per job (and at shutdown)
    _Atomic int32_t pending;     // workers still running the current job
    _Atomic int32_t stopping;
    void (*fn)(void *ctx, int32_t i, int32_t n);
    void *ctx;
    hydra_scratch scratch;
};

typedef struct {
    hydra_pool *pool;
    int32_t index;
} worker_arg;

static void *worker_main(void *varg) {
    worker_arg arg = *(worker_arg *)varg;
    free(varg);
    hydra_pool *pool = arg.pool;
    uint64_t seen = 0;
    for (;;) {
        uint64_t gen = atomic_load_explicit(&pool->generation, memory_order_acquire);
        for (int k = 0; gen == seen && k < SPIN_POLLS; k++) {
            cpu_relax();
            gen = atomic_load_explicit(&pool->generation, memory_order_acquire);
        }
        if (gen == seen) {
            pthread_mutex_lock(&pool->mutex);
            while ((gen = atomic_load_explicit(&pool->generation, memory_order_acquire)) == seen) {
                pthread_cond_wait(&pool->work_ready, &pool->mutex);
            }
            pthread_mutex_unlock(&pool->mutex);
        }
        seen = gen;
        if (atomic_load_explicit(&pool->stopping, memory_order_acquire)) break;
        pool->fn(pool->ctx, arg.index, pool->threads);
        if (atomic_fetch_sub_explicit(&pool->pending, 1, memory_order_acq_rel) == 1) {
            // Last one out wakes the caller, under the mutex so the wake-up
            // cannot slip between its check and its wait.
            pthread_mutex_lock(&pool->mutex);
            pthread_cond_signal(&pool->work_done);
            pthread_mutex_unlock(&pool->mutex);
        }
    }
    return NULL;
}

hydra_pool *hydra_pool_create(int32_t threads) {
    if (threads < 1) threads = 1;
    hydra_pool *pool = calloc(1, sizeof *pool);
    if (!pool) return NULL;
    pool->threads = threads;
    pthread_mutex_init(&pool->mutex, NULL);
    pthread_mutexattr_t recursive;
    pthread_mutexattr_init(&recursive);
    pthread_mutexattr_settype(&recursive, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&pool->caller, &recursive);
    pthread_mutexattr_destroy(&recursive);
    pthread_cond_init(&pool->work_ready, NULL);
    pthread_cond_init(&pool->work_done, NULL);
    pool->workers = calloc((size_t)threads, sizeof(pthread_t));
    for (int32_t i = 1; i < threads; i++) {
        worker_arg *arg = malloc(sizeof *arg);
        arg->pool = pool;
        arg->index = i;
        if (pthread_create(&pool->workers[i], NULL, worker_main, arg) != 0) {
            // Could not start every worker: run with the ones we have.
            free(arg);
            pool->threads = i;
            break;
        }
    }
    return pool;
}

void hydra_pool_destroy(hydra_pool *pool) {
    if (!pool) return;
    pthread_mutex_lock(&pool->mutex);
    atomic_store(&pool->stopping, 1);
    atomic_fetch_add(&pool->generation, 1);
    pthread_cond_broadcast(&pool->work_ready);
    pthread_mutex_unlock(&pool->mutex);
    for (int32_t i = 1; i < pool->threads; i++) pthread_join(pool->workers[i], NULL);
    pthread_cond_destroy(&pool->work_ready);
    pthread_cond_destroy(&pool->work_done);
    pthread_mutex_destroy(&pool->mutex);
    pthread_mutex_destroy(&pool->caller);
    free(pool->workers);
    free(pool->scratch.data);
    free(pool);
}

int32_t hydra_pool_threads(const hydra_pool *pool) { return pool ? pool->threads : 1; }

void hydra_pool_run(hydra_pool *pool, void (*fn)(void *ctx, int32_t i, int32_t n), void *ctx) {
    if (!pool || pool->threads == 1) {
        fn(ctx, 0, 1);
        return;
    }
    hydra_pool_lock(pool);
    pool->fn = fn;
    pool->ctx = ctx;
    atomic_store_explicit(&pool->pending, pool->threads - 1, memory_order_relaxed);
    pthread_mutex_lock(&pool->mutex);
    atomic_fetch_add_explicit(&pool->generation, 1, memory_order_release);
    pthread_cond_broadcast(&pool->work_ready);
    pthread_mutex_unlock(&pool->mutex);

    fn(ctx, 0, pool->threads);

    for (int k = 0; k < SPIN_POLLS && atomic_load_explicit(&pool->pending, memory_order_acquire) != 0; k++) {
        cpu_relax();
    }
    if (atomic_load_explicit(&pool->pending, memory_order_acquire) != 0) {
        pthread_mutex_lock(&pool->mutex);
        while (atomic_load_explicit(&pool->pending, memory_order_acquire) != 0) {
            pthread_cond_wait(&pool->work_done, &pool->mutex);
        }
        pthread_mutex_unlock(&pool->mutex);
    }
    hydra_pool_unlock(pool);
}

void hydra_pool_lock(hydra_pool *pool) {
    if (pool) pthread_mutex_lock(&pool->caller);
}

void hydra_pool_unlock(hydra_pool *pool) {
    if (pool) pthread_mutex_unlock(&pool->caller);
}

hydra_scratch *hydra_pool_scratch(hydra_pool *pool) {
    static _Thread_local hydra_scratch single_thread;
    return pool ? &pool->scratch : &single_thread;
}

void *hydra_scratch_reserve(hydra_scratch *s, size_t bytes) {
    if (s->size < bytes) {
        free(s->data);
        // Grow geometrically so a sequence of growing calls allocates rarely.
        size_t size = s->size * 2 > bytes ? s->size * 2 : bytes;
        s->data = aligned_alloc(64, (size + 63) & ~(size_t)63);
        s->size = s->data ? size : 0;
    }
    return s->data;
}
