// Portable dot products of float rows (F32, F16, BF16 weights with
// activations of the same type). There is no SIMD twin: the compiler
// vectorizes these loops for the host CPU.

#include "kernels.h"

/// Float dot product over 16 accumulator lanes (plain C the compiler
/// vectorizes), used for F32, F16 and BF16 rows.
#define FLOAT_DOT(name, W_T, X_T, LOADW, LOADX)                                  \
    float name(int64_t n, const void *vw, const void *vx) {                      \
        const W_T *w = vw;                                                       \
        const X_T *x = vx;                                                       \
        float acc[16] = {0};                                                     \
        int64_t i = 0;                                                           \
        for (; i + 16 <= n; i += 16)                                             \
            for (int l = 0; l < 16; l++) acc[l] = fmaf(LOADW(w[i + l]), LOADX(x[i + l]), acc[l]); \
        for (int l = 0; l < 8; l++) acc[l] += acc[l + 8];                        \
        float sum = hsum8(acc);                                                  \
        for (; i < n; i++) sum = fmaf(LOADW(w[i]), LOADX(x[i]), sum);            \
        return sum;                                                              \
    }

#define ID(v) (v)
FLOAT_DOT(hydra_dot_f32_scalar, float, float, ID, ID)
FLOAT_DOT(hydra_dot_f16_scalar, uint16_t, uint16_t, fp16_to_fp32, fp16_to_fp32)
FLOAT_DOT(hydra_dot_bf16_scalar, uint16_t, uint16_t, bf16_to_fp32, bf16_to_fp32)
