// Causal self-attention over a half-precision KV cache, with the roundings
// of ggml's non-flash path: KQ = mul_mat(K f16, Q) converts Q to f16; the
// softmax runs in float with a double sum; KQV = mul_mat(V f16, P) converts
// the probabilities P to f16. Products are accumulated in float, lane by
// lane as ggml's vector code does, so the sums round the same way. The
// vector paths are in x86/attention_avx2.h.

#include <math.h>

#include "kernels.h"
#include "attention.h"
#include "pool.h"

typedef struct {
    attention_call call;
    int64_t n_ctx_scratch;
    float *scratch;
    // Prompts on the fast path: the values transposed (see transpose_values),
    // and scores four keys at a time; NULL for the plain loops.
    const uint16_t *v_rows;
    int64_t v_row_len;
} attention_job;

// One (token, head) pair: scores, softmax, weighted sum of values.
static void attend_one(const attention_job *job, int64_t t, int64_t h, float *qh, float *scores, float *acc) {
    const int64_t d = job->call.head_dim;
    const int64_t kv_dim = job->call.n_kv_head * d;
    const int64_t kv_head = call_kv_head(&job->call, h);
    const int64_t pos = job->call.start_pos + t;
    const int64_t first = call_first_visible(&job->call, pos);
    const int decode = job->call.ntok == 1;

    // Q as ggml converts it for the f16 product.
    const float *q = job->call.q + (t * job->call.n_head + h) * d;
    for (int64_t i = 0; i < d; i++) qh[i] = fp16_to_fp32(fp32_to_fp16(q[i]));

    // scores[j] for cache positions j in [first, pos]; the rest are masked.
    float max = -INFINITY;
    int64_t j = first;
#if defined(HYDRA_VECTOR_LANES)
    if (job->v_rows) {
        for (; j + 4 <= pos + 1; j += 4) {
            float dots[4];
            dot_qk4(qh, job->call.k_cache + j * kv_dim + kv_head * d, kv_dim, d, dots);
            for (int r = 0; r < 4; r++) {
                const float s = dots[r] * job->call.scale;
                scores[j + r] = s;
                if (s > max) max = s;
            }
        }
    }
#endif
    for (; j <= pos; j++) {
        const uint16_t *k = job->call.k_cache + j * kv_dim + kv_head * d;
        const float s = dot_qk(qh, k, d, decode) * job->call.scale;
        scores[j] = s;
        if (s > max) max = s;
    }
    // ggml_vec_soft_max_f32: exponentials by registers of LANES positions
    // (counted from cache position 0), each register summed in float, the
    // sums added in double.
    double sum = 0.0;
    const int64_t chunk0 = first - first % HYDRA_LANES;
    for (int64_t c = chunk0; c <= pos; c += HYDRA_LANES) {
        float lanes[HYDRA_LANES];
#if defined(HYDRA_VECTOR_LANES)
        if (c >= first && c + HYDRA_LANES - 1 <= pos) { // a whole register of positions
            exp_shifted_vector(scores + c, max, lanes);
            sum += (double)ops_hsum(lanes);
            continue;
        }
#endif
        for (int l = 0; l < HYDRA_LANES; l++) {
            const int64_t j = c + l;
            lanes[l] = (j >= first && j <= pos) ? ggml_like_expf(scores[j] - max) : 0.0f;
            if (j >= first && j <= pos) scores[j] = lanes[l];
        }
        sum += (double)ops_hsum(lanes);
    }
    const float inv = (float)(1.0 / sum);

    // out[i] = Σ_j p_j · v_j[i] with p_j rounded to half; position j adds
    // into lane j mod lanes of every output (acc holds one row per lane).
#if defined(HYDRA_VECTOR_LANES)
    if (job->v_rows) {
        weigh_values(job->v_rows + kv_head * d * job->v_row_len, job->v_row_len, d, first, pos, inv, scores,
                     job->call.out + (t * job->call.n_head + h) * d);
        return;
    }
#endif
    const int64_t lanes = decode ? STEP_LANES : HYDRA_LANES;
    for (int64_t i = 0; i < d * lanes; i++) acc[i] = 0.0f;
    for (int64_t j = first; j <= pos; j++) {
        const float p = fp16_to_fp32(fp32_to_fp16(scores[j] * inv));
        if (p == 0.0f) continue;
        fma_halves(acc + (j % lanes) * d, job->call.v_cache + j * kv_dim + kv_head * d, NULL, p, d);
    }
    float *out = job->call.out + (t * job->call.n_head + h) * d;
    float lane_values[STEP_LANES];
    for (int64_t i = 0; i < d; i++) {
        for (int64_t l = 0; l < lanes; l++) lane_values[l] = acc[l * d + i];
        out[i] = decode ? reduce_vec_dot(lane_values) : ops_hsum(lane_values);
    }
}

