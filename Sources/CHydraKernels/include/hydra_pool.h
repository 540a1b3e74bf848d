#pragma once
#include <stdint.h>

// The thread pool every multi-threaded kernel runs on.

#ifdef __cplusplus
extern "C" {
#endif

/// A persistent pool of worker threads (no thread start-up per call).
typedef struct hydra_pool hydra_pool;
hydra_pool *hydra_pool_create(int32_t threads);
void hydra_pool_destroy(hydra_pool *pool);
int32_t hydra_pool_threads(const hydra_pool *pool);
/// Runs fn(ctx, i, n) for i in 0..<n on the pool's threads (the caller is
/// thread 0) and returns when all are done.
void hydra_pool_run(hydra_pool *pool, void (*fn)(void *ctx, int32_t i, int32_t n), void *ctx);

#ifdef __cplusplus
}
#endif
