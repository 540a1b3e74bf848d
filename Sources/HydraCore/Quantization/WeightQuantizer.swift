import CHydraKernels
import Foundation

/// Quantizes float weight rows into ggml's types, bit-identical to ggml's
/// reference quantizers (what `llama-quantize` runs without an importance
/// matrix). The work is C (CHydraKernels/quantize_weights.c), rows split
/// over a thread pool.
public enum WeightQuantizer {
    /// The types rows can be written in.
    public static let supportedTypes: [GGMLType] = [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q4_K, .q5_K, .q6_K]

    public static func isSupported(_ type: GGMLType) -> Bool { hydra_quantize_supported(Int32(type.rawValue)) != 0 }

    /// Checks that rows of `rowLength` can be written in `type`: the type
    /// is supported and the row is whole blocks.
    public static func check(rowLength: Int, type: GGMLType) throws {
        guard isSupported(type) else {
            throw HydraError.invalidInput("cannot quantize to \(type.name) (hydra writes \(supportedTypes.map(\.name).joined(separator: ", ")))")
        }
        guard rowLength > 0, rowLength % type.blockElements == 0 else {
            throw HydraError.invalidInput("rows of \(rowLength) values are not whole \(type.name) blocks of \(type.blockElements)")
        }
    }

    /// Quantizes `x` (rows of `rowLength` floats) into `out`, which must
    /// hold exactly the encoded rows.
    public static func quantize(_ x: UnsafeBufferPointer<Float>, rowLength: Int, as type: GGMLType,
                                into out: UnsafeMutableRawBufferPointer, pool: ThreadPool? = nil) throws {
        try check(rowLength: rowLength, type: type)
        guard x.count % rowLength == 0 else {
            throw HydraError.invalidInput("\(x.count) values are not whole rows of \(rowLength)")
        }
        let rows = x.count / rowLength
        guard out.count == rows * type.byteCount(elements: rowLength)! else {
            throw HydraError.invalidInput("output buffer of \(out.count) bytes for \(rows) \(type.name) rows")
        }
        guard rows > 0 else { return }
        let rc = hydra_quantize_rows(Int32(type.rawValue), x.baseAddress!, out.baseAddress!, Int64(rows), Int64(rowLength),
                                     pool?.raw)
        guard rc == 0 else { throw HydraError.invalidInput("cannot quantize \(rows) rows of \(rowLength) to \(type.name)") }
    }

    /// Quantizes `x` (rows of `rowLength` floats) and returns the bytes.
    public static func quantize(_ x: [Float], rowLength: Int, as type: GGMLType, pool: ThreadPool? = nil) throws -> [UInt8] {
        try check(rowLength: rowLength, type: type)
        guard x.count % rowLength == 0 else {
            throw HydraError.invalidInput("\(x.count) values are not whole rows of \(rowLength)")
        }
        var out = [UInt8](repeating: 0, count: type.byteCount(elements: x.count)!)
        try x.withUnsafeBufferPointer { src in
            try out.withUnsafeMutableBytes { try quantize(src, rowLength: rowLength, as: type, into: $0, pool: pool) }
        }
        return out
    }

    /// The floats of `count` elements of `type` at `data` (ggml's reference
    /// dequantizers, bit for bit).
    public static func dequantize(_ data: UnsafeRawPointer, type: GGMLType, count: Int,
                                  into out: UnsafeMutablePointer<Float>) throws {
        guard hydra_type_block_elements(Int32(type.rawValue)) > 0, count % type.blockElements == 0 else {
            throw HydraError.invalidInput("cannot read \(count) values of \(type.name) as floats")
        }
        guard hydra_dequantize(Int32(type.rawValue), data, out, Int64(count)) == 0 else {
            throw HydraError.invalidInput("cannot read \(count) values of \(type.name) as floats")
        }
    }

    public static func dequantize(_ bytes: [UInt8], type: GGMLType, count: Int) throws -> [Float] {
        var out = [Float](repeating: 0, count: count)
        guard let need = type.byteCount(elements: count), need <= bytes.count else {
            throw HydraError.invalidInput("\(bytes.count) bytes do not hold \(count) values of \(type.name)")
        }
        try bytes.withUnsafeBytes { src in
            try out.withUnsafeMutableBufferPointer { try dequantize(src.baseAddress!, type: type, count: count, into: $0.baseAddress!) }
        }
        return out
    }
}
