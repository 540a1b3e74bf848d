/// The round-trip check of consensus decoding: how likely the model is to
/// translate a candidate back into the text it was made from. A candidate
/// that says something else, or nothing, makes the source text unlikely,
/// however much the other candidates agree with it.
extension Translator {
    /// For each candidate translation of `paragraph` (from `source` into
    /// `target`), log p(paragraph | candidate): the reverse prompt (from
    /// `target` into `source`) reads the candidate through the target
    /// head, and the source head scores the paragraph as its answer. Nil
    /// when the heads cannot run it (the source head has no output rows) or
    /// a reverse prompt does not fit the model's context.
    /// Equal candidates are scored once; the reverse prompt's opening is
    /// run once for all of them.
    func roundTripScores(_ candidates: [String], of paragraph: String, from source: Language,
                         to target: Language) throws -> [Double]? {
        let (sh, th) = try heads(from: source, to: target)
        guard sh.canGenerate, !candidates.isEmpty else { return nil }
        let answer = sh.tokenizer.tokenize(paragraph, addSpecial: false, parseSpecial: false)
        let reverse = TranslationPrompt(source: target, target: source)
        let opening = sh.tokenizer.tokenize(reverse.parts("", format: format).prefix, addSpecial: true,
                                            parseSpecial: true).map { HeadToken(sh, $0) }
        var cached = 0
        var scores: [String: Double] = [:]
        var all: [Double] = []
        for candidate in candidates {
            if let score = scores[candidate] {
                all.append(score)
                continue
            }
            let parts = reverse.parts(candidate, format: format)
            let context = opening
                + th.tokenizer.tokenize(parts.text, addSpecial: false, parseSpecial: false).map { HeadToken(th, $0) }
                + sh.tokenizer.tokenize(parts.suffix, addSpecial: false, parseSpecial: true).map { HeadToken(sh, $0) }
            guard context.count + answer.count <= hydra.state.contextLength else { return nil }
            let score = try hydra.logProbability(of: answer, by: sh, after: context, cached: min(cached, context.count - 1))
            cached = opening.count
            scores[candidate] = score
            all.append(score)
        }
        return all
    }
}
