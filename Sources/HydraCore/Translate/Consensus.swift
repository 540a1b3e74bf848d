/// Consensus decoding (minimum Bayes risk with chrF as the gain): of
/// several translations of one text, the one with the highest chrF
/// against all the others, on average: the translation the others agree
/// with most, which is more often right than any single greedy or sampled
/// one. With the round-trip check (`Translator.roundTripScores`), each
/// candidate's log-probability of being translated back into the source,
/// times a weight, is added: agreement alone also rewards a phrase every
/// candidate repeats whatever the source says. The check costs more than
/// writing the candidates, and changes little where they already agree,
/// so it may be kept for the texts whose candidates agree less than a
/// threshold.
public enum Consensus {
    /// Each text's mean chrF against the others.
    public static func agreement(_ texts: [String]) -> [Double] {
        guard texts.count > 1 else { return texts.map { _ in 100 } }
        let profiles = texts.map(ChrF.Profile.init)
        return profiles.indices.map { i in
            var sum = 0.0
            for j in profiles.indices where j != i { sum += ChrF.score(profiles[i], reference: profiles[j]) }
            return sum / Double(texts.count - 1)
        }
    }

    /// The index of the chosen text (the first among equals).
    /// - Parameters:
    ///   - weight: chrF points per nat of round-trip log-probability (0:
    ///     agreement alone).
    ///   - checkBelow: the round-trip check runs only when the texts' best
    ///     agreement is below it (100: unless all are equal).
    ///   - roundTrip: each text's round-trip log-probability (natural log),
    ///     or nil when the check cannot run (agreement alone decides).
    public static func choose(_ texts: [String], weight: Double = 0, checkBelow: Double = 100,
                              roundTrip: () -> [Double]? = { nil }) -> Int {
        guard texts.count > 2 else { return 0 }
        var gain = agreement(texts)
        if weight > 0, gain.max()! < checkBelow, let scores = roundTrip(), scores.count == texts.count {
            for i in gain.indices { gain[i] += weight * scores[i] }
        }
        return gain.indices.max { gain[$0] < gain[$1] || (gain[$0] == gain[$1] && $0 > $1) }!
    }
}
