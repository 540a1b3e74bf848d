/// A head's tokens grouped by the model's own (native) tokenizer: each
/// token goes in the group of the first native token of its own text
/// (" привет" → " при" when the native tokenizer spells it " при" +
/// "вет"). The native head's probability of that native token is then the
/// probability that the next token of the head is one of its group: what
/// the native teacher of `heads tune --distill` and a factored output
/// (`FactoredOutput`) build on.
public struct NativeGroups: Sendable {
    /// For each token of the head: the native token that starts its text,
    /// or -1 (no native spelling).
    public let first: [Int32]

    /// Groups the `count` tokens scored by `head` (its output's rows) by the
    /// first native token of their text. A special token joins the native
    /// token of the same text where the native vocabulary has it whole; an
    /// end-of-generation token without one joins the native head's own end
    /// of turn (so that a factored head can end its answers).
    public init(head: Head, native: Head, count: Int) {
        let vocabulary = head.tokenizer.vocabulary, nativeVocabulary = native.tokenizer.vocabulary
        let nativeEnd = nativeVocabulary.eot ?? nativeVocabulary.eos ?? nativeVocabulary.endOfGeneration.min()
        var first = [Int32](repeating: -1, count: count)
        for id in 0..<min(count, vocabulary.count) {
            let special = !vocabulary.attributes[id].isDisjoint(with: [.control, .userDefined])
            let bytes = head.tokenizer.piece(Int32(id), special: special)
            var n: Int32?
            if special {
                let ids = native.tokenizer.tokenize(String(decoding: bytes, as: UTF8.self), addSpecial: false,
                                                    parseSpecial: true)
                n = ids.count == 1 ? ids[0] : nil  // a special token only where the native head has it whole
                if n == nil && vocabulary.isEndOfGeneration(Int32(id)) { n = nativeEnd }
            } else if !bytes.isEmpty {
                n = bytes.withUnsafeBufferPointer {
                    native.tokenizer.tokenize(bytes: $0, addSpecial: false, parseSpecial: false).first
                }
            }
            if let n, n >= 0, Int(n) < nativeVocabulary.count { first[id] = n }
        }
        self.first = first
    }
}
