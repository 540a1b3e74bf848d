/// Translates text with one model: builds the prompt in the model's chat
/// format, decodes greedily and streams the translation piece by piece.
///
/// Paragraphs are translated one at a time, each from a fresh cache, and
/// the whitespace between them is copied through unchanged.
public final class Translator {
    public let model: LanguageModel
    public let tokenizer: Tokenizer
    public let format: ChatFormat

    public init(model: LanguageModel, tokenizer: Tokenizer) {
        self.model = model
        self.tokenizer = tokenizer
        self.format = ChatFormat.detect(chatTemplate: model.file.string("tokenizer.chat_template"),
                                        architecture: model.file.architecture)
    }

    /// What one translation cost.
    public struct Statistics: Sendable {
        public var promptTokens = 0
        public var generatedTokens = 0
        public var paragraphs = 0
    }

    /// Translates `text`, calling `emit` with each piece of output as soon as
    /// it is known. `emit` returns false to stop (the reader went away).
    @discardableResult
    public func translate(_ text: String, from source: Language, to target: Language,
                          emit: (String) -> Bool) throws -> Statistics {
        let prompt = TranslationPrompt(source: source, target: target)
        var stats = Statistics()
        for piece in Paragraphs(TextNormalization.nfc(text)).pieces {
            switch piece {
            case .verbatim(let space):
                guard emit(space) else { return stats }
            case .text(let paragraph):
                stats.paragraphs += 1
                guard try translateParagraph(paragraph, prompt: prompt, stats: &stats, emit: emit) else { return stats }
            }
        }
        return stats
    }

    /// The token ids of the prompt for one paragraph.
    public func promptIds(_ paragraph: String, prompt: TranslationPrompt) -> [Int32] {
        let parts = prompt.parts(paragraph, format: format)
        return tokenizer.tokenize(parts.prefix, addSpecial: true, parseSpecial: true)
            + tokenizer.tokenize(parts.text, addSpecial: false, parseSpecial: false)
            + tokenizer.tokenize(parts.suffix, addSpecial: false, parseSpecial: true)
    }

    private func translateParagraph(_ paragraph: String, prompt: TranslationPrompt, stats: inout Statistics,
                                    emit: (String) -> Bool) throws -> Bool {
        let ids = promptIds(paragraph, prompt: prompt)
        let textTokens = tokenizer.tokenize(paragraph, addSpecial: false, parseSpecial: false).count
        // A translation rarely needs more than three times the source's tokens.
        let budget = min(3 * textTokens + 32, model.state.contextLength - ids.count)
        guard budget > 0 else {
            throw HydraError.invalidInput(
                "a paragraph of \(textTokens) tokens is too long for the model's context of \(model.state.contextLength)")
        }
        stats.promptTokens += ids.count
        var detok = StreamingDetokenizer(tokenizer: tokenizer)
        var output = TrimmedOutput()
        var open = true
        func show(_ piece: String) -> Bool {
            let visible = output.take(piece)
            return visible.isEmpty || emit(visible)
        }
        // A base model continues the pattern past its answer: stop when it
        // starts a line more than the paragraph has.
        let maxNewlines = format == .completion ? paragraph.filter { $0 == "\n" }.count : Int.max
        var newlines = 0
        try model.decode(promptIds: ids, maxTokens: budget) { token in
            stats.generatedTokens += 1
            if tokenizer.vocabulary.isEndOfGeneration(token) { return false }
            var piece = detok.append(token)
            if maxNewlines != Int.max, output.hasStarted {
                for (i, ch) in piece.enumerated() where ch == "\n" {
                    newlines += 1
                    if newlines > maxNewlines {
                        piece = String(piece.prefix(i))
                        _ = show(piece)
                        return false
                    }
                }
            }
            open = show(piece)
            return open
        }
        if open { open = show(detok.finish()) }
        return open
    }
}

/// A model's answer without its leading and trailing whitespace, as a
/// stream: whitespace is held back until something follows it.
struct TrimmedOutput {
    private var started = false
    private var heldBack = ""

    /// Whether anything but whitespace has come yet.
    var hasStarted: Bool { started }

    /// The part of `piece` that can be shown now.
    mutating func take(_ piece: String) -> String {
        var text = Substring(piece)
        if !started {
            text = text.drop { $0.isWhitespace }
            guard !text.isEmpty else { return "" }
            started = true
        }
        let trailing = text.reversed().prefix { $0.isWhitespace }.count
        guard trailing < text.count else {
            heldBack += text
            return ""
        }
        let visible = heldBack + text.dropLast(trailing)
        heldBack = String(text.suffix(trailing))
        return visible
    }
}
