/// Translates text with a model: builds the prompt in the model's chat
/// format, decodes greedily and streams the translation piece by piece.
///
/// The prompt is written in the source language's head and the
/// translation generated in the target language's head, until the target
/// head's end token or a stop string.
/// Paragraphs are translated one at a time, each from a fresh cache, and
/// the whitespace between them is copied through unchanged.
public final class Translator {
    /// The body and its heads.
    public let hydra: HydraModel
    /// The chat format of the prompt: the one the body was tuned with
    /// (from its metadata), unless set otherwise (`--prompt-format`).
    public var format: ChatFormat
    /// Heads fixed at creation; nil: chosen by language for each call
    /// (a loaded head of that language, else the native head).
    public let sourceHead: Head?
    public let targetHead: Head?
    /// Whether tokens of other scripts than the target's are masked out.
    public var scriptLock: ScriptLock.Mode = .auto
    /// Greedy (the default), sampling or beam search.
    public var sampling = Sampling()
    /// Where the prompt's example pairs come from (`Sampling.examples`):
    /// this memory when set (`--memory`), else the target head's.
    public var memory: TranslationMemory?
    /// The words answers may write (`--lexicon`), instead of the target
    /// head's (`HeadInfo.lexicon`); nil: the head's, if any.
    public var lexicon: Lexicon? {
        didSet { lexiconLocks = [:] }
    }
    /// Locks over heads' tokens, by head and whether of `lexicon` (true)
    /// or the head's own.
    private var lexiconLocks: [LockKey: LexiconLock] = [:]
    /// Prompt lookup decoding: how often the guesses through each target
    /// head were right (`GuessTally`).
    var guessTallies: [ObjectIdentifier: GuessTally] = [:]
    private struct LockKey: Hashable {
        let head: ObjectIdentifier
        let given: Bool
    }

    /// Translates through heads: the prompt in `source` (default: the head
    /// of the source language), the output in `target` (default: the head
    /// of the target language; the native head when none is loaded).
    public init(model: HydraModel, source: Head? = nil, target: Head? = nil) throws {
        if let target, !target.canGenerate {
            throw HeadError.invalid("head '\(target.name)' is input-only and cannot be translated into")
        }
        hydra = model
        sourceHead = source
        targetHead = target
        format = ChatFormat.detect(chatTemplate: model.file.string("tokenizer.chat_template"),
                                   architecture: model.file.architecture, name: model.file.string("general.name"))
    }

    /// What one translation cost.
    public struct Statistics: Sendable {
        public var promptTokens = 0
        public var generatedTokens = 0
        public var paragraphs = 0
        /// Prompt lookup decoding: tokens guessed, and how many of them
        /// were what was then picked (`Sampling.draft`).
        public var guessedTokens = 0
        public var rightGuesses = 0
        /// Consensus decoding: tokens picked from the logits of another
        /// candidate that had picked the same tokens so far (no pass of their own).
        public var twinTokens = 0
    }

    /// The heads a translation between two languages runs through.
    public func heads(from source: Language, to target: Language) throws -> (source: Head, target: Head) {
        let s = sourceHead ?? hydra.heads.head(for: source.code) ?? hydra.native
        var t = targetHead ?? hydra.heads.head(for: target.code) ?? hydra.native
        if !t.canGenerate { t = hydra.native }
        return (s, t)
    }

    /// Translates `text`, calling `emit` with each piece of output as soon as
    /// it is known. `emit` returns false to stop (the reader went away).
    /// Drives a `Translation` to its end: a `TranslationBatch` of one.
    @discardableResult
    public func translate(_ text: String, from source: Language, to target: Language,
                          emit: (String) -> Bool) throws -> Statistics {
        let translation = Translation(self, text: text, from: source, to: target)
        try withoutActuallyEscaping(emit) { emit in
            let batch = TranslationBatch(model: hydra)
            var ended = batch.add(translation, emit: emit).map { [$0] } ?? []
            while ended.isEmpty { ended = batch.step() }
            if let error = ended[0].error { throw error }
        }
        return translation.stats
    }

