import Foundation

/// One sequence run through the body for tuning: its inputs (each token by
/// its own head) and the positions whose final hidden state is trained to
/// predict a token of the tuned head.
public struct TuningSequence: Sendable {
    public var inputs: [HeadToken]
    /// Positions in `inputs` and the tuned head's token each must predict.
    public var positions: [Int32]
    public var targets: [Int32]
    /// Leading inputs shared by every sequence of its kind (a translation
    /// prompt's template): run once and kept in the cache, not per sequence.
    public var sharedPrefix: Int
}

/// The training text of a tuning run, as sequences for the body: lines of
/// target-language text (the head's BOS, then the line: every token after
/// BOS is a target, as bits per character scores them), and parallel pairs
/// rendered as hydra's translation prompt (source text through the source
/// head) followed by the target text through the tuned head and the end of
/// the answer: the states decoding meets when it translates.
public enum TuningCorpus {
    /// Refuses held-out data: any path with a folder named `heldout`.
    public static func checkNotHeldOut(_ paths: [String]) throws {
        for p in paths where URL(fileURLWithPath: p).standardizedFileURL.pathComponents.contains("heldout") {
            throw HydraError.invalidInput("\(p) is held-out data: it must not be used to build or tune heads")
        }
    }

    /// Sequences for the lines of `text` (empty lines skipped): the head's
    /// BOS, then the line, each cut to `maxLength` inputs. With `pack` > 0,
    /// consecutive lines share a sequence (joined by a new line) up to
    /// `pack` inputs: the body runs far more tokens a second in long batches
    /// than in the short ones single lines give.
    public static func textSequences(_ lines: [String], head: Head, maxLength: Int, pack: Int = 0) throws -> [TuningSequence] {
        guard let bos = head.vocabulary.bos else {
            throw HydraError.invalidInput("head '\(head.name)' has no BOS token to start a line with")
        }
        let newline = head.tokenizer.tokenize("\n", addSpecial: false, parseSpecial: false)
        var out: [TuningSequence] = []
        var ids: [Int32] = []
        func close() {
            if ids.count > 1 {
                out.append(TuningSequence(inputs: ids.map { HeadToken(head, $0) },
                                          positions: (0..<Int32(ids.count - 1)).map { $0 },
                                          targets: Array(ids[1...]), sharedPrefix: 0))
            }
            ids = []
        }
        for line in lines where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            let tokens = head.tokenizer.tokenize(line, addSpecial: false, parseSpecial: false)
            guard !tokens.isEmpty else { continue }
            if pack > 0, !ids.isEmpty, ids.count + newline.count + tokens.count <= min(pack, maxLength) {
                ids += newline + tokens
                continue
            }
            close()
            ids = Array(([bos] + tokens).prefix(maxLength))
            if pack <= 0 { close() }
        }
        close()
        return out
    }

    /// Sequences for translation pairs: the prompt (through `source`, naming
    /// `to`), then the target side through `head`, ending with the answer's
    /// end token. With `examples` > 0 each prompt shows the pairs of
    /// `memory` nearest its text (never the pair's own text), as a
    /// translation with `Sampling.examples` does, so the rows are tuned on
    /// the states that decoding with examples meets.
    public static func pairSequences(_ pairs: [(source: String, target: String)], model: HydraModel, source: Head, head: Head,
                                     from: Language, to: Language, maxLength: Int,
                                     memory: TranslationMemory? = nil, examples: Int = 0) throws -> [TuningSequence] {
        let translator = try Translator(model: model, source: source, target: head)
        let prompt = TranslationPrompt(source: from, target: to, answer: (try? Language.named(head.language)) ?? to)
        let end = endOfAnswer(format: translator.format, head: head)
        var out: [TuningSequence] = []
        for pair in pairs {
            let text = TextNormalization.nfc(pair.source), target = TextNormalization.nfc(pair.target)
            guard !text.isEmpty, !target.isEmpty else { continue }
            let shown = memory?.nearest(text, count: examples, excludingItself: true) ?? []
            let pieces = prompt.pieces(text, format: translator.format, examples: shown)
            let ids = translator.promptTokens(pieces, source: source, target: head)
            // The template before the first text is the same in every prompt: run once.
            let prefixCount = translator.promptTokens(Array(pieces.prefix(1)), source: source, target: head).count
            var answer = head.tokenizer.tokenize(target, addSpecial: false, parseSpecial: false)
            if let end { answer.append(end) }
            let total = ids.count + answer.count - 1
            guard total <= maxLength, !answer.isEmpty else { continue }
            let inputs = ids + answer.dropLast().map { HeadToken(head, $0) }
            let first = Int32(ids.count - 1)
            out.append(TuningSequence(inputs: inputs, positions: (0..<Int32(answer.count)).map { first + $0 },
                                      targets: answer, sharedPrefix: min(prefixCount, ids.count - 1)))
        }
        return out
    }

    /// The token that ends an answer in `head`'s vocabulary: the chat
    /// format's end-of-turn marker, else its end of generation; a base
    /// model's completion ends with a new line.
    static func endOfAnswer(format: ChatFormat, head: Head) -> Int32? {
        let v = head.vocabulary
        switch format {
        case .chatml, .tower: return v.id(of: "<|im_end|>") ?? v.eot ?? v.eos
        case .gemma: return v.id(of: "<end_of_turn>") ?? v.eot ?? v.eos
        case .plain: return v.eos
        case .completion: return head.tokenizer.tokenize("\n", addSpecial: false, parseSpecial: false).first
        }
    }
}
