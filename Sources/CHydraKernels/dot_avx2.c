// AVX2 kernels (with AVX-VNNI / AVX512-VNNI dot instructions when the CPU
// has them). Each gives the same bits as its portable twin in
// dot_scalar.c / activation.c; the tests check that on random data.

#include "kernels.h"
#include "quant_avx2.h"

#ifdef HYDRA_HAVE_AVX2

// ---- activation quantization --------------------------------------------------------

/// Quantizes 32 floats with scale 127/amax; returns d and the 8 int32 lanes'
/// packed bytes in qs; *sum receives the sum of the quants when non-NULL.
static inline float quantize_block_q8(const float *x, int8_t *qs, int *sum) {
    __m256 v0 = _mm256_loadu_ps(x), v1 = _mm256_loadu_ps(x + 8);
    __m256 v2 = _mm256_loadu_ps(x + 16), v3 = _mm256_loadu_ps(x + 24);
    const __m256 sign = _mm256_set1_ps(-0.0f);
    __m256 m = _mm256_andnot_ps(sign, v0);
    m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v1));
    m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v2));
    m = _mm256_max_ps(m, _mm256_andnot_ps(sign, v3));
    __m128 m4 = _mm_max_ps(_mm256_extractf128_ps(m, 1), _mm256_castps256_ps128(m));
    m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
    m4 = _mm_max_ss(m4, _mm_movehdup_ps(m4));
    const float amax = _mm_cvtss_f32(m4);
    const float d = amax / 127.f;
    const __m256 id = _mm256_set1_ps(amax != 0.0f ? 127.f / amax : 0.0f);
#define ROUND_EVEN (_MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)
    __m256i i0 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v0, id), ROUND_EVEN));
    __m256i i1 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v1, id), ROUND_EVEN));
    __m256i i2 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v2, id), ROUND_EVEN));
    __m256i i3 = _mm256_cvtps_epi32(_mm256_round_ps(_mm256_mul_ps(v3, id), ROUND_EVEN));
    if (sum) {
        const __m256i s = _mm256_add_epi32(_mm256_add_epi32(i0, i1), _mm256_add_epi32(i2, i3));
        __m128i s4 = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));
        s4 = _mm_add_epi32(s4, _mm_unpackhi_epi64(s4, s4));
        s4 = _mm_add_epi32(s4, _mm_shuffle_epi32(s4, _MM_SHUFFLE(2, 3, 0, 1)));
        *sum = _mm_cvtsi128_si32(s4);
    }
    // Packing works per 128-bit half; the permute restores element order.
    i0 = _mm256_packs_epi32(i0, i1);
    i2 = _mm256_packs_epi32(i2, i3);
    i0 = _mm256_packs_epi16(i0, i2);
    i0 = _mm256_permutevar8x32_epi32(i0, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256((__m256i *)qs, i0);
    return d;
}

void hydra_quantize_q8_0_avx2(const float *x, void *vy, int64_t n) {
    block_q8_0 *y = vy;
    for (int64_t i = 0; i < n / 32; i++) y[i].d = fp32_to_fp16(quantize_block_q8(x + 32 * i, y[i].qs, NULL));
}

void hydra_quantize_q8_1_avx2(const float *x, void *vy, int64_t n) {
    block_q8_1 *y = vy;
    for (int64_t i = 0; i < n / 32; i++) {
        int sum;
        const float d = quantize_block_q8(x + 32 * i, y[i].qs, &sum);
        y[i].d = fp32_to_fp16(d);
        y[i].s = fp32_to_fp16(d * (float)sum);
    }
}

// ---- 32-element blocks ----------------------------------------------------------------

