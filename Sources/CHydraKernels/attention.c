// Causal self-attention over a half-precision KV cache, with the roundings
// of ggml's non-flash path: KQ = mul_mat(K f16, Q) converts Q to f16; the
// softmax runs in float with a double sum; KQV = mul_mat(V f16, P) converts
// the probabilities P to f16. Products are accumulated in float.

#include <math.h>

#include "hydra_ops.h"
#include "kernels.h"

// Dot product of n floats with n halves.
static float dot_f32_f16(const float *q, const uint16_t *k, int64_t n) {
    int64_t i = 0;
    float sum = 0.0f;
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
    __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
    for (; i + 16 <= n; i += 16) {
        __m256 k0 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(k + i)));
        __m256 k1 = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(k + i + 8)));
        acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i), k0, acc0);
        acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(q + i + 8), k1, acc1);
    }
    __m256 acc = _mm256_add_ps(acc0, acc1);
    __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(acc), _mm256_extractf128_ps(acc, 1));
    s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
    s4 = _mm_add_ss(s4, _mm_movehdup_ps(s4));
    sum = _mm_cvtss_f32(s4);
#endif
    for (; i < n; i++) sum += q[i] * fp16_to_fp32(k[i]);
    return sum;
}

// y += a * x for n halves x.
static void axpy_f16(float *y, float a, const uint16_t *x, int64_t n) {
    int64_t i = 0;
#if defined(__AVX2__) && defined(__FMA__) && defined(__F16C__)
    const __m256 va = _mm256_set1_ps(a);
    for (; i + 8 <= n; i += 8) {
        __m256 vx = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i)));
        _mm256_storeu_ps(y + i, _mm256_fmadd_ps(va, vx, _mm256_loadu_ps(y + i)));
    }
#endif
    for (; i < n; i++) y[i] += a * fp16_to_fp32(x[i]);
}

typedef struct {
    const float *q;
    const uint16_t *k_cache, *v_cache;
    int64_t ntok, n_head, n_kv_head, head_dim, start_pos, window, n_ctx_scratch;
    float scale;
    float *scratch;
    float *out;
} attention_job;

// One (token, head) pair: scores, softmax, weighted sum of values.
static void attend_one(const attention_job *job, int64_t t, int64_t h, float *qh, float *scores) {
    const int64_t d = job->head_dim;
    const int64_t kv_dim = job->n_kv_head * d;
    const int64_t kv_head = h / (job->n_head / job->n_kv_head);
    const int64_t pos = job->start_pos + t;
    const int64_t first = job->window > 0 && pos - job->window + 1 > 0 ? pos - job->window + 1 : 0;
    const int64_t count = pos - first + 1;

    // Q as ggml converts it for the f16 product.
    const float *q = job->q + (t * job->n_head + h) * d;
    for (int64_t i = 0; i < d; i++) qh[i] = fp16_to_fp32(fp32_to_fp16(q[i]));

    float max = -INFINITY;
    for (int64_t j = 0; j < count; j++) {
        const uint16_t *k = job->k_cache + (first + j) * kv_dim + kv_head * d;
        const float s = dot_f32_f16(qh, k, d) * job->scale;
        scores[j] = s;
        if (s > max) max = s;
    }
    double sum = 0.0;
    for (int64_t j = 0; j < count; j++) {
        const float e = expf(scores[j] - max);
        scores[j] = e;
        sum += (double)e;
    }
    const float inv = (float)(1.0 / sum);

    float *out = job->out + (t * job->n_head + h) * d;
    for (int64_t i = 0; i < d; i++) out[i] = 0.0f;
    for (int64_t j = 0; j < count; j++) {
        // The probability as the f16 operand of KQV.
        const float p = fp16_to_fp32(fp32_to_fp16(scores[j] * inv));
        if (p == 0.0f) continue;
        axpy_f16(out, p, job->v_cache + (first + j) * kv_dim + kv_head * d, d);
    }
}

static void attention_worker(void *ctx, int32_t ith, int32_t nth) {
    const attention_job *job = ctx;
    float *mine = job->scratch + (int64_t)ith * (job->n_ctx_scratch + job->head_dim);
    float *qh = mine;
    float *scores = mine + job->head_dim;
    const int64_t items = job->ntok * job->n_head;
    for (int64_t item = ith; item < items; item += nth) {
        attend_one(job, item / job->n_head, item % job->n_head, qh, scores);
    }
}

int64_t hydra_attention_scratch_floats(int32_t threads, int64_t n_ctx, int64_t head_dim) {
    return (int64_t)(threads < 1 ? 1 : threads) * (n_ctx + head_dim);
}

void hydra_attention(hydra_pool *pool, const float *q, const uint16_t *k_cache, const uint16_t *v_cache,
                     int64_t ntok, int64_t n_head, int64_t n_kv_head, int64_t head_dim,
                     int64_t start_pos, int64_t window, float scale, float *scratch, float *out) {
    attention_job job = {
        .q = q, .k_cache = k_cache, .v_cache = v_cache,
        .ntok = ntok, .n_head = n_head, .n_kv_head = n_kv_head, .head_dim = head_dim,
        .start_pos = start_pos, .window = window,
        // Every thread's score buffer must hold the longest row of this call.
        .n_ctx_scratch = start_pos + ntok,
        .scale = scale, .scratch = scratch, .out = out,
    };
    hydra_pool_run(pool, attention_worker, &job);
}
