// AVX2 dot products of 32-element blocks (Q4_0, Q4_1, Q5_0, Q5_1, Q8_0),
// with AVX-VNNI / AVX512-VNNI dot instructions when the CPU has them: one
// token, four tokens, and two rows by four tokens (on AVX-512 builds with
// two tokens to a register). Each gives the same
// bits as its portable twin in dot_q.c; the tests check that on random
// data.

#include "blocks_avx2.h"

#ifdef HYDRA_HAVE_AVX2

// ---- one token ------------------------------------------------------------------------

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

// ---- eight rows, one token ------------------------------------------------------------
// Decoding's products of Q4_0, Q4_1, Q5_0 and Q8_0 rows, eight rows per
// call, the activation block loaded once for all eight: on AVX2 one row to a
// register, on AVX-512 builds two (one in each 256-bit half). Each row's
// eight lanes are exactly its accumulator in the one-token kernels above
// (the same integer sums, exact whichever instructions form them, and the
// same float steps in block order), so each output has their bits.
//
// Eight rows read side by side are eight interleaved streams, which the
// hardware prefetcher follows poorly (a third of the bandwidth of one row
// at a time, measured): each block step requests its share of the eight
// rows two groups ahead.

enum { DOT8_AHEAD = 2 };

/// Block i's share of the group DOT8_AHEAD groups on: `share` bytes (the
/// group's bytes over its blocks, rounded up to whole lines, computed once
/// per call).
static inline void prefetch_share(const uint8_t *group0, size_t w_stride, int64_t i, size_t share) {
    const uint8_t *next = group0 + DOT8_AHEAD * 8 * w_stride + (size_t)i * share;
    for (size_t o = 0; o < share; o += 64) __builtin_prefetch(next + o);
}

static inline size_t prefetch_share_bytes(size_t w_stride, int64_t nb) {
    return (8 * w_stride + (size_t)nb * 64 - 1) / ((size_t)nb * 64) * 64;
}

/// The scales w_r·x of eight rows' block, in one register (row r in lane r).
static inline __m256 scales8_lanes(const hydra_half wd[8], float xd) {
    const __m128i h = _mm_setr_epi16((short)wd[0], (short)wd[1], (short)wd[2], (short)wd[3], (short)wd[4],
                                     (short)wd[5], (short)wd[6], (short)wd[7]);
    return _mm256_mul_ps(_mm256_cvtph_ps(h), _mm256_set1_ps(xd));
}

#if defined(__AVX512BW__) && defined(__AVX512VNNI__)

/// The scales w_r·x of eight rows' block, two rows to a register (row 2p
/// in the low half of s[p], row 2p+1 in the high half).
static inline void scales8(const hydra_half wd[8], float xd, __m512 s[4]) {
    const __m512 d = _mm512_castps256_ps512(scales8_lanes(wd, xd));
    for (int p = 0; p < 4; p++) {
        const __m512i idx = _mm512_inserti64x4(_mm512_set1_epi32(2 * p), _mm256_set1_epi32(2 * p + 1), 1);
        s[p] = _mm512_permutexvar_ps(idx, d);
    }
}

static inline void hsum_pairs(const __m512 acc[4], float out[8]) {
    for (int p = 0; p < 4; p++) {
        out[2 * p] = hsum_ps(_mm512_castps512_ps256(acc[p]));
        out[2 * p + 1] = hsum_ps(_mm512_extractf32x8_ps(acc[p], 1));
    }
}

/// Signed weights (Q4_0, Q5_0, Q8_0) against Q8_0 activations: |q| times
/// the activation with q's sign, as ggml's mul_sum_i8_pairs_float.
#define DOT8_SIGNED(NAME, BLOCK, LOAD)                                                                        \
    void NAME(int64_t n, const void *vw, size_t w_stride, const void *vx, float out[8]) {                    \
        const block_q8_0 *x = vx;                                                                             \
        const BLOCK *w[8];                                                                                    \
        for (int r = 0; r < 8; r++) w[r] = (const BLOCK *)((const uint8_t *)vw + r * w_stride);               \
        __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()}; \
        const int64_t nb = n / 32;                                                                            \
        const size_t share = prefetch_share_bytes(w_stride, nb);                                              \
        for (int64_t i = 0; i < nb; i++) {                                                                    \
            prefetch_share(vw, w_stride, i, share);                                                           \
            const __m512i y = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)x[i].qs));          \
            hydra_half wd[8];                                                                                 \
            for (int r = 0; r < 8; r++) wd[r] = w[r][i].d;                                                    \
            __m512 d[4];                                                                                      \
            scales8(wd, fp16_to_fp32(x[i].d), d);                                                             \
            for (int p = 0; p < 4; p++) {                                                                     \
                const __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(LOAD(&w[2 * p][i])),              \
                                                     LOAD(&w[2 * p + 1][i]), 1);                              \
                const __m512i sy = _mm512_mask_sub_epi8(y, _mm512_movepi8_mask(q), _mm512_setzero_si512(), y);\
                const __m512i sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(), _mm512_abs_epi8(q), sy);     \
                acc[p] = _mm512_fmadd_ps(d[p], _mm512_cvtepi32_ps(sums), acc[p]);                             \
            }                                                                                                 \
        }                                                                                                     \
        hsum_pairs(acc, out);                                                                                 \
    }

