import Foundation

/// How the next token is chosen, with llama.cpp's names and defaults.
/// Temperature 0 (the default) is greedy decoding.
public struct Sampling: Sendable, Equatable, Codable {
    /// 0: greedy; otherwise logits are divided by it before sampling.
    public var temperature: Float = 0
    /// Only the k most likely tokens are kept (0: all).
    public var topK = 40
    /// Only the most likely tokens whose probabilities add up to p are kept.
    public var topP: Float = 0.95
    /// Seeds the random choices: the same seed gives the same text.
    public var seed: UInt64 = 0
    /// Beam search with this many beams (1: none), length-normalized; for
    /// greedy decoding only. Nil: what the target head recommends for
    /// greedy decoding without candidates (`HeadInfo.beams`), else none.
    public var beams: Int?
    /// Consensus decoding (minimum Bayes risk): write this many translations
    /// of each paragraph — the first as the other settings say (greedy by
    /// default), the others drawn at `candidateTemperature` with seeds
    /// `seed + 1`, `seed + 2`, … — and keep the one that agrees most with
    /// the others (the highest chrF against them, summed). 1: off; else at
    /// least 3 (two cannot outvote each other). Nil: what the target head
    /// recommends for greedy decoding (`HeadInfo.candidates`), else off.
    public var candidates: Int?
    /// The temperature the candidates after the first are drawn at (with
    /// `topK` and `topP`); a set `temperature` is used instead.
    public var candidateTemperature: Float = 0.6
    /// How much the round-trip check counts in consensus decoding: chrF
    /// points per nat of the log-probability that the model translates a
    /// candidate back into the source text (`Consensus.choose`); 0: the
    /// candidates' agreement alone. 3 gained 1.2 chrF on qwen2.5-1.5b's
    /// en→tt at 2.9× the time of 7 candidates alone. Nil: what the target
    /// head recommends (`HeadInfo.roundTripWeight`), else 0.
    public var roundTripWeight: Float?
    /// The round-trip check runs only for paragraphs whose candidates agree
    /// less than this (the best candidate's mean chrF against the others):
    /// where they agree, it seldom changes the choice. 100: always, unless
    /// all candidates are equal. Nil: what the target head recommends
    /// (`HeadInfo.roundTripBelow`), else 100.
    public var roundTripBelow: Float?
    /// A token that would repeat an n-gram of this many tokens already
    /// generated is never picked (0: off). Stops the loops greedy decoding
    /// falls into ("мин мин мин …"); within beam search, each beam's own
    /// tokens count. Nil: what the target head recommends (`HeadInfo.noRepeatNgram`), else off.
    public var noRepeatNgram: Int?
    /// llama.cpp's repetition penalty: the logit of a token among the last
    /// `repeatLastN` generated is divided by it when positive, multiplied
    /// by it otherwise (1: off); within beam search, each beam's own. Nil: what
    /// the target head recommends (`HeadInfo.repeatPenalty`), else off.
    public var repeatPenalty: Float?
    /// How many of the last generated tokens the repetition penalty looks at.
    public var repeatLastN = 64
    /// Example pairs in the prompt: the translation shows this many pairs of
    /// a translation memory (`TranslationMemory.nearest`: the target head's,
    /// or one given with `--memory`) as earlier requests and answers; 0:
    /// none. Nil: what the target head recommends (`HeadInfo.examples`),
    /// else 0.
    public var examples: Int?
    /// The answer may not end (its end token is not picked) before it has
    /// this many characters for each character of the source text (spaces
    /// and line breaks not counted; nor, for a text of one line, a line
    /// break before then): 0.5
    /// keeps a translation from stopping after a word or two. Greedy,
    /// sampling, consensus decoding and each beam of a search; the token
    /// budget still ends it. 0: off. Nil: what the target head recommends
    /// (`HeadInfo.minLength`), else off.
    public var minLength: Float?
    /// Whether the answer keeps to the word forms of the target head's
    /// lexicon (`HeadInfo.lexicon`, `LexiconLock`): nil or true, when the
    /// head stores one (greedy, sampling and consensus decoding; beam
    /// search keeps to none); false: never.
    public var lexicon: Bool?
    /// Prompt lookup decoding: where the answer's last tokens occurred
    /// earlier in the prompt or the answer, up to this many of the tokens
    /// that followed are guessed and checked in one pass through the body,
    /// which reads every weight once for all of them. The same text as
    /// without (greedy or sampling with one candidate), sooner when
    /// guesses are right. 0: off.
    public var draft = 3
    /// The copy bias: where the answer's last tokens (2 or 3) occurred
    /// earlier in the prompt (the examples) or the answer, the token that
    /// followed them then gets this much more logit before the pick (0:
    /// off; greedy, sampling, consensus decoding and each beam of a
    /// search). Nil: what the target head recommends
    /// (`HeadInfo.copyBias`), else 0.
    public var copyBias: Float?

