#pragma once
// Private to CHydraKernels: ggml's block layouts, half-precision helpers and
// the per-type kernel table used by hydra_matmul.

#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "hydra_quant.h"

#if defined(__F16C__) || defined(__AVX2__)
#include <immintrin.h>
#endif

// ggml's CPU backend is built with FMA contraction for the dot products but
// its reference dequantizers are not: contraction is off here and every
// fused multiply-add the reference performs is written out with fmaf().
#pragma STDC FP_CONTRACT OFF

#define QK4_0 32
#define QK4_1 32
#define QK5_0 32
#define QK5_1 32
#define QK8_0 32
#define QK8_1 32
#define QK_K 256
#define K_SCALE_SIZE 12

typedef uint16_t hydra_half;

typedef struct { hydra_half d; uint8_t qs[QK4_0 / 2]; } block_q4_0;
typedef struct { hydra_half d, m; uint8_t qs[QK4_1 / 2]; } block_q4_1;
typedef struct { hydra_half d; uint8_t qh[4]; uint8_t qs[QK5_0 / 2]; } block_q5_0;
typedef struct { hydra_half d, m; uint8_t qh[4]; uint8_t qs[QK5_1 / 2]; } block_q5_1;
typedef struct { hydra_half d; int8_t qs[QK8_0]; } block_q8_0;
typedef struct { hydra_half d, s; int8_t qs[QK8_1]; } block_q8_1;
typedef struct { uint8_t scales[QK_K / 16]; uint8_t qs[QK_K / 4]; hydra_half d, dmin; } block_q2_K;
typedef struct { uint8_t hmask[QK_K / 8]; uint8_t qs[QK_K / 4]; uint8_t scales[12]; hydra_half d; } block_q3_K;
typedef struct { hydra_half d, dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qs[QK_K / 2]; } block_q4_K;
typedef struct { hydra_half d, dmin; uint8_t scales[K_SCALE_SIZE]; uint8_t qh[QK_K / 8]; uint8_t qs[QK_K / 2]; } block_q5_K;
typedef struct { uint8_t ql[QK_K / 2]; uint8_t qh[QK_K / 4]; int8_t scales[QK_K / 16]; hydra_half d; } block_q6_K;
typedef struct { float d; int8_t qs[QK_K]; int16_t bsums[QK_K / 16]; } block_q8_K;

_Static_assert(sizeof(block_q4_0) == 18, "q4_0 size");
_Static_assert(sizeof(block_q4_1) == 20, "q4_1 size");
_Static_assert(sizeof(block_q5_0) == 22, "q5_0 size");
_Static_assert(sizeof(block_q5_1) == 24, "q5_1 size");
_Static_assert(sizeof(block_q8_0) == 34, "q8_0 size");
_Static_assert(sizeof(block_q8_1) == 36, "q8_1 size");
_Static_assert(sizeof(block_q2_K) == 84, "q2_K size");
_Static_assert(sizeof(block_q3_K) == 110, "q3_K size");
_Static_assert(sizeof(block_q4_K) == 144, "q4_K size");
_Static_assert(sizeof(block_q5_K) == 176, "q5_K size");
_Static_assert(sizeof(block_q6_K) == 210, "q6_K size");
_Static_assert(sizeof(block_q8_K) == 292, "q8_K size");

// ---- half precision -------------------------------------------------------

float hydra_fp16_to_fp32_portable(uint16_t h);
uint16_t hydra_fp32_to_fp16_portable(float f);

static inline float fp16_to_fp32(hydra_half h) {
#if defined(__F16C__)
    // Not _cvtsh_ss: compilers insert the half into whatever register is
    // free (often a dot product's accumulator), and that merge ties every
    // scale to the previous block's sum, a chain that halves the speed of
    // the dot products. vmovd writes the whole register and breaks it.
    __m128i v = _mm_cvtsi32_si128(h);
    __asm__("" : "+x"(v)); // keeps the vmovd: left alone it is folded back into vpinsrw
    return _mm_cvtss_f32(_mm_cvtph_ps(v));
#else
    return hydra_fp16_to_fp32_portable(h);
#endif
}

static inline hydra_half fp32_to_fp16(float f) {
#if defined(__F16C__)
    return _cvtss_sh(f, 0); // round to nearest even, as ggml's CPU backend
#else
    return hydra_fp32_to_fp16_portable(f);
#endif
}

