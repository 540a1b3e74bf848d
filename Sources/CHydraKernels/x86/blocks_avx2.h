#pragma once
// Private: AVX2 building blocks of the block dot products and activation
// quantizers (x86/dot_q_avx2.c, x86/dot_k_avx2.c, x86/quantize_avx2.c).

#include "../kernels.h"

#ifdef HYDRA_HAVE_AVX2

/// ggml's hsum_float_8: the eight lanes summed as (0+4, 2+6) + (1+5, 3+7).
static inline float hsum_ps(__m256 x) {
    __m128 r = _mm_add_ps(_mm256_extractf128_ps(x, 1), _mm256_castps256_ps128(x));
    r = _mm_add_ps(r, _mm_movehl_ps(r, r));
    r = _mm_add_ss(r, _mm_movehdup_ps(r));
    return _mm_cvtss_f32(r);
}

/// Eight int32 lanes, lane l = sum of ax[k] * sy[k] for k in 4l..4l+3
/// (ax unsigned bytes, sy signed bytes).
static inline __m256i dot_u8i8(__m256i ax, __m256i sy) {
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
    return _mm256_dpbusd_epi32(_mm256_setzero_si256(), ax, sy);
#elif defined(__AVXVNNI__)
    return _mm256_dpbusd_avx_epi32(_mm256_setzero_si256(), ax, sy);
#else
    return _mm256_madd_epi16(_mm256_set1_epi16(1), _mm256_maddubs_epi16(ax, sy));
#endif
}

/// Same for two signed byte vectors.
static inline __m256i dot_i8i8(__m256i x, __m256i y) {
    return dot_u8i8(_mm256_sign_epi8(x, x), _mm256_sign_epi8(y, x));
}

/// 32 nibbles as bytes: low nibbles first (elements 0..15), then high ones.
static inline __m256i unpack_nibbles(const uint8_t *p) {
    const __m128i t = _mm_loadu_si128((const __m128i *)p);
    const __m256i b = _mm256_set_m128i(_mm_srli_epi16(t, 4), t);
    return _mm256_and_si256(b, _mm256_set1_epi8(0x0F));
}

/// 32 bits as bytes 0x00 / 0xFF.
static inline __m256i unpack_bits(const uint8_t *p) {
    uint32_t x;
    memcpy(&x, p, 4);
    const __m256i shuf = _mm256_set_epi64x(0x0303030303030303, 0x0202020202020202, 0x0101010101010101, 0);
    __m256i bytes = _mm256_shuffle_epi8(_mm256_set1_epi32((int)x), shuf);
    bytes = _mm256_or_si256(bytes, _mm256_set1_epi64x(0x7fbfdfeff7fbfdfe));
    return _mm256_cmpeq_epi8(bytes, _mm256_set1_epi64x(-1));
}

/// The 32 signed values of a 32-element weight block as bytes.
static inline __m256i load_q4_0(const block_q4_0 *b) {
    return _mm256_sub_epi8(unpack_nibbles(b->qs), _mm256_set1_epi8(8));
}
static inline __m256i load_q5_0(const block_q5_0 *b) {
    const __m256i hi = _mm256_andnot_si256(unpack_bits(b->qh), _mm256_set1_epi8((char)0xF0));
    return _mm256_or_si256(unpack_nibbles(b->qs), hi);
}
static inline __m256i load_q8_0(const block_q8_0 *b) { return _mm256_loadu_si256((const __m256i *)b->qs); }

/// Four half-precision scales as floats, in one conversion.
static inline __m128 halves4(hydra_half a, hydra_half b, hydra_half c, hydra_half d) {
    const uint64_t packed = (uint64_t)a | (uint64_t)b << 16 | (uint64_t)c << 32 | (uint64_t)d << 48;
    return _mm_cvtph_ps(_mm_cvtsi64_si128((long long)packed));
}

/// Block scales w_a·x_a and w_b·x_b of two blocks, each broadcast to eight
/// lanes, from one conversion and one multiply.
static inline void scale_pair(hydra_half wa, hydra_half xa, hydra_half wb, hydra_half xb, __m256 *da, __m256 *db) {
    const __m128 h = halves4(wa, xa, wb, xb);
    const __m128 p = _mm_mul_ps(h, _mm_movehdup_ps(h)); // lanes 0 and 2: wa·xa, wb·xb
    *da = _mm256_broadcastss_ps(p);
    *db = _mm256_broadcastss_ps(_mm_movehl_ps(p, p));
}

#endif