    /// The token ids of the prompt for one paragraph, in the source head's
    /// vocabulary (the fixed source head, else the head of `prompt.source`).
    public func promptIds(_ paragraph: String, prompt: TranslationPrompt) -> [Int32] {
        let head = sourceHead ?? hydra.heads.head(for: prompt.source.code) ?? hydra.native
        return promptTokens(prompt.pieces(paragraph, format: format), source: head, target: head).map(\.token)
    }

    /// The tokens of a prompt's pieces: the template and the source texts
    /// through `source`, the example answers through `target` (the head
    /// the answer is written in, so the body reads them as it reads its
    /// own answer). The first piece starts with the source head's BOS.
    func promptTokens(_ pieces: [PromptPiece], source: Head, target: Head) -> [HeadToken] {
        var out: [HeadToken] = []
        for piece in pieces {
            let first = out.isEmpty
            switch piece {
            case .template(let t):
                out += source.tokenizer.tokenize(t, addSpecial: first, parseSpecial: true).map { HeadToken(source, $0) }
            case .source(let t):
                out += source.tokenizer.tokenize(t, addSpecial: first, parseSpecial: false).map { HeadToken(source, $0) }
            case .target(let t):
                out += target.tokenizer.tokenize(t, addSpecial: false, parseSpecial: false).map { HeadToken(target, $0) }
            }
        }
        return out
    }

    /// The memory whose pairs a translation from `source` through `target`
    /// shows as examples: `memory`, else the target head's, when its
    /// source side is in `source`.
    func exampleMemory(from source: Language, target: Head) -> TranslationMemory? {
        guard let m = memory ?? target.memory, m.sourceLanguage == source.code else { return nil }
        return m
    }

    /// The lexicon an answer written in `head` keeps to, over its tokens
    /// (worked out once per head): `lexicon`, else the head's own unless
    /// `sampling` says not to; nil: none.
    func lexiconLock(for head: Head, sampling: Sampling) throws -> LexiconLock? {
        let stored = sampling.lexicon != false ? head.info.lexicon : nil
        guard lexicon != nil || stored != nil else { return nil }
        let key = LockKey(head: ObjectIdentifier(head), given: lexicon != nil)
        if let lock = lexiconLocks[key] { return lock }
        let chosen: Lexicon
        do {
            chosen = try lexicon ?? stored!.lexicon()
        } catch {
            throw HeadError.invalid("head '\(head.name)': its lexicon (\(HeadKeys.lexicon)) has no words")
        }
        let lock = LexiconLock(lexicon: chosen, head: head)
        lexiconLocks[key] = lock
        return lock
    }

    /// Texts that end the answer when the target head writes them as text
    /// rather than as one end token: the format's end-of-turn marker, for a
    /// head whose vocabulary has no such token.
    func stopStrings(target: Head) -> [String] {
        let marker: String
        switch format {
        case .chatml, .tower: marker = "<|im_end|>"
        case .gemma: marker = "<end_of_turn>"
        case .plain, .completion: return []
        }
        return target.vocabulary.id(of: marker) == nil ? [marker] : []
    }

    /// The sampler for translating `text` (from `source`, when known) into
    /// `language` through `target` (`decoding`).
    public func sampler(target: Head, language: Language, text: String, from source: Language? = nil) -> Sampler {
        decoding(target: target, language: language, text: text, from: source).sampler
    }

