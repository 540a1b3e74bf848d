#pragma once
// Private: the vector paths of attention.c. fma_halves_vector multiplies
// and adds halves in AVX-512 or AVX2 registers (whichever the build has);
// the rest serve builds that reproduce ggml's AVX-512 or AVX2 arithmetic
// (HYDRA_EXP_AVX512, HYDRA_EXP_AVX2 in lanes.h).

#include <immintrin.h>

#include "../kernels.h"
#include "../lanes.h"

/// fma_halves (attention.c) over the whole registers of n; returns how
/// many elements it did, leaving the rest to the scalar loop.
static inline int64_t fma_halves_vector(float *acc, const uint16_t *h, const float *x, float p, int64_t n) {
    int64_t i = 0;
#if defined(__AVX512F__)
    const __m512 vp = _mm512_set1_ps(p);
    for (; i + 16 <= n; i += 16) {
        const __m512 hv = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(h + i)));
        const __m512 xv = x ? _mm512_loadu_ps(x + i) : vp;
        _mm512_storeu_ps(acc + i, _mm512_fmadd_ps(hv, xv, _mm512_loadu_ps(acc + i)));
    }
#elif defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
    const __m256 vp = _mm256_set1_ps(p);
    for (; i + 8 <= n; i += 8) {
        const __m256 hv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h + i)));
        const __m256 xv = x ? _mm256_loadu_ps(x + i) : vp;
        _mm256_storeu_ps(acc + i, _mm256_fmadd_ps(hv, xv, _mm256_loadu_ps(acc + i)));
    }
#endif
    return i;
}

/// scale_halves and mad_halves (flash_attention.c) over ggml's whole
/// registers: y = half(float(y)·v), y = half(fma(float(x), v, float(y))),
/// rounded to nearest even as ggml's GGML_F16_VEC_STORE does. Returns how
/// many elements were done.
static inline int64_t scale_mad_halves_vector(uint16_t *y, const uint16_t *x, float v, int64_t n) {
    int64_t i = 0;
#if defined(__AVX512F__)
    const __m512 vv = _mm512_set1_ps(v);
    for (; i + 16 <= n; i += 16) {
        const __m512 yv = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(y + i)));
        const __m512 r = x ? _mm512_fmadd_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(x + i))), vv, yv)
                           : _mm512_mul_ps(yv, vv);
        _mm256_storeu_si256((__m256i *)(y + i), _mm512_cvtps_ph(r, _MM_FROUND_TO_NEAREST_INT));
    }
#elif defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
    const __m256 vv = _mm256_set1_ps(v);
    for (; i + 8 <= n; i += 8) {
        const __m256 yv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(y + i)));
        const __m256 r = x ? _mm256_fmadd_ps(_mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))), vv, yv)
                           : _mm256_mul_ps(yv, vv);
        _mm_storeu_si128((__m128i *)(y + i), _mm256_cvtps_ph(r, _MM_FROUND_TO_NEAREST_INT));
    }
#endif
    return i;
}

#if defined(HYDRA_VECTOR_LANES)
#include "lanes_avx2.h"

/// dot_qk's prompt layout for four keys `stride` halves apart. Each key's
/// sum is still one chain of fused multiply-adds in element order; running
/// four chains side by side keeps the multiply-add units busy instead of
/// waiting on one chain's latency.
static inline void dot_qk4(const float *q, const uint16_t *k, int64_t stride, int64_t n, float out[4]) {
    lanes_t acc[4] = {LANES_ZERO(), LANES_ZERO(), LANES_ZERO(), LANES_ZERO()};
    for (int64_t i = 0; i < n; i += HYDRA_LANES) {
        const lanes_t qv = LANES_LOAD(q + i);
        for (int r = 0; r < 4; r++) acc[r] = LANES_FMA(LANES_HALVES(k + r * stride + i), qv, acc[r]);
    }
    for (int r = 0; r < 4; r++) {
        float lanes[HYDRA_LANES];
        LANES_STORE(lanes, acc[r]);
        out[r] = ops_hsum(lanes);
    }
}

/// exp(s[l] - max) for one register of scores (the softmax's whole
/// registers), written back to s and to lanes.
static inline void exp_shifted_vector(float *s, float max, float lanes[HYDRA_LANES]) {
    const lanes_t e = LANES_EXP(LANES_SUB(LANES_LOAD(s), LANES_SET1(max)));
    LANES_STORE(lanes, e);
    LANES_STORE(s, e);
}

/// The prompt layout's weighted sum of values from the transposed copy
/// (`rows`: the kv head's rows, one row of `stride` positions per output
/// element, zero past the last position). ggml's tinyBLAS computes each
/// output as a dot product over positions with one register of lanes (lane
/// l: positions j ≡ l mod LANES in increasing order) and one horizontal
/// sum; so does this, eight outputs side by side. A masked position
/// (outside [first, pos]) or a probability of zero adds v·0, which leaves a
/// sum that is never -0 unchanged: the same bits as skipping it.
static inline void weigh_values(const uint16_t *rows, int64_t stride, int64_t d, int64_t first, int64_t pos, float inv,
                         float *p, float *out) {
    for (int64_t j = first; j <= pos; j++) p[j] = fp16_to_fp32(fp32_to_fp16(p[j] * inv));
    // The probabilities of the first and last register of positions, with
    // the masked ones set to zero; the registers between load p directly.
    const int64_t g_first = first - first % HYDRA_LANES, g_last = pos - pos % HYDRA_LANES;
    float edge[2][HYDRA_LANES];
    for (int e = 0; e < 2; e++) {
        const int64_t g = e == 0 ? g_first : g_last;
        for (int l = 0; l < HYDRA_LANES; l++) edge[e][l] = g + l >= first && g + l <= pos ? p[g + l] : 0.0f;
    }
    const lanes_t p_first = LANES_LOAD(edge[0]), p_last = LANES_LOAD(edge[1]);
    for (int64_t i = 0; i < d; i += 8) {
        lanes_t acc[8];
        for (int r = 0; r < 8; r++) acc[r] = LANES_ZERO();
        for (int64_t g = g_first; g <= g_last; g += HYDRA_LANES) {
            const lanes_t pv = g == g_last ? p_last : g == g_first ? p_first : LANES_LOAD(p + g);
            for (int r = 0; r < 8; r++) acc[r] = LANES_FMA(LANES_HALVES(rows + (i + r) * stride + g), pv, acc[r]);
        }
        for (int r = 0; r < 8; r++) {
            float lanes[HYDRA_LANES];
            LANES_STORE(lanes, acc[r]);
            out[i + r] = ops_hsum(lanes);
        }
    }
}
#endif
