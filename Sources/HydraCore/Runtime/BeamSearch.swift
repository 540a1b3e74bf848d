import Foundation

/// Beam search over sequences that are stepped together (`SequenceBatch`):
/// `width` beams, each with its own KV cache; after each step every beam
/// offers its best next tokens, and the `width` best continuations by
/// total log-probability go on. A beam that picks an end token becomes a
/// finished hypothesis; the answer is the finished one with the best
/// log-probability per token (length-normalized). Banned tokens are never
/// picked. With `sampling`'s repetition penalty and n-gram ban, each beam's
/// logits are penalized by its own tokens before they are scored (as
/// greedy decoding does); `adjust`, when given, changes a beam's logits
/// first, from its tokens (a copy bias, a least length); `restrict` sets
/// the logits of the tokens a beam may not write next to −∞ (a lexicon)
/// after its log-probabilities are taken, so that a beam that keeps to
/// the rule pays for the probability it leaves out instead of having
/// it renormalized away.
public struct BeamSearch {
    public struct Beam {
        /// The tokens chosen so far; the last one is fed by the next step.
        public internal(set) var tokens: [Int32]
        public internal(set) var score: Double
        public internal(set) var sequence: HydraSequence
    }

    public struct Hypothesis {
        /// The tokens, the end token left out.
        public let tokens: [Int32]
        public let score: Double
        /// Log-probability per token (the end token counted).
        public var normalized: Double { score / Double(tokens.count + 1) }
    }

    public let width: Int
    public let maxTokens: Int
    private let banned: TokenMask
    private let isEnd: (Int32) -> Bool
    private let sampling: Sampling
    private let adjust: ((_ tokens: [Int32], _ logits: inout [Float]) -> Void)?
    private let restrict: ((_ tokens: [Int32], _ logits: inout [Float]) -> Void)?
    public private(set) var beams: [Beam] = []
    public private(set) var finished: [Hypothesis] = []

    /// Starts from `first`, whose logits are those after the prompt; the
    /// other beams get copies of its cache from `makeSequence`.
    public init(first: HydraSequence, width: Int, maxTokens: Int, banned: TokenMask, isEnd: @escaping (Int32) -> Bool,
                sampling: Sampling = Sampling(), adjust: ((_ tokens: [Int32], _ logits: inout [Float]) -> Void)? = nil,
                restrict: ((_ tokens: [Int32], _ logits: inout [Float]) -> Void)? = nil,
                makeSequence: () throws -> HydraSequence) throws {
        self.adjust = adjust
        self.restrict = restrict
        self.width = max(1, width)
        self.sampling = sampling
        self.maxTokens = maxTokens
        self.banned = banned
        self.isEnd = isEnd
        let start = Beam(tokens: [], score: 0, sequence: first)
        try expand([start], makeSequence: makeSequence)
    }

    /// Whether the search has ended: enough finished hypotheses, or no beam
    /// left to extend.
    public var isDone: Bool { beams.isEmpty }

    /// The answer: the best finished hypothesis (the best beam when none
    /// finished).
    public var best: [Int32] {
        if let h = finished.max(by: { $0.normalized < $1.normalized }) { return h.tokens }
        return beams.max { $0.score < $1.score }?.tokens ?? []
    }

    /// After a step fed each beam's last token: the next round of beams.
    public mutating func advance() throws {
        try expand(beams) { fatalError("a step never needs more sequences than beams") }
    }

    /// The log-probabilities of the allowed tokens of `logits` (natural log).
    private func logSoftmaxOffset(_ logits: [Float]) -> Double {
        var maxLogit = -Float.infinity
        for (i, l) in logits.enumerated() where !banned.contains(Int32(i)) && l > maxLogit { maxLogit = l }
        var sum = 0.0
        for (i, l) in logits.enumerated() where !banned.contains(Int32(i)) { sum += Foundation.exp(Double(l - maxLogit)) }
        return Double(maxLogit) + Foundation.log(sum)
    }

    private mutating func expand(_ parents: [Beam], makeSequence: () throws -> HydraSequence) throws {
        // Each parent's best `width` continuations, scored.
        var candidates: [(parent: Int, token: Int32, score: Double)] = []
        let picker = Sampler(banned: banned)
        for (p, parent) in parents.enumerated() {
            var logits = parent.sequence.logits
            adjust?(parent.tokens, &logits)
            Sampler.penalize(&logits, after: parent.tokens, sampling: sampling)
            let offset = logSoftmaxOffset(logits)
            restrict?(parent.tokens, &logits)
            let best = logits.withUnsafeBufferPointer { picker.top($0, width) }
            for token in best where logits[Int(token)] > -.infinity {
                candidates.append((p, token, parent.score + Double(logits[Int(token)]) - offset))
            }
        }
        candidates.sort { $0.score > $1.score || ($0.score == $1.score && ($0.parent, $0.token) < ($1.parent, $1.token)) }
        var chosen: [(parent: Int, token: Int32, score: Double)] = []
        for c in candidates where chosen.count < width {
            if isEnd(c.token) {
                finished.append(Hypothesis(tokens: parents[c.parent].tokens, score: c.score))
            } else {
                chosen.append(c)
            }
        }
        if finished.count >= width || chosen.isEmpty {
            beams = []
            return
        }
        if parents[0].tokens.count + 1 >= maxTokens {
            // Out of room: what is left ends here.
            finished += chosen.map { Hypothesis(tokens: parents[$0.parent].tokens + [$0.token], score: $0.score) }
            beams = []
            return
        }
        // Caches: a parent's first child keeps its sequence; the others get
        // copies in the sequences of parents with no child (or new ones).
        var claimed = Set<Int>()
        var spare = parents.indices.filter { p in !chosen.contains { $0.parent == p } }.map { parents[$0].sequence }
        var next: [Beam] = []
        for c in chosen {
            let parent = parents[c.parent]
            let sequence: HydraSequence
            if claimed.insert(c.parent).inserted {
                sequence = parent.sequence
            } else {
                sequence = try spare.popLast() ?? makeSequence()
                try sequence.copy(from: parent.sequence)
            }
            next.append(Beam(tokens: parent.tokens + [c.token], score: c.score, sequence: sequence))
        }
        beams = next
    }
}