DOT8_SIGNED(hydra_dot8_q4_0_avx512, block_q4_0, load_q4_0)
DOT8_SIGNED(hydra_dot8_q5_0_avx512, block_q5_0, load_q5_0)
DOT8_SIGNED(hydra_dot8_q8_0_avx512, block_q8_0, load_q8_0)

/// Q4_1 against Q8_1: unsigned nibbles times the activations, plus each
/// row's m·s term (one fused multiply-add per block, in block order).
void hydra_dot8_q4_1_avx512(int64_t n, const void *vw, size_t w_stride, const void *vx, float out[8]) {
    const block_q8_1 *x = vx;
    const block_q4_1 *w[8];
    for (int r = 0; r < 8; r++) w[r] = (const block_q4_1 *)((const uint8_t *)vw + r * w_stride);
    __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
    __m256 summs = _mm256_setzero_ps();
    const int64_t nb = n / 32;
    const size_t share = prefetch_share_bytes(w_stride, nb);
    for (int64_t i = 0; i < nb; i++) {
        prefetch_share(vw, w_stride, i, share);
        const __m512i y = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)x[i].qs));
        hydra_half wd[8];
        for (int r = 0; r < 8; r++) wd[r] = w[r][i].d;
        const __m128i m = _mm_setr_epi16((short)w[0][i].m, (short)w[1][i].m, (short)w[2][i].m, (short)w[3][i].m,
                                         (short)w[4][i].m, (short)w[5][i].m, (short)w[6][i].m, (short)w[7][i].m);
        summs = _mm256_fmadd_ps(_mm256_cvtph_ps(m), _mm256_set1_ps(fp16_to_fp32(x[i].s)), summs);
        __m512 d[4];
        scales8(wd, fp16_to_fp32(x[i].d), d);
        for (int p = 0; p < 4; p++) {
            const __m512i q = _mm512_inserti64x4(_mm512_castsi256_si512(unpack_nibbles(w[2 * p][i].qs)),
                                                 unpack_nibbles(w[2 * p + 1][i].qs), 1);
            const __m512i sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(), q, y);
            acc[p] = _mm512_fmadd_ps(d[p], _mm512_cvtepi32_ps(sums), acc[p]);
        }
    }
    hsum_pairs(acc, out);
    float m[8];
    _mm256_storeu_ps(m, summs);
    for (int r = 0; r < 8; r++) out[r] += m[r];
}
#else

/// Lane r of v in every lane.
static inline __m256 lane(__m256 v, int r) { return _mm256_permutevar8x32_ps(v, _mm256_set1_epi32(r)); }

#define DOT8_SIGNED(NAME, BLOCK, LOAD)                                                                 \
    void NAME(int64_t n, const void *vw, size_t w_stride, const void *vx, float out[8]) {             \
        const block_q8_0 *x = vx;                                                                      \
        const BLOCK *w[8];                                                                             \
        for (int r = 0; r < 8; r++) w[r] = (const BLOCK *)((const uint8_t *)vw + r * w_stride);        \
        __m256 acc[8];                                                                                 \
        for (int r = 0; r < 8; r++) acc[r] = _mm256_setzero_ps();                                      \
        const int64_t nb = n / 32;                                                                     \
        const size_t share = prefetch_share_bytes(w_stride, nb);                                       \
        for (int64_t i = 0; i < nb; i++) {                                                             \
            prefetch_share(vw, w_stride, i, share);                                                    \
            const __m256i y = _mm256_loadu_si256((const __m256i *)x[i].qs);                            \
            hydra_half wd[8];                                                                          \
            for (int r = 0; r < 8; r++) wd[r] = w[r][i].d;                                             \
            const __m256 d = scales8_lanes(wd, fp16_to_fp32(x[i].d));                                  \
            for (int r = 0; r < 8; r++) {                                                              \
                acc[r] = _mm256_fmadd_ps(lane(d, r), _mm256_cvtepi32_ps(dot_i8i8(LOAD(&w[r][i]), y)), acc[r]); \
            }                                                                                          \
        }                                                                                              \
        for (int r = 0; r < 8; r++) out[r] = hsum_ps(acc[r]);                                          \
    }

DOT8_SIGNED(hydra_dot8_q4_0_avx2, block_q4_0, load_q4_0)
DOT8_SIGNED(hydra_dot8_q5_0_avx2, block_q5_0, load_q5_0)
DOT8_SIGNED(hydra_dot8_q8_0_avx2, block_q8_0, load_q8_0)

