// Flash attention over a half-precision KV cache, with the arithmetic of
// ggml's CPU flash attention (ggml_compute_forward_flash_attn_ext_f16),
// which llama.cpp uses by default on the CPU. The scores never form a full
// matrix: each query keeps a running maximum M, a running sum of
// exponentials S and an unnormalized weighted sum of values, rescaled
// whenever M grows (the online softmax). ggml picks one of three paths by
// shape, and so does this file:
//
// - tiles (64 or more tokens in the call): the queries stay in float; the
//   keys and values of 64 positions at a time are converted to float;
//   a score is one chain of fused multiply-adds over the head dimension;
//   each tile's exponentials are ggml_vec_soft_max_f32's (summed per
//   register, in double); the values are added as one chain of fused
//   multiply-adds per output over the tile's 64 positions.
// - one query at a time (fewer tokens, or decoding with fewer than 512
//   positions in view): the query rounded to half, scores by
//   ggml_vec_dot_f16, the online softmax position by position with libm's
//   expf, and the weighted sum of values accumulated in half precision.
// - decoding with 512 or more positions in view: the positions split into
//   chunks, each as above without the final division, the chunks combined
//   in order. ggml takes one chunk per thread, so its results change with
//   the thread count; here always SPLIT_CHUNKS (ggml's bits at -t 2), the
//   threads sharing the (head, chunk) pairs, so no result depends on them.
//
// The positions in view are cache cells 0 ..< n_kv (see hydra_attention.h);
// a query skips those after it and outside its window, which changes
// nothing but where decoding splits.

#include <math.h>

#include "kernels.h"
#include "attention.h"
#include "pool.h"

enum { TILE = 64 };          // GGML_FA_TILE_Q and GGML_FA_TILE_KV
enum { SPLIT_MIN_KV = 512 }; // decoding splits the positions from here on
enum { SPLIT_CHUNKS = 2 };   // into this many chunks, whatever the pool's size

typedef struct {
    attention_call call;
    int64_t n_kv;
    float *scratch;    // per thread: work_floats floats, then the partials
    int64_t work_floats;
    // The split of decoding: positions per chunk, chunks (SPLIT_CHUNKS), and
    // per head and chunk its M, S and weighted sum of values (2 + d floats).
    int64_t chunk;
    int32_t chunks;
    float *partials;
} flash_job;

static float *thread_work(const flash_job *job, int32_t ith) { return job->scratch + ith * job->work_floats; }


/// ggml_vec_scale_f16 (x == NULL): y = half(float(y)·v), and
/// ggml_vec_mad_f16: y = half(fma(float(x), v, float(y))).
static void scale_mad_halves(uint16_t *y, const uint16_t *x, float v, int64_t n) {
    int64_t i = 0;
#if defined(__AVX2__) || defined(__AVX512F__)
    i = scale_mad_halves_vector(y, x, v, n);
#endif
    for (; i < n; i++) {
        const float yf = fp16_to_fp32(y[i]);
        y[i] = fp32_to_fp16(x ? fmaf(fp16_to_fp32(x[i]), v, yf) : yf * v);
    }
}

/// out = acc / s (ggml_vec_scale_f32 by 1/s; nothing seen: zeros).
static void divide(const float *acc, float s, int64_t d, float *out) {
    const float inv = s == 0.0f ? 0.0f : 1.0f / s;
    for (int64_t i = 0; i < d; i++) out[i] = acc[i] * inv;
}

// ---- one query at a time --------------------------------------------------

/// ggml's one-query loop for token t and head h over positions [ic0, ic1):
/// leaves the unnormalized weighted sum of values in acc (d floats) and
/// the running maximum and sum in *m and *s. work: d floats and d halves.
static void attend_positions(const flash_job *job, int64_t t, int64_t h, int64_t ic0, int64_t ic1, float *work,
                             float *acc, float *m, float *s) {
    const int64_t d = job->call.head_dim, kv_dim = job->call.n_kv_head * d, kv_offset = call_kv_head(&job->call, h) * d;
    float *qh = work;
    uint16_t *acc16 = (uint16_t *)(work + d);
    const float *q = job->call.q + (t * job->call.n_head + h) * d;
    for (int64_t i = 0; i < d; i++) qh[i] = fp16_to_fp32(fp32_to_fp16(q[i]));
    memset(acc16, 0, (size_t)d * sizeof(uint16_t));

    const int64_t pos = job->call.start_pos + t, first = call_first_visible(&job->call, pos);
    const int64_t lo = ic0 > first ? ic0 : first, hi = ic1 < pos + 1 ? ic1 : pos + 1;
    float M = -INFINITY, S = 0.0f;
    for (int64_t j = lo; j < hi; j++) {
        float score = dot_qk(qh, job->call.k_cache + j * kv_dim + kv_offset, d, 1) * job->call.scale;
        score += 0.0f; // the mask of a visible position
        float ms = 1.0f, vs = 1.0f;
        if (score > M) { // a new maximum: rescale what is summed so far
            const float old = M;
            M = score;
            ms = expf(old - M);
            scale_mad_halves(acc16, NULL, ms, d);
        } else {
            vs = expf(score - M);
        }
        scale_mad_halves(acc16, job->call.v_cache + j * kv_dim + kv_offset, vs, d);
        S = fmaf(S, ms, vs); // S*ms + vs, contracted as ggml's build does
    }
    for (int64_t i = 0; i < d; i++) acc[i] = fp16_to_fp32(acc16[i]);
    *m = M;
    *s = S;
}

