#pragma once
#include <stddef.h>
#include <stdint.h>

// Quantized block formats (the ggml type ids and layouts), dequantization,
// and matrix products that work on the blocks directly, quantizing the
// activations on the fly exactly as ggml's CPU backend does (Q8_0 / Q8_1 /
// Q8_K / F16 activations, integer dot products per block).

#ifdef __cplusplus
extern "C" {
#endif

enum hydra_type {
    HYDRA_TYPE_F32 = 0,
    HYDRA_TYPE_F16 = 1,
    HYDRA_TYPE_Q4_0 = 2,
    HYDRA_TYPE_Q4_1 = 3,
    HYDRA_TYPE_Q5_0 = 6,
    HYDRA_TYPE_Q5_1 = 7,
    HYDRA_TYPE_Q8_0 = 8,
    HYDRA_TYPE_Q8_1 = 9,
    HYDRA_TYPE_Q2_K = 10,
    HYDRA_TYPE_Q3_K = 11,
    HYDRA_TYPE_Q4_K = 12,
    HYDRA_TYPE_Q5_K = 13,
    HYDRA_TYPE_Q6_K = 14,
    HYDRA_TYPE_Q8_K = 15,
    HYDRA_TYPE_BF16 = 30,
};

/// Elements per block (1 for F32/F16/BF16, 32 for Q4_0.., 256 for K-quants),
/// or 0 for a type hydra does not support.
int64_t hydra_type_block_elements(int32_t type);
/// Bytes per block, or 0 for an unsupported type.
int64_t hydra_type_block_bytes(int32_t type);

/// Dequantizes `n` elements (a multiple of the block size) to float.
/// Returns 0, or -1 for an unsupported type or a bad `n`.
int32_t hydra_dequantize(int32_t type, const void *src, float *dst, int64_t n);

/// A persistent pool of worker threads (no thread start-up per call).
typedef struct hydra_pool hydra_pool;
hydra_pool *hydra_pool_create(int32_t threads);
void hydra_pool_destroy(hydra_pool *pool);
int32_t hydra_pool_threads(const hydra_pool *pool);
/// Runs fn(ctx, i, n) for i in 0..<n on the pool's threads (the caller is
/// thread 0) and returns when all are done.
void hydra_pool_run(hydra_pool *pool, void (*fn)(void *ctx, int32_t i, int32_t n), void *ctx);

/// Y[t][r] = dot(W[r], X[t]) for t < ntok, r < rows.
/// W: `rows` rows of `cols` elements of `type` (row-major, as a GGUF tensor
/// with ne0 = cols, ne1 = rows). X: ntok × cols floats. Y: ntok × rows.
/// `pool` may be NULL (single thread). Returns 0, or -1 on a bad type/shape.
int32_t hydra_matmul(hydra_pool *pool, int32_t type, const void *W, int64_t rows, int64_t cols,
                     const float *X, int64_t ntok, float *Y);

#ifdef __cplusplus
}
#endif
