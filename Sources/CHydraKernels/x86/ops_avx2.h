#pragma once
// Private: the vector loops of ops.c, for builds that reproduce ggml's
// AVX-512 or AVX2 arithmetic (HYDRA_VECTOR_LANES in lanes.h).

#include "lanes_avx2.h"

/// ggml_vec_swiglu_f32's vector loop: y = silu(g) · u for the first n
/// floats (n a multiple of HYDRA_LANES).
static inline void swiglu_vector(const float *g, const float *u, float *y, int64_t n) {
    for (int64_t i = 0; i < n; i += HYDRA_LANES) {
        const lanes_t gv = LANES_LOAD(g + i);
        const lanes_t e = LANES_EXP(LANES_SUB(LANES_ZERO(), gv));
        const lanes_t s = LANES_DIV(gv, LANES_ADD(LANES_SET1(1.0f), e));
        LANES_STORE(y + i, LANES_MUL(s, LANES_LOAD(u + i)));
    }
}

/// ggml_like_expf over the whole registers of x; returns how many floats
/// it wrote (n rounded down to a multiple of HYDRA_LANES).
static inline int64_t exp_vector(const float *x, float *y, int64_t n) {
    int64_t i = 0;
    for (; i + HYDRA_LANES <= n; i += HYDRA_LANES) LANES_STORE(y + i, LANES_EXP(LANES_LOAD(x + i)));
    return i;
}
