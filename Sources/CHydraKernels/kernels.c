// Which kernel runs: the kernel mode, the per-type kernel tables
// (portable and AVX2), the matrices whose kernels follow ggml's repacked or
// tiled arithmetic instead of its vec_dot, and the per-row entry points.

#include "kernels.h"
#include "dot_k.h"
#include "lanes.h"

static _Atomic int32_t kernel_mode = HYDRA_KERNELS_BEST;

void hydra_set_kernel_mode(int32_t mode) { atomic_store(&kernel_mode, mode ? HYDRA_KERNELS_BEST : HYDRA_KERNELS_PORTABLE); }
int32_t hydra_kernel_mode(void) { return atomic_load(&kernel_mode); }

int32_t hydra_has_simd_kernels(void) {
#ifdef HYDRA_HAVE_AVX2
    return 1;
#else
    return 0;
#endif
}

// ---- kernel table ---------------------------------------------------------------

#define K(act, q, d) {.act_type = HYDRA_TYPE_##act, .quantize = q, .dot = d}
#define K4(act, q, d, d4) {.act_type = HYDRA_TYPE_##act, .quantize = q, .dot = d, .dot4 = d4}
// With an eight-row kernel for one token too.
#define K48(act, q, d, d4, d8) {.act_type = HYDRA_TYPE_##act, .quantize = q, .dot = d, .dot4 = d4, .dot8 = d8}
// With a two-rows-by-four-tokens kernel for prompts, on rows unpacked to Q8_0 when `unpack` is set,
// and an eight-row kernel for one token.
#define KT(act, q, d, d4, u, d2x4, d8) {.act_type = HYDRA_TYPE_##act, .quantize = q, .dot = d, .dot4 = d4, .unpack = u, .dot2x4 = d2x4, .dot8 = d8}
// The eight-row one-token kernel of a 32-element type: AVX-512 (BW, VNNI) where the build has it, else AVX2.
#if defined(__AVX512BW__) && defined(__AVX512VNNI__)
#define DOT8(t) hydra_dot8_##t##_avx512
#else
#define DOT8(t) hydra_dot8_##t##_avx2
#endif

static const hydra_kernel portable_kernels[] = {
    [HYDRA_TYPE_F32] = K(F32, hydra_quantize_f32, hydra_dot_f32_scalar),
    [HYDRA_TYPE_F16] = K(F16, hydra_quantize_f16_scalar, hydra_dot_f16_scalar),
    [HYDRA_TYPE_BF16] = K(BF16, hydra_quantize_bf16_scalar, hydra_dot_bf16_scalar),
    [HYDRA_TYPE_Q4_0] = K(Q8_0, hydra_quantize_q8_0_scalar, hydra_dot_q4_0_scalar),
    [HYDRA_TYPE_Q4_1] = K(Q8_1, hydra_quantize_q8_1_scalar, hydra_dot_q4_1_scalar),
    [HYDRA_TYPE_Q5_0] = K(Q8_0, hydra_quantize_q8_0_scalar, hydra_dot_q5_0_scalar),
    [HYDRA_TYPE_Q5_1] = K(Q8_1, hydra_quantize_q8_1_scalar, hydra_dot_q5_1_scalar),
    [HYDRA_TYPE_Q8_0] = K(Q8_0, hydra_quantize_q8_0_scalar, hydra_dot_q8_0_scalar),
    [HYDRA_TYPE_Q2_K] = K(Q8_K, hydra_quantize_q8_K_scalar, hydra_dot_q2_K_scalar),
    [HYDRA_TYPE_Q3_K] = K(Q8_K, hydra_quantize_q8_K_scalar, hydra_dot_q3_K_scalar),
    [HYDRA_TYPE_Q4_K] = K(Q8_K, hydra_quantize_q8_K_scalar, hydra_dot_q4_K_scalar),
    [HYDRA_TYPE_Q5_K] = K(Q8_K, hydra_quantize_q8_K_scalar, hydra_dot_q5_K_scalar),
    [HYDRA_TYPE_Q6_K] = K(Q8_K, hydra_quantize_q8_K_scalar, hydra_dot_q6_K_scalar),
};

