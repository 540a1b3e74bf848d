// ggml's types: block sizes, and dequantization matching ggml's reference
// dequantizers (ggml-quants.c) bit for bit: multiplies and subtractions are
// not fused.

#include "kernels.h"

int64_t hydra_type_block_elements(int32_t type) {
    switch (type) {
    case HYDRA_TYPE_F32: case HYDRA_TYPE_F16: case HYDRA_TYPE_BF16: return 1;
    case HYDRA_TYPE_Q4_0: case HYDRA_TYPE_Q4_1: case HYDRA_TYPE_Q5_0: case HYDRA_TYPE_Q5_1:
    case HYDRA_TYPE_Q8_0: case HYDRA_TYPE_Q8_1: return 32;
    case HYDRA_TYPE_Q2_K: case HYDRA_TYPE_Q3_K: case HYDRA_TYPE_Q4_K: case HYDRA_TYPE_Q5_K:
    case HYDRA_TYPE_Q6_K: case HYDRA_TYPE_Q8_K: return QK_K;
    default: return 0;
    }
}

int64_t hydra_type_block_bytes(int32_t type) {
    switch (type) {
    case HYDRA_TYPE_F32: return 4;
    case HYDRA_TYPE_F16: case HYDRA_TYPE_BF16: return 2;
    case HYDRA_TYPE_Q4_0: return sizeof(block_q4_0);
    case HYDRA_TYPE_Q4_1: return sizeof(block_q4_1);
    case HYDRA_TYPE_Q5_0: return sizeof(block_q5_0);
    case HYDRA_TYPE_Q5_1: return sizeof(block_q5_1);
    case HYDRA_TYPE_Q8_0: return sizeof(block_q8_0);
    case HYDRA_TYPE_Q8_1: return sizeof(block_q8_1);
    case HYDRA_TYPE_Q2_K: return sizeof(block_q2_K);
    case HYDRA_TYPE_Q3_K: return sizeof(block_q3_K);
    case HYDRA_TYPE_Q4_K: return sizeof(block_q4_K);
    case HYDRA_TYPE_Q5_K: return sizeof(block_q5_K);
    case HYDRA_TYPE_Q6_K: return sizeof(block_q6_K);
    case HYDRA_TYPE_Q8_K: return sizeof(block_q8_K);
    default: return 0;
    }
}

static void dequant_q4_0(const block_q4_0 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += 32) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < 16; j++) {
            y[j] = ((x[i].qs[j] & 0x0F) - 8) * d;
            y[j + 16] = ((x[i].qs[j] >> 4) - 8) * d;
        }
    }
}

static void dequant_q4_1(const block_q4_1 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += 32) {
        const float d = fp16_to_fp32(x[i].d), m = fp16_to_fp32(x[i].m);
        for (int j = 0; j < 16; j++) {
            y[j] = (x[i].qs[j] & 0x0F) * d + m;
            y[j + 16] = (x[i].qs[j] >> 4) * d + m;
        }
    }
}

static void dequant_q5_0(const block_q5_0 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += 32) {
        const float d = fp16_to_fp32(x[i].d);
        uint32_t qh;
        memcpy(&qh, x[i].qh, 4);
        for (int j = 0; j < 16; j++) {
            const int h0 = ((qh >> j) << 4) & 0x10;
            const int h1 = (qh >> (j + 12)) & 0x10;
            y[j] = (((x[i].qs[j] & 0x0F) | h0) - 16) * d;
            y[j + 16] = (((x[i].qs[j] >> 4) | h1) - 16) * d;
        }
    }
}

static void dequant_q5_1(const block_q5_1 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += 32) {
        const float d = fp16_to_fp32(x[i].d), m = fp16_to_fp32(x[i].m);
        uint32_t qh;
        memcpy(&qh, x[i].qh, 4);
        for (int j = 0; j < 16; j++) {
            const int h0 = ((qh >> j) << 4) & 0x10;
            const int h1 = (qh >> (j + 12)) & 0x10;
            y[j] = ((x[i].qs[j] & 0x0F) | h0) * d + m;
            y[j + 16] = ((x[i].qs[j] >> 4) | h1) * d + m;
        }
    }
}

static void dequant_q8_0(const block_q8_0 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += 32) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < 32; j++) y[j] = x[i].qs[j] * d;
    }
}

static void dequant_q8_1(const block_q8_1 *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += 32) {
        const float d = fp16_to_fp32(x[i].d);
        for (int j = 0; j < 32; j++) y[j] = x[i].qs[j] * d;
    }
}

static void dequant_q2_K(const block_q2_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = fp16_to_fp32(x[i].d), min = fp16_to_fp32(x[i].dmin);
        const uint8_t *q = x[i].qs;
        int is = 0;
        for (int n = 0; n < QK_K; n += 128, q += 32) {
            for (int shift = 0; shift < 8; shift += 2) {
                for (int half = 0; half < 2; half++) {
                    const uint8_t sc = x[i].scales[is++];
                    const float dl = d * (sc & 0xF), ml = min * (sc >> 4);
                    for (int l = 0; l < 16; l++) *y++ = dl * ((q[l + 16 * half] >> shift) & 3) - ml;
                }
            }
        }
    }
}

