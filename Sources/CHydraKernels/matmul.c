// hydra_matmul: quantize each activation row once, then let the pool's
// threads claim chunks of output rows until none is left. One token streams
// its rows once (prefetching ahead); several tokens are walked in tiles of
// rows and tokens so a weight row is reused while it is in L1 cache, where
// Q4_0/Q5_0 rows are first unpacked to Q8_0 and multiplied two rows by four
// tokens at a time. Every path gives each output the bits of the type's
// kernel in ggml's arithmetic (kernels.c). hydra_matmul_each runs several
// tokens each with the one-token arithmetic; hydra_matmul_group several
// matrices on one token in one run of the pool.

#include "kernels.h"
#include "hydra_matmul.h"
#include "pool.h"

/// Claims the next chunk of `chunk` items out of `total`, [*begin, *end);
/// false when all are taken. Threads of a pool run take chunks as they
/// finish, so one slowed down by other work on the machine takes fewer
/// instead of holding the others up.
static inline bool claim_chunk(_Atomic int64_t *next, int64_t chunk, int64_t total, int64_t *begin,
                               int64_t *end) {
    *begin = atomic_fetch_add_explicit(next, 1, memory_order_relaxed) * chunk;
    if (*begin >= total) return false;
    *end = *begin + chunk < total ? *begin + chunk : total;
    return true;
}

// ---- the product --------------------------------------------------------------

enum {
    ROW_TILE = 16,  // weight rows kept hot while a token tile passes over them
    TOKEN_TILE = 8, // quantized activation rows per tile
    PACK_TOKENS = 8, // fewest tokens for which packing eight rows pays
};

typedef struct {
    const hydra_kernel *kernel;
    const hydra_kernel *q8_0;  // Q8_0's kernels, for rows the kernel unpacks
    const uint8_t *W;
    size_t w_row_bytes;
    // The matrix as the model keeps it repacked (kernel->repack), or NULL;
    // row0: the matrix row of W's first row (W may be a slice of it).
    const uint8_t *repacked;
    int64_t row0;
    int64_t rows, cols;
    const float *X;
    uint8_t *XQ;
    size_t xq_row_bytes;
    int64_t ntok;
    float *Y;
    uint8_t *unpacked;         // per thread: one row tile as Q8_0 blocks, or packed (pack8)
    size_t unpacked_bytes;     // bytes per thread
    int64_t chunk_rows;        // rows claimed at a time (whole row tiles)
    _Atomic int64_t next_chunk;
} matmul_job;

/// The repacked copy of rows r..r+7 of W, or NULL where W has none or those
/// rows are not one group of eight in it.
static inline const uint8_t *repacked_rows(const matmul_job *job, int64_t r) {
    if (!job->repacked || (job->row0 + r) % 8 != 0) return NULL;
    const size_t group_bytes = (size_t)(job->cols / QK_K) * job->kernel->repacked_block_bytes;
    return job->repacked + (size_t)((job->row0 + r) / 8) * group_bytes;
}

/// Whether a product of `ntok` tokens takes eight packed rows at a time:
/// for prompts, and for any few tokens when the rows are kept repacked
/// (nothing to pack then; four tokens at a time give the bits of the
/// kernel's dot4, leftovers those of its dot).
static inline bool packs_rows(const hydra_kernel *k, bool repacked, int64_t ntok) {
    return k->pack8 && (ntok >= PACK_TOKENS || (repacked && ntok > 1));
}