static inline float bf16_to_fp32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// ggml_compute_fp32_to_bf16: quiet NaNs, otherwise round to nearest even.
static inline uint16_t fp32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffff) > 0x7f800000) return (uint16_t)((u >> 16) | 64);
    return (uint16_t)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
}

// ---- per-type kernels -----------------------------------------------------

/// Quantizes one activation row of `n` floats into the weight type's
/// vec_dot_type blocks.
typedef void (*hydra_quantize_fn)(const float *x, void *y, int64_t n);
/// Dot product of one weight row with one quantized activation row.
typedef float (*hydra_dot_fn)(int64_t n, const void *w, const void *x);

/// Dot products of one weight row with four activation rows `x_stride`
/// bytes apart, as ggml computes a batch: for most types each result equals
/// the one-row kernel's bit for bit; for repacked Q4_K it follows ggml's
/// four-row gemm, whose order differs from its one-row gemv.
typedef void (*hydra_dot4_fn)(int64_t n, const void *w, const void *x, size_t x_stride, float out[4]);

/// Dot products of two weight rows (`w_stride` bytes apart) with four
/// activation rows: out[r * 4 + t], each equal to the one-row kernel's.
typedef void (*hydra_dot2x4_fn)(int64_t n, const void *w, size_t w_stride, const void *x, size_t x_stride,
                                float out[8]);
/// Rewrites one weight row of `n` elements as Q8_0 blocks with the same
/// scales and integer values (exact for Q4_0 and Q5_0).
typedef void (*hydra_unpack_fn)(const void *w, void *out, int64_t n);

typedef struct {
    int32_t act_type;          // ggml vec_dot_type
    hydra_quantize_fn quantize;
    hydra_dot_fn dot;
    hydra_dot4_fn dot4;        // optional
    // Optional, for prompts: rows unpacked to Q8_0 once per tile (their
    // products then run as Q8_0's, which gives the same bits), and a kernel
    // for two rows by four tokens (on the unpacked rows when unpack is set).
    hydra_unpack_fn unpack;
    hydra_dot2x4_fn dot2x4;
} hydra_kernel;

/// The kernels for `type` in `mode` (0 portable, 1 best), or NULL.
const hydra_kernel *hydra_kernel_for(int32_t type, int32_t mode);

// Portable activation quantizers (bit-identical to ggml's x86 CPU backend).
void hydra_quantize_q8_0_scalar(const float *x, void *y, int64_t n);
void hydra_quantize_q8_1_scalar(const float *x, void *y, int64_t n);
void hydra_quantize_q8_K_scalar(const float *x, void *y, int64_t n);
void hydra_quantize_f16_scalar(const float *x, void *y, int64_t n);
void hydra_quantize_bf16_scalar(const float *x, void *y, int64_t n);
void hydra_quantize_f32(const float *x, void *y, int64_t n);

// Portable dot products.
float hydra_dot_f32_scalar(int64_t n, const void *w, const void *x);
float hydra_dot_f16_scalar(int64_t n, const void *w, const void *x);
float hydra_dot_bf16_scalar(int64_t n, const void *w, const void *x);
float hydra_dot_q4_0_scalar(int64_t n, const void *w, const void *x);
float hydra_dot_q4_1_scalar(int64_t n, const void *w, const void *x);
float hydra_dot_q5_0_scalar(int64_t n, const void *w, const void *x);
float hydra_dot_q5_1_scalar(int64_t n, const void *w, const void *x);
float hydra_dot_q8_0_scalar(int64_t n, const void *w, const void *x);
float hydra_dot_q2_K_scalar(int64_t n, const void *w, const void *x);
float hydra_dot_q3_K_scalar(int64_t n, const void *w, const void *x);
float hydra_dot_q4_K_scalar(int64_t n, const void *w, const void *x);
float hydra_dot_q5_K_scalar(int64_t n, const void *w, const void *x);
float hydra_dot_q6_K_scalar(int64_t n, const void *w, const void *x);
// Weight rows rewritten as Q8_0 blocks (hydra_unpack_fn).
void hydra_unpack_q4_0(const void *w, void *out, int64_t n);
void hydra_unpack_q5_0(const void *w, void *out, int64_t n);