#ifdef HYDRA_HAVE_AVX2
static const hydra_kernel simd_kernels[] = {
    [HYDRA_TYPE_F32] = K(F32, hydra_quantize_f32, hydra_dot_f32_scalar),
    [HYDRA_TYPE_F16] = K(F16, hydra_quantize_f16_scalar, hydra_dot_f16_scalar),
    [HYDRA_TYPE_BF16] = K(BF16, hydra_quantize_bf16_scalar, hydra_dot_bf16_scalar),
    [HYDRA_TYPE_Q4_0] = KT(Q8_0, hydra_quantize_q8_0_avx2, hydra_dot_q4_0_avx2, hydra_dot4_q4_0_avx2,
                           hydra_unpack_q4_0, hydra_dot2x4_q8_0_avx2, DOT8(q4_0)),
    [HYDRA_TYPE_Q4_1] = K48(Q8_1, hydra_quantize_q8_1_avx2, hydra_dot_q4_1_avx2, hydra_dot4_q4_1_avx2,
                            DOT8(q4_1)),
    [HYDRA_TYPE_Q5_0] = KT(Q8_0, hydra_quantize_q8_0_avx2, hydra_dot_q5_0_avx2, hydra_dot4_q5_0_avx2,
                           hydra_unpack_q5_0, hydra_dot2x4_q8_0_avx2, DOT8(q5_0)),
    [HYDRA_TYPE_Q5_1] = K(Q8_1, hydra_quantize_q8_1_avx2, hydra_dot_q5_1_avx2),
    [HYDRA_TYPE_Q8_0] = KT(Q8_0, hydra_quantize_q8_0_avx2, hydra_dot_q8_0_avx2, hydra_dot4_q8_0_avx2, NULL,
                           hydra_dot2x4_q8_0_avx2, DOT8(q8_0)),
    [HYDRA_TYPE_Q2_K] = K(Q8_K, hydra_quantize_q8_K_avx2, hydra_dot_q2_K_scalar),
    [HYDRA_TYPE_Q3_K] = K(Q8_K, hydra_quantize_q8_K_avx2, hydra_dot_q3_K_scalar),
    [HYDRA_TYPE_Q4_K] = K4(Q8_K, hydra_quantize_q8_K_avx2, hydra_dot_q4_K_avx2, hydra_dot4_q4_K_avx2),
    [HYDRA_TYPE_Q5_K] = K(Q8_K, hydra_quantize_q8_K_avx2, hydra_dot_q5_K_scalar),
    [HYDRA_TYPE_Q6_K] = {.act_type = HYDRA_TYPE_Q8_K, .quantize = hydra_quantize_q8_K_avx2,
                         .dot = hydra_dot_q6_K_avx2, .dot4 = hydra_dot4_q6_K_avx2,
                         .dot_each = hydra_dot_each_q6_K_avx2},
};
#endif

const hydra_kernel *hydra_kernel_for(int32_t type, int32_t mode) {
    const hydra_kernel *table = portable_kernels;
    size_t count = sizeof portable_kernels / sizeof portable_kernels[0];
#ifdef HYDRA_HAVE_AVX2
    if (mode != HYDRA_KERNELS_PORTABLE) table = simd_kernels;
#else
    (void)mode;
#endif
    if (type < 0 || (size_t)type >= count || table[type].dot == NULL) return NULL;
    return &table[type];
}

static const hydra_kernel q4_K_x8_portable = K4(Q8_K, hydra_quantize_q8_K_scalar, hydra_dot_q4_K_x8_scalar,
                                                hydra_dot4_q4_K_x8_scalar);
