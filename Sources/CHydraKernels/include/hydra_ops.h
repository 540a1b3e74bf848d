#pragma once
#include <stdint.h>

// The transformer's element-wise steps, computed as ggml's CPU backend
// computes them (same roundings to half precision, same order of operations
// where it changes the result) so hydra's logits match llama.cpp.

#ifdef __cplusplus
extern "C" {
#endif

/// RMS norm of each of `rows` rows of `n` floats, times `weight` (n floats):
/// y = x / sqrt(mean(x²) + eps) * weight. The sum of squares is accumulated
/// in double as ggml does. `y` may equal `x`.
void hydra_rms_norm(const float *x, const float *weight, float *y, int64_t rows, int64_t n, float eps);

/// RoPE styles (ggml's rope modes).
enum { HYDRA_ROPE_NORMAL = 0, HYDRA_ROPE_NEOX = 2 };

/// Rotates, in place, the first `n_rot` dims of each of `n_head` heads of
/// `head_dim` floats, for `ntok` tokens at positions start_pos, start_pos+1, ...
/// NORMAL rotates pairs (2i, 2i+1); NEOX rotates pairs (i, i + n_rot/2).
/// The angle of pair i is pos * base^(-2i/n_rot), computed by ggml's repeated
/// multiplication. `cache` holds n_rot floats of scratch.
void hydra_rope(float *x, int64_t ntok, int64_t n_head, int64_t head_dim, int64_t n_rot,
                int64_t start_pos, float base, int32_t mode, float *cache);

/// ggml's vector exponential on n floats (mode 0: one lane at a time, the
/// portable reference; 1: the SIMD version). For tests.
void hydra_exp_lanes(const float *x, float *y, int64_t n, int32_t mode);

/// out = silu(gate) * up (SwiGLU) for `rows` rows of `n` floats, with
/// ggml's vectorized exponential (its rows end with a scalar tail).
void hydra_swiglu(const float *gate, const float *up, float *out, int64_t rows, int64_t n);

/// out[i] = gelu(gate[i]) * up[i] with ggml's tanh GELU looked up in a
/// half-precision table (GeGLU, as ggml's GGML_GELU_FP16 build does it).
void hydra_geglu(const float *gate, const float *up, float *out, int64_t n);

/// y[i] += x[i].
void hydra_add(float *y, const float *x, int64_t n);

/// y[i] *= s.
void hydra_scale(float *y, float s, int64_t n);

/// Writes n floats as IEEE halves (round to nearest even).
void hydra_to_half(const float *x, uint16_t *y, int64_t n);

#ifdef __cplusplus
}
#endif