static void positions_worker(void *ctx, int32_t ith, int32_t nth) {
    const flash_job *job = ctx;
    float *work = thread_work(job, ith), *acc = work + 2 * job->call.head_dim;
    for (int64_t item = ith; item < job->call.ntok * job->call.n_head; item += nth) {
        const int64_t t = item / job->call.n_head, h = item % job->call.n_head;
        float m, s;
        attend_positions(job, t, h, 0, job->n_kv, work, acc, &m, &s);
        divide(acc, s, job->call.head_dim, job->call.out + (t * job->call.n_head + h) * job->call.head_dim);
    }
}

// ---- decoding split in chunks --------------------------------------------

/// Thread i of n: the (head, chunk) pairs i, i + n, ...
static void split_worker(void *ctx, int32_t ith, int32_t nth) {
    const flash_job *job = ctx;
    for (int64_t item = ith; item < job->call.n_head * job->chunks; item += nth) {
        const int64_t h = item / job->chunks, ic0 = item % job->chunks * job->chunk;
        const int64_t ic1 = ic0 + job->chunk < job->n_kv ? ic0 + job->chunk : job->n_kv;
        float *p = job->partials + item * (2 + job->call.head_dim);
        if (ic0 < job->n_kv) {
            attend_positions(job, 0, h, ic0, ic1, thread_work(job, ith), p + 2, &p[0], &p[1]);
        } else {
            p[0] = -INFINITY;
            p[1] = 0.0f;
        }
    }
}

/// ggml_flash_attn_ext_reduce_partials: each head's chunks in order.
static void combine_worker(void *ctx, int32_t ith, int32_t nth) {
    const flash_job *job = ctx;
    const int64_t d = job->call.head_dim;
    float *acc = thread_work(job, ith);
    for (int64_t h = ith; h < job->call.n_head; h += nth) {
        float M = -INFINITY, S = 0.0f;
        for (int64_t i = 0; i < d; i++) acc[i] = 0.0f;
        for (int32_t c = 0; c < job->chunks; c++) {
            const float *p = job->partials + (h * job->chunks + c) * (2 + d);
            if (c * job->chunk >= job->n_kv || p[1] == 0.0f) continue;
            const float m = fmaxf(M, p[0]);
            const float s_old = expf(M - m), s_new = expf(p[0] - m);
            for (int64_t i = 0; i < d; i++) acc[i] = fmaf(acc[i], s_old, p[2 + i] * s_new);
            S = fmaf(S, s_old, p[1] * s_new);
            M = m;
        }
        float *out = job->call.out + h * d;
        if (S != 0.0f) {
            divide(acc, S, d, out);
        } else {
            memcpy(out, acc, (size_t)d * sizeof(float));
        }
    }
}

// ---- tiles ----------------------------------------------------------------

/// ggml_vec_soft_max_f32 over one tile's scores: x[k] = exp(x[k] - max),
/// each register of lanes summed in float, the sums added in double.
static double exp_tile(float *x, float max) {
    double sum = 0.0;
    for (int c = 0; c < TILE; c += HYDRA_LANES) {
        float lanes[HYDRA_LANES];
#if defined(HYDRA_VECTOR_LANES)
        exp_shifted_vector(x + c, max, lanes);
#else
        for (int l = 0; l < HYDRA_LANES; l++) lanes[l] = x[c + l] = ggml_like_expf(x[c + l] - max);
#endif
        sum += (double)ops_hsum(lanes);
    }
    return sum;
}

// Rows of a tile computed together, sharing each load of keys or values:
// their accumulators (ROWS × 64 floats) fill half of AVX-512's registers;
// on AVX2 one row's 64 fill half of its sixteen.
#if defined(__AVX512F__)
enum { ROWS = 4 };
#else
enum { ROWS = 1 };
#endif

