// AVX2 dot products of K-quant super-blocks (Q4_K, Q6_K; the other
// K-quants have only their portable kernels), in each order ggml computes
// them in: its vec_dot (one token, four tokens), its repacked Q4_K kernels
// and its tiled Q6_K matmul. Each gives the same bits as its portable twin
// in dot_k.c; the tests check that on random data.

#include "blocks_avx2.h"
#include "../dot_k.h"

#ifdef HYDRA_HAVE_AVX2

// ---- ggml's vec_dot -------------------------------------------------------------------

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

/// ggml's Q6_K vec_dot for `nt` tokens (`x_stride` bytes apart): out[t * out_stride].
/// With several tokens, a row's values are unpacked once and multiplied
/// with each token in the lanes and float steps of one token alone (the
/// integer sums of a lane are exact in any order): the same bits.
static inline __attribute__((always_inline)) void q6_K_each(int64_t n, const block_q6_K *w, const uint8_t *vx,
                                                            size_t x_stride, const int nt, float *out,
                                                            int64_t out_stride) {
    const __m256i m3 = _mm256_set1_epi8(3), m15 = _mm256_set1_epi8(15);
    __m256 acc[4];
    for (int t = 0; t < nt; t++) acc[t] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++) {
        const block_q8_K *x[4];
        for (int t = 0; t < nt; t++) x[t] = (const block_q8_K *)(vx + t * x_stride) + i;
        const uint8_t *ql = w[i].ql, *qh = w[i].qh;
        const __m128i scales = _mm_loadu_si128((const __m128i *)w[i].scales);
        __m256i sumi[4];
        for (int t = 0; t < nt; t++) sumi[t] = _mm256_setzero_si256();
        for (int j = 0; j < 2; j++, ql += 64, qh += 32) {
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
                const uint64_t s = (uint64_t)(2 * (4 * j + c));
                const __m128i pick = _mm_set_epi64x((long long)(0x0101010101010101ULL * (s + 1)),
                                                    (long long)(0x0101010101010101ULL * s));
                const __m256i sc = _mm256_cvtepi8_epi16(_mm_shuffle_epi8(scales, pick));
                for (int t = 0; t < nt; t++) {
                    const __m256i p =
                        _mm256_maddubs_epi16(q[c], _mm256_loadu_si256((const __m256i *)(x[t]->qs + 128 * j + 32 * c)));
                    sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(sc, p));
                }
            }
        }
        const __m256i scales16 = _mm256_cvtepi8_epi16(scales);
        for (int t = 0; t < nt; t++) {
            const __m256i bsums = _mm256_loadu_si256((const __m256i *)x[t]->bsums);
            const __m256i offset = _mm256_slli_epi32(_mm256_madd_epi16(bsums, scales16), 5);
            const float d = x[t]->d * fp16_to_fp32(w[i].d);
            acc[t] = _mm256_fmadd_ps(_mm256_set1_ps(d), _mm256_cvtepi32_ps(_mm256_sub_epi32(sumi[t], offset)), acc[t]);
        }
    }
    for (int t = 0; t < nt; t++) out[t * out_stride] = hsum_ps(acc[t]);
}

float hydra_dot_q6_K_avx2(int64_t n, const void *vw, const void *vx) {
    float out;
    q6_K_each(n, vw, vx, 0, 1, &out, 0);
    return out;
}

// ---- several tokens, each with the one-token arithmetic --------------------------------
// Sequences decoded together must each get the bits they would get alone,
// so a row's weights are unpacked once and then multiplied with each
// token in exactly the one-token kernel's lanes and order of float steps
// (the integer sums of a lane are exact in any order).

/// Q6_K for four tokens: per token exactly hydra_dot_q6_K_avx2 (ggml's
/// vec_dot, which it also runs for a few rows).
void hydra_dot4_q6_K_avx2(int64_t n, const void *w, const void *x, size_t x_stride, float out[4]) {
    q6_K_each(n, w, x, x_stride, 4, out, 1);
}

