/// One paragraph's translation as a sequence of steps (`Translation` holds
/// one per paragraph): `start` runs the prompt and picks the first token;
/// then, as long as `tokens` is not empty, a step of `SequenceBatch` feeds
/// `tokens[i]` to `sequences[i]` (alone, or beside other sessions') and
/// `advance` picks what comes next. Greedy decoding and sampling run one
/// sequence and pass each token's text on at once; beam search runs one
/// sequence per beam, and consensus decoding (`Sampling.candidates`) one
/// per candidate, and pass the chosen text on when the search ends.
public final class TranslationSession {
    /// The sequences the next step feeds, one per token of `tokens`.
    public private(set) var sequences: [HydraSequence]
    /// The tokens the next step feeds; empty once the session has ended.
    public private(set) var tokens: [Int32] = []
    public private(set) var stats = Translator.Statistics()
    public var isFinished: Bool { tokens.isEmpty }
    /// Whether `emit` refused a piece: the reader went away.
    public var readerGone: Bool { !answer.open || !candidates[0].answer.open }
    private var answer: AnswerText
    private var beam: BeamSearch?
    /// The translations being written: one, unless consensus decoding
    /// (which passes the chosen one's text on through `answer`).
    private var candidates: [Candidate]
    private let budget: Int
    /// The characters an answer needs before it may end (`Sampling.minLength`).
    private var leastCharacters = 0
    /// The tokens not picked either while the answer is too short: those
    /// writing a line break, when the paragraph is one line (the answer
    /// goes on on its line).
    private var lineBreaks = TokenMask()
    /// The words the answer may write (`Translator.lexicon`).
    private var lexicon: LexiconLock?
    /// What the answer may spell: the text's names, no character of
    /// another script byte by byte (script lock on).
    private var spelling: ScriptSpelling?
    /// Prompt lookup decoding (`checkGuesses`): greedy or sampling with
    /// one candidate and `Sampling.draft` > 0.
    private var drafting: Drafting?
    /// Added to the logit of the token that continues the prompt's text
    /// where the answer's last tokens occurred in it (`Sampling.copyBias`).
    private var copyBias: Float = 0
    /// Consensus decoding: which of the finished candidates' texts to pass on.
    private var choose: ([String]) -> Int = { Consensus.choose($0) }

    /// One translation of the paragraph being written token by token,
    /// with its own sequence, random draws, and text.
    private final class Candidate {
        let sequence: HydraSequence
        let sampler: Sampler
        /// The tokens picked so far.
        var made: [Int32] = []
        /// The characters of their text, spaces and line breaks left out
        /// (counted until there are enough).
        var characters = 0
        var answer: AnswerText
        /// Where the answer stands in the lexicon's words.
        var walk = LexiconWalk()
        /// Where the answer stands for `TranslationSession.spelling`.
        var spelled = SpellingWalk()
        /// The target head's tokens of the prompt and the answer so far
        /// (prompt lookup decoding, the copy bias).
        var lookup: PromptLookup
        /// The answer's text so far (consensus decoding: passed on at the end).
        var text = ""
        var running = true
        /// The candidate whose sequence holds this one's state while both
        /// have picked the same tokens (nil: its own sequence holds it).
        var twin: Candidate?

        init(sequence: HydraSequence, sampler: Sampler, answer: AnswerText, lookup: PromptLookup) {
            self.sequence = sequence
            self.sampler = sampler
            self.answer = answer
            self.lookup = lookup
        }
    }

    /// What prompt lookup decoding needs: how many tokens to guess at
    /// most, and the pass that checks them.
    private struct Drafting {
        let count: Int
        let batch: SequenceBatch
        /// Where the guesses are counted: the translator's tally for the head.
        unowned let translator: Translator
        let head: ObjectIdentifier
    }

    private init(sequence: HydraSequence, sampler: Sampler, answer: AnswerText, budget: Int, promptTokens: Int,
                 lookup: PromptLookup) {
        sequences = [sequence]
        self.answer = answer
        candidates = [Candidate(sequence: sequence, sampler: sampler, answer: answer, lookup: lookup)]
        self.budget = budget
        stats.promptTokens = promptTokens
        stats.paragraphs = 1
    }

