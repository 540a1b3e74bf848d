/// Zip-tie (fast vocabulary transfer): a new token's row is the mean of the
/// rows of the source tokens its text splits into.
public enum ZipTie {
    /// The map target id → [(source id, 1/k)] for every target token.
    ///
    /// Each target token is spelled out as bytes ("▁" is a space, `<0xNN>` its
    /// byte) and tokenized by the source tokenizer with byte fallback; a source
    /// token met twice gets weight 2/k. Special tokens map to their counterparts
    /// (same role or same text); one without a counterpart gets an empty row.
    public static func build(target: Vocabulary, source: Tokenizer) -> SparseMap {
        let targetTokenizer = Tokenizer(vocabulary: target)
        let bare = TokenCorrespondence.bareTokenizer(source)
        let specials = TokenCorrespondence.specialCounterparts(target: target, source: source.vocabulary)
        return (0..<target.count).map { j in
            if let i = specials[j] { return [(i, 1)] }
            if TokenCorrespondence.isSpecial(target, j) { return [] }
            return decompose(targetTokenizer.piece(Int32(j), special: true), source: bare)
        }
    }

    /// The mean over the source tokens of `bytes`, as sorted (id, weight) pairs.
    static func decompose(_ bytes: [UInt8], source: Tokenizer) -> [(Int32, Float)] {
        let ids = TokenCorrespondence.tokenize(bytes, with: source)
        guard !ids.isEmpty else { return [] }
        var counts: [Int32: Int] = [:]
        for i in ids { counts[i, default: 0] += 1 }
        let k = Float(ids.count)
        return counts.keys.sorted().map { ($0, Float(counts[$0]!) / k) }
    }
}
