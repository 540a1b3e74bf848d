/// Consensus decoding (minimum Bayes risk with chrF as the gain): of
/// several translations of one text, the one with the highest chrF
/// against all the others, summed: the translation the others agree with
/// most, which is more often right than any single greedy or sampled one.
public enum Consensus {
    /// The index of the chosen text (the first among equals).
    public static func choose(_ texts: [String]) -> Int {
        guard texts.count > 2 else { return 0 }
        let profiles = texts.map(ChrF.Profile.init)
        var best = 0
        var bestGain = -Double.infinity
        for (i, candidate) in profiles.enumerated() {
            var gain = 0.0
            for (j, other) in profiles.enumerated() where j != i {
                gain += ChrF.score(candidate, reference: other)
            }
            if gain > bestGain {
                best = i
                bestGain = gain
            }
        }
        return best
    }
}
