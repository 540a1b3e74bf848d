/// Where input vectors come from: one row of floats per token id. The
/// model's own `token_embd` is one source; a head for another language
/// brings its own table.
public protocol EmbeddingSource: Sendable {
    /// Number of rows (token ids 0..<rowCount).
    var rowCount: Int { get }
    /// Floats per row (the body's embedding length).
    var width: Int { get }
    /// Writes row `id` (0 <= id < rowCount) as `width` floats to `out`.
    func row(_ id: Int, into out: UnsafeMutablePointer<Float>)
}

/// A quantized embedding table in a GGUF file (`token_embd.weight`): rows
/// are dequantized on demand, as ggml's get_rows does.
public struct TokenEmbedding: EmbeddingSource {
    public let matrix: QuantizedMatrix

    public var rowCount: Int { matrix.rows }
    public var width: Int { matrix.cols }

    public init(matrix: QuantizedMatrix) { self.matrix = matrix }

    /// `token_embd.weight` of `file`, checked against the configuration.
    public init(file: GGUFFile, config: ModelConfig) throws {
        let lookup = TensorLookup(file: file)
        let tensor = try lookup.required("token_embd.weight")
        matrix = try lookup.matrix(tensor, rows: tensor.rows, cols: config.embeddingLength)
        guard matrix.rows >= config.vocabularySize else {
            throw HydraError.invalidModel(
                "\(file.path): token_embd.weight has \(matrix.rows) rows for a vocabulary of \(config.vocabularySize)")
        }
    }

    public func row(_ id: Int, into out: UnsafeMutablePointer<Float>) {
        matrix.dequantizeRow(id, into: out)
    }
}
