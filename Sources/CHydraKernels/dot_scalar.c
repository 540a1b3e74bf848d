// Portable block dot products. Each one reproduces the arithmetic of
// ggml's x86 AVX2 kernel (ggml-cpu/arch/x86/quants.c) exactly: integer
// sums per group of four elements land in eight float lanes, each scaled
// and accumulated with a fused multiply-add, then the lanes are summed in
// hsum_float_8's order. The SIMD kernels in dot_avx2.c give identical bits.

#include "kernels.h"

// ---- float types ------------------------------------------------------------

/// Float dot product over 16 accumulator lanes (plain C the compiler
/// vectorizes), used for F32, F16 and BF16 rows.
#define FLOAT_DOT(name, W_T, X_T, LOADW, LOADX)                                  \
    float name(int64_t n, const void *vw, const void *vx) {                      \
        const W_T *w = vw;                                                       \
        const X_T *x = vx;                                                       \
        float acc[16] = {0};                                                     \
        int64_t i = 0;                                                           \
        for (; i + 16 <= n; i += 16)                                             \
            for (int l = 0; l < 16; l++) acc[l] = fmaf(LOADW(w[i + l]), LOADX(x[i + l]), acc[l]); \
        for (int l = 0; l < 8; l++) acc[l] += acc[l + 8];                        \
        float sum = hsum8(acc);                                                  \
        for (; i < n; i++) sum = fmaf(LOADW(w[i]), LOADX(x[i]), sum);            \
        return sum;                                                              \
    }

#define ID(v) (v)
FLOAT_DOT(hydra_dot_f32_scalar, float, float, ID, ID)
FLOAT_DOT(hydra_dot_f16_scalar, uint16_t, uint16_t, fp16_to_fp32, fp16_to_fp32)
FLOAT_DOT(hydra_dot_bf16_scalar, uint16_t, uint16_t, bf16_to_fp32, bf16_to_fp32)

// ---- 32-element blocks ------------------------------------------------------

/// Integer dot product of elements 4l..4l+3 (one AVX2 int32 lane).
static inline int lane_dot(const int8_t *a, const int8_t *b, int l) {
    int s = 0;
    for (int k = 4 * l; k < 4 * l + 4; k++) s += a[k] * b[k];
    return s;
}

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

// ---- K-quants (256-element super-blocks, Q8_K activations) -------------------

/// The eight 6-bit scales and mins of a Q4_K/Q5_K block.
static inline void unpack_scales_mins_k4(const uint8_t packed[12], uint8_t scales[8], uint8_t mins[8]) {
    for (int j = 0; j < 8; j++) {
        if (j < 4) {
            scales[j] = packed[j] & 63;
            mins[j] = packed[j + 4] & 63;
        } else {
            scales[j] = (packed[j + 4] & 0xF) | ((packed[j - 4] >> 6) << 4);
            mins[j] = (packed[j + 4] >> 4) | ((packed[j] >> 6) << 4);
        }
    }
}

/// The mins term of Q4_K/Q5_K: four lanes of min * (sum of 32 activations),
/// accumulated as ggml's acc_m and reduced in its order.
static inline void accumulate_mins(float acc_m[4], float dmin, const uint8_t mins[8], const int16_t bsums[16]) {
    for (int k = 0; k < 4; k++) {
        const int s0 = bsums[4 * k] + bsums[4 * k + 1], s1 = bsums[4 * k + 2] + bsums[4 * k + 3];
        acc_m[k] = fmaf(dmin, (float)(mins[2 * k] * s0 + mins[2 * k + 1] * s1), acc_m[k]);
    }
}

static inline float reduce_mins(const float acc_m[4]) { return (acc_m[0] + acc_m[2]) + (acc_m[1] + acc_m[3]); }

float hydra_dot_q4_K_scalar(int64_t n, const void *vw, const void *vx) {
    const block_q4_K *w = vw;
    const block_q8_K *x = vx;
    float acc[8] = {0}, acc_m[4] = {0};
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = x[i].d * fp16_to_fp32(w[i].d);
        const float dmin = -x[i].d * fp16_to_fp32(w[i].dmin);
        uint8_t scales[8], mins[8];
        unpack_scales_mins_k4(w[i].scales, scales, mins);
        accumulate_mins(acc_m, dmin, mins, x[i].bsums);
        int32_t lanes[8] = {0};
        for (int j = 0; j < 4; j++) {
            const uint8_t *q4 = w[i].qs + 32 * j;
            const int8_t *y = x[i].qs + 64 * j;
            int8_t lo[32], hi[32];
            for (int k = 0; k < 32; k++) {
                lo[k] = (int8_t)(q4[k] & 0xF);
                hi[k] = (int8_t)(q4[k] >> 4);
            }
            for (int l = 0; l < 8; l++) {
                lanes[l] += scales[2 * j] * lane_dot(lo, y, l) + scales[2 * j + 1] * lane_dot(hi, y + 32, l);
            }
        }
        for (int l = 0; l < 8; l++) acc[l] = fmaf(d, (float)lanes[l], acc[l]);
    }
    return hsum8(acc) + reduce_mins(acc_m);
}

