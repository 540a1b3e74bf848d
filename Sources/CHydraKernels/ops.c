// Element-wise transformer steps: RMS norm, RoPE, gated activations, each
// with the arithmetic of ggml's CPU operator of the same name; and grouped
// matrix-vector products for decoding.

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>

#include "hydra_ops.h"
#include "kernels.h"
#include "ops_simd.h"

void hydra_rms_norm(const float *x, const float *weight, float *y, int64_t rows, int64_t n, float eps) {
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * n;
        float *yr = y + r * n;
        // ggml squares in float and sums in double.
        double sum = 0.0;
        for (int64_t i = 0; i < n; i++) sum += (double)(xr[i] * xr[i]);
        const float mean = (float)(sum / (double)n);
        const float scale = 1.0f / sqrtf(mean + eps);
        // ggml_rms_norm then ggml_mul: two roundings, kept apart.
        for (int64_t i = 0; i < n; i++) {
            const float normed = xr[i] * scale;
            yr[i] = normed * weight[i];
        }
    }
}

void hydra_rope(float *x, int64_t ntok, int64_t n_head, int64_t head_dim, int64_t n_rot,
                int64_t start_pos, float base, int32_t mode, float *cache) {
    const float theta_scale = powf(base, -2.0f / (float)n_rot);
    for (int64_t t = 0; t < ntok; t++) {
        // cos/sin per pair, the angle advanced by multiplication as ggml does.
        float theta = (float)(start_pos + t);
        for (int64_t i = 0; i < n_rot; i += 2) {
            cache[i] = cosf(theta);
            cache[i + 1] = sinf(theta);
            theta *= theta_scale;
        }
        for (int64_t h = 0; h < n_head; h++) {
            float *v = x + (t * n_head + h) * head_dim;
            for (int64_t i = 0; i < n_rot; i += 2) {
                const float c = cache[i], s = cache[i + 1];
                // NORMAL: neighbours (i, i+1); NEOX: halves (i/2, i/2 + n_rot/2).
                float *a = mode == HYDRA_ROPE_NEOX ? v + i / 2 : v + i;
                float *b = mode == HYDRA_ROPE_NEOX ? a + n_rot / 2 : a + 1;
                const float x0 = *a, x1 = *b;
                // ggml's build contracts these into fused multiply-adds.
                *a = fmaf(x0, c, -(x1 * s));
                *b = fmaf(x0, s, x1 * c);
            }
        }
    }
}

void hydra_swiglu(const float *gate, const float *up, float *out, int64_t rows, int64_t n) {
    for (int64_t r = 0; r < rows; r++) {
        const float *g = gate + r * n, *u = up + r * n;
        float *y = out + r * n;
        // ggml_vec_swiglu_f32: whole registers with ggml_v_expf, the tail
        // of each row with the C library's expf.
        const int64_t whole = n - n % HYDRA_LANES;
        int64_t i = 0;
#if defined(HYDRA_EXP_AVX2)
        for (; i < whole; i += 8) {
            const __m256 gv = _mm256_loadu_ps(g + i);
            const __m256 e = ggml_like_expf8(_mm256_sub_ps(_mm256_setzero_ps(), gv));
            const __m256 s = _mm256_div_ps(gv, _mm256_add_ps(_mm256_set1_ps(1.0f), e));
            _mm256_storeu_ps(y + i, _mm256_mul_ps(s, _mm256_loadu_ps(u + i)));
        }
#endif
        for (; i < whole; i++) y[i] = g[i] / (1.0f + ggml_like_expf(0.0f - g[i])) * u[i];
        for (int64_t i = whole; i < n; i++) y[i] = g[i] / (1.0f + expf(-g[i])) * u[i];
    }
}

// ggml's tanh GELU, evaluated once per half-precision input.
static const float GELU_COEF_A = 0.044715f;
static const float SQRT_2_OVER_PI = 0.79788456080286535587989211986876f;

static uint16_t gelu_table[1 << 16];
static pthread_once_t gelu_once = PTHREAD_ONCE_INIT;

static void gelu_table_init(void) {
    for (int i = 0; i < (1 << 16); i++) {
        const float x = fp16_to_fp32((uint16_t)i);
        // ggml builds this table with GCC's default FMA contraction, which
        // fuses 1 + (a·x)·x.
        const float y = 0.5f * x * (1.0f + tanhf(SQRT_2_OVER_PI * x * fmaf(GELU_COEF_A * x, x, 1.0f)));
        gelu_table[i] = fp32_to_fp16(y);
    }
}

