// hydra_matmul: quantize each activation row once, then let the pool's
// threads claim chunks of output rows until none is left. One token streams
// its rows once (prefetching ahead); several tokens are walked in tiles of
// rows and tokens so a weight row is reused while it is in L1 cache, where
// Q4_0/Q5_0 rows are first unpacked to Q8_0 and multiplied two rows by four
// tokens at a time. Every path gives each output the bits of the type's
// kernel in ggml's arithmetic (kernels.h).

#include "kernels.h"
#include "pool.h"

static _Atomic int32_t kernel_mode = HYDRA_KERNELS_BEST;

void hydra_set_kernel_mode(int32_t mode) { atomic_store(&kernel_mode, mode ? HYDRA_KERNELS_BEST : HYDRA_KERNELS_PORTABLE); }
int32_t hydra_kernel_mode(void) { return atomic_load(&kernel_mode); }

int32_t hydra_has_simd_kernels(void) {
#ifdef HYDRA_HAVE_AVX2
    return 1;
#else
    return 0;
#endif
}

// ---- kernel table ---------------------------------------------------------------

#define K(act, q, d) {HYDRA_TYPE_##act, q, d, NULL, NULL, NULL}
#define K4(act, q, d, d4) {HYDRA_TYPE_##act, q, d, d4, NULL, NULL}
// With a two-rows-by-four-tokens kernel for prompts, on rows unpacked to Q8_0 when `unpack` is set.
#define KT(act, q, d, d4, unpack, d2x4) {HYDRA_TYPE_##act, q, d, d4, unpack, d2x4}

static const hydra_kernel portable_kernels[] = {
    [HYDRA_TYPE_F32] = K(F32, hydra_quantize_f32, hydra_dot_f32_scalar),
    [HYDRA_TYPE_F16] = K(F16, hydra_quantize_f16_scalar, hydra_dot_f16_scalar),
    [HYDRA_TYPE_BF16] = K(BF16, hydra_quantize_bf16_scalar, hydra_dot_bf16_scalar),
    [HYDRA_TYPE_Q4_0] = K(Q8_0, hydra_quantize_q8_0_scalar, hydra_dot_q4_0_scalar),
    [HYDRA_TYPE_Q4_1] = K(Q8_1, hydra_quantize_q8_1_scalar, hydra_dot_q4_1_scalar),
    [HYDRA_TYPE_Q5_0] = K(Q8_0, hydra_quantize_q8_0_scalar, hydra_dot_q5_0_scalar),
    [HYDRA_TYPE_Q5_1] = K(Q8_1, hydra_quantize_q8_1_scalar, hydra_dot_q5_1_scalar),
    [HYDRA_TYPE_Q8_0] = K(Q8_0, hydra_quantize_q8_0_scalar, hydra_dot_q8_0_scalar),
    [HYDRA_TYPE_Q2_K] = K(Q8_K, hydra_quantize_q8_K_scalar, hydra_dot_q2_K_scalar),
    [HYDRA_TYPE_Q3_K] = K(Q8_K, hydra_quantize_q8_K_scalar, hydra_dot_q3_K_scalar),
    [HYDRA_TYPE_Q4_K] = K(Q8_K, hydra_quantize_q8_K_scalar, hydra_dot_q4_K_scalar),
    [HYDRA_TYPE_Q5_K] = K(Q8_K, hydra_quantize_q8_K_scalar, hydra_dot_q5_K_scalar),
    [HYDRA_TYPE_Q6_K] = K(Q8_K, hydra_quantize_q8_K_scalar, hydra_dot_q6_K_scalar),
};