// Q4_0, Q5_0, Q8_0: one fused multiply-add per block into eight lanes, as
// ggml's vec_dot. Blocks go in pairs only to convert and multiply their four
// half-precision scales in one vector; the sums run in block order.
#define DOT_SIGNED(NAME, BLOCK, LOAD)                                                            \
    float NAME(int64_t n, const void *vw, const void *vx) {                                     \
        const BLOCK *w = vw;                                                                     \
        const block_q8_0 *x = vx;                                                                \
        const int64_t nb = n / 32;                                                               \
        __m256 acc = _mm256_setzero_ps();                                                        \
        int64_t i = 0;                                                                           \
        for (; i + 2 <= nb; i += 2) {                                                            \
            __m256 da, db;                                                                       \
            scale_pair(w[i].d, x[i].d, w[i + 1].d, x[i + 1].d, &da, &db);                        \
            const __m256i ya = _mm256_loadu_si256((const __m256i *)x[i].qs);                     \
            const __m256i yb = _mm256_loadu_si256((const __m256i *)x[i + 1].qs);                 \
            acc = _mm256_fmadd_ps(da, _mm256_cvtepi32_ps(dot_i8i8(LOAD(&w[i]), ya)), acc);       \
            acc = _mm256_fmadd_ps(db, _mm256_cvtepi32_ps(dot_i8i8(LOAD(&w[i + 1]), yb)), acc);   \
        }                                                                                        \
        for (; i < nb; i++) {                                                                    \
            const __m256 d = _mm256_set1_ps(fp16_to_fp32(w[i].d) * fp16_to_fp32(x[i].d));        \
            const __m256i y = _mm256_loadu_si256((const __m256i *)x[i].qs);                      \
            acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_i8i8(LOAD(&w[i]), y)), acc);         \
        }                                                                                        \
        return hsum_ps(acc);                                                                     \
    }

DOT_SIGNED(hydra_dot_q4_0_avx2, block_q4_0, load_q4_0)
DOT_SIGNED(hydra_dot_q5_0_avx2, block_q5_0, load_q5_0)
DOT_SIGNED(hydra_dot_q8_0_avx2, block_q8_0, load_q8_0)


float hydra_dot_q4_1_avx2(int64_t n, const void *vw, const void *vx) {
    const block_q4_1 *w = vw;
    const block_q8_1 *x = vx;
    const int64_t nb = n / 32;
    __m256 acc = _mm256_setzero_ps();
    float summs = 0;
    int64_t i = 0;
    // Two blocks at a time: their four scales and four offset terms each
    // converted in one instruction; the sums still run block by block.
    for (; i + 2 <= nb; i += 2) {
        __m256 da, db;
        scale_pair(w[i].d, x[i].d, w[i + 1].d, x[i + 1].d, &da, &db);
        const __m128 ms = halves4(w[i].m, x[i].s, w[i + 1].m, x[i + 1].s);
        const __m128 ms_b = _mm_movehl_ps(ms, ms);
        summs = fmaf(_mm_cvtss_f32(ms), _mm_cvtss_f32(_mm_movehdup_ps(ms)), summs);
        summs = fmaf(_mm_cvtss_f32(ms_b), _mm_cvtss_f32(_mm_movehdup_ps(ms_b)), summs);
        const __m256i ya = _mm256_loadu_si256((const __m256i *)x[i].qs);
        const __m256i yb = _mm256_loadu_si256((const __m256i *)x[i + 1].qs);
        acc = _mm256_fmadd_ps(da, _mm256_cvtepi32_ps(dot_u8i8(unpack_nibbles(w[i].qs), ya)), acc);
        acc = _mm256_fmadd_ps(db, _mm256_cvtepi32_ps(dot_u8i8(unpack_nibbles(w[i + 1].qs), yb)), acc);
    }
    for (; i < nb; i++) {
        summs = fmaf(fp16_to_fp32(w[i].m), fp16_to_fp32(x[i].s), summs);
        const __m256 d = _mm256_set1_ps(fp16_to_fp32(w[i].d) * fp16_to_fp32(x[i].d));
        const __m256i y = _mm256_loadu_si256((const __m256i *)x[i].qs);
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_u8i8(unpack_nibbles(w[i].qs), y)), acc);
    }
    return hsum_ps(acc) + summs;
}

float hydra_dot_q5_1_avx2(int64_t n, const void *vw, const void *vx) {
    const block_q5_1 *w = vw;
    const block_q8_1 *x = vx;
    __m256 acc = _mm256_setzero_ps();
    float summs = 0;
    for (int64_t i = 0; i < n / 32; i++) {
        summs = fmaf(fp16_to_fp32(w[i].m), fp16_to_fp32(x[i].s), summs);
        const __m256 d = _mm256_set1_ps(fp16_to_fp32(w[i].d) * fp16_to_fp32(x[i].d));
        const __m256i hi = _mm256_and_si256(unpack_bits(w[i].qh), _mm256_set1_epi8(0x10));
        const __m256i q = _mm256_or_si256(unpack_nibbles(w[i].qs), hi);
        const __m256i y = _mm256_loadu_si256((const __m256i *)x[i].qs);
        acc = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_u8i8(q, y)), acc);
    }
    return hsum_ps(acc) + summs;
}


