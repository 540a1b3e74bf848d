import CHydraKernels

/// IEEE half and bfloat16 conversions as ggml does them (round to nearest
/// even; subnormals, infinities and NaNs kept).
public enum HalfFloat {
    /// A half's bits to Float (exact).
    public static func float(fromHalf bits: UInt16) -> Float { hydra_fp16_to_fp32(bits) }
    /// A Float to half bits, rounded to nearest even.
    public static func half(from value: Float) -> UInt16 { hydra_fp32_to_fp16(value) }
    /// A bfloat16's bits to Float (exact).
    public static func float(fromBFloat16 bits: UInt16) -> Float { hydra_bf16_to_fp32(bits) }
    /// A Float to bfloat16 bits, rounded to nearest even, NaNs quieted.
    public static func bfloat16(from value: Float) -> UInt16 { hydra_fp32_to_bf16(value) }
}
