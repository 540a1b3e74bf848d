import CHydraKernels

/// A row-major matrix of ggml blocks (a GGUF weight tensor, in place): each
/// of `rows` rows holds `cols` elements of `type`.
public struct QuantizedMatrix: @unchecked Sendable {
    public let type: GGMLType
    public let rows: Int
    public let cols: Int
    /// The first block; valid while the owner of the memory (e.g. the
    /// GGUFFile) lives.
    public let data: UnsafeRawPointer
    /// The rows rewritten in the layout the product kernels read fastest,
    /// where the type has one on this CPU and the matrix was
    /// `repackedForProducts()`: the SIMD products read this copy instead of
    /// `data` (the portable ones, for checks, read `data`).
    public let repacked: RepackedRows?

    /// Bytes in one row.
    public var rowBytes: Int { cols / type.blockElements * type.blockBytes }
    /// Bytes in the whole matrix.
    public var byteCount: Int { rowBytes * rows }

    /// Whether hydra has kernels for matrices of `type`.
    public static func supports(_ type: GGMLType) -> Bool {
        hydra_activation_type(Int32(type.rawValue)) >= 0
    }

    /// Views `rows` × `cols` elements of `type` at `data`.
    public init(type: GGMLType, rows: Int, cols: Int, data: UnsafeRawPointer) throws {
        guard Self.supports(type) else {
            throw HydraError.invalidModel("tensor type \(type.name) is not supported")
        }
        guard rows >= 0, cols > 0, cols % type.blockElements == 0 else {
            throw HydraError.invalidModel("a \(type.name) row of \(cols) elements is not whole blocks")
        }
        self.type = type
        self.rows = rows
        self.cols = cols
        self.data = data
        self.repacked = nil
    }

    private init(_ m: QuantizedMatrix, repacked: RepackedRows?) {
        type = m.type
        rows = m.rows
        cols = m.cols
        data = m.data
        self.repacked = repacked
    }

    /// This matrix with a repacked copy of its rows for the products, where
    /// its type has a faster layout on this CPU (Q4_K with a multiple of 8
    /// rows, as llama.cpp repacks them at load), else itself. The products
    /// give the same bits either way.
    public func repackedForProducts() -> QuantizedMatrix {
        guard repacked == nil, let copy = RepackedRows(self) else { return self }
        return QuantizedMatrix(self, repacked: copy)
    }

    /// Views a GGUF tensor as a matrix (ne0 = cols, the rest = rows).
    public init(_ tensor: GGUFTensor) throws {
        try self.init(type: tensor.type, rows: tensor.rows, cols: tensor.cols, data: tensor.data)
        guard byteCount <= tensor.byteCount else {
            throw HydraError.invalidModel("tensor \(tensor.name) is shorter than its shape")
        }
    }

    /// Row `row` as floats (ggml's dequantization, bit for bit).
    public func dequantizeRow(_ row: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: cols) { buffer, count in
            dequantizeRow(row, into: buffer.baseAddress!)
            count = cols
        }
    }

    /// Writes row `row` as `cols` floats to `out`.
    public func dequantizeRow(_ row: Int, into out: UnsafeMutablePointer<Float>) {
        precondition(row >= 0 && row < rows, "row \(row) out of 0..<\(rows)")
        let rc = hydra_dequantize(Int32(type.rawValue), data + row * rowBytes, out, Int64(cols))
        precondition(rc == 0)
    }

    /// y[t][r] = row r · x[t] for `tokens` rows of `cols` floats in `x`;
    /// `y` receives `tokens` rows of `rows` floats. X is quantized as
    /// llama.cpp's CPU backend does, so results match it to float rounding.
    public func multiply(_ x: UnsafePointer<Float>, tokens: Int, into y: UnsafeMutablePointer<Float>,
                         pool: ThreadPool?, kernels: KernelMode? = nil) {
        let mode = kernels?.rawValue ?? hydra_kernel_mode()
        let rc = hydra_matmul_mode(pool?.raw, Int32(type.rawValue), data, repacked?.bytes, Int64(rows), Int64(cols),
                                   x, Int64(tokens), y, mode)
        precondition(rc == 0, "hydra_matmul failed for \(type.name) \(rows)x\(cols)")
    }

    /// The product for arrays: `x` holds tokens × cols floats.
    public func multiply(_ x: [Float], tokens: Int, pool: ThreadPool?, kernels: KernelMode? = nil) -> [Float] {
        precondition(x.count == tokens * cols, "x has \(x.count) floats, expected \(tokens) × \(cols)")
        return [Float](unsafeUninitializedCapacity: tokens * rows) { buffer, count in
            x.withUnsafeBufferPointer { multiply($0.baseAddress!, tokens: tokens, into: buffer.baseAddress!, pool: pool, kernels: kernels) }
            count = tokens * rows
        }
    }
}

/// A matrix's rows rewritten once by hydra_repack, owned for the life of
/// the matrices that share it.
public final class RepackedRows: @unchecked Sendable {
    let bytes: UnsafeMutableRawPointer
    /// Size of the copy in bytes.
    public let count: Int

    /// The copy of `m`'s rows, or nil where its type has no repacked layout.
    init?(_ m: QuantizedMatrix) {
        let count = Int(hydra_repacked_bytes(Int32(m.type.rawValue), Int64(m.rows), Int64(m.cols)))
        guard count > 0 else { return nil }
        bytes = UnsafeMutableRawPointer.allocate(byteCount: count, alignment: 64)
        self.count = count
        let rc = hydra_repack(Int32(m.type.rawValue), m.data, Int64(m.rows), Int64(m.cols), bytes)
        precondition(rc == 0, "hydra_repack failed for \(m.type.name) \(m.rows)x\(m.cols)")
    }

    deinit { bytes.deallocate() }
}