// ---- K-quants ---------------------------------------------------------------------

float hydra_dot_q4_K_avx2(int64_t n, const void *vw, const void *vx) {
    const block_q4_K *w = vw;
    const block_q8_K *x = vx;
    const uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    __m256 acc = _mm256_setzero_ps();
    __m128 acc_m = _mm_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = x[i].d * fp16_to_fp32(w[i].d);
        const float dmin = -x[i].d * fp16_to_fp32(w[i].dmin);
        // 8 scales then 8 mins, 6 bits each, unpacked into 16 bytes.
        uint32_t u[4];
        memcpy(u, w[i].scales, 12);
        u[3] = ((u[2] >> 4) & kmask2) | (((u[1] >> 6) & kmask3) << 4);
        const uint32_t mins_lo = u[1] & kmask1;
        u[1] = (u[2] & kmask2) | (((u[0] >> 6) & kmask3) << 4);
        u[2] = mins_lo;
        u[0] &= kmask1;
        const __m256i scales_mins = _mm256_cvtepu8_epi16(_mm_set_epi32((int)u[3], (int)u[2], (int)u[1], (int)u[0]));

        // Mins: min[j] * (sum of the 32 activations of sub-block j).
        const __m256i bsums = _mm256_loadu_si256((const __m256i *)x[i].bsums);
        const __m128i sums32 = _mm_hadd_epi16(_mm256_castsi256_si128(bsums), _mm256_extracti128_si256(bsums, 1));
        const __m128i mins_prod = _mm_madd_epi16(_mm256_extracti128_si256(scales_mins, 1), sums32);
        acc_m = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(mins_prod), acc_m);

        const __m128i sc128 = _mm256_castsi256_si128(scales_mins);
        const __m256i scales = _mm256_set_m128i(sc128, sc128);
        const uint8_t *q4 = w[i].qs;
        const int8_t *q8 = x[i].qs;
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++, q4 += 32, q8 += 64) {
            // Broadcast scale 2j to every int16 lane, and scale 2j+1.
            const __m256i scale_l = _mm256_shuffle_epi8(scales, _mm256_set1_epi16((short)((4 * j + 1) << 8 | (4 * j))));
            const __m256i scale_h = _mm256_shuffle_epi8(scales, _mm256_set1_epi16((short)((4 * j + 3) << 8 | (4 * j + 2))));
            const __m256i bits = _mm256_loadu_si256((const __m256i *)q4);
            const __m256i lo = _mm256_and_si256(bits, m4);
            const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
            const __m256i pl = _mm256_madd_epi16(scale_l, _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)q8)));
            const __m256i ph = _mm256_madd_epi16(scale_h, _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(q8 + 32))));
            sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(pl, ph));
        }
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    acc_m = _mm_add_ps(acc_m, _mm_movehl_ps(acc_m, acc_m));
    acc_m = _mm_add_ss(acc_m, _mm_movehdup_ps(acc_m));
    return hsum_ps(acc) + _mm_cvtss_f32(acc_m);
}