void hydra_dot_each_q6_K_avx2(int64_t n, const void *w, const void *x, size_t x_stride, int32_t ntok, float *out,
                              int64_t out_stride) {
    switch (ntok) {
    case 4: q6_K_each(n, w, x, x_stride, 4, out, out_stride); break;
    case 3: q6_K_each(n, w, x, x_stride, 3, out, out_stride); break;
    case 2: q6_K_each(n, w, x, x_stride, 2, out, out_stride); break;
    default: q6_K_each(n, w, x, x_stride, 1, out, out_stride); break;
    }
}

/// Q4_K for four tokens: per token exactly hydra_dot_q4_K_avx2.
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

// ---- Q4_K repacked --------------------------------------------------------------------
// ggml's gemv (one token) and gemm (four tokens) on 8-row repacked Q4_K
// (see dot_k.c): the same integer sums, computed with AVX2.

static inline int32_t hsum_epi32(__m256i v) {
    __m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4E));
    s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xB1));
    return _mm_cvtsi128_si32(s);
}

/// Scales (low 128 bits) and mins (high 128 bits) of a Q4_K block as int16.
/// The 12 bytes of 6-bit fields are unpacked with two byte shuffles; the
/// 16-byte load stays inside the block (its quants follow).
static inline __m256i q4_K_scales_mins_avx2(const uint8_t *scales) {
    const __m128i s = _mm_loadu_si128((const __m128i *)scales);
    // a: the byte holding each field's low bits; b: the byte holding its top two.
    const __m128i a = _mm_shuffle_epi8(s, _mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11));
    const __m128i b = _mm_shuffle_epi8(s, _mm_setr_epi8(0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 0, 0, 4, 5, 6, 7));
    const __m128i low = _mm_and_si128(a, _mm_setr_epi8(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 0, 0, 0, 0));
    const __m128i high = _mm_and_si128(_mm_srli_epi16(a, 4), _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 15, 15, 15));
    const __m128i top = _mm_srli_epi16(
        _mm_and_si128(b, _mm_setr_epi8(0, 0, 0, 0, -64, -64, -64, -64, 0, 0, 0, 0, -64, -64, -64, -64)), 2);
    return _mm256_cvtepu8_epi16(_mm_or_si128(_mm_or_si128(low, high), top));
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

/// Lane r = the sum of the eight int32 lanes of v[r], for r = 0..7.
static inline __m256i hsum8_epi32(const __m256i v[8]) {
    const __m256i h01 = _mm256_hadd_epi32(v[0], v[1]), h23 = _mm256_hadd_epi32(v[2], v[3]);
    const __m256i h45 = _mm256_hadd_epi32(v[4], v[5]), h67 = _mm256_hadd_epi32(v[6], v[7]);
    const __m256i h0123 = _mm256_hadd_epi32(h01, h23), h4567 = _mm256_hadd_epi32(h45, h67);
    // Each 128-bit half of h0123 holds rows 0..3 of its half of the lanes.
    return _mm256_add_epi32(_mm256_permute2x128_si256(h0123, h4567, 0x20),
                            _mm256_permute2x128_si256(h0123, h4567, 0x31));
}

/// Σ scale·q·x over one Q4_K block as eight int32 lanes (to be summed);
/// `scales` holds the block's eight scales as int16 in both 128-bit halves.
static inline __m256i q4_K_block_dot_avx2(const block_q4_K *w, __m256i scales, const int8_t *y) {
    const __m256i m4 = _mm256_set1_epi8(0xF);
    __m256i sumi = _mm256_setzero_si256();
    for (int j = 0; j < 4; j++) {
        const __m256i scale_l = _mm256_shuffle_epi8(scales, _mm256_set1_epi16((short)((4 * j + 1) << 8 | (4 * j))));
        const __m256i scale_h = _mm256_shuffle_epi8(scales, _mm256_set1_epi16((short)((4 * j + 3) << 8 | (4 * j + 2))));
        const __m256i bits = _mm256_loadu_si256((const __m256i *)(w->qs + 32 * j));
        const __m256i lo = _mm256_and_si256(bits, m4);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
        const __m256i pl = _mm256_maddubs_epi16(lo, _mm256_loadu_si256((const __m256i *)(y + 64 * j)));
        const __m256i ph = _mm256_maddubs_epi16(hi, _mm256_loadu_si256((const __m256i *)(y + 64 * j + 32)));
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
        // VNNI's word dot product adds scale·p pairs straight into the sums.
        sumi = _mm256_dpwssd_epi32(_mm256_dpwssd_epi32(sumi, scale_l, pl), scale_h, ph);
#else
        sumi = _mm256_add_epi32(sumi, _mm256_add_epi32(_mm256_madd_epi16(scale_l, pl), _mm256_madd_epi16(scale_h, ph)));
#endif
    }
    return sumi;
}