/// Scores of ROWS queries against a tile of keys (`keys`: d × TILE
/// floats): out[r][k] = Σ_i q_r[i]·keys[i][k], one chain of fused
/// multiply-adds from 0 in the order of i, as ggml's simd_gemm. The chains
/// run side by side in a local array the compiler keeps in registers.
static void scores_rows(const float *const q[ROWS], const float *restrict keys, int64_t d, float *restrict out) {
    float acc[ROWS][TILE];
    for (int r = 0; r < ROWS; r++) {
        for (int k = 0; k < TILE; k++) acc[r][k] = 0.0f;
    }
    for (int64_t i = 0; i < d; i++) {
        const float *ki = keys + i * TILE;
        for (int r = 0; r < ROWS; r++) {
            const float qi = q[r][i];
            for (int k = 0; k < TILE; k++) acc[r][k] = fmaf(qi, ki[k], acc[r][k]);
        }
    }
    memcpy(out, acc, sizeof acc);
}

/// a_r[i] += Σ_k p_r[k]·values[k][i] for ROWS rows over the tile's
/// positions (`values`: TILE × d floats), one fused multiply-add per
/// position in order, as ggml's simd_gemm; 64 outputs of each row at a time
/// stay in registers across the positions.
static void add_values_rows(const float *const p[ROWS], const float *restrict values, int64_t d,
                            float *const a[ROWS]) {
    enum { BLOCK = 64 };
    int64_t i0 = 0;
    for (; i0 + BLOCK <= d; i0 += BLOCK) {
        float acc[ROWS][BLOCK];
        for (int r = 0; r < ROWS; r++) memcpy(acc[r], a[r] + i0, sizeof acc[r]);
        for (int k = 0; k < TILE; k++) {
            const float *v = values + k * d + i0;
            for (int r = 0; r < ROWS; r++) {
                const float pk = p[r][k];
                for (int i = 0; i < BLOCK; i++) acc[r][i] = fmaf(pk, v[i], acc[r][i]);
            }
        }
        for (int r = 0; r < ROWS; r++) memcpy(a[r] + i0, acc[r], sizeof acc[r]);
    }
    for (int r = 0; r < ROWS; r++) {
        for (int64_t i = i0; i < d; i++) {
            for (int k = 0; k < TILE; k++) a[r][i] = fmaf(p[r][k], values[k * d + i], a[r][i]);
        }
    }
}

/// ggml's tiled loop for `rows` (≤ TILE) consecutive tokens from t0, head h.
static void attend_tile(const flash_job *job, int64_t h, int64_t t0, int64_t rows, float *work) {
    const int64_t d = job->call.head_dim, kv_dim = job->call.n_kv_head * d, kv_offset = call_kv_head(&job->call, h) * d;
    float *keys = work;                  // d × TILE: the tile's keys, transposed, in float
    float *values = keys + d * TILE;     // TILE × d: its values in float
    float *kq = values + TILE * d;       // rows × TILE: scores, then exponentials
    float *acc = kq + TILE * TILE;       // rows × d: weighted sums of values
    float *spare = acc + TILE * d;       // ROWS × d: sums of repeated rows
    float M[TILE], S[TILE];
    for (int64_t r = 0; r < rows; r++) {
        M[r] = -INFINITY;
        S[r] = 0.0f;
    }
    for (int64_t i = 0; i < rows * d; i++) acc[i] = 0.0f;

    for (int64_t ic = 0; ic < job->n_kv; ic += TILE) {
        const int64_t width = job->n_kv - ic < TILE ? job->n_kv - ic : TILE;
        // A tile no row sees is skipped.
        int seen = 0;
        for (int64_t r = 0; r < rows && !seen; r++) {
            const int64_t pos = job->call.start_pos + t0 + r;
            seen = call_first_visible(&job->call, pos) < ic + width && pos >= ic;
        }
        if (!seen) continue;
        // Cells after the last position of the call are seen by no query:
        // they are zeros here (ggml reads whatever they hold, finite, and
        // multiplies it by 0), and the cache may end before ggml's view.
        const int64_t filled = job->call.start_pos + job->call.ntok;
        for (int64_t k = 0; k < TILE; k++) {
            if (ic + k >= filled) {
                for (int64_t i = 0; i < d; i++) keys[i * TILE + k] = values[k * d + i] = 0.0f;
                continue;
            }
            const uint16_t *kr = job->call.k_cache + (ic + k) * kv_dim + kv_offset;
            const uint16_t *vr = job->call.v_cache + (ic + k) * kv_dim + kv_offset;
            for (int64_t i = 0; i < d; i++) {
                keys[i * TILE + k] = fp16_to_fp32(kr[i]);
                values[k * d + i] = fp16_to_fp32(vr[i]);
            }
        }
        // Groups of ROWS rows; a last group short of ROWS repeats its last
        // row (computed twice, stored once).
        for (int64_t r0 = 0; r0 < rows; r0 += ROWS) {
            const float *q[ROWS];
            float scores[ROWS][TILE];
            for (int g = 0; g < ROWS; g++) {
                const int64_t r = r0 + g < rows ? r0 + g : rows - 1;
                q[g] = job->call.q + ((t0 + r) * job->call.n_head + h) * d;
            }
            scores_rows(q, keys, d, scores[0]);
            for (int g = 0; g < ROWS && r0 + g < rows; g++) memcpy(kq + (r0 + g) * TILE, scores[g], sizeof scores[g]);
        }
        for (int64_t r = 0; r < rows; r++) {
            float *row = kq + r * TILE;
            const int64_t pos = job->call.start_pos + t0 + r, first = call_first_visible(&job->call, pos);
            float max = -INFINITY;
            for (int k = 0; k < TILE; k++) {
                const int64_t j = ic + k;
                row[k] = k < width && j >= first && j <= pos ? row[k] * job->call.scale + 0.0f : -INFINITY;
                max = row[k] > max ? row[k] : max;
            }
            if (max == -INFINITY) { // this row sees none of the tile
                for (int k = 0; k < TILE; k++) row[k] = 0.0f;
                continue;
            }
            const float m = fmaxf(M[r], max);
            if (m > M[r]) {
                const float ms = expf(M[r] - m);
                for (int64_t i = 0; i < d; i++) acc[r * d + i] *= ms;
                S[r] *= ms;
            }
            M[r] = m;
            S[r] = (float)((double)S[r] + exp_tile(row, m));
        }
        for (int64_t r0 = 0; r0 < rows; r0 += ROWS) {
            const float *p[ROWS];
            float *a[ROWS];
            for (int g = 0; g < ROWS; g++) {
                const int64_t r = r0 + g < rows ? r0 + g : rows - 1;
                p[g] = kq + r * TILE;
                a[g] = r0 + g < rows ? acc + r * d : spare + g * d; // a repeated row's sums are dropped
                if (r0 + g >= rows) memcpy(a[g], acc + r * d, (size_t)d * sizeof(float));
            }
            add_values_rows(p, values, d, a);
        }
    }
    for (int64_t r = 0; r < rows; r++) divide(acc + r * d, S[r], d, job->call.out + ((t0 + r) * job->call.n_head + h) * d);
}

