#include "CICUBreak.h"

#include <unicode/ubrk.h>
#include <unicode/utext.h>

int32_t hydra_icu_sentence_breaks(const char *src, int64_t srcLen, const char *locale,
                                  int64_t *offsets, int32_t cap) {
    if (srcLen < 0) return -1;
    if (srcLen == 0) return 0;
    UErrorCode status = U_ZERO_ERROR;
    // A UText over the UTF-8 bytes: the iterator then reports UTF-8 offsets,
    // so no UTF-16 copy or offset mapping is needed.
    UText *text = utext_openUTF8(NULL, src, srcLen, &status);
    if (U_FAILURE(status)) return -1;
    UBreakIterator *it = ubrk_open(UBRK_SENTENCE, locale, NULL, 0, &status);
    if (U_FAILURE(status)) { utext_close(text); return -1; }
    ubrk_setUText(it, text, &status);
    if (U_FAILURE(status)) { ubrk_close(it); utext_close(text); return -1; }
    int32_t count = 0;
    for (int32_t b = ubrk_next(it); b != UBRK_DONE; b = ubrk_next(it)) {
        if (count < cap) offsets[count] = b;
        count++;
    }
    ubrk_close(it);
    utext_close(text);
    return count;
}
