// Weight quantization, bit-identical to ggml's reference quantizers in
// ggml-quants.c (quantize_row_q4_0_ref ... quantize_row_q6_K_ref, with the
// helpers nearest_int, make_qx_quants and make_qkx2_quants): the same float
// operations in the same order. ggml builds these in ggml-base without
// -march flags, so GCC has no FMA to contract into; here kernels.h turns
// contraction off. Portable C only: every CPU gives the same bytes.

#include <float.h>

#include "kernels.h"
#include "hydra_quantize.h"

#define QMIN(a, b) ((a) < (b) ? (a) : (b))
#define QMAX(a, b) ((a) > (b) ? (a) : (b))
#define GROUP_MAX_EPS 1e-15f

// ---- Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 -------------------------------------------

/// The value of largest magnitude (the first of equals), as ggml's Q4_0/Q5_0 scan.
static float signed_absmax(const float *x, int n) {
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < n; j++) {
        if (amax < fabsf(x[j])) { amax = fabsf(x[j]); max = x[j]; }
    }
    return max;
}

/// Smallest and largest value, as ggml's Q4_1/Q5_1 scan.
static void min_max(const float *x, int n, float *min, float *max) {
    *min = FLT_MAX;
    *max = -FLT_MAX;
    for (int j = 0; j < n; j++) {
        if (x[j] < *min) *min = x[j];
        if (x[j] > *max) *max = x[j];
    }
}

static void quantize_row_q4_0(const float *x, block_q4_0 *y, int64_t k) {
    const int qk = QK4_0;
    const int nb = (int)(k / qk);
    for (int i = 0; i < nb; i++) {
        const float max = signed_absmax(x + i * qk, qk);
        const float d = max / -8;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        for (int j = 0; j < qk / 2; ++j) {
            const float x0 = x[i * qk + 0 + j] * id;
            const float x1 = x[i * qk + qk / 2 + j] * id;
            const uint8_t xi0 = QMIN(15, (int8_t)(x0 + 8.5f));
            const uint8_t xi1 = QMIN(15, (int8_t)(x1 + 8.5f));
            y[i].qs[j] = xi0;
            y[i].qs[j] |= xi1 << 4;
        }
    }
}