float hydra_dot_q6_K_avx2(int64_t n, const void *vw, const void *vx) {
    const block_q6_K *w = vw;
    const block_q8_K *x = vx;
    const __m256i m3 = _mm256_set1_epi8(3), m15 = _mm256_set1_epi8(15);
    __m256 acc = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float d = x[i].d * fp16_to_fp32(w[i].d);
        const uint8_t *ql = w[i].ql, *qh = w[i].qh;
        const int8_t *q8 = x[i].qs;
        const __m128i scales = _mm_loadu_si128((const __m128i *)w[i].scales);
        // The -32 offset of every value, through the activation block sums.
        const __m256i bsums = _mm256_loadu_si256((const __m256i *)x[i].bsums);
        const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(bsums, _mm256_cvtepi8_epi16(scales)), 5);
        __m256i sumi = _mm256_setzero_si256();
        for (int j = 0; j < 2; j++, ql += 64, qh += 32, q8 += 128) {
            const __m256i b1 = _mm256_loadu_si256((const __m256i *)ql);
            const __m256i b2 = _mm256_loadu_si256((const __m256i *)(ql + 32));
            const __m256i bh = _mm256_loadu_si256((const __m256i *)qh);
            __m256i q[4];
            q[0] = _mm256_or_si256(_mm256_and_si256(b1, m15), _mm256_slli_epi16(_mm256_and_si256(bh, m3), 4));
            q[1] = _mm256_or_si256(_mm256_and_si256(b2, m15), _mm256_slli_epi16(_mm256_and_si256(bh, _mm256_set1_epi8(12)), 2));
            q[2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b1, 4), m15), _mm256_and_si256(bh, _mm256_set1_epi8(48)));
            q[3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b2, 4), m15),
                                   _mm256_srli_epi16(_mm256_and_si256(bh, _mm256_set1_epi8((char)0xC0)), 2));
            for (int c = 0; c < 4; c++) {
                // Scale of elements 0..15 of this chunk in the low half, 16..31 in the high half.
                const uint64_t s = (uint64_t)(2 * (4 * j + c));
                const __m128i pick = _mm_set_epi64x((long long)(0x0101010101010101ULL * (s + 1)),
                                                    (long long)(0x0101010101010101ULL * s));
                const __m256i sc = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, pick));
                const __m256i p = _mm256_maddubs_epi16(q[c], _mm256_loadu_si256((const __m256i *)(q8 + 32 * c)));
                sumi = _mm256_add_epi32(sumi, _mm256_madd_epi16(sc, p));
            }
        }
        sumi = _mm256_sub_epi32(sumi, offset);
        acc = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc);
    }
    return hsum_ps(acc);
}


// ---- four tokens at once (prompt processing) -----------------------------------------
// Each weight block is unpacked once and dotted with four activation rows;
// per token the arithmetic is exactly that of the one-token kernel above.

#define DOT4_SIGNED(NAME, BLOCK, LOAD)                                                           \
    void NAME(int64_t n, const void *vw, const void *vx, size_t x_stride, float out[4]) {       \
        const BLOCK *w = vw;                                                                      \
        const block_q8_0 *x[4];                                                                   \
        for (int t = 0; t < 4; t++) x[t] = (const block_q8_0 *)((const uint8_t *)vx + t * x_stride); \
        __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()}; \
        for (int64_t i = 0; i < n / 32; i++) {                                                    \
            const float dw = fp16_to_fp32(w[i].d);                                                \
            const __m256i q = LOAD(&w[i]);                                                        \
            const __m256i aq = _mm256_sign_epi8(q, q);                                            \
            for (int t = 0; t < 4; t++) {                                                         \
                const __m256 d = _mm256_set1_ps(dw * fp16_to_fp32(x[t][i].d));                    \
                const __m256i y = _mm256_loadu_si256((const __m256i *)x[t][i].qs);                \
                acc[t] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_u8i8(aq, _mm256_sign_epi8(y, q))), acc[t]); \
            }                                                                                     \
        }                                                                                         \
        for (int t = 0; t < 4; t++) out[t] = hsum_ps(acc[t]);                                     \
    }

DOT4_SIGNED(hydra_dot4_q4_0_avx2, block_q4_0, load_q4_0)
DOT4_SIGNED(hydra_dot4_q5_0_avx2, block_q5_0, load_q5_0)
DOT4_SIGNED(hydra_dot4_q8_0_avx2, block_q8_0, load_q8_0)

/// Q4_1 for four tokens: per token exactly hydra_dot_q4_1_avx2.
void hydra_dot4_q4_1_avx2(int64_t n, const void *vw, const void *vx, size_t x_stride, float out[4]) {
    const block_q4_1 *w = vw;
    const block_q8_1 *x[4];
    for (int t = 0; t < 4; t++) x[t] = (const block_q8_1 *)((const uint8_t *)vx + t * x_stride);
    __m256 acc[4] = {_mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps(), _mm256_setzero_ps()};
    float summs[4] = {0, 0, 0, 0};
    for (int64_t i = 0; i < n / 32; i++) {
        const float wd = fp16_to_fp32(w[i].d), wm = fp16_to_fp32(w[i].m);
        const __m256i q = unpack_nibbles(w[i].qs);
        for (int t = 0; t < 4; t++) {
            const block_q8_1 *y = &x[t][i];
            summs[t] = fmaf(wm, fp16_to_fp32(y->s), summs[t]);
            const __m256 d = _mm256_set1_ps(wd * fp16_to_fp32(y->d));
            const __m256i yq = _mm256_loadu_si256((const __m256i *)y->qs);
            acc[t] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(dot_u8i8(q, yq)), acc[t]);
        }
    }
    for (int t = 0; t < 4; t++) out[t] = hsum_ps(acc[t]) + summs[t];
}

