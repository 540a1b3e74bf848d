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

extension LanguageModel {
    /// Runs the prompt from an empty cache, then decodes one token at a
    /// time, handing each to `onToken` as soon as it is made. Stops after
    /// `maxTokens`, or when `onToken` returns false.
    public func decode(promptIds: [Int32], maxTokens: Int, sampler: Sampler = Sampler(),
                       onToken: (Int32) throws -> Bool) throws {
        state.reset()
        guard maxTokens > 0 else { return }
        guard promptIds.count + maxTokens <= state.contextLength + 1 else {
            throw HydraError.invalidInput(
                "the prompt (\(promptIds.count) tokens) and \(maxTokens) new tokens do not fit the context of \(state.contextLength)")
        }
        var logits = try forwardLast(tokens: promptIds, startPosition: 0)
        var position = promptIds.count
        var made = 0
        while true {
            let token = sampler.pick(logits)
            made += 1
            guard try onToken(token), made < maxTokens else { return }
            logits = try forwardLast(tokens: [token], startPosition: position)
            position += 1
        }
    }
}
