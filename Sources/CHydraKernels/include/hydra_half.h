#pragma once
#include <stdint.h>

// Half-precision and bfloat16 conversions.

#ifdef __cplusplus
extern "C" {
#endif

/// IEEE half precision conversions (round to nearest even; subnormals,
/// infinities and NaNs handled as the F16C instructions do).
float hydra_fp16_to_fp32(uint16_t h);
uint16_t hydra_fp32_to_fp16(float f);
/// The portable (non-F16C) versions of the same conversions.
float hydra_fp16_to_fp32_portable(uint16_t h);
uint16_t hydra_fp32_to_fp16_portable(float f);
/// bfloat16 conversions as ggml does them (round to nearest even, NaN quieted).
float hydra_bf16_to_fp32(uint16_t h);
uint16_t hydra_fp32_to_bf16(float f);

#ifdef __cplusplus
}
#endif
