import Foundation

/// The figures by which heads are compared on held-out text of their
/// language: tokens per character and bits per character (see
/// shared METHODS "Evaluating a head").
public enum HeadEvaluation {
    /// The names under which heads are reported side by side: a head's
    /// name, or for the second and later heads of the same name (a head
    /// beside a retuned copy of itself), the name and "#2", "#3", ….
    public static func labels(_ names: [String]) -> [String] {
        var seen: [String: Int] = [:]
        return names.map { name in
            seen[name, default: 0] += 1
            let k = seen[name]!
            return k == 1 ? name : "\(name)#\(k)"
        }
    }

    /// Tokens per character of `lines` under `tokenizer` (no BOS/EOS);
    /// characters are Unicode extended grapheme clusters (Swift `Character`).
    public static func tokensPerCharacter(_ tokenizer: Tokenizer, lines: [String]) -> Double {
        var tokens = 0, characters = 0
        for line in lines {
            tokens += tokenizer.tokenize(line, addSpecial: false, parseSpecial: false).count
            characters += line.count
        }
        return characters > 0 ? Double(tokens) / Double(characters) : 0
    }

    /// The result of scoring text through one head.
    public struct Score: Sendable {
        /// −Σ log2 p(token) over every scored token.
        public var bits = 0.0
        public var characters = 0
        public var tokens = 0
        public var lines = 0
        public var bitsPerCharacter: Double { characters > 0 ? bits / Double(characters) : .nan }
        public var bitsPerToken: Double { tokens > 0 ? bits / Double(tokens) : .nan }
    }

    /// Bits per character of `lines` through `head`: each line is its own
    /// sequence, BOS (the head's) then the line's tokens; every token after
    /// BOS is scored from the logits of the position before it.
    /// - Parameter progress: called after each line with the lines done.
    public static func bitsPerCharacter(_ model: HydraModel, head: Head, lines: [String],
                                        progress: (Int) -> Void = { _ in }) throws -> Score {
        guard let bos = head.vocabulary.bos else {
            throw HydraError.invalidInput("head '\(head.name)' has no BOS token to start a line with")
        }
        let vocab = head.output?.vocabularySize ?? 0
        var score = Score()
        let limit = min(model.state.contextLength, model.state.batchCapacity)
        for (n, line) in lines.enumerated() {
            let ids = Array(([bos] + head.tokenizer.tokenize(line, addSpecial: false, parseSpecial: false)).prefix(limit))
            guard ids.count > 1 else { progress(n + 1); continue }
            model.state.reset()
            let logits = try model.forwardAll(ids.map { HeadToken(head, $0) }, startPosition: 0, logitsFrom: head)
            logits.withUnsafeBufferPointer { l in
                for t in 1..<ids.count {
                    score.bits += negativeLog2(l.baseAddress! + (t - 1) * vocab, count: vocab, of: Int(ids[t]))
                }
            }
            score.tokens += ids.count - 1
            score.characters += line.count
            score.lines += 1
            progress(n + 1)
        }
        return score
    }

    /// −log2 softmax(logits)[index], computed stably in Double.
    static func negativeLog2(_ logits: UnsafePointer<Float>, count: Int, of index: Int) -> Double {
        var top = -Float.infinity
        for k in 0..<count where logits[k] > top { top = logits[k] }
        var sum = 0.0
        for k in 0..<count { sum += exp(Double(logits[k] - top)) }
        let logp = Double(logits[index] - top) - log(sum)
        return -logp / log(2.0)
    }
}
