import Foundation
import HydraCore

/// `hydra bench --sequences 1,4,16,64`: generation speed with several
/// sequences decoded together, as llama-batched-bench measures it (S_TG:
/// every sequence's generated tokens over the generation time). Each
/// sequence first runs its own prompt of `-p` random tokens; then all step
/// together `-n` times, once keeping each sequence's bits as if alone
/// (exact) and once sharing the matrix products (throughput mode).
struct SequencesBench {
    let model: HydraModel
    let promptTokens: Int
    let generatedTokens: Int

    struct Row: Encodable {
        let sequences: Int
        let exactTokensPerS: Double
        let throughputTokensPerS: Double

        enum CodingKeys: String, CodingKey {
            case sequences
            case exactTokensPerS = "exact_tokens_per_s"
            case throughputTokensPerS = "throughput_tokens_per_s"
        }
    }

    /// Tokens per second of `count` sequences stepped together.
    func rate(_ count: Int, exact: Bool) throws -> Double {
        var tokens = RandomTokens(vocabularySize: model.vocabularySize, bos: nil)
        let sequences = try (0..<count).map { _ in
            try model.startSequence(prompt: tokens.prompt(max(promptTokens, 1)).map { HeadToken(model.native, $0) },
                                    target: model.native, maxTokens: generatedTokens + 1)
        }
        let batch = SequenceBatch(model: model, exact: exact)
        // One untimed step (warm-up), then the timed ones.
        try batch.step(sequences, tokens: (0..<count).map { _ in tokens.next() })
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<generatedTokens - 1 {
            try batch.step(sequences, tokens: (0..<count).map { _ in tokens.next() })
        }
        let seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
        return Double(count * (generatedTokens - 1)) / seconds
    }

    func rows(_ counts: [Int], progress: (Row) -> Void) throws -> [Row] {
        try counts.map { count in
            let row = Row(sequences: count, exactTokensPerS: try rate(count, exact: true),
                          throughputTokensPerS: try rate(count, exact: false))
            progress(row)
            return row
        }
    }
}
