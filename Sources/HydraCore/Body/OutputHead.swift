import CHydraKernels
import Foundation

/// The final projection from the body's normed hidden state to logits over
/// a vocabulary: `output.weight` (or the tied embedding table), an optional
/// bias, and the architecture's final soft-capping.
public struct OutputHead: @unchecked Sendable {
    public let matrix: QuantizedMatrix
    public let bias: WeightVector?
    /// cap · tanh(logit / cap) when set (Gemma 2/3 style).
    public let softcap: Float?

    /// Size of the vocabulary the head scores.
    public var vocabularySize: Int { matrix.rows }

    public init(matrix: QuantizedMatrix, bias: WeightVector? = nil, softcap: Float? = nil) {
        self.matrix = matrix
        self.bias = bias
        self.softcap = softcap
    }

    /// The native head of `file`: `output.weight`, or `token_embd.weight`
    /// when the model ties them.
    public init(file: GGUFFile, config: ModelConfig) throws {
        let lookup = TensorLookup(file: file)
        let tensor = try file.tensor(named: "output.weight") ?? lookup.required("token_embd.weight")
        matrix = try lookup.productMatrix(tensor, rows: tensor.rows, cols: config.embeddingLength)
        guard matrix.rows >= config.vocabularySize else {
            throw HydraError.invalidModel(
                "\(file.path): \(tensor.name) has \(matrix.rows) rows for a vocabulary of \(config.vocabularySize)")
        }
        bias = try lookup.optionalVector("output.bias", matrix.rows)
        softcap = config.finalLogitSoftcap
    }

    /// Logits for `count` hidden rows (each `matrix.cols` floats): writes
    /// count × vocabularySize floats to `logits`. With `eachAsOne`, every
    /// row gets the bits it would get alone (rows of separate sequences).
    public func logits(hidden: UnsafePointer<Float>, count: Int, into logits: UnsafeMutablePointer<Float>,
                       pool: ThreadPool?, eachAsOne: Bool = false) {
        if eachAsOne {
            matrix.multiplyEach(hidden, tokens: count, into: logits, pool: pool)
        } else {
            matrix.multiply(hidden, tokens: count, into: logits, pool: pool)
        }
        let n = matrix.rows
        for t in 0..<count {
            let row = logits + t * n
            if let bias { hydra_add(row, bias.values, Int64(n)) }
            if let cap = softcap {
                // ggml: scale by 1/cap, tanh, scale by cap.
                let inv = 1 / cap
                for i in 0..<n { row[i] = tanhf(row[i] * inv) * cap }
            }
        }
    }

    /// Logits of one hidden row as an array.
    public func logits(hidden: [Float], pool: ThreadPool?) -> [Float] {
        precondition(hidden.count % matrix.cols == 0)
        let count = hidden.count / matrix.cols
        return [Float](unsafeUninitializedCapacity: count * matrix.rows) { buffer, n in
            hidden.withUnsafeBufferPointer { logits(hidden: $0.baseAddress!, count: count, into: buffer.baseAddress!, pool: pool) }
            n = count * matrix.rows
        }
    }
}
