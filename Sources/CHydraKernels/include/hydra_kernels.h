#pragma once
#include <stdint.h>

// Which kernels run (the portable C reference or the SIMD ones), which
// float arithmetic the build reproduces, and the per-row kernels
// themselves: activation quantization and one dot product, exactly as
// ggml's CPU backend does them (Q8_0 / Q8_1 / Q8_K / F16 activations,
// integer dot products per block).

#ifdef __cplusplus
extern "C" {
#endif

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

/// The activation type ggml's CPU backend quantizes X to for weights of
/// `type` (its vec_dot_type: Q8_0, Q8_1, Q8_K, F16, BF16 or F32), or -1.
int32_t hydra_activation_type(int32_t type);
/// Quantizes `n` floats of X as ggml does for weights of `type` into `dst`
/// (hydra_type_block_bytes(act) * n / hydra_type_block_elements(act) bytes).
int32_t hydra_quantize_activation(int32_t type, const float *x, void *dst, int64_t n, int32_t mode);
/// Dot product of one row of `type` with one activation row quantized by
/// hydra_quantize_activation. Returns 0 on success.
int32_t hydra_vec_dot(int32_t type, int64_t n, const void *w, const void *xq, float *result, int32_t mode);

#ifdef __cplusplus
}
#endif
