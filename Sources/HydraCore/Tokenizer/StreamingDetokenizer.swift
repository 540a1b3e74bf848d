/// Turns generated token ids into text as they arrive, emitting only whole
/// UTF-8 characters: a character split across byte-fallback tokens waits
/// until its last byte comes.
public struct StreamingDetokenizer: Sendable {
    public let tokenizer: Tokenizer
    /// Print control tokens (`<eos>`) too.
    public let special: Bool
    /// Bytes of an unfinished character.
    private var pending: [UInt8] = []
    /// SentencePiece: the first text still has to lose the space the tokenizer put in front.
    private var stripLeadingSpace: Bool

    public init(tokenizer: Tokenizer, special: Bool = false) {
        self.tokenizer = tokenizer
        self.special = special
        self.stripLeadingSpace = tokenizer.vocabulary.addSpacePrefix
    }

    /// Feeds one token; returns the text that is now complete (maybe empty).
    public mutating func append(_ id: Int32) -> String {
        var bytes = tokenizer.piece(id, special: special)
        if bytes.isEmpty { return "" }
        if stripLeadingSpace {
            stripLeadingSpace = false
            if bytes.first == 0x20 { bytes.removeFirst() }
        }
        pending.append(contentsOf: bytes)
        let complete = UTF8Text.completePrefixLength(pending[...])
        if complete == 0 { return "" }
        let text = String(decoding: pending[..<complete], as: UTF8.self)
        pending.removeFirst(complete)
        return text
    }

    /// Continuation bytes the character being written still needs (0:
    /// none is open).
    public var pendingNeed: Int { UTF8Guard.need(after: pending) }

    /// Ends the stream: an unfinished character left over becomes U+FFFD,
    /// or with `dropUnfinished`, nothing (text cut at a token limit, where
    /// the character's last bytes were never generated).
    public mutating func finish(dropUnfinished: Bool = false) -> String {
        defer { pending.removeAll() }
        return pending.isEmpty || dropUnfinished ? "" : String(decoding: pending, as: UTF8.self)
    }
}
