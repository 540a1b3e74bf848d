#pragma once
// Private to CHydraKernels, included first by every kernel file: the
// contraction rule, ggml's block layouts (blocks.h), the inlined half
// conversions (half.h), and the per-type kernel table hydra_matmul runs
// (kernels.c) with the declarations of every kernel in it.

#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "hydra_half.h"
#include "hydra_kernels.h"
#include "hydra_pool.h"
#include "hydra_types.h"

// Before the pragma, so the intrinsics are defined as the compiler's
// headers intend.
#if defined(__F16C__) || defined(__AVX2__)
#include <immintrin.h>
#endif

// ggml's CPU backend is built with FMA contraction for the dot products but
// its reference dequantizers are not: contraction is off here and every
// fused multiply-add the reference performs is written out with fmaf().
#pragma STDC FP_CONTRACT OFF

#include "blocks.h"
#include "half.h"

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
/// Dot products of eight weight rows (`w_stride` bytes apart) with one
/// activation row: out[r], each equal to the one-row kernel's.
typedef void (*hydra_dot8_fn)(int64_t n, const void *w, size_t w_stride, const void *x, float out[8]);
/// Rewrites eight weight rows (`w_stride` bytes apart) of `n` elements
/// into a kernel's own layout for hydra_dot8x4_fn.
typedef void (*hydra_pack8_fn)(int64_t n, const void *w, size_t w_stride, void *out);
/// Dot products of eight packed weight rows with four activation rows:
/// out[t * 8 + r], each equal to the kernel's dot4 for row r, token t.
typedef void (*hydra_dot8x4_fn)(int64_t n, const void *packed, const void *x, size_t x_stride, float out[32]);
/// Dot products of eight weight rows kept repacked (hydra_pack8_fn's layout
/// from hydra_kernel.repack) with one activation row: out[r], each equal
/// to the kernel's dot8.
typedef void (*hydra_dot8_repacked_fn)(int64_t n, const void *repacked, const void *x, float out[8]);
/// Dot products of one weight row with `ntok` (1 to 4) activation rows
/// `x_stride` bytes apart: token t's at out[t * out_stride], each equal to
/// the one-row kernel's bit for bit (the row unpacked once for all).
typedef void (*hydra_dot_each_fn)(int64_t n, const void *w, const void *x, size_t x_stride, int32_t ntok, float *out,
                                  int64_t out_stride);
/// Eight weight rows kept repacked with `ntok` (1 to 4) activation rows:
/// token t's eight at out + t * out_stride, each equal to dot8_repacked's.
typedef void (*hydra_dot8_each_fn)(int64_t n, const void *repacked, const void *x, size_t x_stride, int32_t ntok,
                                   float *out, int64_t out_stride);
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
    hydra_dot8_fn dot8;        // optional, for one token: eight rows at a time
    // Optional, for prompts: eight rows packed once per tile
    // (packed8_block_bytes per weight block), then eight rows by four tokens.
    hydra_pack8_fn pack8;
    size_t packed8_block_bytes;
    hydra_dot8x4_fn dot8x4;
    // Optional: a layout a model keeps the matrix in from its load on
    // (hydra_repack; repacked_block_bytes per eight rows and weight block),
    // read by every product in place of the rows: eight rows for one token,
    // eight rows by four tokens (each with the bits of dot8 and dot8x4).
    hydra_pack8_fn repack;
    size_t repacked_block_bytes;
    hydra_dot8_repacked_fn dot8_repacked;
    hydra_dot8x4_fn dot8x4_repacked;
    // Optional, for several sequences decoded together (hydra_matmul_each):
    // up to four tokens at a time, each with the one-token arithmetic.
    hydra_dot_each_fn dot_each;
    hydra_dot8_each_fn dot8_repacked_each;
} hydra_kernel;

/// The kernels for `type` in `mode` (0 portable, 1 best), or NULL.
const hydra_kernel *hydra_kernel_for(int32_t type, int32_t mode);

// Portable activation quantizers (quantize.c; bit-identical to ggml's x86 CPU backend).
void hydra_quantize_q8_0_scalar(const float *x, void *y, int64_t n);
void hydra_quantize_q8_1_scalar(const float *x, void *y, int64_t n);
void hydra_quantize_q8_K_scalar(const float *x, void *y, int64_t n);
void hydra_quantize_f16_scalar(const float *x, void *y, int64_t n);
void hydra_quantize_bf16_scalar(const float *x, void *y, int64_t n);
void hydra_quantize_f32(const float *x, void *y, int64_t n);

// Portable dot products (dot_float.c, dot_q.c, dot_k.c).
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

/// Q4_K in the order of ggml's 8-row repacked kernels (dot_k.c).
float hydra_dot_q4_K_x8_scalar(int64_t n, const void *w, const void *x);
void hydra_dot4_q4_K_x8_scalar(int64_t n, const void *w, const void *x, size_t x_stride, float out[4]);
/// Eight Q4_K rows rewritten as block_q4_K_r8 (dot_k.c, dot_k.h).
void hydra_repack_q4_K_r8(int64_t n, const void *w, size_t w_stride, void *out);

