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

/// Unpacks the 6-bit scales and mins of a Q4_K block.
static inline void q4_K_scales_mins(const uint8_t *s, uint8_t scales[8], uint8_t mins[8]) {
    for (int j = 0; j < 4; j++) {
        scales[j] = s[j] & 63;
        mins[j] = s[j + 4] & 63;
    }
    for (int j = 4; j < 8; j++) {
        scales[j] = (s[j + 4] & 0xF) | ((s[j - 4] >> 6) << 4);
        mins[j] = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
    }
}

/// One super-block of eight Q4_K rows laid out for hydra_dot8x4_q4_K_x8_avx2
/// (x86/dot_k_avx2.c): a 32-bit lane per row, so products of eight rows
/// with one token need no horizontal sums.
typedef struct {
    uint8_t q[8][8][8][4]; // [sub-block][group of 4 values][row][value]: 0..15
    int32_t scales[8][8];  // [sub-block][row]
    int16_t mins[4][8][2]; // [64-value chunk][row][sub-block 2j, 2j+1]
    float d[8], dmin[8];   // [row]
} block_q4_K_rows8;

/// One super-block of eight Q4_K rows as a model keeps them for its whole
/// life (hydra_repack_q4_K_r8, at load): the same 4-bit values, row r in
/// 32-bit lane r, so the one-token product (hydra_dot8_q4_K_r8_avx2) needs
/// one byte-dot instruction per four values of eight rows and no
/// horizontal sums, while it reads as many bytes as the rows themselves
/// (1184 for 8 × 144).
typedef struct {
    uint8_t qs[4][8][8][4]; // [64-value chunk j][group g][row][byte]: byte 32j + 4g + b of the row,
                            // whose low nibble is value 64j + 4g + b, high nibble value 64j + 32 + 4g + b
    uint8_t scales[8][8];   // [sub-block][row]: 0..63
    uint8_t mins[4][8][2];  // [chunk j][row][sub-block 2j, 2j+1]: 0..63
    uint16_t d[8], dmin[8]; // [row]: half floats, as in the block
} block_q4_K_r8;

/// One super-block of eight Q6_K rows laid out for hydra_dot8x4_q6_K_tiled_avx2:
/// values 0..63 (before the −32 offset), row r in 32-bit lane r.
typedef struct {
    uint8_t q[64][8][4];     // [group of 4 values][row][value]
    int32_t scales[16][8];   // [16-value sub-block][row]
    int16_t pairs[8][8][2];  // [sub-blocks 2p, 2p+1][row][scale of each]: for the offset
    float d[8];              // [row]
} block_q6_K_rows8;
