/// Consensus decoding (minimum Bayes risk with chrF as the gain): of
/// several translations of one text, the one with the highest chrF
/// against all the others, on average: the translation the others agree
/// with most, which is more often right than any single greedy or sampled
/// one. With round-trip scores (`Translator.roundTripScores`), each
/// candidate's log-probability of being translated back into the source,
/// times a weight, is added: agreement alone also rewards a phrase every
/// candidate repeats whatever the source says.
public enum Consensus {
    /// The index of the chosen text (the first among equals).
    /// - Parameters:
    ///   - roundTrip: each text's round-trip log-probability (natural log),
    ///     or nil for agreement alone.
    ///   - weight: chrF points per nat of round-trip log-probability.
    public static func choose(_ texts: [String], roundTrip: [Double]? = nil, weight: Double = 0) -> Int {
        guard texts.count > 2 else { return 0 }
        let profiles = texts.map(ChrF.Profile.init)
        var best = 0
        var bestGain = -Double.infinity
        for (i, candidate) in profiles.enumerated() {
            var agreement = 0.0
            for (j, other) in profiles.enumerated() where j != i {
                agreement += ChrF.score(candidate, reference: other)
            }
            var gain = agreement / Double(texts.count - 1)
            if let roundTrip, roundTrip.count == texts.count { gain += weight * roundTrip[i] }
            if gain > bestGain {
                best = i
                bestGain = gain
            }
        }
        return best
    }
}