static void tile_worker(void *ctx, int32_t ith, int32_t nth) {
    const flash_job *job = ctx;
    const int64_t tiles = (job->call.ntok + TILE - 1) / TILE;
    for (int64_t item = ith; item < tiles * job->call.n_head; item += nth) {
        const int64_t h = item / tiles, t0 = (item % tiles) * TILE;
        attend_tile(job, h, t0, job->call.ntok - t0 < TILE ? job->call.ntok - t0 : TILE, thread_work(job, ith));
    }
}

// ---- entry ----------------------------------------------------------------

static int64_t work_floats(int64_t head_dim) {
    const int64_t tiles = 3 * TILE * head_dim + TILE * TILE + ROWS * head_dim;
    const int64_t positions = 3 * head_dim; // query, halves, sum (+ the combine's sum)
    return (tiles > positions ? tiles : positions) + 16;
}

int64_t hydra_flash_attention_scratch_floats(int32_t threads, int64_t n_head, int64_t head_dim) {
    const int64_t nth = threads < 1 ? 1 : threads;
    return nth * work_floats(head_dim) + n_head * SPLIT_CHUNKS * (2 + head_dim);
}

void hydra_flash_attention(hydra_pool *pool, const float *q, const uint16_t *k_cache, const uint16_t *v_cache,
                           int64_t ntok, int64_t n_head, int64_t n_kv_head, int64_t head_dim, int64_t start_pos,
                           int64_t window, int64_t n_kv, float scale, float *scratch, float *out) {
    const int32_t nth = hydra_pool_threads(pool);
    if (n_kv < start_pos + ntok) n_kv = start_pos + ntok;
    flash_job job = {
        .call = {.q = q, .k_cache = k_cache, .v_cache = v_cache, .ntok = ntok, .n_head = n_head,
                 .n_kv_head = n_kv_head, .head_dim = head_dim, .start_pos = start_pos, .window = window,
                 .scale = scale, .out = out},
        .n_kv = n_kv,
        .scratch = scratch, .work_floats = work_floats(head_dim),
        .chunk = (n_kv + SPLIT_CHUNKS - 1) / SPLIT_CHUNKS, .chunks = SPLIT_CHUNKS,
        .partials = scratch + nth * work_floats(head_dim),
    };
    if (ntok == 1 && n_kv >= SPLIT_MIN_KV) {
        hydra_pool_run(pool, split_worker, &job);
        hydra_pool_run(pool, combine_worker, &job);
    } else if (ntok >= TILE) {
        hydra_pool_run(pool, tile_worker, &job);
    } else {
        hydra_pool_run(pool, positions_worker, &job);
    }
}