#ifdef HYDRA_HAVE_AVX2
static const hydra_kernel simd_kernels[] = {
    [HYDRA_TYPE_F32] = K(F32, hydra_quantize_f32, hydra_dot_f32_scalar),
    [HYDRA_TYPE_F16] = K(F16, hydra_quantize_f16_scalar, hydra_dot_f16_scalar),
    [HYDRA_TYPE_BF16] = K(BF16, hydra_quantize_bf16_scalar, hydra_dot_bf16_scalar),
    [HYDRA_TYPE_Q4_0] = KT(Q8_0, hydra_quantize_q8_0_avx2, hydra_dot_q4_0_avx2, hydra_dot4_q4_0_avx2,
                           hydra_unpack_q4_0, hydra_dot2x4_q8_0_avx2),
    [HYDRA_TYPE_Q4_1] = K4(Q8_1, hydra_quantize_q8_1_avx2, hydra_dot_q4_1_avx2, hydra_dot4_q4_1_avx2),
    [HYDRA_TYPE_Q5_0] = KT(Q8_0, hydra_quantize_q8_0_avx2, hydra_dot_q5_0_avx2, hydra_dot4_q5_0_avx2,
                           hydra_unpack_q5_0, hydra_dot2x4_q8_0_avx2),
    [HYDRA_TYPE_Q5_1] = K(Q8_1, hydra_quantize_q8_1_avx2, hydra_dot_q5_1_avx2),
    [HYDRA_TYPE_Q8_0] = KT(Q8_0, hydra_quantize_q8_0_avx2, hydra_dot_q8_0_avx2, hydra_dot4_q8_0_avx2, NULL,
                           hydra_dot2x4_q8_0_avx2),
    [HYDRA_TYPE_Q2_K] = K(Q8_K, hydra_quantize_q8_K_scalar, hydra_dot_q2_K_scalar),
    [HYDRA_TYPE_Q3_K] = K(Q8_K, hydra_quantize_q8_K_scalar, hydra_dot_q3_K_scalar),
    [HYDRA_TYPE_Q4_K] = K4(Q8_K, hydra_quantize_q8_K_scalar, hydra_dot_q4_K_avx2, hydra_dot4_q4_K_avx2),
    [HYDRA_TYPE_Q5_K] = K(Q8_K, hydra_quantize_q8_K_scalar, hydra_dot_q5_K_scalar),
    [HYDRA_TYPE_Q6_K] = K(Q8_K, hydra_quantize_q8_K_scalar, hydra_dot_q6_K_avx2),
};
#endif

const hydra_kernel *hydra_kernel_for(int32_t type, int32_t mode) {
    const hydra_kernel *table = portable_kernels;
    size_t count = sizeof portable_kernels / sizeof portable_kernels[0];
#ifdef HYDRA_HAVE_AVX2
    if (mode != HYDRA_KERNELS_PORTABLE) table = simd_kernels;
#else
    (void)mode;
#endif
    if (type < 0 || (size_t)type >= count || table[type].dot == NULL) return NULL;
    return &table[type];
}

static const hydra_kernel q4_K_x8_portable = K4(Q8_K, hydra_quantize_q8_K_scalar, hydra_dot_q4_K_x8_scalar,
                                                hydra_dot4_q4_K_x8_scalar);
#ifdef HYDRA_HAVE_AVX2
static const hydra_kernel q4_K_x8_simd = K4(Q8_K, hydra_quantize_q8_K_scalar, hydra_dot_q4_K_x8_avx2,
                                            hydra_dot4_q4_K_x8_avx2);
#endif

static const hydra_kernel q6_K_tiled_portable = K(Q8_K, hydra_quantize_q8_K_scalar, hydra_dot_q6_K_tiled);
#ifdef HYDRA_HAVE_AVX2
static const hydra_kernel q6_K_tiled_simd = K4(Q8_K, hydra_quantize_q8_K_scalar, hydra_dot_q6_K_tiled_avx2,
                                               hydra_dot4_q6_K_tiled_avx2);
#endif

const hydra_kernel *hydra_kernel_for_matrix(int32_t type, int64_t matrix_rows, int64_t ntok, int32_t mode) {
    // ggml_compute_forward_mul_mat_tiled: K-quants that are not repacked,
    // with at least 8 activation rows (here only Q6_K occurs).
    if (type == HYDRA_TYPE_Q6_K && ntok >= 8) {
#ifdef HYDRA_HAVE_AVX2
        return mode == HYDRA_KERNELS_PORTABLE ? &q6_K_tiled_portable : &q6_K_tiled_simd;
#else
        return &q6_K_tiled_portable;
#endif
    }
    // ggml_repack_get_optimal_repack_type: on AVX2 only Q4_K (8x8, with
    // Q8_K activations) is repacked, and only when ne[1] % 8 == 0.
    if (type == HYDRA_TYPE_Q4_K && matrix_rows % 8 == 0) {
#ifdef HYDRA_HAVE_AVX2
        return mode == HYDRA_KERNELS_PORTABLE ? &q4_K_x8_portable : &q4_K_x8_simd;
#else
        (void)mode;
        return &q4_K_x8_portable;
#endif
    }
    return hydra_kernel_for(type, mode);
}

