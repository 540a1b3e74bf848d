#pragma once
// Private: the AVX2 loops of ops.c, for builds that reproduce ggml's AVX2
// arithmetic (HYDRA_EXP_AVX2 in lanes.h).

#include "lanes_avx2.h"

/// ggml_vec_swiglu_f32's vector loop: y = silu(g) · u for the first n
/// floats (n a multiple of 8).
static inline void swiglu_avx2(const float *g, const float *u, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i += 8) {
        const __m256 gv = _mm256_loadu_ps(g + i);
        const __m256 e = ggml_like_expf8(_mm256_sub_ps(_mm256_setzero_ps(), gv));
        const __m256 s = _mm256_div_ps(gv, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
        _mm256_storeu_ps(y + i, _mm256_mul_ps(s, _mm256_loadu_ps(u + i)));
    }
}

/// ggml_like_expf over the whole registers of x; returns how many floats
/// it wrote (n rounded down to a multiple of 8).
static inline int64_t exp_avx2(const float *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, ggml_like_expf8(_mm256_loadu_ps(x + i)));
    return i;
}
