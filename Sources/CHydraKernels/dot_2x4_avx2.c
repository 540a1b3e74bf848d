// Q8_0 products for two weight rows by four tokens at once: the inner
// kernel of prompt processing for Q8_0 and, once their rows are unpacked to
// Q8_0 blocks (hydra_unpack_q4_0 / _q5_0), for Q4_0 and Q5_0.
//
// ggml computes these types as one fused multiply-add per block into eight
// float lanes (tinyBLAS / vec_dot). Every output here keeps its own
// accumulator and sees its blocks in order, so each result equals
// hydra_dot_q8_0_avx2 for that row and token bit for bit. What the tile
// saves is the work around the products: each activation block is loaded
// once for two rows, each weight block once for four tokens, and the four
// tokens' scales are converted and multiplied in one vector (a float product
// is the same whichever operand comes first).

#include "kernels.h"
#include "quant_avx2.h"

#ifdef HYDRA_HAVE_AVX2

void hydra_dot2x4_q8_0_avx2(int64_t n, const void *vw, size_t w_stride, const void *vx, size_t x_stride,
                            float out[8]) {
    const block_q8_0 *w[2] = {vw, (const block_q8_0 *)((const uint8_t *)vw + w_stride)};
    const block_q8_0 *x[4];
    for (int t = 0; t < 4; t++) x[t] = (const block_q8_0 *)((const uint8_t *)vx + t * x_stride);
    __m256 acc[2][4];
    for (int r = 0; r < 2; r++)
        for (int t = 0; t < 4; t++) acc[r][t] = _mm256_setzero_ps();

    for (int64_t i = 0; i < n / 32; i++) {
        const __m128 dx = halves4(x[0][i].d, x[1][i].d, x[2][i].d, x[3][i].d);
        const __m128 dw = halves4(w[0][i].d, w[1][i].d, 0, 0);
        // d[r], lane t (in both 128-bit halves): dw[r] · dx[t].
        const __m128 d0 = _mm_mul_ps(_mm_shuffle_ps(dw, dw, 0x00), dx);
        const __m128 d1 = _mm_mul_ps(_mm_shuffle_ps(dw, dw, 0x55), dx);
        const __m256 d[2] = {_mm256_set_m128(d0, d0), _mm256_set_m128(d1, d1)};
        const __m256i q[2] = {_mm256_loadu_si256((const __m256i *)w[0][i].qs),
                              _mm256_loadu_si256((const __m256i *)w[1][i].qs)};
        const __m256i aq[2] = {_mm256_sign_epi8(q[0], q[0]), _mm256_sign_epi8(q[1], q[1])};
        for (int t = 0; t < 4; t++) {
            const __m256i y = _mm256_loadu_si256((const __m256i *)x[t][i].qs);
            for (int r = 0; r < 2; r++) {
                // |q| · (y signed like q), summed in fours: ggml's mul_sum_i8_pairs_float.
                const __m256i p = dot_u8i8(aq[r], _mm256_sign_epi8(y, q[r]));
                const __m256 scale = _mm256_permutevar_ps(d[r], _mm256_set1_epi32(t));
                acc[r][t] = _mm256_fmadd_ps(scale, _mm256_cvtepi32_ps(p), acc[r][t]);
            }
        }
    }
    for (int r = 0; r < 2; r++)
        for (int t = 0; t < 4; t++) out[r * 4 + t] = hsum_ps(acc[r][t]);
}

#endif