    /// The sampler for translating `text` (from `source`, when known) into
    /// `language` through `target`, with the tokens that write a
    /// placeholder mark `text` lacks banned (`PlaceholderGuard`); when the
    /// script is locked, those of other scripts too, but for those that
    /// spell the text's names (`ScriptLock.names`, weighed by the memory
    /// the examples come from), and the rule that keeps them to spelling
    /// those names (`ScriptSpelling`).
    func decoding(target: Head, language: Language, text: String,
                  from source: Language? = nil) -> (sampler: Sampler, spelling: ScriptSpelling?) {
        var sampling = sampling
        if sampling.noRepeatNgram == nil { sampling.noRepeatNgram = target.info.noRepeatNgram ?? 0 }
        if sampling.repeatPenalty == nil { sampling.repeatPenalty = target.info.repeatPenalty ?? 1 }
        // Measured for greedy decoding: not imposed on sampling; the head's
        // beams not where candidates were asked for, nor its candidates on beams.
        if sampling.beams == nil {
            sampling.beams = sampling.isGreedy && (sampling.candidates ?? 1) <= 1 ? target.info.beams ?? 1 : 1
        }
        if sampling.candidates == nil {
            let greedy = sampling.isGreedy && sampling.beams == 1
            sampling.candidates = greedy ? target.info.candidates ?? 1 : 1
        }
        if sampling.roundTripWeight == nil { sampling.roundTripWeight = target.info.roundTripWeight ?? 0 }
        if sampling.roundTripBelow == nil { sampling.roundTripBelow = target.info.roundTripBelow ?? 100 }
        if sampling.examples == nil { sampling.examples = target.info.examples ?? 0 }
        if sampling.minLength == nil { sampling.minLength = target.info.minLength ?? 0 }
        if sampling.copyBias == nil { sampling.copyBias = target.info.copyBias ?? 0 }
        var banned = PlaceholderGuard.bannedTokens(target, for: text)
        var spelling: ScriptSpelling?
        if let script = ScriptLock.script(mode: scriptLock, head: target, target: language) {
            let names = ScriptLock.names(in: text, keptBy: source.flatMap { exampleMemory(from: $0, target: target) })
            let rule = ScriptSpelling(names: names, script: script, head: target)
            var locked = target.bannedTokens(keeping: script)
            for id in rule.copyable.ids { locked.remove(id) }
            banned = banned.union(locked)
            spelling = rule
        }
        return (Sampler(banned: banned, sampling: sampling), spelling)
    }

    /// What translating one paragraph needs before decoding: the prompt,
    /// the token budget, and the answer's text filter.
    struct ParagraphPlan {
        let tokens: [HeadToken]
        let budget: Int
        let answer: AnswerText
    }

    /// The most tokens the translation of a paragraph of `sourceTokens`
    /// tokens may take: a translation rarely needs more than three times
    /// the source's tokens.
    public static func tokenBudget(sourceTokens: Int) -> Int { 3 * sourceTokens + 32 }

    /// Plans one paragraph's translation, its prompt showing the `examples`
    /// pairs of `memory` nearest the paragraph (fewer where the context
    /// would not leave the answer its whole budget: the farthest go first).
    func plan(_ paragraph: String, prompt: TranslationPrompt, source: Head, target: Head,
              memory: TranslationMemory? = nil, examples: Int = 0) throws -> ParagraphPlan {
        let state = hydra.state
        let textTokens = source.tokenizer.tokenize(paragraph, addSpecial: false, parseSpecial: false).count
        let wanted = Self.tokenBudget(sourceTokens: textTokens)
        var shown = memory?.nearest(paragraph, count: examples) ?? []
        var tokens = promptTokens(prompt.pieces(paragraph, format: format, examples: shown), source: source, target: target)
        while !shown.isEmpty && tokens.count + wanted > state.contextLength {
            shown.removeFirst()
            tokens = promptTokens(prompt.pieces(paragraph, format: format, examples: shown), source: source, target: target)
        }
        let budget = min(wanted, state.contextLength - tokens.count)
        guard budget > 0 else {
            throw HydraError.invalidInput(
                "a paragraph of \(textTokens) tokens is too long for the model's context of \(state.contextLength)")
        }
        // A base model continues the pattern past its answer: stop when it
        // starts a line more than the paragraph has.
        let maxNewlines = format == .completion ? paragraph.filter { $0 == "\n" }.count : Int.max
        let answer = AnswerText(target: target, stops: stopStrings(target: target), maxNewlines: maxNewlines)
        return ParagraphPlan(tokens: tokens, budget: budget, answer: answer)
    }
}

