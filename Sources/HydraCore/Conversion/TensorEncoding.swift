import Foundation

/// Encodes float tensors as gguf-py (llama.cpp's converter) does: F16 and
/// BF16 rounded to nearest even, Q8_0 as ggml's `quantize_row_q8_0_ref`;
/// the other quantized types by WeightQuantizer (ggml's reference
/// quantizers, as llama-quantize), rows of `rowLength` split over `pool`.
enum TensorEncoding {
    static func encode(_ x: [Float], as type: GGMLType, rowLength: Int? = nil, pool: ThreadPool? = nil) throws -> [UInt8] {
        guard let n = type.byteCount(elements: x.count) else {
            throw HydraError.invalidInput("\(x.count) floats are not whole \(type.name) blocks")
        }
        if ![.f32, .f16, .bf16, .q8_0].contains(type) {
            return try WeightQuantizer.quantize(x, rowLength: rowLength ?? x.count, as: type, pool: pool)
        }
        var out = [UInt8](repeating: 0, count: n)
        x.withUnsafeBufferPointer { src in
            out.withUnsafeMutableBytes { dst in
                switch type {
                case .f32:
                    dst.copyMemory(from: UnsafeRawBufferPointer(src))
                case .f16:
                    let h = dst.bindMemory(to: UInt16.self)
                    for i in 0..<src.count { h[i] = HalfFloat.half(from: src[i]).littleEndian }
                case .bf16:
                    let h = dst.bindMemory(to: UInt16.self)
                    for i in 0..<src.count { h[i] = HalfFloat.bfloat16(from: src[i]).littleEndian }
                case .q8_0:
                    quantizeQ8_0(src, into: dst)
                default:
                    preconditionFailure("unsupported output type \(type.name)")
                }
            }
        }
        return out
    }

    /// ggml's `quantize_row_q8_0_ref`: per 32 values, d = amax / 127 (stored
    /// as F16), q = roundf(x · (1/d)), half away from zero.
    static func quantizeQ8_0(_ x: UnsafeBufferPointer<Float>, into out: UnsafeMutableRawBufferPointer) {
        let blocks = x.count / 32
        for b in 0..<blocks {
            let base = b * 32
            var amax: Float = 0
            for j in 0..<32 { amax = max(amax, abs(x[base + j])) }
            let d = amax / 127
            let id: Float = d != 0 ? 1 / d : 0
            let o = b * 34
            out.storeBytes(of: HalfFloat.half(from: d).littleEndian, toByteOffset: o, as: UInt16.self)
            for j in 0..<32 {
                let q = (x[base + j] * id).rounded(.toNearestOrAwayFromZero)
                out.storeBytes(of: Int8(q), toByteOffset: o + 2 + j, as: Int8.self)
            }
        }
    }
}
