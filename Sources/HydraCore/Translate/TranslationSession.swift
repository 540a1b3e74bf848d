/// One paragraph's translation as a sequence of steps (`Translation` holds
/// one per paragraph): `start` runs the prompt; then, as long as `token`
/// is set, a step of `SequenceBatch` feeds it (alone, or beside other
/// sessions' tokens) and `advance` picks the next.
public final class TranslationSession {
    public let sequence: HydraSequence
    /// Picks each token (per session, so its bans are its own).
    public var sampler: Sampler
    public private(set) var stats = Translator.Statistics()
    /// The token the next step feeds; nil once the session has ended.
    public private(set) var token: Int32?
    public var isFinished: Bool { token == nil }
    /// Whether `emit` refused a piece: the reader went away.
    public var readerGone: Bool { !answer.open }
    private var answer: AnswerText
    private let budget: Int
    private var made = 0

    private init(sequence: HydraSequence, sampler: Sampler, answer: AnswerText, budget: Int, promptTokens: Int) {
        self.sequence = sequence
        self.sampler = sampler
        self.answer = answer
        self.budget = budget
        stats.promptTokens = promptTokens
        stats.paragraphs = 1
    }

    /// Runs the prompt of `paragraph` (from `source` into `target`) and
    /// picks the first token: emitted at once, and fed by the next step
    /// unless the translation is already over.
    public static func start(_ translator: Translator, paragraph: String, from source: Language, to target: Language,
                             sampler: Sampler? = nil, emit: (String) -> Bool) throws -> TranslationSession {
        let (sh, th) = try translator.heads(from: source, to: target)
        let sampler = sampler ?? translator.sampler(target: th, language: target)
        let plan = try translator.plan(paragraph, prompt: TranslationPrompt(source: source, target: target),
                                       source: sh, target: th)
        let sequence = try translator.hydra.startSequence(prompt: plan.ids.map { HeadToken(sh, $0) }, target: th,
                                                          maxTokens: plan.budget)
        let session = TranslationSession(sequence: sequence, sampler: sampler, answer: plan.answer, budget: plan.budget,
                                         promptTokens: plan.ids.count)
        session.advance(emit: emit)
        return session
    }

    /// Picks the next token from the sequence's logits (after a step) and
    /// passes its text on. Afterwards `token` is the one to feed next, or
    /// nil when the translation has ended (end token, stop, budget, or
    /// `emit` refusing: the reader went away).
    public func advance(emit: (String) -> Bool) {
        let next = sequence.logits.withUnsafeBufferPointer { sampler.pick($0) }
        made += 1
        stats.generatedTokens += 1
        if answer.take(next, emit: emit), made < budget {
            token = next
        } else {
            token = nil
            _ = answer.finish(emit: emit)
        }
    }

    /// Ends the session now (cancelled): nothing more is emitted.
    public func stop() { token = nil }
}
