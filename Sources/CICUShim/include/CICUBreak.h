#pragma once
#include <stdint.h>

// Sentence boundaries through ICU's break iterator. Like CICUShim.h, this
// header exposes no ICU type (see there for why).

#ifdef __cplusplus
extern "C" {
#endif

/// Finds the sentence boundaries of UTF-8 `src` (length `srcLen`) with
/// ICU's sentence break rules for `locale` (e.g. "en"; NULL for the root
/// rules). Writes the UTF-8 byte offsets of the boundaries after the start
/// (the last one is `srcLen`) into `offsets` (capacity `cap`). Returns how
/// many there are (more than `cap` when `offsets` is too small), or -1 on
/// an ICU error.
int32_t hydra_icu_sentence_breaks(const char *src, int64_t srcLen, const char *locale,
                                  int64_t *offsets, int32_t cap);

#ifdef __cplusplus
}
#endif
