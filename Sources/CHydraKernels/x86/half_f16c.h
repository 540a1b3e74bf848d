#pragma once
// Private: half-precision conversions with the F16C instructions (the same
// bits as the portable ones in half.c), inlined by half.h.

#include <immintrin.h>
#include <stdint.h>

static inline float fp16_to_fp32_f16c(uint16_t h) {
    // Not _cvtsh_ss: compilers insert the half into whatever register is
    // free (often a dot product's accumulator), and that merge ties every
    // scale to the previous block's sum, a chain that halves the speed of
    // the dot products. vmovd writes the whole register and breaks it.
    __m128i v = _mm_cvtsi32_si128(h);
    __asm__("" : "+x"(v)); // keeps the vmovd: left alone it is folded back into vpinsrw
    return _mm_cvtss_f32(_mm_cvtph_ps(v));
}

static inline uint16_t fp32_to_fp16_f16c(float f) {
    return _cvtss_sh(f, 0); // round to nearest even, as ggml's CPU backend
}
