#pragma once
// Private: scalar emulations of the vector arithmetic ggml's CPU backend
// uses, so hydra's results match llama.cpp bit for bit on the same machine:
// the exponential of ggml_v_expf, the lane layout of its f16 dot products
// and the order of its horizontal sums. The variant follows the build's
// instruction set, as ggml's does (AVX-512, else AVX2+FMA, else plain C);
// x86/lanes_avx2.h has the exponential on whole registers of lanes.

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
#if defined(HYDRA_EXP_AVX512) || defined(HYDRA_EXP_AVX2)
// x86/lanes_avx2.h has these steps on whole registers of HYDRA_LANES.
#define HYDRA_VECTOR_LANES 1
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
