// Q4_K products in the arithmetic of ggml's repacked x86 kernels.
//
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

#include "kernels.h"

/// Unpacks the 6-bit scales and mins of a Q4_K block.
static inline void q4_K_scales_mins(const uint8_t *s, uint8_t scales[8], uint8_t mins[8]) {
    for (int j = 0; j < 4; j++) {
        scales[j] = s[j] & 63;
        mins[j] = s[j + 4] & 63;
    }
    for (int j = 4; j < 8; j++) {
        scales[j] = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
        mins[j] = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

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

/// Adds one super-block's sums to the two float accumulators, as ggml does.
static inline void q4_K_x8_accumulate(const block_q4_K *w, const block_q8_K *x, int32_t sum, int32_t msum,
                                      float *acc, float *accm) {
    *acc = fmaf((float)sum, fp16_to_fp32(w->d) * x->d, *acc);
    *accm = fmaf((float)msum, fp16_to_fp32(w->dmin) * x->d, *accm);
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

#if defined(__AVX2__) && defined(__FMA__)

static inline int32_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

/// Scales (low 128 bits) and mins (high 128 bits) of a Q4_K block as int16.
static inline __m256i q4_K_scales_mins_avx2(const uint8_t *scales) {
    const uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
    uint32_t u[4];
    memcpy(u, scales, 12);
    u[3] = ((u[2] >> 4) & kmask2) | (((u[1] >> 6) & kmask3) << 4);
    const uint32_t mins_lo = u[1] & kmask1;
    u[1] = (u[2] & kmask2) | (((u[0] >> 6) & kmask3) << 4);
    u[2] = mins_lo;
    u[0] &= kmask1;
    return _mm256_cvtepu8_epi16(_mm_set_epi32((int)u[3], (int)u[2], (int)u[1], (int)u[0]));
}

/// The unpacked weights of one Q4_K block, reused across activation rows.
typedef struct {
    __m256i lo[4], hi[4], scale_l[4], scale_h[4];
    __m128i mins;
} q4_K_unpacked;

static inline void q4_K_unpack_avx2(const block_q4_K *w, q4_K_unpacked *u) {
    const __m256i m4 = _mm256_set1_epi8(0xF);
    const __m256i scales_mins = q4_K_scales_mins_avx2(w->scales);
    u->mins = _mm256_extracti128_si256(scales_mins, 1);
    const __m128i sc128 = _mm256_castsi256_si128(scales_mins);
    const __m256i scales = _mm256_set_m128i(sc128, sc128);
    for (int j = 0; j < 4; j++) {
        const __m256i bits = _mm256_loadu_si256((const __m256i *)(w->qs + 32 * j));
        u->lo[j] = _mm256_and_si256(bits, m4);
        u->hi[j] = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
        u->scale_l[j] = _mm256_shuffle_epi8(scales, _mm256_set1_epi16((short)((4 * j + 1) << 8 | (4 * j))));
        u->scale_h[j] = _mm256_shuffle_epi8(scales, _mm256_set1_epi16((short)((4 * j + 3) << 8 | (4 * j + 2))));
    }
}

static inline void q4_K_block_sums_avx2(const q4_K_unpacked *u, const block_q8_K *x, int32_t *sum, int32_t *msum) {
    __m256i sumi = _mm256_setzero_si256();
    for (int j = 0; j < 4; j++) {
        const __m256i yl = _mm256_loadu_si256((const __m256i *)(x->qs + 64 * j));
        const __m256i yh = _mm256_loadu_si256((const __m256i *)(x->qs + 64 * j + 32));
        const __m256i pl = _mm256_madd_epi16(u->scale_l[j], _mm256_maddubs_epi16(u->lo[j], yl));
        const __m256i ph = _mm256_madd_epi16(u->scale_h[j], _mm256_maddubs_epi16(u->hi[j], yh));
        sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(pl, ph));
    }
    const __m256i bsums = _mm256_loadu_si256((const __m256i *)x->bsums);
    const __m128i sums32 = _mm_hadd_epi16(_mm256_castsi256_si128(bsums), _mm256_extracti128_si256(bsums, 1));
    __m128i m = _mm_madd_epi16(u->mins, sums32);
    m = _mm_add_epi32(m, _mm_shuffle_epi32(m, 0x4E));
    m = _mm_add_epi32(m, _mm_shuffle_epi32(m, 0xB1));
    *sum = hsum_epi32(sumi);
    *msum = _mm_cvtsi128_si32(m);
}

float hydra_dot_q4_K_x8_avx2(int64_t n, const void *vw, const void *vx) {
    const block_q4_K *w = vw;
    const block_q8_K *x = vx;
    float acc = 0, accm = 0;
    for (int64_t i = 0; i < n / QK_K; i++) {
        q4_K_unpacked u;
        q4_K_unpack_avx2(&w[i], &u);
        int32_t sum, msum;
        q4_K_block_sums_avx2(&u, &x[i], &sum, &msum);
        q4_K_x8_accumulate(&w[i], &x[i], sum, msum, &acc, &accm);
    }
    return acc - accm;
}

/// The four 64-value chunk sums of one token's block: Σ scale·q·x (lane j of
/// *sum) and Σ min·Σx (lane j of *msum), both exact integers.
static inline void q4_K_chunk_sums4_avx2(const q4_K_unpacked *u, const block_q8_K *x, __m128i *sum, __m128i *msum) {
    __m256i c[4];
    for (int j = 0; j < 4; j++) {
        const __m256i yl = _mm256_loadu_si256((const __m256i *)(x->qs + 64 * j));
        const __m256i yh = _mm256_loadu_si256((const __m256i *)(x->qs + 64 * j + 32));
        const __m256i pl = _mm256_madd_epi16(u->scale_l[j], _mm256_maddubs_epi16(u->lo[j], yl));
        const __m256i ph = _mm256_madd_epi16(u->scale_h[j], _mm256_maddubs_epi16(u->hi[j], yh));
        c[j] = _mm256_add_epi32(pl, ph);
    }
    // Lane sums of c[0..3] as one vector.
    const __m256i c01 = _mm256_hadd_epi32(c[0], c[1]), c23 = _mm256_hadd_epi32(c[2], c[3]);
    const __m256i c0123 = _mm256_hadd_epi32(c01, c23);
    *sum = _mm_add_epi32(_mm256_castsi256_si128(c0123), _mm256_extracti128_si256(c0123, 1));
    const __m256i bsums = _mm256_loadu_si256((const __m256i *)x->bsums);
    const __m128i sums32 = _mm_hadd_epi16(_mm256_castsi256_si128(bsums), _mm256_extracti128_si256(bsums, 1));
    *msum = _mm_madd_epi16(u->mins, sums32);
}

void hydra_dot4_q4_K_x8_avx2(int64_t n, const void *vw, const void *vx, size_t x_stride, float out[4]) {
    const block_q4_K *w = vw;
    const block_q8_K *x[4];
    for (int t = 0; t < 4; t++) x[t] = (const block_q8_K *)((const uint8_t *)vx + t * x_stride);
    // Lane t of acc / accm is token t's accumulator; the chunks of a block
    // are added one after the other, as in the portable kernel.
    __m128 acc = _mm_setzero_ps(), accm = _mm_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        q4_K_unpacked u;
        q4_K_unpack_avx2(&w[i], &u);
        __m128 s[4], m[4]; // token t's chunk sums
        for (int t = 0; t < 4; t++) {
            __m128i sum, msum;
            q4_K_chunk_sums4_avx2(&u, &x[t][i], &sum, &msum);
            s[t] = _mm_cvtepi32_ps(sum);
            m[t] = _mm_cvtepi32_ps(msum);
        }
        _MM_TRANSPOSE4_PS(s[0], s[1], s[2], s[3]); // now s[j]: chunk j of every token
        _MM_TRANSPOSE4_PS(m[0], m[1], m[2], m[3]);
        const __m128 dx = _mm_setr_ps(x[0][i].d, x[1][i].d, x[2][i].d, x[3][i].d);
        const __m128 d = _mm_mul_ps(_mm_set1_ps(fp16_to_fp32(w[i].d)), dx);
        const __m128 dmin = _mm_mul_ps(_mm_set1_ps(fp16_to_fp32(w[i].dmin)), dx);
        for (int j = 0; j < 4; j++) {
            acc = _mm_fmadd_ps(s[j], d, acc);
            accm = _mm_fmadd_ps(m[j], dmin, accm);
        }
    }
    _mm_storeu_ps(out, _mm_sub_ps(acc, accm));
}

#endif