float hydra_dot_q5_K_scalar(int64_t n, const void *vw, const void *vx) {
    const block_q5_K *w = vw;
    const block_q8_K *x = vx;
    float acc[8] = {0}, acc_m[4] = {0};
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = x[i].d * fp16_to_fp32(w[i].d);
        const float dmin = -x[i].d * fp16_to_fp32(w[i].dmin);
        uint8_t scales[8], mins[8];
        unpack_scales_mins_k4(w[i].scales, scales, mins);
        accumulate_mins(acc_m, dmin, mins, x[i].bsums);
        int32_t lanes[8] = {0};
        for (int j = 0; j < 4; j++) {
            const uint8_t *q = w[i].qs + 32 * j;
            const int8_t *y = x[i].qs + 64 * j;
            int8_t lo[32], hi[32];
            for (int k = 0; k < 32; k++) {
                lo[k] = (int8_t)((q[k] & 0xF) | (((w[i].qh[k] >> (2 * j)) & 1) << 4));
                hi[k] = (int8_t)((q[k] >> 4) | (((w[i].qh[k] >> (2 * j + 1)) & 1) << 4));
            }
            for (int l = 0; l < 8; l++) {
                lanes[l] += scales[2 * j] * lane_dot(lo, y, l) + scales[2 * j + 1] * lane_dot(hi, y + 32, l);
            }
        }
        for (int l = 0; l < 8; l++) acc[l] = fmaf(d, (float)lanes[l], acc[l]);
    }
    return hsum8(acc) + reduce_mins(acc_m);
}

float hydra_dot_q6_K_scalar(int64_t n, const void *vw, const void *vx) {
    const block_q6_K *w = vw;
    const block_q8_K *x = vx;
    float acc[8] = {0};
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = x[i].d * fp16_to_fp32(w[i].d);
        const int8_t *sc = w[i].scales;
        // The values are kept unsigned (0..63); the -32 offset is applied
        // once per lane through the activation block sums, as ggml does.
        int8_t q[QK_K];
        for (int h = 0; h < 2; h++) {
            const uint8_t *ql = w[i].ql + 64 * h, *qh = w[i].qh + 32 * h;
            int8_t *o = q + 128 * h;
            for (int l = 0; l < 32; l++) {
                o[l] = (int8_t)((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4));
                o[l + 32] = (int8_t)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4));
                o[l + 64] = (int8_t)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
                o[l + 96] = (int8_t)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
            }
        }
        int32_t lanes[8] = {0};
        for (int c = 0; c < 8; c++) {
            for (int l = 0; l < 8; l++) {
                lanes[l] += sc[2 * c + (l >= 4)] * lane_dot(q + 32 * c, x[i].qs + 32 * c, l);
            }
        }
        for (int l = 0; l < 8; l++) {
            const int32_t offset = (x[i].bsums[2 * l] * sc[2 * l] + x[i].bsums[2 * l + 1] * sc[2 * l + 1]) << 5;
            acc[l] = fmaf(d, (float)(lanes[l] - offset), acc[l]);
        }
    }
    return hsum8(acc);
}

// Q2_K and Q3_K: plain per-sub-block sums (ggml's generic kernels' grouping).

float hydra_dot_q2_K_scalar(int64_t n, const void *vw, const void *vx) {
    const block_q2_K *w = vw;
    const block_q8_K *x = vx;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *q2 = w[i].qs;
        const int8_t *q8 = x[i].qs;
        int summs = 0;
        for (int j = 0; j < 16; j++) summs += x[i].bsums[j] * (w[i].scales[j] >> 4);
        const float dall = x[i].d * fp16_to_fp32(w[i].d);
        const float dmin = x[i].d * fp16_to_fp32(w[i].dmin);
        int isum = 0, is = 0;
        for (int k = 0; k < QK_K / 128; k++, q2 += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 2; half++) {
                    const int d = w[i].scales[is++] & 0xF;
                    int isuml = 0;
                    for (int l = 0; l < 16; l++) isuml += q8[l] * ((q2[l + 16 * half] >> shift) & 3);
                    isum += d * isuml;
                    q8 += 16;
                }
            }
        }
        sumf += dall * isum - dmin * summs;
    }
    return sumf;
}

float hydra_dot_q3_K_scalar(int64_t n, const void *vw, const void *vx) {
    const block_q3_K *w = vw;
    const block_q8_K *x = vx;
    float sumf = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int8_t scales[16];
        // Same unpacking as the dequantizer, without its -32 offset.
        const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
        uint32_t aux[4];
        memcpy(aux, w[i].scales, 12);
        const uint32_t tmp = aux[2];
        aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
        aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
        aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
        aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
        memcpy(scales, aux, 16);
        const uint8_t *q3 = w[i].qs, *hm = w[i].hmask;
        const int8_t *q8 = x[i].qs;
        int32_t isum = 0;
        int is = 0;
        uint8_t m = 1;
        for (int k = 0; k < QK_K / 128; k++, q3 += 32) {
            for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
                for (int half = 0; half < 2; half++) {
                    int isuml = 0;
                    for (int l = 16 * half; l < 16 * half + 16; l++) {
                        isuml += *q8++ * (((q3[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
                    }
                    isum += (scales[is++] - 32) * isuml;
                }
            }
        }
        sumf += x[i].d * fp16_to_fp32(w[i].d) * isum;
    }
    return sumf;
}
