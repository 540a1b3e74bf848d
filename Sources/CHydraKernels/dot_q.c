// Portable dot products of 32-element blocks (Q4_0, Q4_1, Q5_0, Q5_1,
// Q8_0 weights; Q8_0 / Q8_1 activations). Each one reproduces the
// arithmetic of ggml's x86 AVX2 kernel (ggml-cpu/arch/x86/quants.c)
// exactly: integer sums per group of four elements land in eight float
// lanes, each scaled and accumulated with a fused multiply-add, then the
// lanes are summed in hsum_float_8's order. The SIMD twins in
// x86/dot_q_avx2.c give identical bits.

#include "kernels.h"

/// Accumulates d * (per-lane integer dot of q and y) into acc, as
/// _mm256_fmadd_ps(d, mul_sum_i8_pairs_float(q, y), acc).
static inline void accumulate_block(float acc[8], float d, const int8_t q[32], const int8_t y[32]) {
    for (int l = 0; l < 8; l++) acc[l] = fmaf(d, (float)lane_dot(q, y, l), acc[l]);
}

/// The 32 four-bit values of a Q4_0 block, minus 8.
static inline void unpack_q4(const uint8_t qs[16], int8_t q[32]) {
    for (int j = 0; j < 16; j++) {
        q[j] = (int8_t)((qs[j] & 0x0F) - 8);
        q[j + 16] = (int8_t)((qs[j] >> 4) - 8);
    }
}

void hydra_unpack_q4_0(const void *vw, void *vout, int64_t n) {
    const block_q4_0 *w = vw;
    block_q8_0 *out = vout;
    for (int64_t i = 0; i < n / 32; i++) {
        out[i].d = w[i].d;
        unpack_q4(w[i].qs, out[i].qs);
    }
}

float hydra_dot_q4_0_scalar(int64_t n, const void *vw, const void *vx) {
    const block_q4_0 *w = vw;
    const block_q8_0 *x = vx;
    float acc[8] = {0};
    for (int64_t i = 0; i < n / 32; i++) {
        int8_t q[32];
        unpack_q4(w[i].qs, q);
        accumulate_block(acc, fp16_to_fp32(w[i].d) * fp16_to_fp32(x[i].d), q, x[i].qs);
    }
    return hsum8(acc);
}

float hydra_dot_q4_1_scalar(int64_t n, const void *vw, const void *vx) {
    const block_q4_1 *w = vw;
    const block_q8_1 *x = vx;
    float acc[8] = {0}, summs = 0;
    for (int64_t i = 0; i < n / 32; i++) {
        summs = fmaf(fp16_to_fp32(w[i].m), fp16_to_fp32(x[i].s), summs);
        int8_t q[32];
        for (int j = 0; j < 16; j++) {
            q[j] = (int8_t)(w[i].qs[j] & 0x0F);
            q[j + 16] = (int8_t)(w[i].qs[j] >> 4);
        }
        accumulate_block(acc, fp16_to_fp32(w[i].d) * fp16_to_fp32(x[i].d), q, x[i].qs);
    }
    return hsum8(acc) + summs;
}

/// The 32 five-bit values of a Q5 block, minus `offset`.
static inline void unpack_q5(const uint8_t qs[16], const uint8_t qh4[4], int offset, int8_t q[32]) {
    uint32_t qh;
    memcpy(&qh, qh4, 4);
    for (int j = 0; j < 16; j++) {
        q[j] = (int8_t)((((qs[j] & 0x0F)) | (((qh >> j) & 1) << 4)) - offset);
        q[j + 16] = (int8_t)(((qs[j] >> 4) | (((qh >> (j + 16)) & 1) << 4)) - offset);
    }
}

float hydra_dot_q5_0_scalar(int64_t n, const void *vw, const void *vx) {
    const block_q5_0 *w = vw;
    const block_q8_0 *x = vx;
    float acc[8] = {0};
    for (int64_t i = 0; i < n / 32; i++) {
        int8_t q[32];
        unpack_q5(w[i].qs, w[i].qh, 16, q);
        accumulate_block(acc, fp16_to_fp32(w[i].d) * fp16_to_fp32(x[i].d), q, x[i].qs);
    }
    return hsum8(acc);
}

void hydra_unpack_q5_0(const void *vw, void *vout, int64_t n) {
    const block_q5_0 *w = vw;
    block_q8_0 *out = vout;
    for (int64_t i = 0; i < n / 32; i++) {
        out[i].d = w[i].d;
        unpack_q5(w[i].qs, w[i].qh, 16, out[i].qs);
    }
}

float hydra_dot_q5_1_scalar(int64_t n, const void *vw, const void *vx) {
    const block_q5_1 *w = vw;
    const block_q8_1 *x = vx;
    float acc[8] = {0}, summs = 0;
    for (int64_t i = 0; i < n / 32; i++) {
        summs = fmaf(fp16_to_fp32(w[i].m), fp16_to_fp32(x[i].s), summs);
        int8_t q[32];
        unpack_q5(w[i].qs, w[i].qh, 0, q);
        accumulate_block(acc, fp16_to_fp32(w[i].d) * fp16_to_fp32(x[i].d), q, x[i].qs);
    }
    return hsum8(acc) + summs;
}

float hydra_dot_q8_0_scalar(int64_t n, const void *vw, const void *vx) {
    const block_q8_0 *w = vw;
    const block_q8_0 *x = vx;
    float acc[8] = {0};
    for (int64_t i = 0; i < n / 32; i++) {
        accumulate_block(acc, fp16_to_fp32(w[i].d) * fp16_to_fp32(x[i].d), w[i].qs, x[i].qs);
    }
    return hsum8(acc);
}