void hydra_dot4_q4_K_avx2(int64_t n, const void *vw, const void *vx, size_t x_stride, float out[4]) {
    const block_q4_K *w = vw;
    const block_q8_K *x[4];
    for (int t = 0; t < 4; t++) x[t] = (const block_q8_K *)((const uint8_t *)vx + t * x_stride);
    const uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
    const __m256i m4 = _mm256_set1_epi8(0xF);
    __m256 acc[4];
    __m128 acc_m[4];
    for (int t = 0; t < 4; t++) {
        acc[t] = _mm256_setzero_ps();
        acc_m[t] = _mm_setzero_ps();
    }
    for (int64_t i = 0; i < n / QK_K; i++) {
        const float wd = fp16_to_fp32(w[i].d), wdmin = fp16_to_fp32(w[i].dmin);
        uint32_t u[4];
        memcpy(u, w[i].scales, 12);
        u[3] = ((u[2] >> 4) & kmask2) | (((u[1] >> 6) & kmask3) << 4);
        const uint32_t mins_lo = u[1] & kmask1;
        u[1] = (u[2] & kmask2) | (((u[0] >> 6) & kmask3) << 4);
        u[2] = mins_lo;
        u[0] &= kmask1;
        const __m256i scales_mins = _mm256_cvtepu8_epi16(_mm_set_epi32((int)u[3], (int)u[2], (int)u[1], (int)u[0]));
        const __m128i mins = _mm256_extracti128_si256(scales_mins, 1);
        const __m128i sc128 = _mm256_castsi256_si128(scales_mins);
        const __m256i scales = _mm256_set_m128i(sc128, sc128);
        __m256i lo[4], hi[4], scale_l[4], scale_h[4];
        for (int j = 0; j < 4; j++) {
            const __m256i bits = _mm256_loadu_si256((const __m256i *)(w[i].qs + 32 * j));
            lo[j] = _mm256_and_si256(bits, m4);
            hi[j] = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
            scale_l[j] = _mm256_shuffle_epi8(scales, _mm256_set1_epi16((short)((4 * j + 1) << 8 | (4 * j))));
            scale_h[j] = _mm256_shuffle_epi8(scales, _mm256_set1_epi16((short)((4 * j + 3) << 8 | (4 * j + 2))));
        }
        for (int t = 0; t < 4; t++) {
            const block_q8_K *y = &x[t][i];
            const float d = y->d * wd, dmin = -y->d * wdmin;
            const __m256i bsums = _mm256_loadu_si256((const __m256i *)y->bsums);
            const __m128i sums32 = _mm_hadd_epi16(_mm256_castsi256_si128(bsums), _mm256_extracti128_si256(bsums, 1));
            acc_m[t] = _mm_fmadd_ps(_mm_set1_ps(dmin), _mm_cvtepi32_ps(_mm_madd_epi16(mins, sums32)), acc_m[t]);
            __m256i sumi = _mm256_setzero_si256();
            for (int j = 0; j < 4; j++) {
                const __m256i pl = _mm256_madd_epi16(scale_l[j], _mm256_maddubs_epi16(lo[j], _mm256_loadu_si256((const __m256i *)(y->qs + 64 * j))));
                const __m256i ph = _mm256_madd_epi16(scale_h[j], _mm256_maddubs_epi16(hi[j], _mm256_loadu_si256((const __m256i *)(y->qs + 64 * j + 32))));
                sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(pl, ph));
            }
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(sumi), acc[t]);
        }
    }
    for (int t = 0; t < 4; t++) {
        __m128 m = _mm_add_ps(acc_m[t], _mm_movehl_ps(acc_m[t], acc_m[t]));
        m = _mm_add_ss(m, _mm_movehdup_ps(m));
        out[t] = hsum_ps(acc[t]) + _mm_cvtss_f32(m);
    }
}

#endif