static void quantize_row_q4_1(const float *x, block_q4_1 *y, int64_t k) {
    const int qk = QK4_1;
    const int nb = (int)(k / qk);
    for (int i = 0; i < nb; i++) {
        float min, max;
        min_max(x + i * qk, qk, &min, &max);
        const float d = (max - min) / ((1 << 4) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        y[i].m = fp32_to_fp16(min);
        for (int j = 0; j < qk / 2; ++j) {
            const float x0 = (x[i * qk + 0 + j] - min) * id;
            const float x1 = (x[i * qk + qk / 2 + j] - min) * id;
            const uint8_t xi0 = QMIN(15, (int8_t)(x0 + 0.5f));
            const uint8_t xi1 = QMIN(15, (int8_t)(x1 + 0.5f));
            y[i].qs[j] = xi0;
            y[i].qs[j] |= xi1 << 4;
        }
    }
}

static void quantize_row_q5_0(const float *x, block_q5_0 *y, int64_t k) {
    const int qk = QK5_0;
    const int nb = (int)(k / qk);
    for (int i = 0; i < nb; i++) {
        const float max = signed_absmax(x + i * qk, qk);
        const float d = max / -16;
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        uint32_t qh = 0;
        for (int j = 0; j < qk / 2; ++j) {
            const float x0 = x[i * qk + 0 + j] * id;
            const float x1 = x[i * qk + qk / 2 + j] * id;
            const uint8_t xi0 = QMIN(31, (int8_t)(x0 + 16.5f));
            const uint8_t xi1 = QMIN(31, (int8_t)(x1 + 16.5f));
            y[i].qs[j] = (xi0 & 0x0F) | ((xi1 & 0x0F) << 4);
            qh |= ((xi0 & 0x10u) >> 4) << (j + 0);
            qh |= ((xi1 & 0x10u) >> 4) << (j + qk / 2);
        }
        memcpy(&y[i].qh, &qh, sizeof(qh));
    }
}

static void quantize_row_q5_1(const float *x, block_q5_1 *y, int64_t k) {
    const int qk = QK5_1;
    const int nb = (int)(k / qk);
    for (int i = 0; i < nb; i++) {
        float min, max;
        min_max(x + i * qk, qk, &min, &max);
        const float d = (max - min) / ((1 << 5) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        y[i].m = fp32_to_fp16(min);
        uint32_t qh = 0;
        for (int j = 0; j < qk / 2; ++j) {
            const float x0 = (x[i * qk + 0 + j] - min) * id;
            const float x1 = (x[i * qk + qk / 2 + j] - min) * id;
            const uint8_t xi0 = (uint8_t)(x0 + 0.5f);
            const uint8_t xi1 = (uint8_t)(x1 + 0.5f);
            y[i].qs[j] = (xi0 & 0x0F) | ((xi1 & 0x0F) << 4);
            qh |= ((xi0 & 0x10u) >> 4) << (j + 0);
            qh |= ((xi1 & 0x10u) >> 4) << (j + qk / 2);
        }
        memcpy(&y[i].qh, &qh, sizeof(y[i].qh));
    }
}

static void quantize_row_q8_0(const float *x, block_q8_0 *y, int64_t k) {
    const int nb = (int)(k / QK8_0);
    for (int i = 0; i < nb; i++) {
        float amax = 0.0f;
        for (int j = 0; j < QK8_0; j++) {
            const float v = x[i * QK8_0 + j];
            amax = QMAX(amax, fabsf(v));
        }
        const float d = amax / ((1 << 7) - 1);
        const float id = d ? 1.0f / d : 0.0f;
        y[i].d = fp32_to_fp16(d);
        for (int j = 0; j < QK8_0; ++j) {
            const float x0 = x[i * QK8_0 + j] * id;
            y[i].qs[j] = (int8_t)roundf(x0);
        }
    }
}

// ---- K-quant helpers ---------------------------------------------------------

static inline int nearest_int(float fval) {
    float val = fval + 12582912.f;
    int i;
    memcpy(&i, &val, sizeof(int));
    return (i & 0x007fffff) - 0x00400000;
}

/// make_qx_quants(16, 32, x, L, 1, NULL) of Q6_K, the same float operations
/// in the same order, its 18 trial scales computed side by side (each
/// trial's sums still run over the 16 values in order, so the compiler can
/// vectorize across trials without changing a bit), then compared in
/// ggml's order.
static float make_q6_quants(const float *x, int8_t *L) {
    enum { n = 16, nmax = 32, trials = 18 };
    float max = 0;
    float amax = 0;
    for (int i = 0; i < n; ++i) {
        float ax = fabsf(x[i]);
        if (ax > amax) { amax = ax; max = x[i]; }
    }
    if (amax < GROUP_MAX_EPS) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        return 0.f;
    }
    float w[n], wx[n];
    for (int i = 0; i < n; ++i) {
        w[i] = x[i] * x[i];
        wx[i] = w[i] * x[i];
    }
    float iscale = -nmax / max;
    float sumlx = 0;
    float suml2 = 0;
    for (int i = 0; i < n; ++i) {
        int l = nearest_int(iscale * x[i]);
        l = QMAX(-nmax, QMIN(nmax - 1, l));
        L[i] = l + nmax;
        sumlx += wx[i] * l;
        suml2 += w[i] * l * l;
    }
    float scale = suml2 ? sumlx / suml2 : 0.0f;
    float best = scale * sumlx;

    float is_scale[trials], tlx[trials], tl2[trials];
    for (int t = 0; t < trials; ++t) {
        const int is = t < 9 ? t - 9 : t - 8;
        is_scale[t] = -(nmax + 0.1f * is) / max;
        tlx[t] = 0;
        tl2[t] = 0;
    }
    for (int i = 0; i < n; ++i) {
        for (int t = 0; t < trials; ++t) {
            float val = is_scale[t] * x[i] + 12582912.f;
            int32_t bits;
            memcpy(&bits, &val, 4);
            int l = (bits & 0x007fffff) - 0x00400000;
            l = QMAX(-nmax, QMIN(nmax - 1, l));
            tlx[t] += wx[i] * l;
            tl2[t] += w[i] * l * l;
        }
    }
    int chosen = -1;
    for (int t = 0; t < trials; ++t) {
        if (tl2[t] > 0 && tlx[t] * tlx[t] > best * tl2[t]) {
            scale = tlx[t] / tl2[t];
            best = scale * tlx[t];
            chosen = t;
        }
    }
    if (chosen >= 0) {
        for (int i = 0; i < n; ++i) {
            int l = nearest_int(is_scale[chosen] * x[i]);
            L[i] = nmax + QMAX(-nmax, QMIN(nmax - 1, l));
        }
    }
    return scale;
}

/// make_qkx2_quants with use_mad false (Q4_K, Q5_K): the same float
/// operations in the same order, its nstep + 1 trial scales computed side
/// by side (each trial's sums still run over the n values in order, so the
/// compiler can vectorize across trials without changing a bit), then
/// compared in ggml's order. A trial ggml accepts moves `min`, which the
/// later trials use: those are computed again from there.
static float make_qkx2_quants(int n, int nmax, const float *x, const float *weights, uint8_t *L, float *the_min,
                              float rmin, float rdelta, int nstep) {
    enum { max_n = 32, max_trials = 32 };
    float min = x[0];
    float max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        for (int i = 0; i < n; ++i) L[i] = 0;
        *the_min = -min;
        return 0.f;
    }
    float iscale = nmax / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; ++i) {
        int l = nearest_int(iscale * (x[i] - min));
        L[i] = QMAX(0, QMIN(nmax, l));
        float diff = scale * L[i] + min - x[i];
        diff = diff * diff;
        float w = weights[i];
        best_error += w * diff;
    }
    if (nstep < 1) {
        *the_min = -min;
        return scale;
    }
    float lt[max_n][max_trials];
    float ts[max_trials], sl[max_trials], sl2[max_trials], sxl[max_trials];
    float this_scale[max_trials], this_min[max_trials], err[max_trials];
    int first = 0;
    while (first <= nstep) {
        // All max_trials lanes are computed (a fixed count vectorizes
        // cleanly); those past nstep are never read.
        const int trials = nstep - first + 1;
        for (int t = 0; t < max_trials; ++t) {
            ts[t] = (rmin + rdelta * (first + t) + nmax) / (max - min);
            sl[t] = sl2[t] = sxl[t] = 0;
        }
        for (int i = 0; i < n; ++i) {
            const float xm = x[i] - min, w = weights[i], xi = x[i];
            for (int t = 0; t < max_trials; ++t) {
                float val = ts[t] * xm + 12582912.f;
                int32_t bits;
                memcpy(&bits, &val, 4);
                int l = (bits & 0x007fffff) - 0x00400000;
                l = QMAX(0, QMIN(nmax, l));
                const float lf = (float)l;
                lt[i][t] = lf;
                sl[t] += w * lf;
                sl2[t] += w * lf * lf;
                sxl[t] += w * lf * xi;
            }
        }
        for (int t = 0; t < max_trials; ++t) {
            float D = sum_w * sl2[t] - sl[t] * sl[t];
            this_scale[t] = (sum_w * sxl[t] - sum_x * sl[t]) / D;
            this_min[t] = (sl2[t] * sum_x - sl[t] * sxl[t]) / D;
            if (this_min[t] > 0) {
                this_min[t] = 0;
                this_scale[t] = sxl[t] / sl2[t];
            }
            err[t] = 0;
        }
        for (int i = 0; i < n; ++i) {
            const float w = weights[i], xi = x[i];
            for (int t = 0; t < max_trials; ++t) {
                float diff = this_scale[t] * lt[i][t] + this_min[t] - xi;
                diff = diff * diff;
                err[t] += w * diff;
            }
        }
        int next = nstep + 1;
        for (int t = 0; t < trials; ++t) {
            float D = sum_w * sl2[t] - sl[t] * sl[t];
            if (!(D > 0) || !(err[t] < best_error)) continue;
            for (int i = 0; i < n; ++i) L[i] = (uint8_t)lt[i][t];
            best_error = err[t];
            scale = this_scale[t];
            uint32_t a, b;
            memcpy(&a, &min, 4);
            memcpy(&b, &this_min[t], 4);
            min = this_min[t];
            if (a != b) {
                next = first + t + 1;
                break;
            }
        }
        first = next;
    }
    *the_min = -min;
    return scale;
}

