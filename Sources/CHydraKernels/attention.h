#pragma once
// Private: the products of halves both attention paths share (attention.c,
// flash_attention.c): ggml's f16 dot product and its fused multiply-adds
// of half rows, in the lane layouts ggml's vector code uses.

#include "kernels.h"
#include "hydra_attention.h"
#include "lanes.h"
#if defined(__AVX2__) || defined(__AVX512F__)
#include "x86/attention_avx2.h"
#endif

/// One call's arguments, as both attention paths take them (hydra_attention.h).
typedef struct {
    const float *q;
    const uint16_t *k_cache, *v_cache;
    int64_t ntok, n_head, n_kv_head, head_dim, start_pos, window;
    float scale;
    float *out;
} attention_call;

/// The KV head query head h reads.
static inline int64_t call_kv_head(const attention_call *c, int64_t h) { return h / (c->n_head / c->n_kv_head); }

/// The first position a query at `pos` sees (it sees first ... pos).
static inline int64_t call_first_visible(const attention_call *c, int64_t pos) {
    return c->window > 0 && pos - c->window + 1 > 0 ? pos - c->window + 1 : 0;
}

// Both matrix products of attention multiply halves and add in float, in
// one of two lane layouts, as ggml does:
// - one token (decode): ggml_vec_dot_f16, 4 registers of HYDRA_LANES lanes
//   (element i goes to lane i mod 4·LANES), the registers added pairwise,
//   then one horizontal sum; elements past the last whole step in double.
// - several tokens (prompt): llamafile's tinyBLAS, one register of LANES
//   lanes (element i to lane i mod LANES), then one horizontal sum.
enum { STEP_LANES = 4 * HYDRA_LANES };

// Horizontal sum of ggml_vec_dot_f16's four registers (GGML_F32xN_REDUCE).
static inline float reduce_vec_dot(float *acc) {
    for (int i = 0; i < 2 * HYDRA_LANES; i++) acc[i] += acc[i + 2 * HYDRA_LANES];
    for (int i = 0; i < HYDRA_LANES; i++) acc[i] += acc[i + HYDRA_LANES];
#if defined(HYDRA_EXP_AVX2)
    // AVX2: the two 128-bit halves added, then two horizontal adds.
    float t[4];
    for (int i = 0; i < 4; i++) t[i] = acc[i] + acc[i + 4];
    return (t[0] + t[1]) + (t[2] + t[3]);
#else
    return ops_hsum(acc);
#endif
}

// acc[i] = fma(half h[i], x[i], acc[i]) for i < n (x == NULL: the scalar p
// instead of x[i]). One fused multiply-add per element, as ggml's vector
// loops do, so the order of operations per lane is the same.
static inline void fma_halves(float *acc, const uint16_t *h, const float *x, float p, int64_t n) {
    int64_t i = 0;
#if defined(__AVX2__) || defined(__AVX512F__)
    i = fma_halves_vector(acc, h, x, p, n);
#endif
    for (; i < n; i++) acc[i] = fmaf(fp16_to_fp32(h[i]), x ? x[i] : p, acc[i]);
}

// q·k for one key of n halves (q already rounded to half, held as floats).
static inline float dot_qk(const float *q, const uint16_t *k, int64_t n, int decode) {
    if (!decode && n % HYDRA_LANES == 0) {
        float acc[HYDRA_LANES] = {0};
        for (int64_t i = 0; i < n; i += HYDRA_LANES) fma_halves(acc, k + i, q + i, 0, HYDRA_LANES);
        return ops_hsum(acc);
    }
    float acc[STEP_LANES] = {0};
    const int64_t whole = n - n % STEP_LANES;
    for (int64_t i = 0; i < whole; i += STEP_LANES) fma_halves(acc, k + i, q + i, 0, STEP_LANES);
    double sum = reduce_vec_dot(acc);
    for (int64_t i = whole; i < n; i++) sum += (double)(fp16_to_fp32(k[i]) * q[i]);
    return (float)sum;
}