void hydra_dot8_q4_K_x8_avx2(int64_t n, const void *vw, size_t w_stride, const void *vx, float out[8]) {
    enum { SPAN = 16 }; // super-blocks per pass
    const block_q8_K *x = vx;
    const int64_t nb = n / QK_K;
    // Lane r of acc / accm is row r's accumulator (ggml's gemv keeps them so).
    __m256 acc = _mm256_setzero_ps(), accm = _mm256_setzero_ps();
    for (int64_t i0 = 0; i0 < nb; i0 += SPAN) {
        const int64_t span = nb - i0 < SPAN ? nb - i0 : SPAN;
        // The integer sums, row after row, so memory is read in order.
        __m256i sum[SPAN][8];
        __m128i msum[SPAN][8], sums32[SPAN];
        for (int64_t i = 0; i < span; i++) { // Σx of each 32-value sub-block, as int16
            const __m256i bsums = _mm256_loadu_si256((const __m256i *)x[i0 + i].bsums);
            sums32[i] = _mm_hadd_epi16(_mm256_castsi256_si128(bsums), _mm256_extracti128_si256(bsums, 1));
        }
        for (int r = 0; r < 8; r++) {
            const block_q4_K *w = (const block_q4_K *)((const uint8_t *)vw + r * w_stride) + i0;
            for (int64_t i = 0; i < span; i++) {
                const __m256i scales_mins = q4_K_scales_mins_avx2(w[i].scales);
                const __m128i sc128 = _mm256_castsi256_si128(scales_mins);
                sum[i][r] = q4_K_block_dot_avx2(&w[i], _mm256_set_m128i(sc128, sc128), x[i0 + i].qs);
                msum[i][r] = _mm_madd_epi16(_mm256_extracti128_si256(scales_mins, 1), sums32[i]);
            }
        }
        // Then ggml's float steps for the eight rows at once.
        for (int64_t i = 0; i < span; i++) {
            const __m256i s = hsum8_epi32(sum[i]);
            __m256i m4[4]; // rows 2k and 2k+1, four lanes each
            for (int k = 0; k < 4; k++) m4[k] = _mm256_set_m128i(msum[i][2 * k + 1], msum[i][2 * k]);
            // hadd twice leaves rows (0 2 4 6 | 1 3 5 7); put them in order.
            const __m256i m2 = _mm256_hadd_epi32(_mm256_hadd_epi32(m4[0], m4[1]), _mm256_hadd_epi32(m4[2], m4[3]));
            const __m256i m = _mm256_permutevar8x32_epi32(m2, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
            uint16_t dh[8], mh[8];
            for (int r = 0; r < 8; r++) {
                const block_q4_K *w = (const block_q4_K *)((const uint8_t *)vw + r * w_stride) + i0 + i;
                dh[r] = w->d;
                mh[r] = w->dmin;
            }
            const __m256 dx = _mm256_set1_ps(x[i0 + i].d);
            const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)dh));
            const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)mh));
            acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(d, dx), acc);
            accm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(m), _mm256_mul_ps(dmin, dx), accm);
        }
    }
    _mm256_storeu_ps(out, _mm256_sub_ps(acc, accm));
}

// ---- Q4_K, eight rows by four tokens (ggml's gemm) ------------------------------------
// A prompt multiplies every weight row with hundreds of tokens, so eight
// rows are first rewritten once as block_q4_K_rows8 (dot_k.h): values as
// bytes, row r in 32-bit lane r. Four bytes of a token broadcast to all
// lanes then give eight rows' products per instruction, and each row's
// exact chunk sums land in its own lane, ready for ggml's float steps.