static inline void get_scale_min_k4(int j, const uint8_t *q, uint8_t *d, uint8_t *m) {
    if (j < 4) {
        *d = q[j] & 63;
        *m = q[j + 4] & 63;
    } else {
        *d = (q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4);
        *m = (q[j + 4] >> 4) | ((q[j - 0] >> 6) << 4);
    }
}

/// The per-32 scales and mins of Q4_K and Q5_K (nmax 15 or 31), packed
/// into 6 bits each; fills L with the quants.
static void k_scales_mins(const float *x, uint8_t *L, int nmax, float rmin, int nstep, uint8_t scales_out[K_SCALE_SIZE],
                          hydra_half *d_out, hydra_half *dmin_out) {
    float weights[32];
    float mins[QK_K / 32];
    float scales[QK_K / 32];
    float max_scale = 0;
    float max_min = 0;
    for (int j = 0; j < QK_K / 32; ++j) {
        float sum_x2 = 0;
        for (int l = 0; l < 32; ++l) sum_x2 += x[32 * j + l] * x[32 * j + l];
        float av_x = sqrtf(sum_x2 / 32);
        for (int l = 0; l < 32; ++l) weights[l] = av_x + fabsf(x[32 * j + l]);
        scales[j] = make_qkx2_quants(32, nmax, x + 32 * j, weights, L + 32 * j, &mins[j], rmin, 0.1f, nstep);
        float scale = scales[j];
        if (scale > max_scale) max_scale = scale;
        float min = mins[j];
        if (min > max_min) max_min = min;
    }
    float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
    float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
    memset(scales_out, 0, K_SCALE_SIZE);
    for (int j = 0; j < QK_K / 32; ++j) {
        uint8_t ls = (uint8_t)nearest_int(inv_scale * scales[j]);
        uint8_t lm = (uint8_t)nearest_int(inv_min * mins[j]);
        ls = QMIN(63, ls);
        lm = QMIN(63, lm);
        if (j < 4) {
            scales_out[j] = ls;
            scales_out[j + 4] = lm;
        } else {
            scales_out[j + 4] = (ls & 0xF) | ((lm & 0xF) << 4);
            scales_out[j - 4] |= ((ls >> 4) << 6);
            scales_out[j - 0] |= ((lm >> 4) << 6);
        }
    }
    *d_out = fp32_to_fp16(max_scale / 63.f);
    *dmin_out = fp32_to_fp16(max_min / 63.f);

    uint8_t sc, m;
    for (int j = 0; j < QK_K / 32; ++j) {
        get_scale_min_k4(j, scales_out, &sc, &m);
        const float d = fp16_to_fp32(*d_out) * sc;
        if (!d) continue;
        const float dm = fp16_to_fp32(*dmin_out) * m;
        for (int ii = 0; ii < 32; ++ii) {
            int l = nearest_int((x[32 * j + ii] + dm) / d);
            l = QMAX(0, QMIN(nmax, l));
            L[32 * j + ii] = (uint8_t)l;
        }
    }
}

