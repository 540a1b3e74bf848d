import Foundation

/// The ablation that tells a head's two sides apart: its output rows pick
/// the tokens, but the text written so far reaches the body through the
/// native tokenizer and rows, as if the head had the native input side.
/// Set beside the head itself (its own input rows) and the native head,
/// it says whether a built head loses its quality in the rows it reads or
/// in the rows it writes.
public enum NativeInput {
    /// Bits per character of `lines` under `head`'s output rows, each
    /// token predicted from the native tokens of the line's text before it
    /// (BOS, then that text through the native tokenizer).
    public static func bitsPerCharacter(_ model: HydraModel, head: Head, lines: [String],
                                        progress: (Int) -> Void = { _ in }) throws -> HeadEvaluation.Score {
        guard let output = head.output else { throw HeadError.invalid("head '\(head.name)' has no output rows") }
        guard let bos = model.native.vocabulary.bos else {
            throw HydraError.invalidInput("the native head has no BOS token to start a line with")
        }
        var score = HeadEvaluation.Score()
        for (n, line) in lines.enumerated() {
            let ids = head.tokenizer.tokenize(line, addSpecial: false, parseSpecial: false)
            guard !ids.isEmpty else { progress(n + 1); continue }
            var feed = Feed(model: model, prefix: [bos], head: head)
            for i in 0..<ids.count {
                let logits = try feed.logits(answer: head.tokenizer.detokenize(Array(ids[..<i])))
                score.bits += logits.withUnsafeBufferPointer {
                    HeadEvaluation.negativeLog2($0.baseAddress!, count: output.vocabularySize, of: Int(ids[i]))
                }
            }
            score.tokens += ids.count
            score.characters += line.count
            score.lines += 1
            progress(n + 1)
        }
        return score
    }

    /// Translates one paragraph greedily (with `translator`'s sampler)
    /// through `head`'s output rows, feeding the answer back through the
    /// native tokenizer; returns the answer and the tokens generated.
    public static func translate(_ text: String, translator: Translator, head: Head, from: Language,
                                 to: Language) throws -> (text: String, tokens: Int) {
        let model = translator.hydra
        let prompt = try TranslationPrompt(source: from, target: to, answeredBy: head)
        let plan = try translator.plan(text, prompt: prompt, source: model.native, target: head)
        let sampler = translator.sampler(target: head, language: to, text: text, from: from)
        var answer = plan.answer
        var ids: [Int32] = []
        var out = ""
        var feed = Feed(model: model, prefix: plan.tokens.map(\.token), head: head)
        while ids.count < plan.budget {
            let logits = try feed.logits(answer: head.tokenizer.detokenize(ids))
            let current = answer
            let token = logits.withUnsafeBufferPointer { sampler.pick($0, after: ids, allowed: current.allows) }
            ids.append(token)
            guard answer.take(token, emit: { out += $0; return true }) else { break }
        }
        _ = answer.finish { out += $0; return true }
        return (out, ids.count)
    }

    /// Keeps the body's cache in step with the native tokens of a growing
    /// text: each call feeds only what differs from the tokens already fed.
    struct Feed {
        let model: HydraModel
        let prefix: [Int32]
        let head: Head
        private var fed: [Int32] = []

        init(model: HydraModel, prefix: [Int32], head: Head) {
            self.model = model
            self.prefix = prefix
            self.head = head
            model.state.reset()
        }

        /// `head`'s logits after `prefix` and the native tokens of `answer`
        /// (bytes; an incomplete last character waits for the next call).
        mutating func logits(answer: [UInt8]) throws -> [Float] {
            let native = model.native
            let ids = prefix + native.tokenizer.tokenize(
                String(decoding: answer[..<UTF8Text.completePrefixLength(answer[...])], as: UTF8.self),
                addSpecial: false, parseSpecial: false)
            var same = 0
            while same < min(ids.count, fed.count), ids[same] == fed[same] { same += 1 }
            same = min(same, ids.count - 1)  // feed at least the last token: its logits are the answer
            guard ids.count <= model.state.contextLength else {
                throw HydraError.invalidInput("the text does not fit the context of \(model.state.contextLength)")
            }
            let logits = try model.forwardLast(ids[same...].map { HeadToken(native, $0) }, startPosition: same,
                                               logitsFrom: head)
            fed = ids
            return Array(logits)
        }
    }
}
