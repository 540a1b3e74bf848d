#pragma once
// Private to CHydraKernels: the pool's reusable scratch memory.

#include <stddef.h>

#include "hydra_pool.h"

/// A buffer that only grows: hydra_matmul keeps its quantized activations
/// here so the hot path does not allocate.
typedef struct {
    void *data;
    size_t size;
} hydra_scratch;

/// The pool's scratch buffer, or a per-thread one when `pool` is NULL.
hydra_scratch *hydra_pool_scratch(hydra_pool *pool);
/// Makes the buffer at least `bytes` long (64-byte aligned); NULL on failure.
void *hydra_scratch_reserve(hydra_scratch *s, size_t bytes);

/// Serializes callers of a pool (recursive: a caller may nest runs).
/// hydra_pool_run takes it; hydra_matmul holds it across its two runs and
/// its use of the scratch buffer. No-ops for a NULL pool.
void hydra_pool_lock(hydra_pool *pool);
void hydra_pool_unlock(hydra_pool *pool);