/// Q6_K in the order of ggml's tiled K-quant matmul (dot_k.c).
float hydra_dot_q6_K_tiled(int64_t n, const void *w, const void *x);

/// The kernels ggml uses for a whole matrix of `type` with `matrix_rows`
/// rows and `ntok` activation rows: on x86 llama.cpp repacks Q4_K matrices
/// whose row count is a multiple of 8, and multiplies Q6_K with batches of
/// 8 or more rows in its tiled kernel; both change the float arithmetic.
const hydra_kernel *hydra_kernel_for_matrix(int32_t type, int64_t matrix_rows, int64_t ntok, int32_t mode);

// SIMD versions (x86/*_avx2.c; defined only when the target has AVX2).
#if defined(__AVX2__) && defined(__FMA__)
#define HYDRA_HAVE_AVX2 1
void hydra_quantize_q8_0_avx2(const float *x, void *y, int64_t n);
void hydra_quantize_q8_1_avx2(const float *x, void *y, int64_t n);
void hydra_quantize_q8_K_avx2(const float *x, void *y, int64_t n);
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
void hydra_dot8_q4_K_x8_avx2(int64_t n, const void *w, size_t w_stride, const void *x, float out[8]);
void hydra_pack8_q4_K(int64_t n, const void *w, size_t w_stride, void *out);
void hydra_dot8x4_q4_K_x8_avx2(int64_t n, const void *packed, const void *x, size_t x_stride, float out[32]);
void hydra_dot4_q4_K_x8_avx2(int64_t n, const void *w, const void *x, size_t x_stride, float out[4]);
void hydra_dot8_q4_K_r8_avx2(int64_t n, const void *repacked, const void *x, float out[8]);
void hydra_dot8x4_q4_K_r8_avx2(int64_t n, const void *repacked, const void *x, size_t x_stride, float out[32]);
float hydra_dot_q6_K_tiled_avx2(int64_t n, const void *w, const void *x);
void hydra_dot4_q6_K_avx2(int64_t n, const void *w, const void *x, size_t x_stride, float out[4]);
void hydra_dot_each_q6_K_avx2(int64_t n, const void *w, const void *x, size_t x_stride, int32_t ntok, float *out,
                              int64_t out_stride);
void hydra_dot8_each_q4_K_r8_avx2(int64_t n, const void *repacked, const void *x, size_t x_stride, int32_t ntok,
                                  float *out, int64_t out_stride);
#if defined(__AVX512BW__) && defined(__AVX512VNNI__)
void hydra_dot8_q4_0_avx512(int64_t n, const void *w, size_t w_stride, const void *x, float out[8]);
void hydra_dot8_q4_1_avx512(int64_t n, const void *w, size_t w_stride, const void *x, float out[8]);
void hydra_dot8_q5_0_avx512(int64_t n, const void *w, size_t w_stride, const void *x, float out[8]);
void hydra_dot8_q8_0_avx512(int64_t n, const void *w, size_t w_stride, const void *x, float out[8]);
#else
void hydra_dot8_q4_0_avx2(int64_t n, const void *w, size_t w_stride, const void *x, float out[8]);
void hydra_dot8_q4_1_avx2(int64_t n, const void *w, size_t w_stride, const void *x, float out[8]);
void hydra_dot8_q5_0_avx2(int64_t n, const void *w, size_t w_stride, const void *x, float out[8]);
void hydra_dot8_q8_0_avx2(int64_t n, const void *w, size_t w_stride, const void *x, float out[8]);
#endif
void hydra_dot2x4_q8_0_avx2(int64_t n, const void *w, size_t w_stride, const void *x, size_t x_stride, float out[8]);
void hydra_pack8_q6_K(int64_t n, const void *w, size_t w_stride, void *out);
void hydra_dot8x4_q6_K_tiled_avx2(int64_t n, const void *packed, const void *x, size_t x_stride, float out[32]);
void hydra_dot4_q6_K_tiled_avx2(int64_t n, const void *w, const void *x, size_t x_stride, float out[4]);
#endif

/// Integer dot product of elements 4l..4l+3 (one AVX2 int32 lane).
static inline int lane_dot(const int8_t *a, const int8_t *b, int l) {
    int s = 0;
    for (int k = 4 * l; k < 4 * l + 4; k++) s += a[k] * b[k];
    return s;
}

/// Sums ggml's eight float accumulator lanes in the order hsum_float_8 does.
static inline float hsum8(const float a[8]) {
    float r0 = a[0] + a[4], r1 = a[1] + a[5], r2 = a[2] + a[6], r3 = a[3] + a[7];
    return (r0 + r2) + (r1 + r3);
}
