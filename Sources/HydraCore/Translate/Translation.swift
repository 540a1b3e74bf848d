/// One text's translation as steps that a caller drives: the text is cut
/// into paragraphs once (`Paragraphs`), the whitespace and markers between
/// them are copied through, and each paragraph is a `TranslationSession`
/// that advances one token per step of its sequence. `Translator.translate`
/// drives one translation to its end; the daemon steps the translations of
/// all its clients together, one batched pass per token. Both give the same
/// text for the same input.
public final class Translation {
    public let translator: Translator
    public let source: Language
    public let target: Language
    /// The paragraphs to translate and the text to copy between them.
    public let pieces: [Paragraphs.Piece]
    /// The paragraph being decoded, if any.
    public private(set) var session: TranslationSession?
    /// What the finished paragraphs cost.
    public private(set) var stats = Translator.Statistics()
    private var next = 0

    public init(_ translator: Translator, text: String, from source: Language, to target: Language) {
        self.translator = translator
        self.source = source
        self.target = target
        pieces = Paragraphs(TextNormalization.nfc(text)).pieces
    }

    /// Whether every piece has been passed on.
    public var isFinished: Bool { session == nil && next == pieces.count }

    /// The most tokens the whole text may generate: the sum of each
    /// paragraph's budget (`Translator.tokenBudget`) in the source head.
    public func worstCaseTokens() throws -> Int {
        let tokenizer = try translator.heads(from: source, to: target).source.tokenizer
        var worst = 0
        for case .text(let paragraph) in pieces {
            let n = tokenizer.tokenize(paragraph, addSpecial: false, parseSpecial: false).count
            worst += Translator.tokenBudget(sourceTokens: n)
        }
        return worst
    }

    /// Copies the text up to the next paragraph through and starts that
    /// paragraph (runs its prompt, passes its first token on). Returns
    /// false when the text has no paragraph left (everything is passed
    /// on) or `emit` refused a piece (the reader went away).
    public func startNext(emit: (String) -> Bool) throws -> Bool {
        precondition(session == nil, "the current paragraph has not ended")
        while next < pieces.count {
            let piece = pieces[next]
            next += 1
            switch piece {
            case .verbatim(let text):
                guard emit(text) else { next = pieces.count; return false }
            case .text(let paragraph):
                let started = try TranslationSession.start(translator, paragraph: paragraph, from: source, to: target,
                                                           emit: emit)
                stats.paragraphs += 1
                session = started
                if started.isFinished { end() }
                return true
            }
        }
        return false
    }

    /// After a step of the current paragraph's sequence: picks its next
    /// token and passes its text on. Returns whether the paragraph goes on
    /// (else the next one can be started). `alone`: no other translation
    /// is stepped beside it (`TranslationSession.advance`).
    public func advance(emit: (String) -> Bool, alone: Bool = true) -> Bool {
        guard let session else { return false }
        session.advance(emit: emit, alone: alone)
        if session.isFinished { end() }
        return self.session != nil
    }

    /// Stops the translation now (cancelled): nothing more is passed on.
    public func stop() {
        session?.stop()
        end()
        next = pieces.count
    }

    /// Books the current paragraph's cost and lets the next one start;
    /// after a reader went away nothing more is passed on.
    private func end() {
        guard let session else { return }
        stats.promptTokens += session.stats.promptTokens
        stats.generatedTokens += session.stats.generatedTokens
        stats.guessedTokens += session.stats.guessedTokens
        stats.rightGuesses += session.stats.rightGuesses
        stats.twinTokens += session.stats.twinTokens
        if session.readerGone { next = pieces.count }
        self.session = nil
    }
}
