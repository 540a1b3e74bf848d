#pragma once
#include <stdint.h>

// A thin shim over ICU. No ICU type appears here: Foundation on Linux
// bundles its own ICU as a clang module, and importing the system ICU
// headers into Swift clashes with it.

#ifdef __cplusplus
extern "C" {
#endif

/// NFC-normalizes UTF-8 `src` (length `srcLen`) into `dst` (capacity
/// `dstCap`). Returns the UTF-8 length written, the length needed (> dstCap)
/// when `dst` is too small, or -1 on invalid input or an ICU error.
int64_t hydra_icu_nfc(const char *src, int64_t srcLen, char *dst, int64_t dstCap);

/// The ICU script code (UScriptCode) of a code point: 0 common, 1 inherited,
/// 8 Cyrillic, 25 Latin, 17 Han, ...
int32_t hydra_icu_script(uint32_t codePoint);

/// Writes the short name of a script code (e.g. "Cyrl") into `dst`.
/// Returns its length, or -1.
int32_t hydra_icu_script_name(int32_t script, char *dst, int32_t dstCap);

#ifdef __cplusplus
}
#endif
