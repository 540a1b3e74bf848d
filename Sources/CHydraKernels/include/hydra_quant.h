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

/// Kernel modes: 0 = portable C (the reference), 1 = the best SIMD kernels
/// this build has. Both give bit-identical results.
enum { HYDRA_KERNELS_PORTABLE = 0, HYDRA_KERNELS_BEST = 1 };
/// Sets the mode hydra_matmul uses (process-wide; default HYDRA_KERNELS_BEST).
void hydra_set_kernel_mode(int32_t mode);
int32_t hydra_kernel_mode(void);
/// 1 when this build has SIMD (AVX2) kernels, else 0.
int32_t hydra_has_simd_kernels(void);
/// The float arithmetic this build reproduces: "avx512", "avx2" or
/// "generic". ggml's CPU backend rounds differently per instruction set
/// (vector width of its sums, its exponential), so llama.cpp's own results
/// depend on it too; tests pick their golden values by this name.
const char *hydra_arithmetic_variant(void);

/// hydra_matmul with an explicit kernel mode (for tests and benchmarks).
int32_t hydra_matmul_mode(hydra_pool *pool, int32_t type, const void *W, int64_t rows, int64_t cols,
                          const float *X, int64_t ntok, float *Y, int32_t mode);

/// Y[t][r] = dot(W[r], X[t]) for ntok rows of X, each computed exactly as a
/// one-token hydra_matmul_mode would (same kernel, same rounding), unlike
/// hydra_matmul, whose kernels for several rows round differently. For
/// decoding several sequences at once: the weights are read once for all.
int32_t hydra_matmul_each(hydra_pool *pool, int32_t type, const void *W, int64_t rows, int64_t cols,
                          const float *X, int64_t ntok, float *Y, int32_t mode);

/// The activation type ggml's CPU backend quantizes X to for weights of
/// `type` (its vec_dot_type: Q8_0, Q8_1, Q8_K, F16, BF16 or F32), or -1.
int32_t hydra_activation_type(int32_t type);
/// Quantizes `n` floats of X as ggml does for weights of `type` into `dst`
/// (hydra_type_block_bytes(act) * n / hydra_type_block_elements(act) bytes).
int32_t hydra_quantize_activation(int32_t type, const float *x, void *dst, int64_t n, int32_t mode);
/// Dot product of one row of `type` with one activation row quantized by
/// hydra_quantize_activation. Returns 0 on success.
int32_t hydra_vec_dot(int32_t type, int64_t n, const void *w, const void *xq, float *result, int32_t mode);

/// IEEE half precision conversions (round to nearest even; subnormals,
/// infinities and NaNs handled as the F16C instructions do).
float hydra_fp16_to_fp32(uint16_t h);
uint16_t hydra_fp32_to_fp16(float f);
/// The portable (non-F16C) versions of the same conversions.
float hydra_fp16_to_fp32_portable(uint16_t h);
uint16_t hydra_fp32_to_fp16_portable(float f);
/// bfloat16 conversions as ggml does them (round to nearest even, NaN quieted).
float hydra_bf16_to_fp32(uint16_t h);
uint16_t hydra_fp32_to_bf16(float f);

#ifdef __cplusplus
}
#endif