void hydra_geglu(const float *gate, const float *up, float *out, int64_t n) {
    pthread_once(&gelu_once, gelu_table_init);
    for (int64_t i = 0; i < n; i++) {
        const float g = gate[i];
        float act;
        if (g <= -10.0f) {
            act = 0.0f;
        } else if (g >= 10.0f) {
            act = g;
        } else {
            act = fp16_to_fp32(gelu_table[fp32_to_fp16(g)]);
        }
        out[i] = act * up[i];
    }
}

void hydra_add(float *y, const float *x, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] += x[i];
}

void hydra_scale(float *y, float s, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] *= s;
}

void hydra_to_half(const float *x, uint16_t *y, int64_t n) {
    for (int64_t i = 0; i < n; i++) y[i] = fp32_to_fp16(x[i]);
}

// ---- grouped matrix-vector products ---------------------------------------

typedef struct {
    const hydra_matmul_part *parts;
    int32_t count;
    int64_t cols, total_rows;
    const float *x;
    int64_t chunk_rows;        // rows claimed at a time, in the concatenation
    _Atomic int64_t next_chunk;
    _Atomic int32_t failed;
} matmul_group_job;

// Chunks are whole groups of 16 rows so the kernels' multi-row loops stay full.
enum { GROUP_ROW_ALIGN = 16 };

/// Rows [begin, end) of the parts' concatenation.
static void matmul_group_rows(matmul_group_job *job, int64_t begin, int64_t end) {
    int64_t offset = 0; // first row of the current part in the concatenation
    for (int32_t p = 0; p < job->count; p++) {
        const hydra_matmul_part *part = &job->parts[p];
        const int64_t r0 = begin > offset ? begin - offset : 0;
        const int64_t r1 = end - offset < part->rows ? end - offset : part->rows;
        if (r1 > r0) {
            const int64_t row_bytes =
                job->cols / hydra_type_block_elements(part->type) * hydra_type_block_bytes(part->type);
            if (hydra_matmul_slice(NULL, part->type, (const char *)part->w + r0 * row_bytes, r1 - r0, part->rows,
                                   job->cols, job->x, 1, part->y + r0, hydra_kernel_mode()) != 0) {
                atomic_store(&job->failed, 1);
            }
        }
        offset += part->rows;
    }
}

/// Each thread claims chunks of rows until none is left (hydra_claim_chunk).
static void matmul_group_worker(void *ctx, int32_t ith, int32_t nth) {
    (void)ith, (void)nth;
    matmul_group_job *job = ctx;
    int64_t begin, end;
    while (hydra_claim_chunk(&job->next_chunk, job->chunk_rows, job->total_rows, &begin, &end)) {
        matmul_group_rows(job, begin, end);
    }
}

int32_t hydra_matmul_group(hydra_pool *pool, const hydra_matmul_part *parts, int32_t count, int64_t cols,
                           const float *x) {
    matmul_group_job job = {.parts = parts, .count = count, .cols = cols, .x = x};
    for (int32_t p = 0; p < count; p++) {
        if (hydra_type_block_elements(parts[p].type) <= 0) return -1;
        job.total_rows += parts[p].rows;
    }
    // About four chunks per thread.
    const int64_t units = (job.total_rows + GROUP_ROW_ALIGN - 1) / GROUP_ROW_ALIGN;
    const int64_t chunks = 4 * (int64_t)hydra_pool_threads(pool);
    job.chunk_rows = (units + chunks - 1) / chunks * GROUP_ROW_ALIGN;
    atomic_init(&job.next_chunk, 0);
    atomic_init(&job.failed, 0);
    hydra_pool_run(pool, matmul_group_worker, &job);
    return atomic_load(&job.failed) ? -1 : 0;
}

const char *hydra_arithmetic_variant(void) {
#if defined(HYDRA_EXP_AVX512)
    return "avx512";
#elif defined(HYDRA_EXP_AVX2)
    return "avx2";
#else
    return "generic";
#endif
}

void hydra_exp_lanes(const float *x, float *y, int64_t n, int32_t mode) {
    int64_t i = 0;
#if defined(HYDRA_EXP_AVX2)
    if (mode != HYDRA_KERNELS_PORTABLE) {
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, ggml_like_expf8(_mm256_loadu_ps(x + i)));
    }
#else
    (void)mode;
#endif
    for (; i < n; i++) y[i] = ggml_like_expf(x[i]);
}
