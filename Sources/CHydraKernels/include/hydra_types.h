#pragma once
#include <stddef.h>
#include <stdint.h>

// ggml's tensor types (ids and block sizes) and their dequantization.

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

#ifdef __cplusplus
}
#endif