// ---- Q4_K, Q5_K, Q6_K --------------------------------------------------------

static void quantize_row_q4_K(const float *x, block_q4_K *y, int64_t k) {
    const int64_t nb = k / QK_K;
    uint8_t L[QK_K];
    for (int64_t i = 0; i < nb; i++, x += QK_K) {
        k_scales_mins(x, L, 15, -1.f, 20, y[i].scales, &y[i].d, &y[i].dmin);
        uint8_t *q = y[i].qs;
        for (int j = 0; j < QK_K; j += 64) {
            for (int l = 0; l < 32; ++l) q[l] = L[j + l] | (L[j + l + 32] << 4);
            q += 32;
        }
    }
}

static void quantize_row_q5_K(const float *x, block_q5_K *y, int64_t k) {
    const int64_t nb = k / QK_K;
    uint8_t L[QK_K];
    for (int64_t i = 0; i < nb; i++, x += QK_K) {
        k_scales_mins(x, L, 31, -0.5f, 15, y[i].scales, &y[i].d, &y[i].dmin);
        uint8_t *qh = y[i].qh;
        uint8_t *ql = y[i].qs;
        memset(qh, 0, QK_K / 8);
        uint8_t m1 = 1, m2 = 2;
        for (int n = 0; n < QK_K; n += 64) {
            for (int j = 0; j < 32; ++j) {
                int l1 = L[n + j];
                if (l1 > 15) { l1 -= 16; qh[j] |= m1; }
                int l2 = L[n + j + 32];
                if (l2 > 15) { l2 -= 16; qh[j] |= m2; }
                ql[j] = (uint8_t)(l1 | (l2 << 4));
            }
            m1 <<= 2;
            m2 <<= 2;
            ql += 32;
        }
    }
}