static float *thread_scratch(const attention_job *job, int32_t ith) {
    return job->scratch + (int64_t)ith * (job->n_ctx_scratch + job->call.head_dim + job->call.head_dim * STEP_LANES);
}

static void attention_worker(void *ctx, int32_t ith, int32_t nth) {
    const attention_job *job = ctx;
    float *qh = thread_scratch(job, ith);
    float *acc = qh + job->call.head_dim;
    float *scores = acc + job->call.head_dim * STEP_LANES;
    const int64_t items = job->call.ntok * job->call.n_head;
    for (int64_t item = ith; item < items; item += nth) {
        attend_one(job, item / job->call.n_head, item % job->call.n_head, qh, scores, acc);
    }
}

/// rows[c * row_len + j] = cache[j * width + c] for the first `positions`
/// positions, zero after them up to row_len.
static void transpose_values(const uint16_t *cache, int64_t width, int64_t positions, int64_t row_len,
                             uint16_t *rows) {
    for (int64_t c = 0; c < width; c++) {
        uint16_t *row = rows + c * row_len;
        for (int64_t j = 0; j < positions; j++) row[j] = cache[j * width + c];
        for (int64_t j = positions; j < row_len; j++) row[j] = 0;
    }
}

int64_t hydra_attention_scratch_floats(int32_t threads, int64_t n_ctx, int64_t head_dim) {
    return (int64_t)(threads < 1 ? 1 : threads) * (n_ctx + head_dim + head_dim * STEP_LANES);
}

void hydra_attention(hydra_pool *pool, const float *q, const uint16_t *k_cache, const uint16_t *v_cache,
                     int64_t ntok, int64_t n_head, int64_t n_kv_head, int64_t head_dim,
                     int64_t start_pos, int64_t window, float scale, float *scratch, float *out) {
    attention_job job = {
        .call = {.q = q, .k_cache = k_cache, .v_cache = v_cache, .ntok = ntok, .n_head = n_head,
                 .n_kv_head = n_kv_head, .head_dim = head_dim, .start_pos = start_pos, .window = window,
                 .scale = scale, .out = out},
        // Every thread's score buffer must hold the longest row of this call.
        .n_ctx_scratch = start_pos + ntok,
        .scratch = scratch,
    };
#if defined(HYDRA_VECTOR_LANES)
    // The portable mode keeps the plain loops, so tests can compare the two.
    if (ntok > 1 && head_dim % HYDRA_LANES == 0 && hydra_kernel_mode() != HYDRA_KERNELS_PORTABLE) {
        // Prompts: the values of every position so far, transposed once per
        // call into the pool's scratch, so each output's sum over positions
        // reads consecutive halves.
        const int64_t positions = start_pos + ntok;
        job.v_row_len = (positions + HYDRA_LANES - 1) / HYDRA_LANES * HYDRA_LANES;
        hydra_pool_lock(pool);
        uint16_t *rows = hydra_scratch_reserve(hydra_pool_scratch(pool),
                                               (size_t)(n_kv_head * head_dim * job.v_row_len) * sizeof(uint16_t));
        if (rows) {
            transpose_values(v_cache, n_kv_head * head_dim, positions, job.v_row_len, rows);
            job.v_rows = rows;
            hydra_pool_run(pool, attention_worker, &job);
            hydra_pool_unlock(pool);
            return;
        }
        hydra_pool_unlock(pool);
    }
#endif
    hydra_pool_run(pool, attention_worker, &job);
}
