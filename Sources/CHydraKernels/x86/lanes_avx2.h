#pragma once
// Private: ggml's vector exponential on eight AVX2 lanes, and on sixteen
// AVX-512 lanes where the build has them (lanes.h has the
// one-lane emulation it must match).

#include <immintrin.h>

#include "../lanes.h"

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

#if defined(HYDRA_EXP_AVX512)
/// ggml_like_expf on sixteen AVX-512 lanes: ggml_v_expf's AVX-512 form
/// (its fused multiply-adds and _mm512_scalef_ps), so the same bits; lanes
/// with |n| > 192 are 0 or infinity as there.
static inline __m512 ggml_like_expf16(__m512 x) {
    const __m512 r = _mm512_set1_ps(0x1.8p23f);
    const __m512 z = _mm512_fmadd_ps(x, _mm512_set1_ps(0x1.715476p+0f), r);
    const __m512 n = _mm512_sub_ps(z, r);
    const __m512 b = _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.7f7d1cp-20f),
                                      _mm512_fnmadd_ps(n, _mm512_set1_ps(0x1.62e4p-1f), x));
    const __mmask16 d = _mm512_cmp_ps_mask(_mm512_abs_ps(n), _mm512_set1_ps(192), _CMP_GT_OQ);
    const __m512 u = _mm512_mul_ps(b, b);
    const __m512 j = _mm512_fmadd_ps(
        _mm512_fmadd_ps(_mm512_fmadd_ps(_mm512_set1_ps(0x1.0e4020p-7f), b, _mm512_set1_ps(0x1.573e2ep-5f)), u,
                        _mm512_fmadd_ps(_mm512_set1_ps(0x1.555e66p-3f), b, _mm512_set1_ps(0x1.fffdb6p-2f))),
        u, _mm512_fmadd_ps(_mm512_set1_ps(0x1.ffffecp-1f), b, _mm512_set1_ps(1.0f)));
    const __m512 res = _mm512_scalef_ps(j, n);
    if (_mm512_kortestz(d, d)) return res;
    const __m512 alt = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(n, _mm512_setzero_ps(), _CMP_LE_OQ),
                                            _mm512_set1_ps(INFINITY), _mm512_setzero_ps());
    return _mm512_mask_blend_ps(d, res, alt);
}
#endif

// One register of HYDRA_LANES floats, as ggml's build uses them: AVX-512's
// sixteen or AVX2's eight. The vector paths of attention and the
// element-wise steps are written once over these.
#if defined(HYDRA_EXP_AVX512)
typedef __m512 lanes_t;
#define LANES_ZERO() _mm512_setzero_ps()
#define LANES_SET1(x) _mm512_set1_ps(x)
#define LANES_LOAD(p) _mm512_loadu_ps(p)
#define LANES_STORE(p, v) _mm512_storeu_ps(p, v)
#define LANES_ADD(a, b) _mm512_add_ps(a, b)
#define LANES_SUB(a, b) _mm512_sub_ps(a, b)
#define LANES_MUL(a, b) _mm512_mul_ps(a, b)
#define LANES_DIV(a, b) _mm512_div_ps(a, b)
#define LANES_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define LANES_HALVES(h) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(h)))
#define LANES_EXP(x) ggml_like_expf16(x)
#else
typedef __m256 lanes_t;
#define LANES_ZERO() _mm256_setzero_ps()
#define LANES_SET1(x) _mm256_set1_ps(x)
#define LANES_LOAD(p) _mm256_loadu_ps(p)
#define LANES_STORE(p, v) _mm256_storeu_ps(p, v)
#define LANES_ADD(a, b) _mm256_add_ps(a, b)
#define LANES_SUB(a, b) _mm256_sub_ps(a, b)
#define LANES_MUL(a, b) _mm256_mul_ps(a, b)
#define LANES_DIV(a, b) _mm256_div_ps(a, b)
#define LANES_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define LANES_HALVES(h) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(h)))
#define LANES_EXP(x) ggml_like_expf8(x)
#endif