void hydra_dot8_q4_1_avx2(int64_t n, const void *vw, size_t w_stride, const void *vx, float out[8]) {
    const block_q8_1 *x = vx;
    const block_q4_1 *w[8];
    for (int r = 0; r < 8; r++) w[r] = (const block_q4_1 *)((const uint8_t *)vw + r * w_stride);
    __m256 acc[8];
    for (int r = 0; r < 8; r++) acc[r] = _mm256_setzero_ps();
    __m256 summs = _mm256_setzero_ps();
    const int64_t nb = n / 32;
    const size_t share = prefetch_share_bytes(w_stride, nb);
    for (int64_t i = 0; i < nb; i++) {
        prefetch_share(vw, w_stride, i, share);
        const __m256i y = _mm256_loadu_si256((const __m256i *)x[i].qs);
        hydra_half wd[8];
        for (int r = 0; r < 8; r++) wd[r] = w[r][i].d;
        const __m128i m = _mm_setr_epi16((short)w[0][i].m, (short)w[1][i].m, (short)w[2][i].m, (short)w[3][i].m,
                                         (short)w[4][i].m, (short)w[5][i].m, (short)w[6][i].m, (short)w[7][i].m);
        summs = _mm256_fmadd_ps(_mm256_cvtph_ps(m), _mm256_set1_ps(fp16_to_fp32(x[i].s)), summs);
        const __m256 d = scales8_lanes(wd, fp16_to_fp32(x[i].d));
        for (int r = 0; r < 8; r++) {
            acc[r] = _mm256_fmadd_ps(lane(d, r), _mm256_cvtepi32_ps(dot_u8i8(unpack_nibbles(w[r][i].qs), y)), acc[r]);
        }
    }
    float m[8];
    _mm256_storeu_ps(m, summs);
    for (int r = 0; r < 8; r++) out[r] = hsum_ps(acc[r]) + m[r];
}
#endif

// ---- two rows by four tokens ----------------------------------------------------------
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

void hydra_dot2x4_q8_0_avx2(int64_t n, const void *vw, size_t w_stride, const void *vx, size_t x_stride,
                            float out[8]) {
    const block_q8_0 *w[2] = {vw, (const block_q8_0 *)((const uint8_t *)vw + w_stride)};
    const block_q8_0 *x[4];
    for (int t = 0; t < 4; t++) x[t] = (const block_q8_0 *)((const uint8_t *)vx + t * x_stride);
#if defined(__AVX512BW__) && defined(__AVX512VNNI__)
    // AVX-512: two tokens side by side, one in each 256-bit half, so one
    // instruction does what the AVX2 form does for one token. Each half is
    // still the eight lanes of one (row, token) accumulator: the same
    // integer sums (exact, whichever instructions form them: the weight's
    // sign moves onto the activation with a masked negation) and the same
    // float steps, block by block.
    __m512 acc[2][2];
    for (int r = 0; r < 2; r++) acc[r][0] = acc[r][1] = _mm512_setzero_ps();
    const __m512i pair_lo = _mm512_setr_epi32(0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1);
    const __m512i pair_hi = _mm512_setr_epi32(2, 2, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3, 3, 3);
    for (int64_t i = 0; i < n / 32; i++) {
        const __m128 dx = halves4(x[0][i].d, x[1][i].d, x[2][i].d, x[3][i].d);
        const __m128 dw = halves4(w[0][i].d, w[1][i].d, 0, 0);
        const __m512i y[2] = {
            _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)x[0][i].qs)),
                               _mm256_loadu_si256((const __m256i *)x[1][i].qs), 1),
            _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)x[2][i].qs)),
                               _mm256_loadu_si256((const __m256i *)x[3][i].qs), 1)};
        // d for (row r, token t) = dw[r] · dx[t], to be spread over token t's eight lanes.
        const __m128 dr[2] = {_mm_mul_ps(_mm_shuffle_ps(dw, dw, 0x00), dx), _mm_mul_ps(_mm_shuffle_ps(dw, dw, 0x55), dx)};
        for (int r = 0; r < 2; r++) {
            const __m512i q = _mm512_broadcast_i64x4(_mm256_loadu_si256((const __m256i *)w[r][i].qs));
            const __m512i aq = _mm512_abs_epi8(q);
            const __mmask64 negative = _mm512_movepi8_mask(q);
            const __m512 d = _mm512_castps128_ps512(dr[r]);
            const __m512 scale[2] = {_mm512_permutexvar_ps(pair_lo, d), _mm512_permutexvar_ps(pair_hi, d)};
            for (int p = 0; p < 2; p++) {
                const __m512i sy = _mm512_mask_sub_epi8(y[p], negative, _mm512_setzero_si512(), y[p]);
                const __m512i sums = _mm512_dpbusd_epi32(_mm512_setzero_si512(), aq, sy);
                acc[r][p] = _mm512_fmadd_ps(scale[p], _mm512_cvtepi32_ps(sums), acc[r][p]);
            }
        }
    }
    for (int r = 0; r < 2; r++)
        for (int p = 0; p < 2; p++) {
            out[r * 4 + 2 * p] = hsum_ps(_mm512_castps512_ps256(acc[r][p]));
            out[r * 4 + 2 * p + 1] = hsum_ps(_mm512_extractf32x8_ps(acc[r][p], 1));
        }
#else
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
#endif
}

#endif
