// Q6_K products in the arithmetic of ggml's tiled K-quant matmul.
//
// For a batch of 8 or more activation rows ggml (ggml-cpu/tiled) multiplies
// Q6_K matrices tile by tile: per output value and per 256-element
// super-block it forms one exact integer sum Σ scale·(q − 32)·x, converts
// it to float, multiplies by the weight scale and adds the product with the
// activation scale to the running value with one fused multiply-add:
//     y = fma((float)sum · d_w, d_x, y)
// (checked bit for bit against ggml's mul_mat for 8 to 64 rows on AVX-512).

#include "kernels.h"

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