    public init() {}

    private enum CodingKeys: String, CodingKey {
        case temperature, topK, topP, seed, beams, candidates, candidateTemperature, roundTripWeight, roundTripBelow,
             noRepeatNgram, repeatPenalty, repeatLastN, examples, minLength, lexicon, draft, copyBias
    }

    /// Missing keys keep their defaults: a request names only what it changes.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        temperature = try c.decodeIfPresent(Float.self, forKey: .temperature) ?? temperature
        topK = try c.decodeIfPresent(Int.self, forKey: .topK) ?? topK
        topP = try c.decodeIfPresent(Float.self, forKey: .topP) ?? topP
        seed = try c.decodeIfPresent(UInt64.self, forKey: .seed) ?? seed
        beams = try c.decodeIfPresent(Int.self, forKey: .beams)
        candidates = try c.decodeIfPresent(Int.self, forKey: .candidates)
        candidateTemperature = try c.decodeIfPresent(Float.self, forKey: .candidateTemperature) ?? candidateTemperature
        roundTripWeight = try c.decodeIfPresent(Float.self, forKey: .roundTripWeight)
        roundTripBelow = try c.decodeIfPresent(Float.self, forKey: .roundTripBelow)
        noRepeatNgram = try c.decodeIfPresent(Int.self, forKey: .noRepeatNgram)
        repeatPenalty = try c.decodeIfPresent(Float.self, forKey: .repeatPenalty)
        repeatLastN = try c.decodeIfPresent(Int.self, forKey: .repeatLastN) ?? repeatLastN
        examples = try c.decodeIfPresent(Int.self, forKey: .examples)
        minLength = try c.decodeIfPresent(Float.self, forKey: .minLength)
        lexicon = try c.decodeIfPresent(Bool.self, forKey: .lexicon)
        draft = try c.decodeIfPresent(Int.self, forKey: .draft) ?? draft
        copyBias = try c.decodeIfPresent(Float.self, forKey: .copyBias)
    }

    /// Why these settings cannot be used, or nil when they can (named as
    /// the command-line options and the daemon's keys name them).
    public var problem: String? {
        if !(temperature >= 0 && temperature.isFinite) { return "--temp (temperature) must be 0 or more" }
        if topK < 0 { return "--top-k (top_k) must be 0 or more" }
        if !(topP > 0 && topP <= 1) { return "--top-p (top_p) must be in (0, 1]" }
        if let b = beams, !(1...16).contains(b) { return "--beam (beams) must be between 1 and 16" }
        if (beams ?? 1) > 1 && temperature > 0 { return "--beam and --temp exclude each other" }
        if let n = candidates, !HeadDecoding.isValid(candidates: n) {
            return "--candidates (candidates) must be 1 (off) or between 3 and 16"
        }
        if (candidates ?? 1) > 1 && (beams ?? 1) > 1 { return "--candidates and --beam exclude each other" }
        if !(candidateTemperature > 0 && candidateTemperature.isFinite) {
            return "--candidate-temp (candidate_temperature) must be more than 0"
        }
        if let w = roundTripWeight, !HeadDecoding.isValid(roundTripWeight: w) {
            return "--round-trip-weight (round_trip_weight) must be between 0 and 100"
        }
        if let b = roundTripBelow, !HeadDecoding.isValid(roundTripBelow: b) {
            return "--round-trip-below (round_trip_below) must be between 0 and 100"
        }
        if let n = noRepeatNgram, !(0...64).contains(n) { return "--no-repeat-ngram (no_repeat_ngram) must be between 0 and 64" }
        if let p = repeatPenalty, !(p > 0 && p.isFinite) { return "--repeat-penalty (repeat_penalty) must be more than 0" }
        if !(0...4096).contains(repeatLastN) { return "--repeat-last-n (repeat_last_n) must be between 0 and 4096" }
        if let n = examples, !HeadDecoding.isValid(examples: n) { return "--examples (examples) must be between 0 and 16" }
        if let r = minLength, !HeadDecoding.isValid(minLength: r) { return "--min-length (min_length) must be between 0 and 4" }
        if !(0...16).contains(draft) { return "--draft (draft) must be between 0 and 16" }
        if let b = copyBias, !HeadDecoding.isValid(copyBias: b) { return "--copy-bias (copy_bias) must be between 0 and 100" }
        return nil
    }

    public var isGreedy: Bool { temperature <= 0 }

    /// The settings candidate `i` of consensus decoding is written with
    /// (0: these; the others drawn with their own seeds), alone.
    public func candidate(_ i: Int) -> Sampling {
        var s = self
        s.candidates = 1
        guard i > 0 else { return s }
        if isGreedy { s.temperature = candidateTemperature }
        s.seed = seed &+ UInt64(i)
        return s
    }
}