    /// Runs the prompt of `paragraph` (from `source` into `target`) and
    /// picks the first token: emitted at once (beam search: the first
    /// tokens of the beams), and fed by the next step unless the
    /// translation is already over.
    public static func start(_ translator: Translator, paragraph: String, from source: Language, to target: Language,
                             emit: (String) -> Bool) throws -> TranslationSession {
        let (sh, th) = try translator.heads(from: source, to: target)
        let (sampler, spelling) = translator.decoding(target: th, language: target, text: paragraph, from: source)
        let plan = try translator.plan(paragraph, prompt: TranslationPrompt(source: source, target: target, answeredBy: th),
                                       source: sh, target: th, memory: translator.exampleMemory(from: source, target: th),
                                       examples: sampler.sampling.examples ?? 0)
        let sequence = try translator.hydra.startSequence(prompt: plan.tokens, target: th, maxTokens: plan.budget)
        let lookup = PromptLookup(prompt: plan.tokens.filter { $0.head === th }.map(\.token))
        let session = TranslationSession(sequence: sequence, sampler: sampler, answer: plan.answer, budget: plan.budget,
                                         promptTokens: plan.tokens.count, lookup: lookup)
        let sampling = sampler.sampling
        session.copyBias = sampling.copyBias ?? 0
        session.lexicon = try translator.lexiconLock(for: th, sampling: sampling)
        session.spelling = spelling
        session.leastCharacters = Int((Double(sampling.minLength ?? 0) * Double(Self.counted(paragraph.utf8))).rounded(.up))
        if session.leastCharacters > 0 && !paragraph.contains(where: \.isNewline) {
            session.lineBreaks = th.tokens(writing: [0x0A])
        }
        if let n = sampling.candidates, n > 1 {
            for i in 1..<n {
                session.candidates.append(Candidate(sequence: try sequence.clone(),
                                                   sampler: Sampler(banned: sampler.banned, sampling: sampling.candidate(i)),
                                                   answer: plan.answer, lookup: lookup))
            }
            if let weight = sampling.roundTripWeight, weight > 0 {
                session.choose = { texts in
                    Consensus.choose(texts, weight: Double(weight), checkBelow: Double(sampling.roundTripBelow ?? 100)) {
                        // A check that cannot run leaves the choice to the candidates' agreement.
                        (try? translator.roundTripScores(texts, of: paragraph, from: source, to: target)) ?? nil
                    }
                }
            }
            session.advance(emit: emit)
        } else if let beams = sampling.beams, beams > 1, sampling.isGreedy {
            session.beam = try BeamSearch(first: sequence, width: beams, maxTokens: plan.budget,
                                          banned: sampler.banned, isEnd: th.vocabulary.isEndOfGeneration,
                                          sampling: sampling, adjust: session.beamAdjustment(lookup: lookup, target: th),
                                          restrict: session.beamRestriction(target: th),
                                          makeSequence: sequence.clone)
            session.takeBeams(emit: emit)
        } else {
            if sampling.draft > 0, translator.guessTallies[ObjectIdentifier(th), default: GuessTally()].shouldGuess() {
                session.drafting = Drafting(count: sampling.draft, batch: SequenceBatch(model: translator.hydra),
                                            translator: translator, head: ObjectIdentifier(th))
            }
            session.advance(emit: emit, alone: false)
        }
        return session
    }

    /// Picks the next token from the sequences' logits (after a step) and
    /// passes its text on. Afterwards `tokens` holds what to feed next, or
    /// nothing when the translation has ended (end token, stop, budget, or
    /// `emit` refusing: the reader went away). `alone`: no other
    /// translation is stepped beside this one, so it may check guessed
    /// tokens (`Sampling.draft`) in passes of its own; translations
    /// stepped together already share every weight read.
    public func advance(emit: (String) -> Bool, alone: Bool = true) {
        if beam != nil {
            do {
                try beam!.advance()
            } catch {
                tokens = []
                return
            }
            takeBeams(emit: emit)
            return
        }
        if candidates.count == 1 {
            let candidate = candidates[0]
            step(candidate, emit: emit)
            if alone && drafting != nil { checkGuesses(candidate, emit: emit) }
            tokens = candidate.running ? [candidate.made.last!] : []
            return
        }
        for candidate in candidates where candidate.running {
            guard let twin = candidate.twin else { continue }
            candidate.sequence.logits = twin.sequence.logits
            stats.twinTokens += 1
        }
        for candidate in candidates where candidate.running {
            step(candidate) { candidate.text += $0; return true }
        }
        pairTwins()
        let fed = candidates.filter { $0.running && $0.twin == nil }
        sequences = fed.map(\.sequence)
        tokens = fed.map { $0.made.last! }
        if fed.isEmpty {
            // The consensus: the candidate the others agree with most,
            // and that translates back into the source.
            let chosen = choose(candidates.map(\.text))
            if !candidates[chosen].text.isEmpty { answer.passOn(candidates[chosen].text, emit: emit) }
        }
    }