#ifdef HYDRA_HAVE_AVX2
// With eight rows at a time: for one token, and packed for prompts.
static const hydra_kernel q4_K_x8_simd = {
    .act_type = HYDRA_TYPE_Q8_K,
    .quantize = hydra_quantize_q8_K_avx2,
    .dot = hydra_dot_q4_K_x8_avx2,
    .dot4 = hydra_dot4_q4_K_x8_avx2,
    .dot8 = hydra_dot8_q4_K_x8_avx2,
    .pack8 = hydra_pack8_q4_K,
    .packed8_block_bytes = sizeof(block_q4_K_rows8),
    .dot8x4 = hydra_dot8x4_q4_K_x8_avx2,
    .repack = hydra_repack_q4_K_r8,
    .repacked_block_bytes = sizeof(block_q4_K_r8),
    .dot8_repacked = hydra_dot8_q4_K_r8_avx2,
    .dot8x4_repacked = hydra_dot8x4_q4_K_r8_avx2,
    .dot8_repacked_each = hydra_dot8_each_q4_K_r8_avx2,
};
#endif

static const hydra_kernel q6_K_tiled_portable = K(Q8_K, hydra_quantize_q8_K_scalar, hydra_dot_q6_K_tiled);
#ifdef HYDRA_HAVE_AVX2
static const hydra_kernel q6_K_tiled_simd = {
    .act_type = HYDRA_TYPE_Q8_K,
    .quantize = hydra_quantize_q8_K_avx2,
    .dot = hydra_dot_q6_K_tiled_avx2,
    .dot4 = hydra_dot4_q6_K_tiled_avx2,
    .pack8 = hydra_pack8_q6_K,
    .packed8_block_bytes = sizeof(block_q6_K_rows8),
    .dot8x4 = hydra_dot8x4_q6_K_tiled_avx2,
};
#endif

const hydra_kernel *hydra_kernel_for_matrix(int32_t type, int64_t matrix_rows, int64_t ntok, int32_t mode) {
    // ggml_compute_forward_mul_mat_tiled: K-quants that are not repacked,
    // with at least 8 activation rows (here only Q6_K occurs).
    if (type == HYDRA_TYPE_Q6_K && ntok >= 8) {
#ifdef HYDRA_HAVE_AVX2
        return mode == HYDRA_KERNELS_PORTABLE ? &q6_K_tiled_portable : &q6_K_tiled_simd;
#else
        return &q6_K_tiled_portable;
#endif
    }
    // ggml_repack_get_optimal_repack_type: on AVX2 only Q4_K (8x8, with
    // Q8_K activations) is repacked, and only when ne[1] % 8 == 0.
    if (type == HYDRA_TYPE_Q4_K && matrix_rows % 8 == 0) {
#ifdef HYDRA_HAVE_AVX2
        return mode == HYDRA_KERNELS_PORTABLE ? &q4_K_x8_portable : &q4_K_x8_simd;
#else
        (void)mode;
        return &q4_K_x8_portable;
#endif
    }
    return hydra_kernel_for(type, mode);
}

int32_t hydra_activation_type(int32_t type) {
    const hydra_kernel *k = hydra_kernel_for(type, HYDRA_KERNELS_PORTABLE);
    return k ? k->act_type : -1;
}

int32_t hydra_quantize_activation(int32_t type, const float *x, void *dst, int64_t n, int32_t mode) {
    const hydra_kernel *k = hydra_kernel_for(type, mode);
    if (!k || n % hydra_type_block_elements(type) != 0) return -1;
    k->quantize(x, dst, n);
    return 0;
}

int32_t hydra_vec_dot(int32_t type, int64_t n, const void *w, const void *xq, float *result, int32_t mode) {
    const hydra_kernel *k = hydra_kernel_for(type, mode);
    if (!k || n % hydra_type_block_elements(type) != 0) return -1;
    *result = k->dot(n, w, xq);
    return 0;
}

const char *hydra_arithmetic_variant(void) {
#if defined(HYDRA_EXP_AVX512)
    return "avx512";
#elif defined(HYDRA_EXP_AVX2)
    return "avx2";
#else
    return "generic";
#endif
}