static void quantize_row_q6_K(const float *x, block_q6_K *y, int64_t k) {
    const int64_t nb = k / QK_K;
    int8_t L[QK_K];
    float scales[QK_K / 16];
    for (int64_t i = 0; i < nb; i++, x += QK_K) {
        float max_scale = 0;
        float max_abs_scale = 0;
        for (int ib = 0; ib < QK_K / 16; ++ib) {
            const float scale = make_q6_quants(x + 16 * ib, L + 16 * ib);
            scales[ib] = scale;
            const float abs_scale = fabsf(scale);
            if (abs_scale > max_abs_scale) {
                max_abs_scale = abs_scale;
                max_scale = scale;
            }
        }
        if (max_abs_scale < GROUP_MAX_EPS) {
            memset(&y[i], 0, sizeof(block_q6_K));
            y[i].d = fp32_to_fp16(0.f);
            continue;
        }
        float iscale = -128.f / max_scale;
        y[i].d = fp32_to_fp16(1 / iscale);
        for (int ib = 0; ib < QK_K / 16; ++ib) y[i].scales[ib] = (int8_t)QMIN(127, nearest_int(iscale * scales[ib]));
        for (int j = 0; j < QK_K / 16; ++j) {
            float d = fp16_to_fp32(y[i].d) * y[i].scales[j];
            if (!d) continue;
            for (int ii = 0; ii < 16; ++ii) {
                int l = nearest_int(x[16 * j + ii] / d);
                l = QMAX(-32, QMIN(31, l));
                L[16 * j + ii] = (int8_t)(l + 32);
            }
        }
        uint8_t *ql = y[i].ql;
        uint8_t *qh = y[i].qh;
        for (int j = 0; j < QK_K; j += 128) {
            for (int l = 0; l < 32; ++l) {
                const uint8_t q1 = L[j + l + 0] & 0xF;
                const uint8_t q2 = L[j + l + 32] & 0xF;
                const uint8_t q3 = L[j + l + 64] & 0xF;
                const uint8_t q4 = L[j + l + 96] & 0xF;
                ql[l + 0] = q1 | (q3 << 4);
                ql[l + 32] = q2 | (q4 << 4);
                qh[l] = (L[j + l] >> 4) | ((L[j + l + 32] >> 4) << 2) | ((L[j + l + 64] >> 4) << 4) |
                        ((L[j + l + 96] >> 4) << 6);
            }
            ql += 64;
            qh += 32;
        }
    }
}