/// Claims the next chunk of rows (claim_chunk).
static bool claim_rows(matmul_job *job, int64_t *begin, int64_t *end) {
    return claim_chunk(&job->next_chunk, job->chunk_rows, job->rows, begin, end);
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
    const hydra_dot8_fn dot8 = job->kernel->dot8;
    const size_t row = job->w_row_bytes, ahead = 2 * row;
    const uint8_t *end = job->W + job->rows * row;
    int64_t r = r_begin;
    if (job->repacked) { // eight rows at a time from the repacked copy, once r starts a group of eight
        for (; r < r_end && !repacked_rows(job, r); r++) job->Y[r] = dot(job->cols, job->W + r * row, job->XQ);
        for (; r + 8 <= r_end; r += 8) job->kernel->dot8_repacked(job->cols, repacked_rows(job, r), job->XQ, job->Y + r);
    }
    // Eight rows at a time where the kernel has that form. It reads them
    // in order, which the hardware prefetcher follows best unaided.
    for (; dot8 && r + 8 <= r_end; r += 8) dot8(job->cols, job->W + r * row, row, job->XQ, job->Y + r);
    for (; r < r_end; r++) {
        const uint8_t *w = job->W + r * row;
        for (const uint8_t *p = w + ahead; p < w + ahead + row && p < end; p += 64) {
            __builtin_prefetch(p);
        }
        job->Y[r] = dot(job->cols, w, job->XQ);
    }
}

/// The weights of the row tile after [r0, r1) in a chunk ending at r_end:
/// `*bytes` bytes from the returned pointer (the model's repacked copy where
/// it has one), or NULL at the chunk's end.
static const uint8_t *next_tile(const matmul_job *job, int64_t r1, int64_t r_end, size_t *bytes) {
    if (r1 >= r_end) return NULL;
    const int64_t rows = r1 + ROW_TILE < r_end ? ROW_TILE : r_end - r1;
    const uint8_t *repacked = repacked_rows(job, r1);
    if (repacked) {
        *bytes = (size_t)(rows / 8) * (size_t)(job->cols / QK_K) * job->kernel->repacked_block_bytes;
        return repacked;
    }
    *bytes = (size_t)rows * job->w_row_bytes;
    return job->W + r1 * job->w_row_bytes;
}

/// Requests share `part` of `parts` of the cache lines of [p, p + bytes):
/// the next row tile's weights, spread over the current tile's passes, so
/// that they come from memory while the current tile is multiplied (with
/// few tokens nothing else hides that latency; a thread's chunk of a large
/// matrix otherwise starts every tile with a wait on memory). Not with a
/// single pass: requesting a whole tile at once competes with the current
/// tile's own reads, and the hardware prefetcher does better there
/// (qwen2.5-1.5b, four sequences in throughput mode: 38 t/s with, 42-58
/// without).
static inline void prefetch_share(const uint8_t *p, size_t bytes, int64_t part, int64_t parts) {
    if (!p || parts < 2) return;
    const size_t lines = (bytes + 63) / 64;
    const size_t first = lines * (size_t)part / (size_t)parts, last = lines * (size_t)(part + 1) / (size_t)parts;
    for (size_t l = first; l < last; l++) __builtin_prefetch(p + 64 * l);
}

