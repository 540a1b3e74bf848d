// Portable dot products of K-quant super-blocks (Q2_K, Q3_K, Q4_K, Q5_K,
// Q6_K weights; Q8_K activations), in each order ggml computes them in:
// its vec_dot, its repacked Q4_K kernels and its tiled Q6_K matmul. The
// AVX2 twins are in x86/dot_k_avx2.c and give identical bits.

#include "kernels.h"
#include "dot_k.h"

// ---- ggml's vec_dot -----------------------------------------------------------
// As in dot_q.c: the arithmetic of ggml's x86 AVX2 vec_dot kernels
// (ggml-cpu/arch/x86/quants.c), eight float lanes summed in hsum_float_8's
// order.

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

// ---- Q4_K repacked ------------------------------------------------------------
// On AVX2 machines llama.cpp stores every Q4_K matrix whose row count is a
// multiple of 8 as 8-row interleaved blocks (ggml-cpu/repack.cpp,
// block_q4_Kx8). A batch of activation rows goes through
// ggml_gemm_q4_K_8x8_q8_K four rows at a time, the remaining rows (and a
// single token) through ggml_gemv_q4_K_8x8_q8_K. Both keep, per output
// value, two float accumulators fed with exact integer sums:
//     acc  = fma((float)sum,  d_w · d_x,    acc)
//     accm = fma((float)mins, dmin_w · d_x, accm)
//     result = acc − accm
// gemv adds one sum per 256-element super-block, gemm one per 64 elements
// (two sub-blocks). Both round differently from the plain vec_dot (eight
// lanes, hsum). The functions here follow that order: the one-row kernels
// are gemv's, the four-row kernels gemm's. The SIMD ones compute the same
// integer sums faster, so portable and SIMD give identical bits.

/// The exact integer sums of each 64-element chunk j of one super-block:
/// Σ scale·(q·x) over sub-blocks 2j, 2j+1, and Σ min·(Σx) over the same.
static inline void q4_K_chunk_sums(const block_q4_K *w, const block_q8_K *x, int32_t sum[4], int32_t msum[4]) {
    uint8_t scales[8], mins[8];
    q4_K_scales_mins(w->scales, scales, mins);
    for (int j = 0; j < 4; j++) {
        const uint8_t *q = w->qs + 32 * j;
        const int8_t *y = x->qs + 64 * j;
        int32_t lo = 0, hi = 0;
        for (int k = 0; k < 32; k++) {
            lo += (q[k] & 0xF) * y[k];
            hi += (q[k] >> 4) * y[k + 32];
        }
        sum[j] = scales[2 * j] * lo + scales[2 * j + 1] * hi;
        msum[j] = mins[2 * j] * (x->bsums[4 * j] + x->bsums[4 * j + 1]) +
                  mins[2 * j + 1] * (x->bsums[4 * j + 2] + x->bsums[4 * j + 3]);
    }
}

float hydra_dot_q4_K_x8_scalar(int64_t n, const void *vw, const void *vx) {
    const block_q4_K *w = vw;
    const block_q8_K *x = vx;
    float acc = 0, accm = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        int32_t sum[4], msum[4];
        q4_K_chunk_sums(&w[i], &x[i], sum, msum);
        q4_K_x8_accumulate(&w[i], &x[i], sum[0] + sum[1] + sum[2] + sum[3], msum[0] + msum[1] + msum[2] + msum[3],
                           &acc, &accm);
    }
    return acc - accm;
}

void hydra_dot4_q4_K_x8_scalar(int64_t n, const void *vw, const void *vx, size_t x_stride, float out[4]) {
    const block_q4_K *w = vw;
    for (int t = 0; t < 4; t++) {
        const block_q8_K *x = (const block_q8_K *)((const uint8_t *)vx + t * x_stride);
        float acc = 0, accm = 0;
        for (int64_t i = 0; i < n / QK_K; i++) {
            int32_t sum[4], msum[4];
            q4_K_chunk_sums(&w[i], &x[i], sum, msum);
            for (int j = 0; j < 4; j++) q4_K_x8_accumulate(&w[i], &x[i], sum[j], msum[j], &acc, &accm);
        }
        out[t] = acc - accm;
    }
}

/// Rewrites eight Q4_K rows (`w_stride` bytes apart) of `n` elements as
/// block_q4_K_r8 (dot_k.h): the layout the one-token kernels of a loaded
/// model read. Portable, so every CPU writes the same bytes.
void hydra_repack_q4_K_r8(int64_t n, const void *vw, size_t w_stride, void *out) {
    block_q4_K_r8 *p = out;
    for (int64_t i = 0; i < n / QK_K; i++, p++) {
        for (int r = 0; r < 8; r++) {
            const block_q4_K *w = (const block_q4_K *)((const uint8_t *)vw + r * w_stride) + i;
            for (int j = 0; j < 4; j++) {
                for (int g = 0; g < 8; g++) memcpy(p->qs[j][g][r], w->qs + 32 * j + 4 * g, 4);
            }
            uint8_t scales[8], mins[8];
            q4_K_scales_mins(w->scales, scales, mins);
            for (int k = 0; k < 8; k++) p->scales[k][r] = scales[k];
            for (int j = 0; j < 4; j++) {
                p->mins[j][r][0] = mins[2 * j];
                p->mins[j][r][1] = mins[2 * j + 1];
            }
            p->d[r] = w->d;
            p->dmin[r] = w->dmin;
        }
    }
}

// ---- Q6_K tiled ---------------------------------------------------------------
// For a batch of 8 or more activation rows ggml (ggml-cpu/tiled) multiplies
// Q6_K matrices tile by tile: per output value and per 256-element
// super-block it forms one exact integer sum Σ scale·(q − 32)·x, converts
// it to float, multiplies by the weight scale and adds the product with the
// activation scale to the running value with one fused multiply-add:
//     y = fma((float)sum · d_w, d_x, y)
// (checked bit for bit against ggml's mul_mat for 8 to 64 rows on AVX-512).

float hydra_dot_q6_K_tiled(int64_t n, const void *vw, const void *vx) {
    const block_q6_K *w = vw;
    const block_q8_K *x = vx;
    float y = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        const uint8_t *ql = w[i].ql, *qh = w[i].qh;
        const int8_t *q8 = x[i].qs;
        int32_t sum = 0;
        // Two halves of 128 values, each as four groups of 32 (ggml's layout).
        for (int half = 0; half < 2; half++, ql += 64, qh += 32, q8 += 128) {
            int8_t q[128];
            for (int l = 0; l < 32; l++) {
                q[l] = (int8_t)((ql[l] & 0xF) | ((qh[l] & 3) << 4));
                q[l + 32] = (int8_t)((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4));
                q[l + 64] = (int8_t)((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4));
                q[l + 96] = (int8_t)((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4));
            }
            for (int s = 0; s < 8; s++) {
                int32_t raw = 0, xs = 0;
                for (int k = 16 * s; k < 16 * s + 16; k++) {
                    raw += q[k] * q8[k];
                    xs += q8[k];
                }
                sum += w[i].scales[8 * half + s] * (raw - 32 * xs);
            }
        }
        const float scaled = (float)sum * fp16_to_fp32(w[i].d);
        y = fmaf(scaled, x[i].d, y);
    }
    return y;
}
