import Foundation

/// The cheapest baseline a tuned head must beat: a head with the native
/// tokenizer and tables whose output can only pick tokens that occur in
/// target-language text (every other token gets an output bias of −10⁹,
/// so it is never picked and its probability is zero). It cannot drift into
/// another language's words, but keeps every shared subword.
public enum MaskedHead {
    /// The tokens of `head`'s vocabulary that occur when `lines` are
    /// tokenized with it, plus its control tokens (BOS, end of turn, …)
    /// and the new line.
    public static func allowedTokens(_ head: Head, lines: [String]) -> TokenMask {
        var mask = TokenMask()
        for line in lines {
            for t in head.tokenizer.tokenize(line, addSpecial: false, parseSpecial: false) { mask.insert(t) }
        }
        for t in head.tokenizer.tokenize("\n", addSpecial: false, parseSpecial: false) { mask.insert(t) }
        for id in 0..<head.vocabulary.count where head.vocabulary.isControl(Int32(id)) { mask.insert(Int32(id)) }
        return mask
    }

    /// Writes `native` restricted to `allowed` as a dense head file: the
    /// native tables unchanged (an untied output matrix) and the bias.
    public static func write(_ native: Head, allowed: TokenMask, language: Language, name: String,
                             notes: String, to path: String) throws {
        guard let output = native.output else {
            throw HydraError.invalidInput("head '\(native.name)' is input-only: there is no output to mask")
        }
        let n = output.vocabularySize
        let bias = UnsafeMutablePointer<Float>.allocate(capacity: n)
        defer { bias.deallocate() }
        for i in 0..<n {
            let base = output.bias?.values[i] ?? 0
            bias[i] = allowed.contains(Int32(i)) ? base : -1e9
        }
        let masked = OutputHead(matrix: output.matrix, bias: WeightVector(values: bias, count: n), softcap: output.softcap)
        var info = native.info
        info.name = name
        info.language = language.code
        info.script = language.script?.description
        info.output = .separate
        info.provenance = .init(method: "masked", source: native.info.provenance.source,
                                notes: "the native head with its output limited to \(allowed.count) tokens; \(notes)")
        let head = Head(info: info, tokenizer: native.tokenizer, tokenizerMetadata: native.tokenizerMetadata,
                        embedding: native.embedding, output: masked, kind: "dense", owners: [native])
        try HeadFileWriter.writeDense(head, to: path, info: info)
    }
}
