#ifndef HYDRA_STREAM_H
#define HYDRA_STREAM_H

// A STREAM-style measurement of main-memory bandwidth, so that benchmark
// figures can be put beside what the machine can move at best: generating
// one token reads every weight once, so bytes of weights / bandwidth is a
// ceiling on tokens per second.

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/// Best (highest) rates over the repetitions, in bytes per second, counted
/// as STREAM counts them: the bytes the kernel names, not the extra
/// write-allocate traffic the cache may add.
typedef struct {
    double read;    ///< sum += a[i]          (8 bytes per element)
    double copy;    ///< c[i] = a[i]          (16 bytes per element)
    double triad;   ///< a[i] = b[i] + s*c[i] (24 bytes per element)
    int64_t elements;    ///< doubles per array
    int32_t threads;
    int32_t repetitions;
} hydra_stream_result;

/// Measures read, copy and triad bandwidth over three arrays of `elements`
/// doubles each (make them far larger than the last-level cache), split in
/// contiguous slices across `threads` threads, best of `repetitions` timed
/// passes after one untimed pass. Returns 0, or -1 when the arrays cannot
/// be allocated.
int32_t hydra_stream(int32_t threads, int64_t elements, int32_t repetitions, hydra_stream_result *out);

#ifdef __cplusplus
}
#endif

#endif
