#pragma once
// Scalar emulations of the vector arithmetic ggml's CPU backend uses, so
// hydra's results match llama.cpp bit for bit on the same machine: the
// exponential of ggml_v_expf, the lane layout of its f16 dot products and
// the order of its horizontal sums. The variant follows the build's
// instruction set, as ggml's does (AVX-512, else AVX2+FMA, else plain C).

#include <math.h>
#include <stdint.h>
#include <string.h>

#if defined(__AVX512F__) && defined(__AVX512DQ__)
#define HYDRA_LANES 16
#define HYDRA_EXP_AVX512 1
#elif defined(__AVX2__) && defined(__FMA__)
#define HYDRA_LANES 8
#define HYDRA_EXP_AVX2 1
#else
#define HYDRA_LANES 8
#endif

static inline uint32_t ops_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static inline float ops_float(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

/// ggml_v_expf for one lane: a range reduction to 2^n · e^b and a degree-5
/// polynomial (ARM's optimized-routines algorithm).
static inline float ggml_like_expf(float x) {
#if defined(HYDRA_EXP_AVX512)
    const float r = 0x1.8p23f;
    const float z = fmaf(x, 0x1.715476p+0f, r);
    const float n = z - r;
    const float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
    const float u = b * b;
    const float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                         u, fmaf(0x1.ffffecp-1f, b, 1.0f));
    if (fabsf(n) > 192) return n <= 0 ? 0.0f : INFINITY;
    // _mm512_scalef_ps: j · 2^n, rounded once. A multiplication by the
    // power of two does that whenever 2^n is a normal float.
    if (n >= -126 && n <= 127) return j * ops_float((uint32_t)(127 + (int)n) << 23);
    return ldexpf(j, (int)n);
#elif defined(HYDRA_EXP_AVX2)
    const float r = 0x1.8p23f;
    const float z = fmaf(x, 0x1.715476p+0f, r);
    const float n = z - r;
    const float b = fmaf(-n, 0x1.7f7d1cp-20f, fmaf(-n, 0x1.62e4p-1f, x));
    const uint32_t e = ops_bits(z) << 23;
    const float k = ops_float(e + ops_bits(1.0f));
    const float u = b * b;
    const float j = fmaf(fmaf(fmaf(0x1.0e4020p-7f, b, 0x1.573e2ep-5f), u, fmaf(0x1.555e66p-3f, b, 0x1.fffdb6p-2f)),
                         u, 0x1.ffffecp-1f * b);
    if (!(fabsf(n) > 126)) return fmaf(j, k, k);
    const uint32_t g = n <= 0 ? 0x82000000u : 0;
    const float s1 = ops_float(g + 0x7f000000u);
    const float s2 = ops_float(e - g);
    if (fabsf(n) > 192) return s1 * s1;
    return fmaf(s2, j, s2) * s1;
#else
    return expf(x);
#endif
}

#if defined(HYDRA_EXP_AVX2)
#include <immintrin.h>
/// ggml_like_expf on eight lanes at once: the same fused multiply-adds, so
/// the same bits; lanes outside ggml's fast range (|n| > 126, rare) go
/// through the one-lane function.
static inline __m256 ggml_like_expf8(__m256 x) {
    const __m256 r = _mm256_set1_ps(0x1.8p23f);
    const __m256 z = _mm256_fmadd_ps(x, _mm256_set1_ps(0x1.715476p+0f), r);
    const __m256 n = _mm256_sub_ps(z, r);
    const __m256 b = _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.7f7d1cp-20f),
                                      _mm256_fnmadd_ps(n, _mm256_set1_ps(0x1.62e4p-1f), x));
    const __m256i e = _mm256_slli_epi32(_mm256_castps_si256(z), 23);
    const __m256 k = _mm256_castsi256_ps(_mm256_add_epi32(e, _mm256_castps_si256(_mm256_set1_ps(1.0f))));
    const __m256 u = _mm256_mul_ps(b, b);
    const __m256 j = _mm256_fmadd_ps(
        _mm256_fmadd_ps(_mm256_fmadd_ps(_mm256_set1_ps(0x1.0e4020p-7f), b, _mm256_set1_ps(0x1.573e2ep-5f)), u,
                        _mm256_fmadd_ps(_mm256_set1_ps(0x1.555e66p-3f), b, _mm256_set1_ps(0x1.fffdb6p-2f))),
        u, _mm256_mul_ps(_mm256_set1_ps(0x1.ffffecp-1f), b));
    __m256 y = _mm256_fmadd_ps(j, k, k);
    // !(|n| > 126) is the fast path (NaN included, as in the one-lane code).
    const __m256 slow = _mm256_cmp_ps(_mm256_andnot_ps(_mm256_set1_ps(-0.0f), n), _mm256_set1_ps(126), _CMP_GT_OQ);
    if (_mm256_movemask_ps(slow)) {
        float xs[8], ys[8];
        _mm256_storeu_ps(xs, x);
        _mm256_storeu_ps(ys, y);
        const int mask = _mm256_movemask_ps(slow);
        for (int l = 0; l < 8; l++) {
            if (mask & (1 << l)) ys[l] = ggml_like_expf(xs[l]);
        }
        y = _mm256_loadu_ps(ys);
    }
    return y;
}
#endif

/// The horizontal sum of one vector register of HYDRA_LANES floats, in the
/// order of _mm512_reduce_add_ps / tinyBLAS's hsum (halving: lane i plus
/// lane i + width/2, repeatedly).
static inline float ops_hsum(const float *v) {
    float t[HYDRA_LANES];
    for (int i = 0; i < HYDRA_LANES; i++) t[i] = v[i];
    for (int w = HYDRA_LANES / 2; w >= 1; w /= 2) {
        for (int i = 0; i < w; i++) t[i] = t[i] + t[i + w];
    }
    return t[0];
}
