import CHydraKernels
import Foundation
import Testing
@testable import HydraCore

/// Half and bfloat16 conversions, including subnormals, infinities and NaNs.
@Suite struct QuantHalfTests {
    @Test func everyHalfRoundTrips() {
        for bits in 0...UInt16.max {
            let f = HalfFloat.float(fromHalf: bits)
            let portable = hydra_fp16_to_fp32_portable(bits)
            #expect(f.bitPattern == portable.bitPattern || (f.isNaN && portable.isNaN), "half \(bits)")
            let back = HalfFloat.half(from: f)
            if f.isNaN {
                #expect(back & 0x7c00 == 0x7c00 && back & 0x3ff != 0, "NaN \(bits) -> \(back)")
            } else {
                #expect(back == bits, "half \(bits) -> \(f) -> \(back)")
                #expect(hydra_fp32_to_fp16_portable(f) == bits)
            }
        }
    }

    @Test func halfValues() {
        #expect(HalfFloat.float(fromHalf: 0x0001) == Float(sign: .plus, exponent: -24, significand: 1))
        #expect(HalfFloat.float(fromHalf: 0x03ff) == Float(1023) * 0x1p-24)
        #expect(HalfFloat.float(fromHalf: 0x7bff) == 65504)
        #expect(HalfFloat.float(fromHalf: 0x7c00) == .infinity)
        #expect(HalfFloat.float(fromHalf: 0xfc00) == -.infinity)
        #expect(HalfFloat.float(fromHalf: 0x8000).sign == .minus)
        #expect(HalfFloat.half(from: 65519.99) == 0x7bff)
        #expect(HalfFloat.half(from: 65520) == 0x7c00)          // ties to even: rounds up to infinity
        #expect(HalfFloat.half(from: 0x1p-25) == 0x0000)         // half of the smallest subnormal: tie to even
        #expect(HalfFloat.half(from: 0x1.8p-25) == 0x0001)
        #expect(HalfFloat.half(from: 3 * 0x1p-25) == 0x0002)     // 1.5 units: tie to even (2)
        #expect(HalfFloat.half(from: 1 + 0x1p-11) == 0x3c00)     // tie to even
        #expect(HalfFloat.half(from: 1 + 3 * 0x1p-11) == 0x3c02)
        #expect(HalfFloat.half(from: -0.0) == 0x8000)
        #expect(HalfFloat.half(from: .nan) & 0x7e00 == 0x7e00)
        #expect(HalfFloat.half(from: -.infinity) == 0xfc00)
    }

    /// The portable float -> half conversion agrees with the F16C one on
    /// random bit patterns and on the neighbourhoods of every rounding edge.
    @Test func portableHalfMatchesHardware() {
        var rng = TestRandom(seed: 99)
        var patterns = (0..<1_000_000).map { _ in UInt32(truncatingIfNeeded: rng.next()) }
        for h in stride(from: 0, through: 0x7c00, by: 1) {
            let f = hydra_fp16_to_fp32(UInt16(h)).bitPattern
            for d in [-0x1001, -0x1000, -1, 0, 1, 0xfff, 0x1000, 0x1001] as [Int64] {
                patterns.append(UInt32(truncatingIfNeeded: Int64(f) + d))
            }
        }
        var mismatches = 0
        for p in patterns {
            let f = Float(bitPattern: p)
            if hydra_fp32_to_fp16(f) != hydra_fp32_to_fp16_portable(f) { mismatches += 1 }
        }
        #expect(mismatches == 0)
    }

    @Test func bfloat16() {
        for bits in 0...UInt16.max {
            let f = HalfFloat.float(fromBFloat16: bits)
            let back = HalfFloat.bfloat16(from: f)
            if f.isNaN {
                #expect(back & 0x40 != 0 && HalfFloat.float(fromBFloat16: back).isNaN)
            } else {
                #expect(back == bits)
            }
        }
        #expect(HalfFloat.bfloat16(from: 1 + 0x1p-8) == 0x3f80)     // tie to even
        #expect(HalfFloat.bfloat16(from: 1 + 3 * 0x1p-8) == 0x3f82)
        #expect(HalfFloat.bfloat16(from: 0x1p-130) == 0x0008)       // subnormals kept (2^-126 · 2^-4)
        #expect(HalfFloat.bfloat16(from: .greatestFiniteMagnitude) == 0x7f80)
    }
}
