#pragma once
// Private: what the portable K-quant products (dot_k.c) and their AVX2
// twins (x86/dot_k_avx2.c) share.

#include "kernels.h"

/// Adds one super-block's sums to the two float accumulators, as ggml does.
static inline void q4_K_x8_accumulate(const block_q4_K *w, const block_q8_K *x, int32_t sum, int32_t msum,
                                      float *acc, float *accm) {
    *acc = fmaf((float)sum, fp16_to_fp32(w->d) * x->d, *acc);
    *accm = fmaf((float)msum, fp16_to_fp32(w->dmin) * x->d, *accm);
}
