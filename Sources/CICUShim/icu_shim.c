#include "CICUShim.h"

#include <stdlib.h>
#include <string.h>
#include <unicode/unorm2.h>
#include <unicode/uscript.h>
#include <unicode/ustring.h>

int64_t hydra_icu_nfc(const char *src, int64_t srcLen, char *dst, int64_t dstCap) {
    if (srcLen < 0 || srcLen > (int64_t)0x3fffffff) return -1;
    UErrorCode status = U_ZERO_ERROR;
    const UNormalizer2 *nfc = unorm2_getNFCInstance(&status);
    if (U_FAILURE(status)) return -1;

    // UTF-8 -> UTF-16
    int32_t u16Len = 0;
    status = U_ZERO_ERROR;
    u_strFromUTF8(NULL, 0, &u16Len, src, (int32_t)srcLen, &status);
    if (status != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(status)) return -1;
    UChar *u16 = malloc(sizeof(UChar) * ((size_t)u16Len + 1));
    if (!u16) return -1;
    status = U_ZERO_ERROR;
    u_strFromUTF8(u16, u16Len + 1, NULL, src, (int32_t)srcLen, &status);
    if (U_FAILURE(status)) { free(u16); return -1; }

    // normalize
    int32_t cap = u16Len * 3 + 16;
    UChar *norm = malloc(sizeof(UChar) * (size_t)cap);
    if (!norm) { free(u16); return -1; }
    status = U_ZERO_ERROR;
    int32_t normLen = unorm2_normalize(nfc, u16, u16Len, norm, cap, &status);
    free(u16);
    if (U_FAILURE(status)) { free(norm); return -1; }

    // UTF-16 -> UTF-8
    int32_t outLen = 0;
    status = U_ZERO_ERROR;
    u_strToUTF8(dst, (int32_t)(dstCap > 0x3fffffff ? 0x3fffffff : dstCap), &outLen, norm, normLen, &status);
    free(norm);
    if (status == U_BUFFER_OVERFLOW_ERROR) return outLen;
    if (U_FAILURE(status)) return -1;
    return outLen;
}

int32_t hydra_icu_script(uint32_t codePoint) {
    UErrorCode status = U_ZERO_ERROR;
    UScriptCode code = uscript_getScript((UChar32)codePoint, &status);
    if (U_FAILURE(status)) return -1;
    return (int32_t)code;
}

int32_t hydra_icu_script_name(int32_t script, char *dst, int32_t dstCap) {
    const char *name = uscript_getShortName((UScriptCode)script);
    if (!name) return -1;
    int32_t len = (int32_t)strlen(name);
    if (len + 1 > dstCap) return -1;
    memcpy(dst, name, (size_t)len + 1);
    return len;
}
