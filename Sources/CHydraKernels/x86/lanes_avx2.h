#pragma once
// Private: ggml's vector exponential on eight AVX2 lanes (lanes.h has the
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