    /// Consensus decoding: candidates that have picked the same tokens are
    /// in the same state, so only the first of them is fed and the others
    /// (its twins) take its logits: in exact mode (the default) the bits
    /// they would get fed themselves, as every sequence gets the arithmetic
    /// of decoding it alone. A twin whose pick differs gets a copy of the
    /// cache it shared and is fed from then on.
    private func pairTwins() {
        for candidate in candidates where candidate.running {
            guard let twin = candidate.twin, !(twin.running && twin.made == candidate.made) else { continue }
            candidate.twin = nil
            do {
                try candidate.sequence.copy(from: twin.sequence)
            } catch {
                // Sequences cloned from one another fit each other's caches; should one not, the candidate ends.
                candidate.running = false
            }
        }
        var fed: [Candidate] = []
        for candidate in candidates where candidate.running && candidate.twin == nil {
            if let first = fed.first(where: { $0.made == candidate.made }) {
                candidate.twin = first
            } else {
                fed.append(candidate)
            }
        }
    }

    /// Prompt lookup decoding: while the text read so far suggests how the
    /// answer goes on (`PromptLookup`), feeds the token just picked and up
    /// to `Sampling.draft` guessed ones in one pass, then picks from each
    /// row's logits in turn as long as the pick is the guess: every pick is
    /// the one feeding a token at a time would make (same logits, same
    /// rules, same random draws), and the positions of wrong guesses are
    /// taken back. Leaves the last pick to be fed by the next step.
    private func checkGuesses(_ candidate: Candidate, emit: (String) -> Bool) {
        guard let drafting else { return }
        let sequence = candidate.sequence
        while candidate.running {
            // Room in the sequence's cache: the pick and the guesses are fed.
            let room = min(sequence.state.contextLength - sequence.length - 1, budget - candidate.made.count)
            let guesses = candidate.lookup.guess(count: min(drafting.count, room))
            guard !guesses.isEmpty else { return }
            let start = sequence.length
            let fed = [candidate.made.last!] + guesses
            guard let logits = try? drafting.batch.run(sequence, tokens: fed) else {
                sequence.state.length = start
                return
            }
            var kept = 0, right = 0
            for row in 0..<fed.count {
                sequence.setLogits(logits, row: row)
                step(candidate, emit: emit)
                kept = row + 1
                guard candidate.running else { break }
                guard row < guesses.count, candidate.made.last! == guesses[row] else { break }
                right += 1
            }
            sequence.state.length = start + kept
            stats.guessedTokens += guesses.count
            stats.rightGuesses += right
            drafting.translator.guessTallies[drafting.head, default: GuessTally()].add(guessed: guesses.count, right: right)
        }
    }

    /// Picks a candidate's next token from its sequence's logits and
    /// passes its text to `emit`; it stops running at its end.
    private func step(_ candidate: Candidate, emit: (String) -> Bool) {
        let current = candidate.answer
        let target = candidate.sequence.target
        // Too short to end: the end tokens are not picked, nor (for a
        // paragraph of one line) a line break, which would start another.
        let short = candidate.characters < leastCharacters, lineBreaks = lineBreaks
        let lexicon = lexicon, walk = candidate.walk, spelling = spelling, spelled = candidate.spelled
        let free = { (token: Int32) -> Bool in
            guard current.allows(token) else { return false }
            return !(short && (target.vocabulary.isEndOfGeneration(token) || lineBreaks.contains(token)))
        }
        if copyBias > 0, let copied = candidate.lookup.guess(count: 1).first,
           Int(copied) < candidate.sequence.logits.count {
            candidate.sequence.logits[Int(copied)] += copyBias
        }
        func pick(_ allowed: @escaping (Int32) -> Bool) -> Int32 {
            candidate.sequence.logits.withUnsafeBufferPointer {
                candidate.sampler.pick($0, after: candidate.made, allowed: allowed)
            }
        }
        func choose(_ spelled: @escaping (Int32) -> Bool) -> Int32 {
            let allowed = { (token: Int32) -> Bool in
                free(token) && spelled(token) && lexicon?.allows(token, after: walk) ?? true
            }
            let next = pick(allowed)
            guard let lexicon, !allowed(next) else { return next }
            // The lexicon allows nothing here (no word it holds goes on from
            // the unfinished one): the word ends where it stands, and the
            // next token starts afresh with a space or punctuation.
            return pick { free($0) && spelled($0) && lexicon.advanced(endingWordOf: walk, by: $0) != nil }
        }
        var next = choose { spelling?.allows($0, after: spelled) ?? true }
        if let spelling, !(free(next) && spelling.allows(next, after: spelled)) {
            // Every token the spelling allows is ruled out otherwise (a
            // repeat, a placeholder, a byte that breaks the character
            // begun): it gives way.
            next = choose { _ in true }
        }
        candidate.made.append(next)
        candidate.lookup.append(next)
        if let lexicon {
            candidate.walk = lexicon.walked(walk, by: next)
        }
        if let spelling {
            candidate.spelled = spelling.walked(spelled, by: next)
        }
        if short { candidate.characters += Self.counted(target.tokenizer.piece(next)) }
        stats.generatedTokens += 1
        if !(candidate.answer.take(next, emit: emit) && candidate.made.count < budget) {
            candidate.running = false
            _ = candidate.answer.finish(emit: emit)
        }
    }

