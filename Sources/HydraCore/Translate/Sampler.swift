/// Picks the next token from logits. Greedy for now: the highest logit,
/// the lowest id among exact ties (as llama.cpp's greedy sampler).
public struct Sampler: Sendable {
    /// Tokens that may never be picked (e.g. other scripts, when a target
    /// language's script is locked).
    public var banned: Set<Int32> = []

    public init() {}

    public func pick(_ logits: UnsafeBufferPointer<Float>) -> Int32 {
        var best = 0
        var bestValue = -Float.infinity
        for i in 0..<logits.count where logits[i] > bestValue {
            if !banned.isEmpty && banned.contains(Int32(i)) { continue }
            best = i
            bestValue = logits[i]
        }
        return Int32(best)
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
