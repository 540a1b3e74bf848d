import Foundation

/// The cheapest baseline a tuned head must beat: the native head whose
/// output can only pick tokens that occur in target-language text. It
/// cannot drift into another language's words, but keeps every shared
/// subword. Written as a slice head (`HeadFileWriter.writeSlice`): the
/// native tokenizer and input rows, and output rows for the kept tokens
/// only — a few MB instead of the native tables, and a product over those
/// rows alone; every other token scores `OutputHead.excludedLogit`.
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

    /// Writes `native` restricted to `allowed` as a slice head file.
    public static func write(_ native: Head, allowed: TokenMask, language: Language, name: String,
                             notes: String, to path: String) throws {
        guard native.output != nil else {
            throw HydraError.invalidInput("head '\(native.name)' is input-only: there is no output to mask")
        }
        var info = native.info
        info.name = name
        info.language = language.code
        info.script = language.script?.description
        info.output = .separate
        info.provenance = .init(method: "masked", source: native.info.provenance.source,
                                notes: "the native head with its output limited to \(allowed.count) tokens; \(notes)")
        try HeadFileWriter.writeSlice(native, tokens: allowed.ids, info: info, to: path)
    }
}
