// Half-precision and bfloat16 conversions: the portable C (the F16C
// versions the kernels inline are in x86/half_f16c.h) and the exported
// entry points.

#include "kernels.h"

float hydra_fp16_to_fp32_portable(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f;
    uint32_t mant = h & 0x3ff;
    uint32_t bits;
    if (exp == 0) {
        if (mant == 0) {
            bits = sign;
        } else {
            // Subnormal half: normalize the mantissa into a normal float.
            int32_t e = 113;
            while (!(mant & 0x400)) { mant <<= 1; e--; }
            bits = sign | ((uint32_t)e << 23) | ((mant & 0x3ff) << 13);
        }
    } else if (exp == 31) {
        // Infinity, or a NaN (quieted, payload kept, as vcvtph2ps does).
        bits = sign | 0x7f800000 | (mant << 13) | (mant ? 0x400000 : 0);
    } else {
        bits = sign | ((exp + 112) << 23) | (mant << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

uint16_t hydra_fp32_to_fp16_portable(float f) {
    uint32_t x;
    memcpy(&x, &f, 4);
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7fffffff;
    if (ax > 0x7f800000) {
        // NaN: quiet, keep the top of the payload (as vcvtps2ph does).
        return sign | 0x7e00 | (uint16_t)((ax >> 13) & 0x3ff);
    }
    if (ax >= 0x477ff000) return sign | 0x7c00; // >= 65520 rounds to infinity
    uint32_t e = ax >> 23;
    if (e < 113) {
        // Result is a half subnormal (or zero): units of 2^-24.
        if (e < 101) return sign; // below 2^-26 .. rounds to zero
        uint32_t mant = (ax & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e;
        uint32_t q = mant >> shift;
        uint32_t rem = mant & ((1u << shift) - 1);
        uint32_t half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return sign | (uint16_t)q;
    }
    uint32_t h = ((e - 112) << 10) | ((ax >> 13) & 0x3ff);
    uint32_t rem = ax & 0x1fff;
    if (rem > 0x1000 || (rem == 0x1000 && (h & 1))) h++;
    return sign | (uint16_t)h;
}

float hydra_fp16_to_fp32(uint16_t h) { return fp16_to_fp32(h); }
uint16_t hydra_fp32_to_fp16(float f) { return fp32_to_fp16(f); }
float hydra_bf16_to_fp32(uint16_t h) { return bf16_to_fp32(h); }
uint16_t hydra_fp32_to_bf16(float f) { return fp32_to_bf16(f); }