/// Q4_K in the order of ggml's 8-row repacked kernels (dot_q4_K_x8.c).
float hydra_dot_q4_K_x8_scalar(int64_t n, const void *w, const void *x);
void hydra_dot4_q4_K_x8_scalar(int64_t n, const void *w, const void *x, size_t x_stride, float out[4]);

/// Q6_K in the order of ggml's tiled K-quant matmul (dot_q6_K_tiled.c).
float hydra_dot_q6_K_tiled(int64_t n, const void *w, const void *x);

/// The kernels ggml uses for a whole matrix of `type` with `matrix_rows`
/// rows and `ntok` activation rows: on x86 llama.cpp repacks Q4_K matrices
/// whose row count is a multiple of 8, and multiplies Q6_K with batches of
/// 8 or more rows in its tiled kernel; both change the float arithmetic.
const hydra_kernel *hydra_kernel_for_matrix(int32_t type, int64_t matrix_rows, int64_t ntok, int32_t mode);

/// hydra_matmul over `rows` rows of a matrix of `matrix_rows` rows (a slice
/// computed with the kernels of the whole matrix).
int32_t hydra_matmul_slice(hydra_pool *pool, int32_t type, const void *W, int64_t rows, int64_t matrix_rows,
                           int64_t cols, const float *X, int64_t ntok, float *Y, int32_t mode);

// SIMD versions (defined only when the target has AVX2).
#if defined(__AVX2__) && defined(__FMA__)
#define HYDRA_HAVE_AVX2 1
void hydra_quantize_q8_0_avx2(const float *x, void *y, int64_t n);
void hydra_quantize_q8_1_avx2(const float *x, void *y, int64_t n);
float hydra_dot_q4_0_avx2(int64_t n, const void *w, const void *x);
float hydra_dot_q4_1_avx2(int64_t n, const void *w, const void *x);
float hydra_dot_q5_0_avx2(int64_t n, const void *w, const void *x);
float hydra_dot_q5_1_avx2(int64_t n, const void *w, const void *x);
float hydra_dot_q8_0_avx2(int64_t n, const void *w, const void *x);
float hydra_dot_q4_K_avx2(int64_t n, const void *w, const void *x);
float hydra_dot_q6_K_avx2(int64_t n, const void *w, const void *x);
void hydra_dot4_q4_0_avx2(int64_t n, const void *w, const void *x, size_t x_stride, float out[4]);
void hydra_dot4_q4_1_avx2(int64_t n, const void *w, const void *x, size_t x_stride, float out[4]);
void hydra_dot4_q5_0_avx2(int64_t n, const void *w, const void *x, size_t x_stride, float out[4]);
void hydra_dot4_q8_0_avx2(int64_t n, const void *w, const void *x, size_t x_stride, float out[4]);
void hydra_dot4_q4_K_avx2(int64_t n, const void *w, const void *x, size_t x_stride, float out[4]);
float hydra_dot_q4_K_x8_avx2(int64_t n, const void *w, const void *x);
void hydra_dot4_q4_K_x8_avx2(int64_t n, const void *w, const void *x, size_t x_stride, float out[4]);
float hydra_dot_q6_K_tiled_avx2(int64_t n, const void *w, const void *x);
void hydra_dot2x4_q8_0_avx2(int64_t n, const void *w, size_t w_stride, const void *x, size_t x_stride, float out[8]);
void hydra_dot4_q6_K_tiled_avx2(int64_t n, const void *w, const void *x, size_t x_stride, float out[4]);
#endif

/// Claims the next chunk of `chunk` items out of `total`, [*begin, *end);
/// false when all are taken. Threads of a pool run take chunks as they
/// finish, so one slowed down by other work on the machine takes fewer
/// instead of holding the others up.
static inline bool hydra_claim_chunk(_Atomic int64_t *next, int64_t chunk, int64_t total, int64_t *begin,
                                     int64_t *end) {
    *begin = atomic_fetch_add_explicit(next, 1, memory_order_relaxed) * chunk;
    if (*begin >= total) return false;
    *end = *begin + chunk < total ? *begin + chunk : total;
    return true;
}

/// Sums ggml's eight float accumulator lanes in the order hsum_float_8 does.
static inline float hsum8(const float a[8]) {
    float r0 = a[0] + a[4], r1 = a[1] + a[5], r2 = a[2] + a[6], r3 = a[3] + a[7];
    return (r0 + r2) + (r1 + r3);
}
