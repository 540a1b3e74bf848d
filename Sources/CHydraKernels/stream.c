// STREAM-style bandwidth kernels (after John McCalpin's STREAM benchmark):
// each thread streams through its own contiguous slice of the arrays, and
// each pass is timed from the start of the pool run to its end.

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hydra_pool.h"
#include "hydra_stream.h"

enum { KERNEL_INIT, KERNEL_READ, KERNEL_COPY, KERNEL_TRIAD };

typedef struct {
    double *a, *b, *c;
    int64_t elements;
    int kernel;
    // One slot per thread, a cache line apart, so that the read kernel's
    // results are kept (and the compiler cannot drop the loop) without
    // the threads sharing a line.
    uint64_t sums[64 * 8];
} stream_job;

static void slice(int64_t elements, int32_t i, int32_t n, int64_t *begin, int64_t *end) {
    *begin = elements * i / n;
    *end = elements * (i + 1) / n;
}

static void stream_worker(void *ctx, int32_t i, int32_t n) {
    stream_job *job = ctx;
    int64_t begin, end;
    slice(job->elements, i, n, &begin, &end);
    double *restrict a = job->a, *restrict b = job->b, *restrict c = job->c;
    switch (job->kernel) {
    case KERNEL_INIT:
        // Each thread touches its own slice first, so its pages are mapped
        // by the thread that will stream through them.
        for (int64_t k = begin; k < end; k++) {
            a[k] = 1.0;
            b[k] = 2.0;
            c[k] = 0.0;
        }
        break;
    case KERNEL_READ: {
        // Integer sums vectorize freely (a double sum would be held to
        // one add at a time by strict floating-point ordering).
        const uint64_t *restrict words = (const uint64_t *)a;
        uint64_t sum = 0;
        for (int64_t k = begin; k < end; k++) sum += words[k];
        job->sums[(i % 64) * 8] += sum;
        break;
    }
    case KERNEL_COPY:
        for (int64_t k = begin; k < end; k++) c[k] = a[k];
        break;
    case KERNEL_TRIAD: {
        const double s = 3.0;
        for (int64_t k = begin; k < end; k++) a[k] = b[k] + s * c[k];
        break;
    }
    }
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double best_rate(hydra_pool *pool, stream_job *job, int kernel, double bytes, int32_t repetitions) {
    job->kernel = kernel;
    hydra_pool_run(pool, stream_worker, job); // untimed: warms the TLB and the threads
    double best = 0;
    for (int32_t r = 0; r < repetitions; r++) {
        double t0 = now_seconds();
        hydra_pool_run(pool, stream_worker, job);
        double rate = bytes / (now_seconds() - t0);
        if (rate > best) best = rate;
    }
    return best;
}

int32_t hydra_stream(int32_t threads, int64_t elements, int32_t repetitions, hydra_stream_result *out) {
    if (threads < 1) threads = 1;
    if (repetitions < 1) repetitions = 1;
    if (elements < 1) return -1;
    stream_job *job = calloc(1, sizeof *job);
    if (!job) return -1;
    size_t bytes = (size_t)elements * sizeof(double);
    job->a = aligned_alloc(64, (bytes + 63) / 64 * 64);
    job->b = aligned_alloc(64, (bytes + 63) / 64 * 64);
    job->c = aligned_alloc(64, (bytes + 63) / 64 * 64);
    hydra_pool *pool = hydra_pool_create(threads);
    int32_t status = -1;
    if (job->a && job->b && job->c && pool) {
        job->elements = elements;
        job->kernel = KERNEL_INIT;
        hydra_pool_run(pool, stream_worker, job);
        double n = (double)elements;
        memset(out, 0, sizeof *out);
        out->read = best_rate(pool, job, KERNEL_READ, 8 * n, repetitions);
        out->copy = best_rate(pool, job, KERNEL_COPY, 16 * n, repetitions);
        out->triad = best_rate(pool, job, KERNEL_TRIAD, 24 * n, repetitions);
        out->elements = elements;
        out->threads = threads;
        out->repetitions = repetitions;
        status = 0;
    }
    if (pool) hydra_pool_destroy(pool);
    free(job->a);
    free(job->b);
    free(job->c);
    free(job);
    return status;
}
