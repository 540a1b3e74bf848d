/// A translation never writes a placeholder mark that its text lacks.
/// Software messages carry placeholders ("%1", "%s", "$1", "{0}"), and so do
/// the example pairs a translation memory shows; a greedy answer copies
/// them into texts that have none (10 of the first 60 held-out en→tt
/// answers of qwen2.5-1.5b's Tatar head did: "%1 хата күрсәтергә"), which
/// breaks the string for the program that fills it in (gettext's
/// `msgfmt --check-format` refuses a translation with a format its source
/// lacks). The guard bans the target head's tokens that write a mark
/// absent from the text; a mark the text has stays free.
public enum PlaceholderGuard {
    /// The characters placeholders are made of.
    public static let marks: [UInt8] = Array("%${}".utf8)

    /// The tokens of `head` that write one of the marks `text` lacks
    /// (control and end tokens are never banned; cached per set of marks).
    public static func bannedTokens(_ head: Head, for text: String) -> TokenMask {
        let missing = marks.filter { !text.utf8.contains($0) }
        guard !missing.isEmpty else { return TokenMask() }
        return head.tokens(writing: missing)
    }

    static func tokens(of head: Head, writing missing: [UInt8]) -> TokenMask {
        var mask = TokenMask()
        let v = head.vocabulary
        for i in 0..<v.count {
            let id = Int32(i)
            if v.endOfGeneration.contains(id) || !v.attributes[i].isDisjoint(with: [.control, .unknown, .unused]) { continue }
            if head.tokenizer.piece(id).contains(where: missing.contains) { mask.insert(id) }
        }
        return mask
    }
}

extension Head {
    /// The tokens that write one of `bytes` (control and end tokens never;
    /// computed once per set of bytes).
    func tokens(writing bytes: [UInt8]) -> TokenMask {
        maskCache.mask("writing \(bytes)") { PlaceholderGuard.tokens(of: self, writing: bytes) }
    }
}
