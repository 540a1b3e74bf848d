#pragma once
#include <stdint.h>

#include "hydra_pool.h"

// Matrix products on quantized blocks: the activations are quantized on
// the fly and every output gets the bits of ggml's kernel for the type.

#ifdef __cplusplus
extern "C" {
#endif

/// Y[t][r] = dot(W[r], X[t]) for t < ntok, r < rows.
/// W: `rows` rows of `cols` elements of `type` (row-major, as a GGUF tensor
/// with ne0 = cols, ne1 = rows). X: ntok × cols floats. Y: ntok × rows.
/// `pool` may be NULL (single thread). Returns 0, or -1 on a bad type/shape.
int32_t hydra_matmul(hydra_pool *pool, int32_t type, const void *W, int64_t rows, int64_t cols,
                     const float *X, int64_t ntok, float *Y);

/// hydra_matmul with an explicit kernel mode, reading W's repacked copy
/// (hydra_repack) where one is given (NULL: none) and the mode's kernels
/// read it. The results are the same bits either way.
int32_t hydra_matmul_mode(hydra_pool *pool, int32_t type, const void *W, const void *repacked, int64_t rows,
                          int64_t cols, const float *X, int64_t ntok, float *Y, int32_t mode);

/// Bytes of the copy of a `rows` × `cols` matrix of `type` that hydra_repack
/// writes, or 0 where the type has no faster layout on this CPU (Q4_K
/// matrices with a multiple of 8 rows have one: eight rows interleaved,
/// as many bytes as the rows).
int64_t hydra_repacked_bytes(int32_t type, int64_t rows, int64_t cols);

/// Writes W's repacked copy (hydra_repacked_bytes bytes) to `out`, which a
/// model keeps beside W and passes to the products. Returns 0, or -1 where
/// the type has none.
int32_t hydra_repack(int32_t type, const void *W, int64_t rows, int64_t cols, void *out);

/// Y[t][r] = dot(W[r], X[t]) for ntok rows of X, each computed exactly as a
/// one-token hydra_matmul_mode would (same kernel, same rounding), unlike
/// hydra_matmul, whose kernels for several rows round differently. For
/// decoding several sequences at once: the weights are read once for all.
int32_t hydra_matmul_each(hydra_pool *pool, int32_t type, const void *W, const void *repacked, int64_t rows,
                          int64_t cols, const float *X, int64_t ntok, float *Y, int32_t mode);

/// One matrix of a hydra_matmul_group: `rows` rows of W (of the group's
/// `cols` elements of `type`), writing `rows` floats to y.
typedef struct {
    int32_t type;
    const void *w;
    const void *repacked; // hydra_repack's copy of w, or NULL
    int64_t rows;
    float *y;
} hydra_matmul_part;

/// Several matrix-vector products on the same x (one token) in one run of
/// the pool: the rows of all parts are shared out among the threads, so a
/// decoding step waits on the threads once instead of once per matrix.
/// Each row's result is the same as hydra_matmul's. Returns 0, or -1.
int32_t hydra_matmul_group(hydra_pool *pool, const hydra_matmul_part *parts, int32_t count, int64_t cols,
                           const float *x);

/// hydra_matmul_each of up to four matrices of the same width on the same
/// `ntok` rows of X, in one run of the pool, the activations quantized
/// once where the parts take the same activation type: part p's row r for
/// token t at parts[p].y[t * rows + r], bit for bit hydra_matmul_each's.
/// Returns 0, or -1.
int32_t hydra_matmul_each_group(hydra_pool *pool, const hydra_matmul_part *parts, int32_t count, int64_t cols,
                                const float *X, int64_t ntok, int32_t mode);

#ifdef __cplusplus
}
#endif
