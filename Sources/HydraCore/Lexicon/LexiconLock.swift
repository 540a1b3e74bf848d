/// A `Lexicon` over one head's tokens: each token's text as the lexicon's
/// symbols, worked out once, so that checking every token of a vocabulary
/// at each step is a walk of a few trie edges. A token is allowed when its
/// text keeps the answer inside the lexicon's words; an end or control
/// token, when the answer is not inside an unfinished word.
public final class LexiconLock: @unchecked Sendable {
    public let lexicon: Lexicon
    private let head: Head
    /// Each token's characters as symbols; nil for a token whose bytes
    /// split a character (walked byte by byte).
    private let programs: [[Lexicon.Symbol]?]

    public init(lexicon: Lexicon, head: Head) {
        self.lexicon = lexicon
        self.head = head
        var seen: [Unicode.Scalar: Lexicon.Symbol] = [:]
        programs = (0..<head.vocabulary.count).map { i in
            let bytes = head.tokenizer.piece(Int32(i))
            guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
            return text.unicodeScalars.map { s in
                if let known = seen[s] { return known }
                let symbol = lexicon.symbol(s)
                seen[s] = symbol
                return symbol
            }
        }
    }

    /// Whether `token` may come after the text `walk` stands at.
    public func allows(_ token: Int32, after walk: LexiconWalk) -> Bool {
        advanced(walk, by: token) != nil
    }

    /// Where the text stands once `token` is written after `walk`; nil when
    /// the lexicon does not allow it.
    public func advanced(_ walk: LexiconWalk, by token: Int32) -> LexiconWalk? {
        guard token >= 0 && Int(token) < programs.count else { return walk }
        let v = head.vocabulary
        if v.isEndOfGeneration(token) || v.attributes[Int(token)].contains(.control) {
            // End and control tokens write nothing but end the answer (or its turn).
            return lexicon.canEnd(walk) ? walk : nil
        }
        var next = walk
        if walk.pending.isEmpty, let program = programs[Int(token)] {
            for symbol in program where !lexicon.step(&next, symbol) { return nil }
            return next
        }
        return lexicon.advance(&next, bytes: head.tokenizer.piece(token)) ? next : nil
    }

    /// Where the text stands once `token` is written after `walk`, whatever
    /// it is: inside the lexicon's words, else the word ended where it stood
    /// (the way out), else afresh.
    public func walked(_ walk: LexiconWalk, by token: Int32) -> LexiconWalk {
        advanced(walk, by: token) ?? advanced(endingWordOf: walk, by: token) ?? LexiconWalk()
    }

    /// Sets the logit of every token the lexicon does not allow after
    /// `walk` to −∞, as greedy decoding's pick skips them: where it allows
    /// none, the tokens that end the word where it stands stay.
    public func restrict(_ logits: inout [Float], after walk: LexiconWalk) {
        let count = min(logits.count, programs.count)
        var keep = [Bool](repeating: false, count: count)
        for t in 0..<count where logits[t] > -.infinity { keep[t] = allows(Int32(t), after: walk) }
        if !keep.contains(true) {
            for t in 0..<count where logits[t] > -.infinity { keep[t] = advanced(endingWordOf: walk, by: Int32(t)) != nil }
        }
        for t in 0..<count where !keep[t] { logits[t] = -.infinity }
    }

    /// Where the text stands once `token` ends the word `walk` is inside
    /// where it stands, as if the lexicon held it: what decoding falls back
    /// on when the lexicon allows no token at all. Only a token whose text
    /// begins with no letter (a space, punctuation) or an end token; nil
    /// for others, and while a character waits for its last bytes.
    public func advanced(endingWordOf walk: LexiconWalk, by token: Int32) -> LexiconWalk? {
        guard walk.pending.isEmpty, token >= 0 && Int(token) < programs.count else { return nil }
        let v = head.vocabulary
        if v.isEndOfGeneration(token) || v.attributes[Int(token)].contains(.control) { return LexiconWalk() }
        let bytes = head.tokenizer.piece(token)
        guard let first = bytes.first, first < 0x80, lexicon.symbol(Unicode.Scalar(first)) == .boundary else { return nil }
        return advanced(LexiconWalk(), by: token)
    }
}
