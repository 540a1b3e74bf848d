#pragma once
// Private: the half-precision and bfloat16 conversions the kernels inline
// (F16C instructions where the build has them, else half.c's portable C).

#include <stdint.h>
#include <string.h>

#include "blocks.h"
#include "hydra_half.h"

#if defined(__F16C__)
#include "x86/half_f16c.h"
#endif

static inline float fp16_to_fp32(hydra_half h) {
#if defined(__F16C__)
    return fp16_to_fp32_f16c(h);
#else
    return hydra_fp16_to_fp32_portable(h);
#endif
}

static inline hydra_half fp32_to_fp16(float f) {
#if defined(__F16C__)
    return fp32_to_fp16_f16c(f);
#else
    return hydra_fp32_to_fp16_portable(f);
#endif
}

static inline float bf16_to_fp32(uint16_t h) {
    uint32_t u = (uint32_t)h << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

// ggml_compute_fp32_to_bf16: quiet NaNs, otherwise round to nearest even.
static inline uint16_t fp32_to_bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    if ((u & 0x7fffffff) > 0x7f800000) return (uint16_t)((u >> 16) | 64);
    return (uint16_t)((u + (0x7fff + ((u >> 16) & 1))) >> 16);
}