/// Transposes an 8×8 matrix of int32: row r of the result holds lane r of each v.
static inline void transpose8_epi32(__m256i v[8]) {
    __m256i t[8], u[8];
    for (int k = 0; k < 4; k++) {
        t[2 * k] = _mm256_unpacklo_epi32(v[2 * k], v[2 * k + 1]);
        t[2 * k + 1] = _mm256_unpackhi_epi32(v[2 * k], v[2 * k + 1]);
    }
    for (int k = 0; k < 2; k++) {
        u[4 * k] = _mm256_unpacklo_epi64(t[4 * k], t[4 * k + 2]);
        u[4 * k + 1] = _mm256_unpackhi_epi64(t[4 * k], t[4 * k + 2]);
        u[4 * k + 2] = _mm256_unpacklo_epi64(t[4 * k + 1], t[4 * k + 3]);
        u[4 * k + 3] = _mm256_unpackhi_epi64(t[4 * k + 1], t[4 * k + 3]);
    }
    for (int k = 0; k < 4; k++) {
        v[k] = _mm256_permute2x128_si256(u[k], u[k + 4], 0x20);
        v[k + 4] = _mm256_permute2x128_si256(u[k], u[k + 4], 0x31);
    }
}

void hydra_pack8_q4_K(int64_t n, const void *vw, size_t w_stride, void *out) {
    const __m256i m4 = _mm256_set1_epi8(0xF);
    block_q4_K_rows8 *p = out;
    for (int64_t i = 0; i < n / QK_K; i++, p++) {
        const block_q4_K *w[8];
        for (int r = 0; r < 8; r++) w[r] = (const block_q4_K *)((const uint8_t *)vw + r * w_stride) + i;
        for (int j = 0; j < 4; j++) {
            // Sub-block 2j is the low nibbles of bytes 32j.., 2j+1 the high ones;
            // four values (one int32) per group, transposed so lane r is row r.
            __m256i lo[8], hi[8];
            for (int r = 0; r < 8; r++) {
                const __m256i bits = _mm256_loadu_si256((const __m256i *)(w[r]->qs + 32 * j));
                lo[r] = _mm256_and_si256(bits, m4);
                hi[r] = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
            }
            transpose8_epi32(lo);
            transpose8_epi32(hi);
            for (int g = 0; g < 8; g++) {
                _mm256_storeu_si256((__m256i *)p->q[2 * j][g], lo[g]);
                _mm256_storeu_si256((__m256i *)p->q[2 * j + 1][g], hi[g]);
            }
        }
        for (int r = 0; r < 8; r++) {
            uint8_t scales[8], mins[8];
            q4_K_scales_mins(w[r]->scales, scales, mins);
            for (int k = 0; k < 8; k++) p->scales[k][r] = scales[k];
            for (int j = 0; j < 4; j++) {
                p->mins[j][r][0] = mins[2 * j];
                p->mins[j][r][1] = mins[2 * j + 1];
            }
            p->d[r] = fp16_to_fp32(w[r]->d);
            p->dmin[r] = fp16_to_fp32(w[r]->dmin);
        }
    }
}

// Sums of u8·s8 products, four adjacent bytes to an int32 lane, over a few
// steps: `u8s8_add` adds one step's products to an accumulator started at
// zero, `u8s8_widen` gives its int32 lanes. With VNNI that is dpbusd on
// int32 lanes. Without, maddubs's int16 pair sums are added up as int16 and
// widened to int32 once at the end (two instructions a step instead of
// three): exact while a lane's sum stays within int16, which holds for
// nibbles (≤ 15) against int8 over eight steps (|sum| ≤ 8·2·15·128 =
// 30,720) and for 6-bit values (≤ 63) over two (32,256).
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
static inline __m256i u8s8_add(__m256i acc, __m256i u8, __m256i s8) { return _mm256_dpbusd_epi32(acc, u8, s8); }
static inline __m256i u8s8_widen(__m256i acc) { return acc; }
#else
static inline __m256i u8s8_add(__m256i acc, __m256i u8, __m256i s8) {
    return _mm256_add_epi16(acc, _mm256_maddubs_epi16(u8, s8));
}
static inline __m256i u8s8_widen(__m256i acc) { return _mm256_madd_epi16(acc, _mm256_set1_epi16(1)); }
#endif