/// Picks the next token from logits: the highest logit (the lowest id
/// among exact ties, as llama.cpp's greedy sampler), or with a temperature,
/// a random token among the top k, then the top p (llama.cpp's order:
/// top-k, top-p, temperature, draw). Banned tokens are never picked.
public final class Sampler {
    /// Tokens that may never be picked (e.g. other scripts, when a target
    /// language's script is locked: `ScriptLock`).
    public let banned: TokenMask
    public let sampling: Sampling
    private var generator: SeededGenerator

    public init(banned: TokenMask = TokenMask(), sampling: Sampling = Sampling()) {
        self.banned = banned
        self.sampling = sampling
        generator = SeededGenerator(seed: sampling.seed)
    }

    public func pick(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        sampling.isGreedy ? greedy(logits) : draw(logits)
    }

    /// Picks the next token after `history` (the tokens generated so far):
    /// as `pick`, with the repetition penalty on the last tokens of
    /// `history`, never completing an n-gram that `history` already holds
    /// when `sampling.noRepeatNgram` is n > 0.
    /// `allowed`, when given, must accept a token for it to be picked.
    public func pick(_ logits: UnsafeBufferPointer<Float>, after history: [Int32],
                     allowed: ((Int32) -> Bool)? = nil) -> Int32 {
        if let penalty = sampling.repeatPenalty, penalty != 1, sampling.repeatLastN > 0, !history.isEmpty {
            var penalized = Array(logits)
            Self.penalizeRepeats(&penalized, after: history, sampling: sampling)
            return penalized.withUnsafeBufferPointer { pickUnpenalized($0, after: history, allowed: allowed) }
        }
        return pickUnpenalized(logits, after: history, allowed: allowed)
    }

    /// llama.cpp's repetition penalty: the logits of the last
    /// `sampling.repeatLastN` tokens of `history`, divided by the penalty
    /// when positive, multiplied by it when negative.
    static func penalizeRepeats(_ logits: inout [Float], after history: [Int32], sampling: Sampling) {
        guard let penalty = sampling.repeatPenalty, penalty != 1, sampling.repeatLastN > 0 else { return }
        for t in Set(history.suffix(sampling.repeatLastN)) where Int(t) < logits.count {
            let l = logits[Int(t)]
            logits[Int(t)] = l > 0 ? l / penalty : l * penalty
        }
    }

    /// Makes `logits` what `pick(_:after:)` sees: repeats penalized and the
    /// tokens that would repeat an n-gram of `history` at -inf (beam search
    /// scores its continuations by these).
    static func penalize(_ logits: inout [Float], after history: [Int32], sampling: Sampling) {
        penalizeRepeats(&logits, after: history, sampling: sampling)
        for t in repeatingTokens(history, n: sampling.noRepeatNgram ?? 0) where Int(t) < logits.count {
            logits[Int(t)] = -.infinity
        }
    }