/// Turns the target head's tokens into the text of the answer: detokenized
/// as a stream, cut at the end token, a stop string or one line too many,
/// without leading and trailing whitespace.
struct AnswerText {
    private let target: Head
    private var detok: StreamingDetokenizer
    private var output = TrimmedOutput()
    private var stops: StopStrings
    private let maxNewlines: Int
    private var newlines = 0
    /// False once `emit` has refused a piece (the reader went away).
    private(set) var open = true

    /// Keeps the answer valid UTF-8 (see `allows`).
    private let utf8: UTF8Guard

    init(target: Head, stops: [String], maxNewlines: Int) {
        self.target = target
        detok = StreamingDetokenizer(tokenizer: target.tokenizer)
        utf8 = UTF8Guard(tokenizer: target.tokenizer)
        self.stops = StopStrings(stops)
        self.maxNewlines = maxNewlines
    }

    private mutating func show(_ piece: String, _ emit: (String) -> Bool) -> Bool {
        let visible = output.take(piece)
        return visible.isEmpty || emit(visible)
    }

    /// Whether `token` may come next without breaking a character.
    func allows(_ token: Int32) -> Bool { utf8.allows(token, need: detok.pendingNeed) }

    /// Takes the next generated token, passing on what can be shown;
    /// returns whether generation should go on.
    mutating func take(_ token: Int32, emit: (String) -> Bool) -> Bool {
        if target.vocabulary.isEndOfGeneration(token) { return false }
        var (piece, stopped) = stops.take(detok.append(token))
        if maxNewlines != Int.max, output.hasStarted {
            for (i, ch) in piece.enumerated() where ch == "\n" {
                newlines += 1
                if newlines > maxNewlines {
                    piece = String(piece.prefix(i))
                    _ = show(piece, emit)
                    return false
                }
            }
        }
        open = show(piece, emit)
        return open && !stopped
    }

    /// Passes on a whole answer chosen among candidates written apart
    /// (consensus decoding); returns whether the reader is still there.
    @discardableResult
    mutating func passOn(_ text: String, emit: (String) -> Bool) -> Bool {
        if open { open = emit(text) }
        return open
    }

    /// Passes on what is still held back once generation has ended;
    /// returns whether the reader is still there.
    mutating func finish(emit: (String) -> Bool) -> Bool {
        // A character whose last bytes never came is left out, not shown as U+FFFD.
        if open && !stops.stopped { open = show(stops.finish() + detok.finish(dropUnfinished: true), emit) }
        return open
    }
}

/// Cuts a stream of text at the first of some stop strings: text that may
/// be the start of one is held back until it is known not to be.
struct StopStrings {
    private let stops: [String]
    private var held = ""
    private(set) var stopped = false

    init(_ stops: [String]) { self.stops = stops.filter { !$0.isEmpty } }

    /// The part of `piece` that can be passed on now, and whether a stop
    /// string has come (nothing after it is passed on).
    mutating func take(_ piece: String) -> (String, Bool) {
        guard !stops.isEmpty, !stopped else { return (stopped ? "" : piece, stopped) }
        held += piece
        if let cut = stops.compactMap({ held.range(of: $0)?.lowerBound }).min() {
            stopped = true
            let before = String(held[..<cut])
            held = ""
            return (before, true)
        }
        // Keep back the longest tail that begins some stop string.
        var keep = 0
        for stop in stops {
            for n in stride(from: min(stop.count - 1, held.count), to: 0, by: -1)
            where held.hasSuffix(stop.prefix(n)) {
                keep = max(keep, n)
                break
            }
        }
        let out = String(held.dropLast(keep))
        held = String(held.suffix(keep))
        return (out, false)
    }

    /// What is still held back when the stream ends.
    mutating func finish() -> String {
        defer { held = "" }
        return stopped ? "" : held
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
