import CHydraKernels
import Foundation
@testable import HydraCore

/// Deterministic random numbers for the kernel tests (xorshift64).
struct TestRandom {
    private var state: UInt64
    init(seed: UInt64) { state = seed | 1 }

    mutating func next() -> UInt64 {
        state ^= state << 13
        state ^= state >> 7
        state ^= state << 17
        return state
    }

    /// Uniform in [-1, 1).
    mutating func float() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }

    /// `count` floats in [-scale, scale), with a few exact zeros and a zero block.
    mutating func activations(_ count: Int, scale: Float) -> [Float] {
        var x = (0..<count).map { _ in float() * scale }
        for i in stride(from: 0, to: count, by: 97) { x[i] = 0 }
        if count >= 64 { for i in 32..<64 { x[i] = 0 } }
        return x
    }
}

/// Where each type keeps its fp16 scale fields inside a block.
let halfFieldOffsets: [GGMLType: [Int]] = [
    .q4_0: [0], .q4_1: [0, 2], .q5_0: [0], .q5_1: [0, 2], .q8_0: [0],
    .q2_K: [80, 82], .q3_K: [108], .q4_K: [0, 2], .q5_K: [0, 2], .q6_K: [208],
]

/// The types with kernels, in the order the tests walk them.
let kernelTypes: [GGMLType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K]

/// Random blocks of `type` for a rows × cols matrix: random quants, small
/// finite scales (random bytes there would make infinities and NaNs).
func randomMatrixBytes(_ type: GGMLType, rows: Int, cols: Int, rng: inout TestRandom) -> [UInt8] {
    let blocks = rows * cols / type.blockElements
    switch type {
    case .f32:
        return (0..<rows * cols).map { _ in rng.float() }.withUnsafeBytes { Array($0) }
    case .f16:
        return (0..<rows * cols).map { _ in HalfFloat.half(from: rng.float()) }.withUnsafeBytes { Array($0) }
    case .bf16:
        return (0..<rows * cols).map { _ in HalfFloat.bfloat16(from: rng.float()) }.withUnsafeBytes { Array($0) }
    default:
        var bytes = (0..<blocks * type.blockBytes).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        for b in 0..<blocks {
            for offset in halfFieldOffsets[type]! {
                let h = HalfFloat.half(from: rng.float() * 0.02)
                bytes[b * type.blockBytes + offset] = UInt8(h & 0xff)
                bytes[b * type.blockBytes + offset + 1] = UInt8(h >> 8)
            }
        }
        return bytes
    }
}

/// The activation rows as the kernels see them: quantized to the weight
/// type's activation type, then turned back into floats.
func quantizedActivations(_ x: [Float], type: GGMLType) -> [Float] {
    let act = hydra_activation_type(Int32(type.rawValue))
    let actType = GGMLType(rawValue: UInt32(act))!
    var bytes = [UInt8](repeating: 0, count: x.count / actType.blockElements * actType.blockBytes)
    var out = [Float](repeating: 0, count: x.count)
    _ = hydra_quantize_activation(Int32(type.rawValue), x, &bytes, Int64(x.count), KernelMode.portable.rawValue)
    _ = hydra_dequantize(act, bytes, &out, Int64(x.count))
    return out
}
