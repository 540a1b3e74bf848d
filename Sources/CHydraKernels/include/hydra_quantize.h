#pragma once
#include <stdint.h>

#include "hydra_pool.h"

// Weight quantization, bit-identical to ggml's reference quantizers
// (ggml-quants.c, quantize_row_*_ref: what llama-quantize runs without an
// importance matrix).

#ifdef __cplusplus
extern "C" {
#endif

/// Whether `type` (enum hydra_type) can be written by hydra_quantize_rows:
/// F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q4_K, Q5_K, Q6_K.
int32_t hydra_quantize_supported(int32_t type);

/// Bytes of one row of `n_per_row` elements in `type`, or 0 when the type
/// is not supported or `n_per_row` is not a whole number of blocks.
int64_t hydra_quantize_row_bytes(int32_t type, int64_t n_per_row);

/// Quantizes `nrows` rows of `n_per_row` floats into `type`, the rows
/// split over `pool`'s threads (NULL: the calling thread). Returns 0, -1
/// for an unsupported type, -2 when `n_per_row` is not whole blocks.
int32_t hydra_quantize_rows(int32_t type, const float *src, void *dst, int64_t nrows, int64_t n_per_row,
                            hydra_pool *pool);

#ifdef __cplusplus
}
#endif