    private func pickUnpenalized(_ logits: UnsafeBufferPointer<Float>, after history: [Int32],
                                 allowed: ((Int32) -> Bool)?) -> Int32 {
        let repeats = Self.repeatingTokens(history, n: sampling.noRepeatNgram ?? 0)
        guard !repeats.isEmpty || allowed != nil else { return pick(logits) }
        // Greedy: the best token is almost always allowed, and then it is
        // what the masked search would find; mask only when it is not.
        if sampling.isGreedy {
            let best = pick(logits)
            if !repeats.contains(best) && allowed?(best) != false { return best }
        }
        var masked = Array(logits)
        for t in repeats where Int(t) < masked.count { masked[Int(t)] = -.infinity }
        if let allowed {
            for i in masked.indices where masked[i] > -.infinity && !allowed(Int32(i)) { masked[i] = -.infinity }
        }
        if !masked.contains(where: { $0 > -.infinity }),
           let first = masked.indices.first(where: { i in
               let id = Int32(i)
               return !banned.contains(id) && !repeats.contains(id) && allowed?(id) ?? true
           }) {
            // No token left has a finite logit: the first that is still
            // allowed, never one that is not.
            return Int32(first)
        }
        return masked.withUnsafeBufferPointer { pick($0) }
    }

    /// The tokens that would end an n-gram already in `history` if they came
    /// next: those that followed an earlier occurrence of its last n − 1 tokens.
    static func repeatingTokens(_ history: [Int32], n: Int) -> Set<Int32> {
        guard n > 0, history.count >= n else { return [] }
        let tail = history[(history.count - n + 1)...]
        var out: Set<Int32> = []
        for start in 0...(history.count - n) where history[start..<(start + n - 1)].elementsEqual(tail) {
            out.insert(history[start + n - 1])
        }
        return out
    }

    private func greedy(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        if banned.isEmpty {
            var best = 0
            var bestValue = -Float.infinity
            for i in 0..<logits.count where logits[i] > bestValue {
                best = i
                bestValue = logits[i]
            }
            return Int32(best)
        }
        // The best allowed token; the first allowed one when every allowed
        // logit is -inf (or NaN), so a banned token is never returned.
        var best = -1
        var bestValue = -Float.infinity
        for i in 0..<logits.count where (best < 0 || logits[i] > bestValue) && !banned.contains(Int32(i)) {
            best = i
            bestValue = logits[i]
        }
        return Int32(max(best, 0))
    }

    /// The allowed tokens with the highest logits, best first (ties: lower
    /// id first); `k` of them, or all when k is 0.
    func top(_ logits: UnsafeBufferPointer<Float>, _ k: Int) -> [Int32] {
        var ids: [Int32] = []
        ids.reserveCapacity(k > 0 ? k + 1 : logits.count)
        func better(_ a: Int32, _ b: Int32) -> Bool {
            logits[Int(a)] > logits[Int(b)] || (logits[Int(a)] == logits[Int(b)] && a < b)
        }
        for i in 0..<logits.count where !banned.contains(Int32(i)) && !logits[i].isNaN {
            let id = Int32(i)
            if k > 0 && ids.count == k {
                guard better(id, ids[k - 1]) else { continue }
                ids.removeLast()
            }
            // Insertion keeps the list sorted; k is small.
            let at = k > 0 ? (ids.firstIndex { better(id, $0) } ?? ids.count) : ids.count
            ids.insert(id, at: at)
        }
        if k <= 0 { ids.sort(by: better) }
        return ids
    }

    private func draw(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        var ids = top(logits, sampling.topK)
        // Nothing left to draw from (every logit -inf): as greedy decoding.
        guard let first = ids.first, logits[Int(first)] > -.infinity else { return greedy(logits) }
        // Top-p on the untempered distribution of what is left.
        let maxLogit = logits[Int(first)]
        var p = ids.map { Double(Foundation.exp(logits[Int($0)] - maxLogit)) }
        let total = p.reduce(0, +)
        if sampling.topP < 1 {
            var sum = 0.0
            var keep = ids.count
            for (n, q) in p.enumerated() {
                sum += q / total
                if sum >= Double(sampling.topP) { keep = n + 1; break }
            }
            ids = Array(ids.prefix(keep))
            p = Array(p.prefix(keep))
        }
        // Temperature, then one draw.
        let t = Double(sampling.temperature)
        let weights = ids.map { Foundation.exp(Double(logits[Int($0)] - maxLogit) / t) }
        var r = generator.nextUnit() * weights.reduce(0, +)
        for (id, w) in zip(ids, weights) {
            r -= w
            if r <= 0 { return id }
        }
        return ids[ids.count - 1]
    }
}
