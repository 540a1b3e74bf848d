import CHydraKernels

/// A matrix whose blocks live in memory hydra allocated (not in a mapped
/// file): a materialized recipe head's tables, or tables a builder made.
public final class OwnedMatrix: @unchecked Sendable {
    public let matrix: QuantizedMatrix
    private let storage: UnsafeMutableRawPointer

    /// `rows` × `cols` floats (row-major) stored as `type`: F32 keeps them
    /// exactly; F16 and Q8_0 round them as ggml does.
    public init(floats: UnsafePointer<Float>, rows: Int, cols: Int, type: GGMLType = .f32) throws {
        (storage, matrix) = try Self.make(floats, rows: rows, cols: cols, type: type)
    }

    public init(floats: [Float], rows: Int, cols: Int, type: GGMLType = .f32) throws {
        precondition(floats.count == rows * cols, "\(floats.count) floats for \(rows) × \(cols)")
        (storage, matrix) = try floats.withUnsafeBufferPointer {
            try Self.make($0.baseAddress!, rows: rows, cols: cols, type: type)
        }
    }

    private static func make(_ floats: UnsafePointer<Float>, rows: Int, cols: Int,
                             type: GGMLType) throws -> (UnsafeMutableRawPointer, QuantizedMatrix) {
        guard let bytes = type.byteCount(elements: rows * cols), cols % type.blockElements == 0 else {
            throw HydraError.invalidInput("\(rows) × \(cols) floats cannot be stored as \(type.name)")
        }
        let storage = UnsafeMutableRawPointer.allocate(byteCount: max(bytes, 1), alignment: 64)
        do {
            try encode(floats, count: rows * cols, as: type, into: storage)
            return (storage, try QuantizedMatrix(type: type, rows: rows, cols: cols, data: UnsafeRawPointer(storage)))
        } catch {
            storage.deallocate()
            throw error
        }
    }

    deinit { storage.deallocate() }

    /// Writes `count` floats as `type` blocks to `out`.
    static func encode(_ x: UnsafePointer<Float>, count: Int, as type: GGMLType, into out: UnsafeMutableRawPointer) throws {
        switch type {
        case .f32:
            out.copyMemory(from: x, byteCount: count * 4)
        case .f16:
            let h = out.assumingMemoryBound(to: UInt16.self)
            for i in 0..<count { h[i] = HalfFloat.half(from: x[i]) }
        case .q8_0:
            // ggml quantizes activations for Q8_0 weights with the same
            // routine as Q8_0 weights (quantize_row_q8_0); use its portable form.
            let rc = hydra_quantize_activation(Int32(GGMLType.q8_0.rawValue), x, out, Int64(count),
                                               Int32(HYDRA_KERNELS_PORTABLE))
            guard rc == 0 else { throw HydraError.invalidInput("cannot quantize \(count) floats to Q8_0") }
        default:
            throw HydraError.invalidInput("hydra stores built tables as F32, F16 or Q8_0, not \(type.name)")
        }
    }

    /// The bytes of `count` floats encoded as `type`.
    public static func encoded(_ floats: [Float], as type: GGMLType) throws -> [UInt8] {
        guard let n = type.byteCount(elements: floats.count) else {
            throw HydraError.invalidInput("\(floats.count) floats are not whole \(type.name) blocks")
        }
        var bytes = [UInt8](repeating: 0, count: n)
        try floats.withUnsafeBufferPointer { f in
            try bytes.withUnsafeMutableBytes { try encode(f.baseAddress!, count: floats.count, as: type, into: $0.baseAddress!) }
        }
        return bytes
    }
}