/// ggml's gemm float steps for one 64-value chunk j of eight rows (lane r)
/// and one token y: s0, s1 are the rows' Σq·x of sub-blocks 2j and 2j+1,
/// sc0, sc1 their scales (int32), mins the rows' (min 2j, min 2j+1) pairs.
static inline void rows8_chunk_accumulate(__m256i s0, __m256i s1, __m256i sc0, __m256i sc1, __m256i mins,
                                          const block_q8_K *y, int j, __m256 d, __m256 dmin, __m256 *acc,
                                          __m256 *accm) {
    const __m256i sum = _mm256_add_epi32(_mm256_mullo_epi32(s0, sc0), _mm256_mullo_epi32(s1, sc1));
    // Σx of sub-blocks 2j and 2j+1 as an int16 pair in every lane.
    const int16_t *bs = y->bsums + 4 * j;
    const uint32_t pair = (uint16_t)(bs[0] + bs[1]) | (uint32_t)(uint16_t)(bs[2] + bs[3]) << 16;
    const __m256i msum = _mm256_madd_epi16(mins, _mm256_set1_epi32((int)pair));
    const __m256 dx = _mm256_set1_ps(y->d);
    *acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum), _mm256_mul_ps(d, dx), *acc);
    *accm = _mm256_fmadd_ps(_mm256_cvtepi32_ps(msum), _mm256_mul_ps(dmin, dx), *accm);
}

void hydra_dot8x4_q4_K_x8_avx2(int64_t n, const void *packed, const void *vx, size_t x_stride, float out[32]) {
    const block_q4_K_rows8 *p = packed;
    const block_q8_K *x[4];
    for (int t = 0; t < 4; t++) x[t] = (const block_q8_K *)((const uint8_t *)vx + t * x_stride);
    // acc[t] lane r: row r, token t (ggml's gemm adds one sum per 64 values).
    __m256 acc[4], accm[4];
    for (int t = 0; t < 4; t++) acc[t] = accm[t] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++, p++) {
        const __m256 d = _mm256_loadu_ps(p->d), dmin = _mm256_loadu_ps(p->dmin);
        for (int j = 0; j < 4; j++) {
            __m256i s0[4], s1[4];
            for (int t = 0; t < 4; t++) s0[t] = s1[t] = _mm256_setzero_si256();
            for (int g = 0; g < 8; g++) {
                const __m256i q0 = _mm256_loadu_si256((const __m256i *)p->q[2 * j][g]);
                const __m256i q1 = _mm256_loadu_si256((const __m256i *)p->q[2 * j + 1][g]);
                for (int t = 0; t < 4; t++) {
                    const int32_t *y = (const int32_t *)(x[t][i].qs + 64 * j + 4 * g);
                    s0[t] = u8s8_add(s0[t], q0, _mm256_set1_epi32(y[0]));
                    s1[t] = u8s8_add(s1[t], q1, _mm256_set1_epi32(y[8]));
                }
            }
            const __m256i sc0 = _mm256_loadu_si256((const __m256i *)p->scales[2 * j]);
            const __m256i sc1 = _mm256_loadu_si256((const __m256i *)p->scales[2 * j + 1]);
            const __m256i mins = _mm256_loadu_si256((const __m256i *)p->mins[j]);
            for (int t = 0; t < 4; t++) {
                rows8_chunk_accumulate(u8s8_widen(s0[t]), u8s8_widen(s1[t]), sc0, sc1, mins, &x[t][i], j, d, dmin,
                                       &acc[t], &accm[t]);
            }
        }
    }
    for (int t = 0; t < 4; t++) _mm256_storeu_ps(out + 8 * t, _mm256_sub_ps(acc[t], accm[t]));
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

// ---- Q4_K kept repacked (block_q4_K_r8) ------------------------------------------------
// A loaded model keeps its Q4_K matrices as block_q4_K_r8 (dot_k.h): each
// 32-byte row of qs holds four bytes of each of eight rows, so one token's
// four activations, broadcast, multiply eight rows at once (dpbusd), with
// no unpacking of scales and no horizontal sums. The integer sums are the
// same exact ones as hydra_dot8_q4_K_x8_avx2's, and so are the float steps:
// the same bits.

