import CHydraKernels
import Foundation

/// The final projection from the body's normed hidden state to logits over
/// a vocabulary: `output.weight` (or the tied embedding table), an optional
/// bias, and the architecture's final soft-capping.
///
/// A sliced output head (`tokens` set) has rows for only some tokens of
/// the vocabulary — a language's tokens, say: row r scores token
/// `tokens[r]`, and every other token gets `excludedLogit`, so it is never
/// generated. Its product reads only those rows.
public struct OutputHead: @unchecked Sendable {
    public let matrix: QuantizedMatrix
    /// One bias per matrix row.
    public let bias: WeightVector?
    /// cap · tanh(logit / cap) when set (Gemma 2/3 style).
    public let softcap: Float?
    /// The token each matrix row scores, increasing; nil: row r scores token r.
    public let tokens: [Int32]?

    /// Size of the vocabulary the head scores.
    public let vocabularySize: Int
    /// The model's own head choosing each token's first native token
    /// (`FactoredOutput`); nil: the rows alone score the tokens.
    public private(set) var factored: FactoredOutput?

    /// The logit of a token a sliced head has no row for: probability zero
    /// after softmax, and never picked.
    public static let excludedLogit: Float = -1e9

    public init(matrix: QuantizedMatrix, bias: WeightVector? = nil, softcap: Float? = nil) {
        self.matrix = matrix
        self.bias = bias
        self.softcap = softcap
        self.tokens = nil
        self.vocabularySize = matrix.rows
    }

    /// A sliced head: `matrix` row r scores token `tokens[r]` of a
    /// vocabulary of `vocabularySize`; refuses ids out of range, repeated or
    /// not increasing, and a row count that is not the ids'.
    public init(matrix: QuantizedMatrix, tokens: [Int32], vocabularySize: Int, bias: WeightVector? = nil,
                softcap: Float? = nil) throws {
        guard tokens.count == matrix.rows, !tokens.isEmpty else {
            throw HeadError.invalid("a sliced output head has \(matrix.rows) rows for \(tokens.count) tokens")
        }
        guard tokens[0] >= 0, Int(tokens[tokens.count - 1]) < vocabularySize,
              zip(tokens, tokens.dropFirst()).allSatisfy({ $0 < $1 }) else {
            throw HeadError.invalid("the tokens of a sliced output head are not increasing ids below \(vocabularySize)")
        }
        guard bias.map({ $0.count == matrix.rows }) ?? true else {
            throw HeadError.invalid("a sliced output head has \(bias!.count) biases for \(matrix.rows) rows")
        }
        self.matrix = matrix
        self.bias = bias
        self.softcap = softcap
        self.tokens = tokens
        self.vocabularySize = vocabularySize
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
        tokens = nil
        vocabularySize = matrix.rows
    }

    /// Logits for `count` hidden rows (each `matrix.cols` floats): writes
    /// count × vocabularySize floats to `logits`. With `eachAsOne`, every
    /// row gets the bits it would get alone (rows of separate sequences).
    public func logits(hidden: UnsafePointer<Float>, count: Int, into logits: UnsafeMutablePointer<Float>,
                       pool: ThreadPool?, eachAsOne: Bool = false) {
        guard let tokens else {
            rowLogits(hidden: hidden, count: count, into: logits, pool: pool, eachAsOne: eachAsOne)
            factored?.apply(hidden: hidden, count: count, logits: logits, vocabularySize: vocabularySize, pool: pool,
                            eachAsOne: eachAsOne)
            return
        }
        let n = matrix.rows
        let scores = UnsafeMutablePointer<Float>.allocate(capacity: count * n)
        defer { scores.deallocate() }
        rowLogits(hidden: hidden, count: count, into: scores, pool: pool, eachAsOne: eachAsOne)
        for t in 0..<count {
            let row = logits + t * vocabularySize
            row.update(repeating: Self.excludedLogit, count: vocabularySize)
            for (r, id) in tokens.enumerated() { row[Int(id)] = scores[t * n + r] }
        }
    }

    /// This head factored by `factored` (not for a slice: its rows are the native head's).
    func factored(by factored: FactoredOutput) -> OutputHead {
        precondition(tokens == nil, "a slice of the native head is not factored")
        var out = self
        out.factored = factored
        return out
    }

    /// The matrix rows' logits: count × matrix.rows floats.
    private func rowLogits(hidden: UnsafePointer<Float>, count: Int, into logits: UnsafeMutablePointer<Float>,
                           pool: ThreadPool?, eachAsOne: Bool) {
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
        return [Float](unsafeUninitializedCapacity: count * vocabularySize) { buffer, n in
            hidden.withUnsafeBufferPointer { logits(hidden: $0.baseAddress!, count: count, into: buffer.baseAddress!, pool: pool) }
            n = count * vocabularySize
        }
    }
}