int32_t hydra_activation_type(int32_t type) {
    const hydra_kernel *k = hydra_kernel_for(type, HYDRA_KERNELS_PORTABLE);
    return k ? k->act_type : -1;
}

int32_t hydra_quantize_activation(int32_t type, const float *x, void *dst, int64_t n, int32_t mode) {
    const hydra_kernel *k = hydra_kernel_for(type, mode);
    if (!k || n % hydra_type_block_elements(type) != 0) return -1;
    k->quantize(x, dst, n);
    return 0;
}

int32_t hydra_vec_dot(int32_t type, int64_t n, const void *w, const void *xq, float *result, int32_t mode) {
    const hydra_kernel *k = hydra_kernel_for(type, mode);
    if (!k || n % hydra_type_block_elements(type) != 0) return -1;
    *result = k->dot(n, w, xq);
    return 0;
}

// ---- the product --------------------------------------------------------------

enum {
    ROW_TILE = 16,  // weight rows kept hot while a token tile passes over them
    TOKEN_TILE = 8, // quantized activation rows per tile
};

typedef struct {
    const hydra_kernel *kernel;
    const hydra_kernel *q8_0;  // Q8_0's kernels, for rows the kernel unpacks
    const uint8_t *W;
    size_t w_row_bytes;
    int64_t rows, cols;
    const float *X;
    uint8_t *XQ;
    size_t xq_row_bytes;
    int64_t ntok;
    float *Y;
    uint8_t *unpacked;         // per thread: one row tile as Q8_0 blocks
    size_t unpacked_bytes;     // bytes per thread
    int64_t chunk_rows;        // rows claimed at a time (whole row tiles)
    _Atomic int64_t next_chunk;
} matmul_job;

/// Claims the next chunk of rows (hydra_claim_chunk).
static bool claim_rows(matmul_job *job, int64_t *begin, int64_t *end) {
    return hydra_claim_chunk(&job->next_chunk, job->chunk_rows, job->rows, begin, end);
}

/// Thread i of n quantizes its share of the activation rows.
static void quantize_part(void *vjob, int32_t i, int32_t n) {
    const matmul_job *job = vjob;
    for (int64_t t = i; t < job->ntok; t += n) {
        job->kernel->quantize(job->X + t * job->cols, job->XQ + t * job->xq_row_bytes, job->cols);
    }
}

/// Rows [r_begin, r_end) for one token. Generation streams every weight
/// once per token from memory, so the rows two ahead are requested early
/// (one sequential stream is more than the hardware prefetcher keeps up
/// with on one core).
static void multiply_one_token(const matmul_job *job, int64_t r_begin, int64_t r_end) {
    const hydra_dot_fn dot = job->kernel->dot;
    const size_t ahead = 2 * job->w_row_bytes;
    const uint8_t *end = job->W + job->rows * job->w_row_bytes;
    for (int64_t r = r_begin; r < r_end; r++) {
        const uint8_t *w = job->W + r * job->w_row_bytes;
        for (const uint8_t *p = w + ahead; p < w + ahead + job->w_row_bytes && p < end; p += 64) {
            __builtin_prefetch(p);
        }
        job->Y[r] = dot(job->cols, w, job->XQ);
    }
}