// Each block requests the one R8_PREFETCH blocks ahead, into L2: one
// core's stream is more than the hardware prefetcher keeps up with, and
// requests into L1 compete with the block's own loads. On 2-core AMD EPYC
// (Zen 4) machines, eight rows stream from memory at 24-26 GB/s
// against 21 unrequested and 16-17 into L1 (AVX2 only), and at 19-23 GB/s
// against 21 unrequested and 14-15 into L1 (AVX-512 with VNNI).
enum { R8_PREFETCH = 12 };
#define R8_PREFETCH_HINT _MM_HINT_T1

/// Eight rows kept repacked by `nt` tokens (`x_stride` bytes apart), each
/// token with the arithmetic of one alone: each 32-byte row of values split
/// from its nibbles once for all of them; token t's eight results at
/// out + t * out_stride.
static inline __attribute__((always_inline)) void q4_K_r8_each(int64_t n, const block_q4_K_r8 *p, const uint8_t *vx,
                                                               size_t x_stride, const int nt, float *out,
                                                               int64_t out_stride) {
    const __m256i m4 = _mm256_set1_epi8(0xF);
    __m256 acc[4], accm[4];
    for (int t = 0; t < nt; t++) acc[t] = accm[t] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++, p++) {
        for (size_t o = 0; o < sizeof *p; o += 64) _mm_prefetch((const char *)(p + R8_PREFETCH) + o, R8_PREFETCH_HINT);
        const block_q8_K *x[4];
        for (int t = 0; t < nt; t++) x[t] = (const block_q8_K *)(vx + t * x_stride) + i;
        __m256i sum[4], msum[4];
        for (int t = 0; t < nt; t++) sum[t] = msum[t] = _mm256_setzero_si256();
        for (int j = 0; j < 4; j++) {
            __m256i s0[4], s1[4];
            for (int t = 0; t < nt; t++) s0[t] = s1[t] = _mm256_setzero_si256();
            for (int g = 0; g < 8; g++) {
                const __m256i q = _mm256_loadu_si256((const __m256i *)p->qs[j][g]);
                const __m256i q0 = _mm256_and_si256(q, m4), q1 = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
                for (int t = 0; t < nt; t++) {
                    const int32_t *y = (const int32_t *)x[t]->qs;
                    s0[t] = u8s8_add(s0[t], q0, _mm256_set1_epi32(y[16 * j + g]));
                    s1[t] = u8s8_add(s1[t], q1, _mm256_set1_epi32(y[16 * j + 8 + g]));
                }
            }
            const __m256i sc0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p->scales[2 * j]));
            const __m256i sc1 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p->scales[2 * j + 1]));
            const __m256i mins = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)p->mins[j]));
            for (int t = 0; t < nt; t++) {
                const __m256i p0 = _mm256_mullo_epi32(u8s8_widen(s0[t]), sc0);
                const __m256i p1 = _mm256_mullo_epi32(u8s8_widen(s1[t]), sc1);
                sum[t] = _mm256_add_epi32(sum[t], _mm256_add_epi32(p0, p1));
                const int16_t *bs = x[t]->bsums + 4 * j;
                const uint32_t pair = (uint16_t)(bs[0] + bs[1]) | (uint32_t)(uint16_t)(bs[2] + bs[3]) << 16;
                msum[t] = _mm256_add_epi32(msum[t], _mm256_madd_epi16(mins, _mm256_set1_epi32((int)pair)));
            }
        }
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p->d));
        const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p->dmin));
        for (int t = 0; t < nt; t++) {
            const __m256 dx = _mm256_set1_ps(x[t]->d);
            acc[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(sum[t]), _mm256_mul_ps(d, dx), acc[t]);
            accm[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(msum[t]), _mm256_mul_ps(dmin, dx), accm[t]);
        }
    }
    for (int t = 0; t < nt; t++) _mm256_storeu_ps(out + t * out_stride, _mm256_sub_ps(acc[t], accm[t]));
}

void hydra_dot8_q4_K_r8_avx2(int64_t n, const void *packed, const void *vx, float out[8]) {
    q4_K_r8_each(n, packed, vx, 0, 1, out, 0);
}