    /// The characters of UTF-8 text as the least length counts them, in
    /// the paragraph and in each token's piece alike: bytes that start a
    /// character (a piece may split one), but ASCII spaces, tabs and line breaks.
    private static func counted(_ bytes: some Sequence<UInt8>) -> Int {
        bytes.reduce(0) { n, b in b & 0xC0 != 0x80 && b != 0x20 && !(0x09...0x0D).contains(b) ? n + 1 : n }
    }

    /// What greedy decoding does to a candidate's logits besides the
    /// penalties, for a beam from its tokens: the copy bias, and no end
    /// (or line break) before the least length. Nil when neither is on.
    private func beamAdjustment(lookup: PromptLookup, target: Head) -> (([Int32], inout [Float]) -> Void)? {
        let copyBias = copyBias, least = leastCharacters
        guard copyBias > 0 || least > 0 else { return nil }
        let ends = least > 0
            ? lineBreaks.union(TokenMask((0..<Int32(target.vocabulary.count)).filter(target.vocabulary.isEndOfGeneration)))
            : TokenMask()
        return { tokens, logits in
            if copyBias > 0 {
                var seen = lookup
                for t in tokens { seen.append(t) }
                if let copied = seen.guess(count: 1).first, Int(copied) < logits.count { logits[Int(copied)] += copyBias }
            }
            if least > 0, tokens.reduce(0, { $0 + Self.counted(target.tokenizer.piece($1)) }) < least {
                for t in 0..<Int32(logits.count) where ends.contains(t) { logits[Int(t)] = -.infinity }
            }
        }
    }

    /// What a beam may write next, from its tokens, as greedy decoding
    /// keeps to it: no token that breaks a character (`UTF8Guard`), what the
    /// script lock lets it spell (`ScriptSpelling`), and the lexicon's
    /// words (with its way out where no word goes on).
    private func beamRestriction(target: Head) -> ([Int32], inout [Float]) -> Void {
        let lexicon = lexicon, spelling = spelling, utf8 = UTF8Guard(tokenizer: target.tokenizer)
        return { tokens, logits in
            let need = UTF8Guard.need(after: tokens.lazy.flatMap { target.tokenizer.piece($0) })
            for t in logits.indices where logits[t] > -.infinity && !utf8.allows(Int32(t), need: need) {
                logits[t] = -.infinity
            }
            if let spelling { spelling.restrict(&logits, after: tokens.reduce(SpellingWalk(), spelling.walked)) }
            guard let lexicon else { return }
            lexicon.restrict(&logits, after: tokens.reduce(LexiconWalk(), lexicon.walked))
        }
    }

    /// Beam search: the beams to feed next, or the best hypothesis's text
    /// once the search is over.
    private func takeBeams(emit: (String) -> Bool) {
        guard let beam else { return }
        stats.generatedTokens += beam.beams.count
        if beam.isDone {
            tokens = []
            sequences = []
            for token in beam.best where !answer.take(token, emit: emit) { break }
            _ = answer.finish(emit: emit)
        } else {
            sequences = beam.beams.map(\.sequence)
            tokens = beam.beams.map { $0.tokens.last! }
        }
    }

    /// Ends the session now (cancelled): nothing more is emitted.
    public func stop() { tokens = [] }
}
