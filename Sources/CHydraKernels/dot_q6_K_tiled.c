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

#if defined(__AVX2__) && defined(__FMA__)
// The same arithmetic with AVX2: the integer sum of a super-block is exact
// whatever order its products are added in, so only the float steps (one
// multiply and one fused multiply-add per super-block) must stay as above.

/// The 6-bit values of one half (128 values) of a Q6_K block as 4 × 32 bytes
/// and the scales of its eight 16-value groups as int16 pairs per 32 bytes.
static inline void q6_K_unpack_half(const block_q6_K *w, int half, __m256i q[4], __m256i sc[4]) {
    const __m256i m3 = _mm256_set1_epi8(3), m15 = _mm256_set1_epi8(15);
    const uint8_t *ql = w->ql + 64 * half, *qh = w->qh + 32 * half;
    const __m256i b1 = _mm256_loadu_si256((const __m256i *)ql);
    const __m256i b2 = _mm256_loadu_si256((const __m256i *)(ql + 32));
    const __m256i bh = _mm256_loadu_si256((const __m256i *)qh);
    q[0] = _mm256_or_si256(_mm256_and_si256(b1, m15), _mm256_slli_epi16(_mm256_and_si256(bh, m3), 4));
    q[1] = _mm256_or_si256(_mm256_and_si256(b2, m15), _mm256_slli_epi16(_mm256_and_si256(bh, _mm256_set1_epi8(12)), 2));
    q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b1, 4), m15), _mm256_and_si256(bh, _mm256_set1_epi8(48)));
    q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b2, 4), m15),
                           _mm256_srli_epi16(_mm256_and_si256(bh, _mm256_set1_epi8((char)0xC0)), 2));
    const __m128i scales = _mm_loadu_si128((const __m128i *)w->scales);
    for (int c = 0; c < 4; c++) {
        // Scale of values 0..15 of this chunk in the low half, 16..31 in the high half.
        const uint64_t s = (uint64_t)(8 * half + 2 * c);
        const __m128i pick = _mm_set_epi64x((long long)(0x0101010101010101ULL * (s + 1)),
                                            (long long)(0x0101010101010101ULL * s));
        sc[c] = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, pick));
    }
}

/// Σ scale·q·x over one half of a block, added to acc as eight int32 lanes.
static inline __m256i q6_K_half_dot(const __m256i q[4], const __m256i sc[4], const int8_t *x, __m256i acc) {
    for (int c = 0; c < 4; c++) {
        const __m256i p = _mm256_maddubs_epi16(q[c], _mm256_loadu_si256((const __m256i *)(x + 32 * c)));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(sc[c], p));
    }
    return acc;
}

/// 32·Σ scale·(Σx of the group): the −32 offset of every value, as int32 lanes.
static inline __m256i q6_K_offset(const block_q6_K *w, const block_q8_K *x) {
    const __m256i scales = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w->scales));
    const __m256i bsums = _mm256_loadu_si256((const __m256i *)x->bsums);
    return _mm256_slli_epi32(_mm256_madd_epi16(bsums, scales), 5);
}

/// The four lane sums of a, b, c, d (each eight int32 lanes) as one vector.
static inline __m128i hsum4_epi32(__m256i a, __m256i b, __m256i c, __m256i d) {
    const __m256i ab = _mm256_hadd_epi32(a, b), cd = _mm256_hadd_epi32(c, d);
    const __m256i abcd = _mm256_hadd_epi32(ab, cd);
    return _mm_add_epi32(_mm256_castsi256_si128(abcd), _mm256_extracti128_si256(abcd, 1));
}

float hydra_dot_q6_K_tiled_avx2(int64_t n, const void *vw, const void *vx) {
    const block_q6_K *w = vw;
    const block_q8_K *x = vx;
    float y = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        __m256i acc = _mm256_sub_epi32(_mm256_setzero_si256(), q6_K_offset(&w[i], &x[i]));
        for (int half = 0; half < 2; half++) {
            __m256i q[4], sc[4];
            q6_K_unpack_half(&w[i], half, q, sc);
            acc = q6_K_half_dot(q, sc, x[i].qs + 128 * half, acc);
        }
        const int32_t sum = _mm_cvtsi128_si32(hsum4_epi32(acc, acc, acc, acc));
        const float scaled = (float)sum * fp16_to_fp32(w[i].d);
        y = fmaf(scaled, x[i].d, y);
    }
    return y;
}

void hydra_dot4_q6_K_tiled_avx2(int64_t n, const void *vw, const void *vx, size_t x_stride, float out[4]) {
    const block_q6_K *w = vw;
    const block_q8_K *x[4];
    for (int t = 0; t < 4; t++) x[t] = (const block_q8_K *)((const uint8_t *)vx + t * x_stride);
    __m128 y = _mm_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        __m256i acc[4];
        for (int t = 0; t < 4; t++) acc[t] = _mm256_sub_epi32(_mm256_setzero_si256(), q6_K_offset(&w[i], &x[t][i]));
        for (int half = 0; half < 2; half++) {
            __m256i q[4], sc[4];
            q6_K_unpack_half(&w[i], half, q, sc);
            for (int t = 0; t < 4; t++) acc[t] = q6_K_half_dot(q, sc, x[t][i].qs + 128 * half, acc[t]);
        }
        // Lane t: fma((float)sum_t · d_w, d_x[t], y_t), as the one-row kernel.
        const __m128 sums = _mm_cvtepi32_ps(hsum4_epi32(acc[0], acc[1], acc[2], acc[3]));
        const __m128 scaled = _mm_mul_ps(sums, _mm_set1_ps(fp16_to_fp32(w[i].d)));
        const __m128 dx = _mm_setr_ps(x[0][i].d, x[1][i].d, x[2][i].d, x[3][i].d);
        y = _mm_fmadd_ps(scaled, dx, y);
    }
    _mm_storeu_ps(out, y);
}

#endif
