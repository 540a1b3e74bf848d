/// Picks the next token from logits. Greedy for now: the highest logit,
/// the lowest id among exact ties (as llama.cpp's greedy sampler).
public struct Sampler: Sendable {
    /// Tokens that may never be picked (e.g. other scripts, when a target
    /// language's script is locked: `ScriptLock`).
    public var banned: TokenMask

    public init(banned: TokenMask = TokenMask()) {
        self.banned = banned
    }

    public func pick(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
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
}