/// Rows [r_begin, r_end) for all tokens, in tiles of rows and tokens;
/// thread i unpacks into its own buffer.
static void multiply_tokens(const matmul_job *job, int32_t i, int64_t r_begin, int64_t r_end) {
    // Two-by-four tiles pay off once a token tile is full; rows a kernel
    // unpacks are unpacked once per row tile and then serve every token.
    const bool tiled = job->kernel->dot2x4 && job->ntok >= TOKEN_TILE;
    const bool unpack = tiled && job->kernel->unpack;
    const hydra_kernel *k = unpack ? job->q8_0 : job->kernel;
    const size_t xq = job->xq_row_bytes;

    for (int64_t r0 = r_begin; r0 < r_end; r0 += ROW_TILE) {
        const int64_t r1 = r0 + ROW_TILE < r_end ? r0 + ROW_TILE : r_end;
        const uint8_t *rows = job->W + r0 * job->w_row_bytes;
        size_t row_bytes = job->w_row_bytes;
        if (unpack) {
            row_bytes = job->cols / QK8_0 * sizeof(block_q8_0);
            uint8_t *dst = job->unpacked + (size_t)i * job->unpacked_bytes;
            for (int64_t r = r0; r < r1; r++) {
                job->kernel->unpack(job->W + r * job->w_row_bytes, dst + (r - r0) * row_bytes, job->cols);
            }
            rows = dst;
        }
        for (int64_t t0 = 0; t0 < job->ntok; t0 += TOKEN_TILE) {
            const int64_t t1 = t0 + TOKEN_TILE < job->ntok ? t0 + TOKEN_TILE : job->ntok;
            int64_t r = r0;
            for (; tiled && r + 2 <= r1; r += 2) {
                const uint8_t *w = rows + (r - r0) * row_bytes;
                int64_t t = t0;
                for (; t + 4 <= t1; t += 4) {
                    float out[8];
                    k->dot2x4(job->cols, w, row_bytes, job->XQ + t * xq, xq, out);
                    for (int j = 0; j < 4; j++) {
                        job->Y[(t + j) * job->rows + r] = out[j];
                        job->Y[(t + j) * job->rows + r + 1] = out[4 + j];
                    }
                }
                for (; t < t1; t++) {
                    job->Y[t * job->rows + r] = k->dot(job->cols, w, job->XQ + t * xq);
                    job->Y[t * job->rows + r + 1] = k->dot(job->cols, w + row_bytes, job->XQ + t * xq);
                }
            }
            for (; r < r1; r++) {
                const uint8_t *w = rows + (r - r0) * row_bytes;
                int64_t t = t0;
                if (k->dot4) {
                    for (; t + 4 <= t1; t += 4) {
                        float out[4];
                        k->dot4(job->cols, w, job->XQ + t * xq, xq, out);
                        for (int j = 0; j < 4; j++) job->Y[(t + j) * job->rows + r] = out[j];
                    }
                }
                for (; t < t1; t++) {
                    job->Y[t * job->rows + r] = k->dot(job->cols, w, job->XQ + t * xq);
                }
            }
        }
    }
}

/// Quantizes the ntok activation rows once, then runs `part` over the pool
/// with `kernel` (shared by the ordinary product and hydra_matmul_each).
static int32_t run_product(hydra_pool *pool, const hydra_kernel *kernel, void (*part)(void *, int32_t, int32_t), int32_t type,
                           const void *W, int64_t rows, int64_t cols, const float *X, int64_t ntok, float *Y) {
    if (!kernel || rows < 0 || cols <= 0 || ntok < 0) return -1;
    const int64_t qk = hydra_type_block_elements(type);
    const int64_t act_qk = hydra_type_block_elements(kernel->act_type);
    if (cols % qk != 0 || cols % act_qk != 0) return -1;
    if (rows == 0 || ntok == 0) return 0;

    matmul_job job = {
        .kernel = kernel,
        .W = W,
        .w_row_bytes = (size_t)(cols / qk * hydra_type_block_bytes(type)),
        .rows = rows,
        .cols = cols,
        .X = X,
        .xq_row_bytes = (size_t)(cols / act_qk * hydra_type_block_bytes(kernel->act_type)),
        .ntok = ntok,
        .Y = Y,
    };
    // About four chunks per thread (chunks are whole row tiles so threads
    // do not share cache lines of Y more than needed).
    const int32_t threads = hydra_pool_threads(pool);
    const int64_t tiles = (rows + ROW_TILE - 1) / ROW_TILE;
    job.chunk_rows = (tiles + 4 * threads - 1) / (4 * threads) * ROW_TILE;
    atomic_init(&job.next_chunk, 0);

    // Scratch: the quantized activations, then one unpacked row tile per thread.
    const size_t xq_bytes = (job.xq_row_bytes * (size_t)ntok + 63) & ~(size_t)63;
    if (kernel->unpack) {
        // Only the SIMD table unpacks; its Q8_0 kernels then run on the rows.
        job.q8_0 = hydra_kernel_for(HYDRA_TYPE_Q8_0, HYDRA_KERNELS_BEST);
        job.unpacked_bytes = (size_t)ROW_TILE * (size_t)(cols / QK8_0) * sizeof(block_q8_0);
    }
    hydra_pool_lock(pool);
    uint8_t *scratch = hydra_scratch_reserve(hydra_pool_scratch(pool),
                                             xq_bytes + (size_t)threads * job.unpacked_bytes);
    if (!scratch) {
        hydra_pool_unlock(pool);
        return -1;
    }
    job.XQ = scratch;
    job.unpacked = scratch + xq_bytes;

    if (ntok > 1) {
        hydra_pool_run(pool, quantize_part, &job);
    } else {
        quantize_part(&job, 0, 1);
    }
    hydra_pool_run(pool, part, &job);
    hydra_pool_unlock(pool);
    return 0;
}

