#pragma once
#include <stdint.h>

#include "hydra_pool.h"

// Attention over a half-precision KV cache, computed as ggml's CPU backend
// computes it (same roundings to half precision, same order of operations
// where it changes the result) so hydra's logits match llama.cpp.

#ifdef __cplusplus
extern "C" {
#endif

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

/// The same attention with the arithmetic of ggml's CPU flash attention
/// (llama.cpp's default on the CPU): an online softmax in tiles of 64
/// positions for calls of 64 or more tokens (queries in float), else one
/// query at a time (query in half, values summed in half), and decoding
/// split in two chunks of positions once n_kv reaches 512 (ggml: one per
/// thread; here as ggml with two threads, for any pool: flash_attention.c).
/// Arguments as hydra_attention's, plus n_kv: the cache cells in ggml's
/// view (llama.cpp's: the cells in use rounded up to a multiple of 256, at
/// least 256, at most the cells of llama.cpp's cache; at least start_pos +
/// ntok). It only decides where decoding splits: no cell from start_pos +
/// ntok on is read, so it may exceed the cache given here.
/// scratch: hydra_flash_attention_scratch_floats(...) floats.
void hydra_flash_attention(hydra_pool *pool, const float *q, const uint16_t *k_cache, const uint16_t *v_cache,
                           int64_t ntok, int64_t n_head, int64_t n_kv_head, int64_t head_dim, int64_t start_pos,
                           int64_t window, int64_t n_kv, float scale, float *scratch, float *out);

/// Floats of scratch hydra_flash_attention needs for `threads` threads.
int64_t hydra_flash_attention_scratch_floats(int32_t threads, int64_t n_head, int64_t head_dim);

#ifdef __cplusplus
}
#endif