void hydra_dot8_each_q4_K_r8_avx2(int64_t n, const void *repacked, const void *x, size_t x_stride, int32_t ntok,
                                  float *out, int64_t out_stride) {
    switch (ntok) {
    case 4: q4_K_r8_each(n, repacked, x, x_stride, 4, out, out_stride); break;
    case 3: q4_K_r8_each(n, repacked, x, x_stride, 3, out, out_stride); break;
    case 2: q4_K_r8_each(n, repacked, x, x_stride, 2, out, out_stride); break;
    default: q4_K_r8_each(n, repacked, x, x_stride, 1, out, out_stride); break;
    }
}

/// hydra_dot8x4_q4_K_x8_avx2 on eight rows kept as block_q4_K_r8: the
/// values split from their nibbles once for the four tokens; the same bits.
void hydra_dot8x4_q4_K_r8_avx2(int64_t n, const void *repacked, const void *vx, size_t x_stride, float out[32]) {
    const __m256i m4 = _mm256_set1_epi8(0xF);
    const block_q4_K_r8 *p = repacked;
    const block_q8_K *x[4];
    for (int t = 0; t < 4; t++) x[t] = (const block_q8_K *)((const uint8_t *)vx + t * x_stride);
    __m256 acc[4], accm[4];
    for (int t = 0; t < 4; t++) acc[t] = accm[t] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++, p++) {
        const __m256 d = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p->d));
        const __m256 dmin = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)p->dmin));
        for (int j = 0; j < 4; j++) {
            __m256i s0[4], s1[4];
            for (int t = 0; t < 4; t++) s0[t] = s1[t] = _mm256_setzero_si256();
            for (int g = 0; g < 8; g++) {
                const __m256i q = _mm256_loadu_si256((const __m256i *)p->qs[j][g]);
                const __m256i q0 = _mm256_and_si256(q, m4), q1 = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
                for (int t = 0; t < 4; t++) {
                    const int32_t *y = (const int32_t *)(x[t][i].qs + 64 * j + 4 * g);
                    s0[t] = u8s8_add(s0[t], q0, _mm256_set1_epi32(y[0]));
                    s1[t] = u8s8_add(s1[t], q1, _mm256_set1_epi32(y[8]));
                }
            }
            const __m256i sc0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p->scales[2 * j]));
            const __m256i sc1 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p->scales[2 * j + 1]));
            const __m256i mins = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)p->mins[j]));
            for (int t = 0; t < 4; t++) {
                rows8_chunk_accumulate(u8s8_widen(s0[t]), u8s8_widen(s1[t]), sc0, sc1, mins, &x[t][i], j, d, dmin,
                                       &acc[t], &accm[t]);
            }
        }
    }
    for (int t = 0; t < 4; t++) _mm256_storeu_ps(out + 8 * t, _mm256_sub_ps(acc[t], accm[t]));
}

// ---- Q6_K tiled -----------------------------------------------------------------------
// The same arithmetic with AVX2: the integer sum of a super-block is exact
// whatever order its products are added in, so only the float steps (one
// multiply and one fused multiply-add per super-block) must stay as in
// hydra_dot_q6_K_tiled (dot_k.c).

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

// Eight rows by four tokens, as for Q4_K above: eight rows packed once,
// row r in lane r, the same exact integer sums, then the float steps of
// hydra_dot_q6_K_tiled per lane.