// ---- rows over the pool ------------------------------------------------------

int32_t hydra_quantize_supported(int32_t type) {
    switch (type) {
    case HYDRA_TYPE_F32: case HYDRA_TYPE_F16: case HYDRA_TYPE_BF16:
    case HYDRA_TYPE_Q4_0: case HYDRA_TYPE_Q4_1: case HYDRA_TYPE_Q5_0: case HYDRA_TYPE_Q5_1: case HYDRA_TYPE_Q8_0:
    case HYDRA_TYPE_Q4_K: case HYDRA_TYPE_Q5_K: case HYDRA_TYPE_Q6_K:
        return 1;
    default:
        return 0;
    }
}

int64_t hydra_quantize_row_bytes(int32_t type, int64_t n_per_row) {
    if (!hydra_quantize_supported(type) || n_per_row <= 0) return 0;
    const int64_t qk = hydra_type_block_elements(type);
    if (n_per_row % qk != 0) return 0;
    return n_per_row / qk * hydra_type_block_bytes(type);
}

static void quantize_row(int32_t type, const float *x, void *y, int64_t n) {
    switch (type) {
    case HYDRA_TYPE_F32: memcpy(y, x, (size_t)n * 4); break;
    case HYDRA_TYPE_F16: {
        uint16_t *h = y;
        for (int64_t i = 0; i < n; i++) h[i] = fp32_to_fp16(x[i]);
        break;
    }
    case HYDRA_TYPE_BF16: {
        uint16_t *h = y;
        for (int64_t i = 0; i < n; i++) h[i] = fp32_to_bf16(x[i]);
        break;
    }
    case HYDRA_TYPE_Q4_0: quantize_row_q4_0(x, y, n); break;
    case HYDRA_TYPE_Q4_1: quantize_row_q4_1(x, y, n); break;
    case HYDRA_TYPE_Q5_0: quantize_row_q5_0(x, y, n); break;
    case HYDRA_TYPE_Q5_1: quantize_row_q5_1(x, y, n); break;
    case HYDRA_TYPE_Q8_0: quantize_row_q8_0(x, y, n); break;
    case HYDRA_TYPE_Q4_K: quantize_row_q4_K(x, y, n); break;
    case HYDRA_TYPE_Q5_K: quantize_row_q5_K(x, y, n); break;
    case HYDRA_TYPE_Q6_K: quantize_row_q6_K(x, y, n); break;
    default: break;
    }
}

typedef struct {
    int32_t type;
    const float *src;
    uint8_t *dst;
    int64_t nrows, n_per_row, row_bytes;
} quantize_job;

static void quantize_rows_part(void *ctx, int32_t i, int32_t n) {
    const quantize_job *job = ctx;
    const int64_t first = job->nrows * i / n, end = job->nrows * (i + 1) / n;
    for (int64_t r = first; r < end; r++) {
        quantize_row(job->type, job->src + r * job->n_per_row, job->dst + r * job->row_bytes, job->n_per_row);
    }
}

int32_t hydra_quantize_rows(int32_t type, const float *src, void *dst, int64_t nrows, int64_t n_per_row,
                            hydra_pool *pool) {
    if (!hydra_quantize_supported(type)) return -1;
    const int64_t row_bytes = hydra_quantize_row_bytes(type, n_per_row);
    if (row_bytes == 0) return -2;
    if (nrows <= 0) return 0;
    quantize_job job = {type, src, dst, nrows, n_per_row, row_bytes};
    hydra_pool_run(nrows > 1 ? pool : NULL, quantize_rows_part, &job);
    return 0;
}
