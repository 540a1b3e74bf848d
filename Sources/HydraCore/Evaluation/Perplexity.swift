import Foundation

/// Perplexity of a text, computed the way llama-perplexity does so the two
/// can be compared figure for figure.
///
/// The text is tokenized once (with BOS when the model adds one) and cut
/// into chunks of `contextLength` tokens; each chunk is evaluated from an
/// empty cache with its first token replaced by BOS, and only the second
/// half of each chunk is scored (those positions have at least half a
/// context of history).
public struct PerplexityResult: Sendable {
    public let perplexity: Double
    /// Standard error of the estimate, as llama-perplexity prints it (±).
    public let standardError: Double
    public let chunks: Int
    public let scoredTokens: Int
    /// The running estimate after each chunk.
    public let perChunk: [Double]
}

public enum Perplexity {
    /// - Parameters:
    ///   - tokens: the whole text's tokens.
    ///   - bos: the BOS id when the model adds BOS, else nil.
    ///   - evaluate: runs one chunk from an empty cache and calls `score`
    ///     with each position's logits (position, logits of the vocabulary).
    public static func compute(
        tokens: [Int32], contextLength nCtx: Int, bos: Int32?,
        evaluate: (_ chunk: [Int32], _ score: (Int, UnsafeBufferPointer<Float>) -> Void) throws -> Void
    ) throws -> PerplexityResult {
        guard nCtx >= 4 else { throw HydraError.invalidInput("context length must be at least 4") }
        guard tokens.count >= 2 * nCtx else {
            throw HydraError.invalidInput(
                "the text tokenizes to \(tokens.count) tokens; perplexity with a context of \(nCtx) needs at least \(2 * nCtx)")
        }
        let chunks = tokens.count / nCtx
        let first = nCtx / 2
        var nll = 0.0, nll2 = 0.0
        var count = 0
        var perChunk: [Double] = []
        for c in 0..<chunks {
            let start = c * nCtx
            var chunk = Array(tokens[start..<start + nCtx])
            if let bos { chunk[0] = bos }
            try evaluate(chunk) { position, logits in
                guard position >= first, position < nCtx - 1 else { return }
                let target = Int(tokens[start + position + 1])
                let lp = logSoftmax(logits, at: target)
                nll -= lp
                nll2 += lp * lp
                count += 1
            }
            perChunk.append(exp(nll / Double(max(count, 1))))
        }
        let mean = nll / Double(count)
        var variance = nll2 / Double(count) - mean * mean
        variance = variance > 0 ? (variance / Double(count - 1)).squareRoot() : 0
        let ppl = exp(mean)
        return PerplexityResult(perplexity: ppl, standardError: variance * ppl, chunks: chunks,
                                scoredTokens: count, perChunk: perChunk)
    }

    /// log p(target) under softmax(logits), in double precision as
    /// llama-perplexity computes it.
    static func logSoftmax(_ logits: UnsafeBufferPointer<Float>, at target: Int) -> Double {
        var maxLogit = -Float.infinity
        for v in logits where v > maxLogit { maxLogit = v }
        var sum = 0.0
        for v in logits { sum += Double(expf(v - maxLogit)) }
        return Double(logits[target] - maxLogit) - log(sum)
    }
}