/// Thread i of n: chunks of output rows for all tokens, until none is left.
static void multiply_part(void *vjob, int32_t i, int32_t n) {
    (void)n;
    matmul_job *job = vjob;
    int64_t begin, end;
    while (claim_rows(job, &begin, &end)) {
        if (job->ntok == 1) {
            multiply_one_token(job, begin, end);
        } else {
            multiply_tokens(job, i, begin, end);
        }
    }
}

int32_t hydra_matmul_slice(hydra_pool *pool, int32_t type, const void *W, int64_t rows, int64_t matrix_rows,
                           int64_t cols, const float *X, int64_t ntok, float *Y, int32_t mode) {
    return run_product(pool, hydra_kernel_for_matrix(type, matrix_rows, ntok, mode), multiply_part, type, W, rows,
                       cols, X, ntok, Y);
}

int32_t hydra_matmul_mode(hydra_pool *pool, int32_t type, const void *W, int64_t rows, int64_t cols,
                          const float *X, int64_t ntok, float *Y, int32_t mode) {
    return hydra_matmul_slice(pool, type, W, rows, rows, cols, X, ntok, Y, mode);
}

int32_t hydra_matmul(hydra_pool *pool, int32_t type, const void *W, int64_t rows, int64_t cols,
                     const float *X, int64_t ntok, float *Y) {
    return hydra_matmul_mode(pool, type, W, rows, cols, X, ntok, Y, hydra_kernel_mode());
}

// ---- several tokens, each with the one-token arithmetic ---------------------------

/// Thread i of n: every token against chunks of rows, with the kernel a
/// single token would get (rows walked once, so each weight row is read
/// from memory once for all tokens while it is hot in cache).
static void multiply_each_part(void *vjob, int32_t i, int32_t n) {
    (void)i, (void)n;
    matmul_job *job = vjob;
    const hydra_dot_fn dot = job->kernel->dot;
    int64_t begin, end;
    while (claim_rows(job, &begin, &end)) {
        for (int64_t r = begin; r < end; r++) {
            const uint8_t *w = job->W + r * job->w_row_bytes;
            for (int64_t t = 0; t < job->ntok; t++) {
                job->Y[t * job->rows + r] = dot(job->cols, w, job->XQ + t * job->xq_row_bytes);
            }
        }
    }
}

int32_t hydra_matmul_each(hydra_pool *pool, int32_t type, const void *W, int64_t rows, int64_t cols,
                          const float *X, int64_t ntok, float *Y, int32_t mode) {
    // The kernel of a one-token product: several sequences decoded together
    // must each get the bits they would get alone.
    return run_product(pool, hydra_kernel_for_matrix(type, rows, 1, mode), multiply_each_part, type, W, rows, cols,
                       X, ntok, Y);
}