/// The 16 signed 6-bit scales of a Q3_K block.
static void q3_K_scales(const uint8_t packed[12], int8_t out[16]) {
    const uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
    uint32_t aux[4];
    memcpy(aux, packed, 12);
    const uint32_t tmp = aux[2];
    aux[2] = ((aux[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
    aux[3] = ((aux[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
    aux[0] = (aux[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
    aux[1] = (aux[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
    memcpy(out, aux, 16);
    for (int j = 0; j < 16; j++) out[j] = (int8_t)(out[j] - 32);
}

static void dequant_q3_K(const block_q3_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d_all = fp16_to_fp32(x[i].d);
        int8_t scales[16];
        q3_K_scales(x[i].scales, scales);
        const uint8_t *q = x[i].qs, *hm = x[i].hmask;
        uint8_t m = 1;
        int is = 0;
        for (int n = 0; n < QK_K; n += 128, q += 32) {
            for (int shift = 0; shift < 8; shift += 2, m <<= 1) {
                for (int half = 0; half < 2; half++) {
                    const float dl = d_all * scales[is++];
                    for (int l = 16 * half; l < 16 * half + 16; l++) {
                        *y++ = dl * (((q[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
                    }
                }
            }
        }
    }
}

/// Scale and min of sub-block j of a Q4_K/Q5_K block (ggml's get_scale_min_k4).
static inline void scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j] >> 6) << 4);
    }
}

static void dequant_q4_K(const block_q4_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = fp16_to_fp32(x[i].d), min = fp16_to_fp32(x[i].dmin);
        const uint8_t *q = x[i].qs;
        for (int is = 0; is < 8; is += 2, q += 32) {
            uint8_t sc, m;
            scale_min_k4(is, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            scale_min_k4(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; l++) *y++ = d1 * (q[l] & 0xF) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * (q[l] >> 4) - m2;
        }
    }
}

static void dequant_q5_K(const block_q5_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = fp16_to_fp32(x[i].d), min = fp16_to_fp32(x[i].dmin);
        const uint8_t *ql = x[i].qs, *qh = x[i].qh;
        uint8_t u1 = 1, u2 = 2;
        for (int is = 0; is < 8; is += 2, ql += 32, u1 <<= 2, u2 <<= 2) {
            uint8_t sc, m;
            scale_min_k4(is, x[i].scales, &sc, &m);
            const float d1 = d * sc, m1 = min * m;
            scale_min_k4(is + 1, x[i].scales, &sc, &m);
            const float d2 = d * sc, m2 = min * m;
            for (int l = 0; l < 32; l++) *y++ = d1 * ((ql[l] & 0xF) + (qh[l] & u1 ? 16 : 0)) - m1;
            for (int l = 0; l < 32; l++) *y++ = d2 * ((ql[l] >> 4) + (qh[l] & u2 ? 16 : 0)) - m2;
        }
    }
}

static void dequant_q6_K(const block_q6_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++) {
        const float d = fp16_to_fp32(x[i].d);
        const uint8_t *ql = x[i].ql, *qh = x[i].qh;
        const int8_t *sc = x[i].scales;
        for (int n = 0; n < QK_K; n += 128, y += 128, ql += 64, qh += 32, sc += 8) {
            for (int l = 0; l < 32; l++) {
                const int is = l / 16;
                const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
                const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
                const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
                const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
                y[l] = d * sc[is] * q1;
                y[l + 32] = d * sc[is + 2] * q2;
                y[l + 64] = d * sc[is + 4] * q3;
                y[l + 96] = d * sc[is + 6] * q4;
            }
        }
    }
}

static void dequant_q8_K(const block_q8_K *x, float *y, int64_t nb) {
    for (int64_t i = 0; i < nb; i++, y += QK_K) {
        for (int j = 0; j < QK_K; j++) y[j] = x[i].d * x[i].qs[j];
    }
}

int32_t hydra_dequantize(int32_t type, const void *src, float *dst, int64_t n) {
    const int64_t qk = hydra_type_block_elements(type);
    if (qk == 0 || n < 0 || n % qk != 0) return -1;
    const int64_t nb = n / qk;
    switch (type) {
    case HYDRA_TYPE_F32: memcpy(dst, src, (size_t)n * 4); break;
    case HYDRA_TYPE_F16: {
        const uint16_t *s = src;
        for (int64_t i = 0; i < n; i++) dst[i] = fp16_to_fp32(s[i]);
        break;
    }
    case HYDRA_TYPE_BF16: {
        const uint16_t *s = src;
        for (int64_t i = 0; i < n; i++) dst[i] = bf16_to_fp32(s[i]);
        break;
    }
    case HYDRA_TYPE_Q4_0: dequant_q4_0(src, dst, nb); break;
    case HYDRA_TYPE_Q4_1: dequant_q4_1(src, dst, nb); break;
    case HYDRA_TYPE_Q5_0: dequant_q5_0(src, dst, nb); break;
    case HYDRA_TYPE_Q5_1: dequant_q5_1(src, dst, nb); break;
    case HYDRA_TYPE_Q8_0: dequant_q8_0(src, dst, nb); break;
    case HYDRA_TYPE_Q8_1: dequant_q8_1(src, dst, nb); break;
    case HYDRA_TYPE_Q2_K: dequant_q2_K(src, dst, nb); break;
    case HYDRA_TYPE_Q3_K: dequant_q3_K(src, dst, nb); break;
    case HYDRA_TYPE_Q4_K: dequant_q4_K(src, dst, nb); break;
    case HYDRA_TYPE_Q5_K: dequant_q5_K(src, dst, nb); break;
    case HYDRA_TYPE_Q6_K: dequant_q6_K(src, dst, nb); break;
    case HYDRA_TYPE_Q8_K: dequant_q8_K(src, dst, nb); break;
    default: return -1;
    }
    return 0;
}