void hydra_pack8_q6_K(int64_t n, const void *vw, size_t w_stride, void *out) {
    block_q6_K_rows8 *p = out;
    for (int64_t i = 0; i < n / QK_K; i++, p++) {
        const block_q6_K *w[8];
        for (int r = 0; r < 8; r++) w[r] = (const block_q6_K *)((const uint8_t *)vw + r * w_stride) + i;
        for (int half = 0; half < 2; half++) {
            __m256i q[8][4];
            for (int r = 0; r < 8; r++) {
                __m256i sc[4];
                q6_K_unpack_half(w[r], half, q[r], sc);
            }
            // Chunk c of this half holds values 32c.. of it: groups 32·half + 8c + g.
            for (int c = 0; c < 4; c++) {
                __m256i v[8];
                for (int r = 0; r < 8; r++) v[r] = q[r][c];
                transpose8_epi32(v);
                for (int g = 0; g < 8; g++) _mm256_storeu_si256((__m256i *)p->q[32 * half + 8 * c + g], v[g]);
            }
        }
        // The scales: row r's sixteen as int32 (two halves) and as eight
        // int16 pairs, each a vector per row, transposed to one lane per row.
        __m256i lo[8], hi[8], pairs[8];
        uint16_t d[8];
        for (int r = 0; r < 8; r++) {
            const __m128i sc = _mm_loadu_si128((const __m128i *)w[r]->scales);
            lo[r] = _mm256_cvtepi8_epi32(sc);
            hi[r] = _mm256_cvtepi8_epi32(_mm_unpackhi_epi64(sc, sc));
            pairs[r] = _mm256_cvtepi8_epi16(sc);
            d[r] = w[r]->d;
        }
        transpose8_epi32(lo);
        transpose8_epi32(hi);
        transpose8_epi32(pairs);
        for (int k = 0; k < 8; k++) {
            _mm256_storeu_si256((__m256i *)p->scales[k], lo[k]);
            _mm256_storeu_si256((__m256i *)p->scales[8 + k], hi[k]);
            _mm256_storeu_si256((__m256i *)p->pairs[k], pairs[k]);
        }
        _mm256_storeu_ps(p->d, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)d)));
    }
}

void hydra_dot8x4_q6_K_tiled_avx2(int64_t n, const void *packed, const void *vx, size_t x_stride, float out[32]) {
    const block_q6_K_rows8 *p = packed;
    const block_q8_K *x[4];
    for (int t = 0; t < 4; t++) x[t] = (const block_q8_K *)((const uint8_t *)vx + t * x_stride);
    __m256 y[4]; // lane r: row r, token t
    for (int t = 0; t < 4; t++) y[t] = _mm256_setzero_ps();
    for (int64_t i = 0; i < n / QK_K; i++, p++) {
        __m256i sum[4];
        for (int t = 0; t < 4; t++) {
            // The −32 offset: 32 · Σ scale · (Σx of the sub-block), two sub-blocks per madd.
            const int16_t *bs = x[t][i].bsums;
            __m256i offset = _mm256_setzero_si256();
            for (int k = 0; k < 8; k++) {
                const uint32_t pair = (uint16_t)bs[2 * k] | (uint32_t)(uint16_t)bs[2 * k + 1] << 16;
                offset = _mm256_add_epi32(offset, _mm256_madd_epi16(_mm256_loadu_si256((const __m256i *)p->pairs[k]),
                                                                    _mm256_set1_epi32((int)pair)));
            }
            sum[t] = _mm256_sub_epi32(_mm256_setzero_si256(), _mm256_slli_epi32(offset, 5));
        }
        for (int k = 0; k < 16; k++) { // sub-block k: values 16k.., groups 4k..4k+3
            __m256i s[4];
            for (int t = 0; t < 4; t++) s[t] = _mm256_setzero_si256();
            for (int g = 4 * k; g < 4 * k + 4; g += 2) { // two steps a widening (6-bit values)
                const __m256i q0 = _mm256_loadu_si256((const __m256i *)p->q[g]);
                const __m256i q1 = _mm256_loadu_si256((const __m256i *)p->q[g + 1]);
                for (int t = 0; t < 4; t++) {
                    const int32_t *xq = (const int32_t *)x[t][i].qs;
                    const __m256i two = u8s8_add(u8s8_add(_mm256_setzero_si256(), q0, _mm256_set1_epi32(xq[g])), q1,
                                                 _mm256_set1_epi32(xq[g + 1]));
                    s[t] = _mm256_add_epi32(s[t], u8s8_widen(two));
                }
            }
            const __m256i scale = _mm256_loadu_si256((const __m256i *)p->scales[k]);
            for (int t = 0; t < 4; t++) sum[t] = _mm256_add_epi32(sum[t], _mm256_mullo_epi32(s[t], scale));
        }
        const __m256 d = _mm256_loadu_ps(p->d);
        for (int t = 0; t < 4; t++) {
            const __m256 scaled = _mm256_mul_ps(_mm256_cvtepi32_ps(sum[t]), d);
            y[t] = _mm256_fmadd_ps(scaled, _mm256_set1_ps(x[t][i].d), y[t]);
        }
    }
    for (int t = 0; t < 4; t++) _mm256_storeu_ps(out + 8 * t, y[t]);
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
