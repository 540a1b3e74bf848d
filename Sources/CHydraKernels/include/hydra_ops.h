#pragma once
#include <stddef.h>
#include <stdint.h>

#include "hydra_quant.h"

// The transformer's element-wise steps and attention, computed as ggml's CPU
// backend computes them (same roundings to half precision, same order of
// operations where it changes the result) so hydra's logits match llama.cpp.

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

/// out = silu(gate) * up (SwiGLU) for `rows` rows of `n` floats, with
/// ggml's vectorized exponential (its rows end with a scalar tail).
/// ggml's vector exponential on n floats (mode 0: one lane at a time, the
/// portable reference; 1: the SIMD version). For tests.
void hydra_exp_lanes(const float *x, float *y, int64_t n, int32_t mode);
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

/// Causal attention over a half-precision KV cache, as ggml's non-flash path
/// computes it: q is rounded to half, scores = q·k in float, softmax of
/// scores*scale over the visible positions (sum in double), probabilities
/// rounded to half, out = Σ p·v in float.
///
/// q: ntok × n_head × head_dim floats (token t at position start_pos + t).
/// k_cache, v_cache: position-major, each position n_kv_head × head_dim
/// halves; positions 0 ..< start_pos + ntok must be filled.
/// Query head h reads KV head h / (n_head / n_kv_head).
/// window: 0 for none; else position p sees key position j only when
/// p - j < window (sliding-window attention).
/// scratch: hydra_attention_scratch_floats(...) floats.
/// out: ntok × n_head × head_dim floats.
/// Runs on `pool` (may be NULL), split over (token, head) pairs.
void hydra_attention(hydra_pool *pool, const float *q, const uint16_t *k_cache, const uint16_t *v_cache,
                     int64_t ntok, int64_t n_head, int64_t n_kv_head, int64_t head_dim,
                     int64_t start_pos, int64_t window, float scale, float *scratch, float *out);

/// Floats of scratch hydra_attention needs for `threads` threads and a cache
/// of `n_ctx` positions.
int64_t hydra_attention_scratch_floats(int32_t threads, int64_t n_ctx, int64_t head_dim);

/// One matrix of a hydra_matmul_group: `rows` rows of W (of the group's
/// `cols` elements of `type`), writing `rows` floats to y.
typedef struct {
    int32_t type;
    const void *w;
    int64_t rows;
    float *y;
} hydra_matmul_part;

/// Several matrix-vector products on the same x (one token) in one run of
/// the pool: the rows of all parts are shared out among the threads, so a
/// decoding step waits on the threads once instead of once per matrix.
/// Each row's result is the same as hydra_matmul's. Returns 0, or -1.
int32_t hydra_matmul_group(hydra_pool *pool, const hydra_matmul_part *parts, int32_t count, int64_t cols,
                           const float *x);

#ifdef __cplusplus
}
#endif