/// Rows [r_begin, r_end) for all tokens with a kernel that packs eight rows:
/// each row tile is packed once into thread i's buffer, then every group of
/// four tokens passes over it. As in ggml, tokens past the last full group
/// of four take the one-token kernel.
static void multiply_tokens_packed(const matmul_job *job, int32_t i, int64_t r_begin, int64_t r_end) {
    const hydra_kernel *k = job->kernel;
    const size_t row = job->w_row_bytes, xq = job->xq_row_bytes;
    const size_t group_bytes = (size_t)(job->cols / QK_K) * k->packed8_block_bytes;
    uint8_t *packed = job->unpacked + (size_t)i * job->unpacked_bytes;
    const int64_t quads = job->ntok / 4 * 4;
    for (int64_t r0 = r_begin; r0 < r_end; r0 += ROW_TILE) {
        const int64_t r1 = r0 + ROW_TILE < r_end ? r0 + ROW_TILE : r_end;
        const int64_t groups = (r1 - r0) / 8;
        // Each group of eight rows from the model's repacked copy, else packed here once for all tokens.
        const uint8_t *group[ROW_TILE / 8];
        hydra_dot8x4_fn dot8x4[ROW_TILE / 8];
        for (int64_t g = 0; g < groups; g++) {
            group[g] = repacked_rows(job, r0 + 8 * g);
            dot8x4[g] = k->dot8x4_repacked;
            if (!group[g]) {
                group[g] = packed + g * group_bytes;
                dot8x4[g] = k->dot8x4;
                k->pack8(job->cols, job->W + (r0 + 8 * g) * row, row, packed + g * group_bytes);
            }
        }
        size_t ahead_bytes = 0;
        const uint8_t *ahead = next_tile(job, r1, r_end, &ahead_bytes);
        for (int64_t t = 0; t < quads; t += 4) {
            prefetch_share(ahead, ahead_bytes, t / 4, quads / 4);
            for (int64_t g = 0; g < groups; g++) {
                float out[32];
                dot8x4[g](job->cols, group[g], job->XQ + t * xq, xq, out);
                for (int j = 0; j < 4; j++) {
                    memcpy(job->Y + (t + j) * job->rows + r0 + 8 * g, out + 8 * j, 8 * sizeof(float));
                }
            }
            for (int64_t r = r0 + 8 * groups; r < r1; r++) { // rows short of a group of eight
                float out[4];
                k->dot4(job->cols, job->W + r * row, job->XQ + t * xq, xq, out);
                for (int j = 0; j < 4; j++) job->Y[(t + j) * job->rows + r] = out[j];
            }
        }
        for (int64_t t = quads; t < job->ntok; t++) {
            int64_t r = r0;
            for (const uint8_t *repacked; r + 8 <= r1 && (repacked = repacked_rows(job, r)); r += 8) {
                k->dot8_repacked(job->cols, repacked, job->XQ + t * xq, job->Y + t * job->rows + r);
            }
            for (; r < r1; r++) job->Y[t * job->rows + r] = k->dot(job->cols, job->W + r * row, job->XQ + t * xq);
        }
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
        size_t ahead_bytes = 0;
        const uint8_t *ahead = next_tile(job, r1, r_end, &ahead_bytes);
        const int64_t token_tiles = (job->ntok + TOKEN_TILE - 1) / TOKEN_TILE;
        for (int64_t t0 = 0; t0 < job->ntok; t0 += TOKEN_TILE) {
            const int64_t t1 = t0 + TOKEN_TILE < job->ntok ? t0 + TOKEN_TILE : job->ntok;
            prefetch_share(ahead, ahead_bytes, t0 / TOKEN_TILE, token_tiles);
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

/// Sets up the product of `ntok` rows of X with `rows` rows of W (from
/// the matrix row `row0` on) with `kernel`, shared out among `threads`
/// threads; false where the shapes do not fit the blocks. Leaves the
/// scratch (XQ, unpacked) to the caller.
static bool job_init(matmul_job *job, const hydra_kernel *kernel, int32_t type, const void *W, const void *repacked,
                     int64_t row0, int64_t rows, int64_t cols, const float *X, int64_t ntok, float *Y,
                     int32_t threads) {
    if (!kernel || rows < 0 || cols <= 0 || ntok < 0) return false;
    const int64_t qk = hydra_type_block_elements(type);
    const int64_t act_qk = hydra_type_block_elements(kernel->act_type);
    if (qk <= 0 || cols % qk != 0 || cols % act_qk != 0) return false;
    *job = (matmul_job){
        .kernel = kernel,
        .W = W,
        .repacked = kernel->dot8_repacked ? repacked : NULL,
        .row0 = row0,
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
    const int64_t tiles = (rows + ROW_TILE - 1) / ROW_TILE;
    job->chunk_rows = (tiles + 4 * threads - 1) / (4 * threads) * ROW_TILE;
    atomic_init(&job->next_chunk, 0);
    return true;
}

/// Reserves the pool's scratch — the activations quantized once for the
/// `count` jobs (all of one activation type and the same X), then
/// jobs[0]'s unpacking buffer per thread — quantizes them, and runs `part`
/// with `ctx` over the pool.
static int32_t quantize_and_run(hydra_pool *pool, matmul_job *jobs, int32_t count,
                                void (*part)(void *, int32_t, int32_t), void *ctx) {
    const size_t xq_bytes = (jobs[0].xq_row_bytes * (size_t)jobs[0].ntok + 63) & ~(size_t)63;
    const size_t unpacked_bytes = (size_t)hydra_pool_threads(pool) * jobs[0].unpacked_bytes;
    hydra_pool_lock(pool);
    uint8_t *scratch = hydra_scratch_reserve(hydra_pool_scratch(pool), xq_bytes + unpacked_bytes);
    if (!scratch) {
        hydra_pool_unlock(pool);
        return -1;
    }
    for (int32_t p = 0; p < count; p++) {
        jobs[p].XQ = scratch;
        jobs[p].unpacked = scratch + xq_bytes;
    }
    if (jobs[0].ntok > 1) {
        hydra_pool_run(pool, quantize_part, &jobs[0]);
    } else {
        quantize_part(&jobs[0], 0, 1);
    }
    hydra_pool_run(pool, part, ctx);
    hydra_pool_unlock(pool);
    return 0;
}

/// Quantizes the ntok activation rows once, then runs `part` over the pool
/// with `kernel` (shared by the ordinary product and hydra_matmul_each).
static int32_t run_product(hydra_pool *pool, const hydra_kernel *kernel, void (*part)(void *, int32_t, int32_t), int32_t type,
                           const void *W, const void *repacked, int64_t row0, int64_t rows, int64_t cols, const float *X,
                           int64_t ntok, float *Y) {
    matmul_job job;
    if (!job_init(&job, kernel, type, W, repacked, row0, rows, cols, X, ntok, Y, hydra_pool_threads(pool))) return -1;
    if (rows == 0 || ntok == 0) return 0;
    // Each thread's buffer for one row tile, unpacked or packed.
    if (kernel->unpack) {
        // Only the SIMD table unpacks; its Q8_0 kernels then run on the rows.
        job.q8_0 = hydra_kernel_for(HYDRA_TYPE_Q8_0, HYDRA_KERNELS_BEST);
        job.unpacked_bytes = (size_t)ROW_TILE * (size_t)(cols / QK8_0) * sizeof(block_q8_0);
    } else if (packs_rows(kernel, job.repacked != NULL, ntok)) {
        job.unpacked_bytes = (size_t)(ROW_TILE / 8) * (size_t)(cols / QK_K) * kernel->packed8_block_bytes;
    }
    return quantize_and_run(pool, &job, 1, part, &job);
}

/// Thread i of n: chunks of output rows for all tokens, until none is left.
static void multiply_part(void *vjob, int32_t i, int32_t n) {
    (void)n;
    matmul_job *job = vjob;
    int64_t begin, end;
    while (claim_rows(job, &begin, &end)) {
        if (job->ntok == 1) {
            multiply_one_token(job, begin, end);
        } else if (packs_rows(job->kernel, job->repacked != NULL, job->ntok)) {
            multiply_tokens_packed(job, i, begin, end);
        } else {
            multiply_tokens(job, i, begin, end);
        }
    }
}

/// hydra_matmul over `rows` rows of a matrix of `matrix_rows` rows from
/// its row `row0` on (a slice computed with the kernels of the whole matrix).
static int32_t matmul_slice(hydra_pool *pool, int32_t type, const void *W, const void *repacked, int64_t row0,
                            int64_t rows, int64_t matrix_rows, int64_t cols, const float *X, int64_t ntok, float *Y,
                            int32_t mode) {
    return run_product(pool, hydra_kernel_for_matrix(type, matrix_rows, ntok, mode), multiply_part, type, W, repacked,
                       row0, rows, cols, X, ntok, Y);
}

int32_t hydra_matmul_mode(hydra_pool *pool, int32_t type, const void *W, const void *repacked, int64_t rows,
                          int64_t cols, const float *X, int64_t ntok, float *Y, int32_t mode) {
    return matmul_slice(pool, type, W, repacked, 0, rows, rows, cols, X, ntok, Y, mode);
}

int32_t hydra_matmul(hydra_pool *pool, int32_t type, const void *W, int64_t rows, int64_t cols,
                     const float *X, int64_t ntok, float *Y) {
    return hydra_matmul_mode(pool, type, W, NULL, rows, cols, X, ntok, Y, hydra_kernel_mode());
}

// ---- matrices kept repacked ---------------------------------------------------------

/// The kernels a repacked copy is made for and read with (those of a
/// one-token product), or NULL where `type` has no repacked form here.
static const hydra_kernel *repacking_kernel(int32_t type, int64_t rows, int64_t cols) {
    const hydra_kernel *k = hydra_kernel_for_matrix(type, rows, 1, HYDRA_KERNELS_BEST);
    const int64_t qk = hydra_type_block_elements(type);
    if (!k || !k->repack || qk != QK_K || rows <= 0 || rows % 8 != 0 || cols <= 0 || cols % qk != 0) return NULL;
    return k;
}

int64_t hydra_repacked_bytes(int32_t type, int64_t rows, int64_t cols) {
    const hydra_kernel *k = repacking_kernel(type, rows, cols);
    return k ? rows / 8 * (cols / QK_K) * (int64_t)k->repacked_block_bytes : 0;
}

int32_t hydra_repack(int32_t type, const void *W, int64_t rows, int64_t cols, void *out) {
    const hydra_kernel *k = repacking_kernel(type, rows, cols);
    if (!k) return -1;
    const size_t row_bytes = (size_t)(cols / QK_K) * (size_t)hydra_type_block_bytes(type);
    const size_t group_bytes = (size_t)(cols / QK_K) * k->repacked_block_bytes;
    for (int64_t g = 0; g < rows / 8; g++) {
        k->repack(cols, (const uint8_t *)W + (size_t)g * 8 * row_bytes, row_bytes, (uint8_t *)out + (size_t)g * group_bytes);
    }
    return 0;
}

// ---- several tokens, each with the one-token arithmetic ---------------------------

/// Thread i of n: every token against chunks of rows, with the kernel a
/// single token would get (rows walked once, so each weight row is read
/// from memory once for all tokens while it is hot in cache; where the
/// kernel has an `each` form, unpacked once for up to four tokens).
static void multiply_each_part(void *vjob, int32_t i, int32_t n) {
    (void)i, (void)n;
    matmul_job *job = vjob;
    const hydra_kernel *k = job->kernel;
    const hydra_dot_fn dot = k->dot;
    const hydra_dot8_fn dot8 = k->dot8;
    const size_t row = job->w_row_bytes, xq = job->xq_row_bytes;
    int64_t begin, end;
    while (claim_rows(job, &begin, &end)) {
        int64_t r = begin;
        for (const uint8_t *repacked; r + 8 <= end && (repacked = repacked_rows(job, r)); r += 8) {
            int64_t t = 0;
            for (; k->dot8_repacked_each && t + 1 < job->ntok; t += 4) {
                const int32_t nt = job->ntok - t < 4 ? (int32_t)(job->ntok - t) : 4;
                k->dot8_repacked_each(job->cols, repacked, job->XQ + t * xq, xq, nt, job->Y + t * job->rows + r,
                                      job->rows);
            }
            for (; t < job->ntok; t++) {
                k->dot8_repacked(job->cols, repacked, job->XQ + t * xq, job->Y + t * job->rows + r);
            }
        }
        for (; dot8 && r + 8 <= end; r += 8) {
            for (int64_t t = 0; t < job->ntok; t++) {
                float out[8];
                dot8(job->cols, job->W + r * row, row, job->XQ + t * job->xq_row_bytes, out);
                for (int j = 0; j < 8; j++) job->Y[t * job->rows + r + j] = out[j];
            }
        }
        for (; r < end; r++) {
            const uint8_t *w = job->W + r * row;
            int64_t t = 0;
            for (; k->dot_each && t + 1 < job->ntok; t += 4) {
                const int32_t nt = job->ntok - t < 4 ? (int32_t)(job->ntok - t) : 4;
                k->dot_each(job->cols, w, job->XQ + t * xq, xq, nt, job->Y + t * job->rows + r, job->rows);
            }
            for (; t < job->ntok; t++) job->Y[t * job->rows + r] = dot(job->cols, w, job->XQ + t * xq);
        }
    }
}

int32_t hydra_matmul_each(hydra_pool *pool, int32_t type, const void *W, const void *repacked, int64_t rows,
                          int64_t cols, const float *X, int64_t ntok, float *Y, int32_t mode) {
    // The kernel of a one-token product: several sequences decoded together
    // must each get the bits they would get alone.
    return run_product(pool, hydra_kernel_for_matrix(type, rows, 1, mode), multiply_each_part, type, W, repacked, 0,
                       rows, cols, X, ntok, Y);
}

enum { EACH_GROUP_PARTS = 4 }; // the most matrices of one hydra_matmul_each_group

typedef struct {
    matmul_job jobs[EACH_GROUP_PARTS];
    int32_t count;
} each_group_job;

/// Thread i of n: the chunks of every matrix in turn, until none is left.
static void multiply_each_group_part(void *vjob, int32_t i, int32_t n) {
    each_group_job *group = vjob;
    for (int32_t p = 0; p < group->count; p++) multiply_each_part(&group->jobs[p], i, n);
}

int32_t hydra_matmul_each_group(hydra_pool *pool, const hydra_matmul_part *parts, int32_t count, int64_t cols,
                                const float *X, int64_t ntok, int32_t mode) {
    if (count < 1 || count > EACH_GROUP_PARTS) return -1;
    const int32_t threads = hydra_pool_threads(pool);
    each_group_job group = {.count = count};
    bool shared = true; // the activations quantize alike for every part
    for (int32_t p = 0; p < count; p++) {
        const hydra_matmul_part *part = &parts[p];
        const hydra_kernel *k = hydra_kernel_for_matrix(part->type, part->rows, 1, mode);
        if (!job_init(&group.jobs[p], k, part->type, part->w, part->repacked, 0, part->rows, cols, X, ntok, part->y,
                      threads)) {
            return -1;
        }
        shared = shared && k->act_type == group.jobs[0].kernel->act_type;
    }
    if (!shared) {
        for (int32_t p = 0; p < count; p++) {
            const hydra_matmul_part *part = &parts[p];
            if (hydra_matmul_each(pool, part->type, part->w, part->repacked, part->rows, cols, X, ntok, part->y, mode))
                return -1;
        }
        return 0;
    }
    if (ntok == 0) return 0;
    return quantize_and_run(pool, group.jobs, count, multiply_each_group_part, &group);
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
            if (matmul_slice(NULL, part->type, (const char *)part->w + r0 * row_bytes, part->repacked, r0, r1 - r0,
                             part->rows, job->cols, job->x, 1, part->y + r0, hydra_kernel_mode()) != 0) {
                atomic_store(&job->failed, 1);
            }
        }
        offset += part->rows;
    }
}

/// Each thread claims chunks of rows until none is left (claim_chunk).
static void matmul_group_worker(void *ctx, int32_t ith, int32_t nth) {
    (void)ith, (void)nth;
    matmul_group_job *job = ctx;
    int64_t begin, end;
    while (claim_chunk(&job->next_chunk, job->chunk_rows, job->total_rows, &begin, &end)) {
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
