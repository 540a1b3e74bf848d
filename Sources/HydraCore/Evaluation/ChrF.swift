/// chrF (Popović 2015) as sacrebleu computes it by default: character
/// n-grams of orders 1 to 6 with whitespace removed, precision and recall
/// averaged over the orders that both texts have, combined with β = 2
/// (recall counts four times as much as precision), from 0 to 100.
/// Consensus decoding (`--candidates`) uses it to find the candidate
/// translation the others agree with most.
public struct ChrF: Sendable {
    /// The character n-grams of one text, counted by order (1 to 6).
    public struct Profile: Sendable {
        fileprivate let counts: [[String: Int]]
        fileprivate let totals: [Int]

        public init(_ text: String) {
            // sacrebleu drops every whitespace character, then counts the
            // n-grams of code points.
            let scalars = Array(text.unicodeScalars.filter { !$0.properties.isWhitespace })
            var counts: [[String: Int]] = []
            var totals: [Int] = []
            for n in 1...ChrF.order {
                var grams: [String: Int] = [:]
                if scalars.count >= n {
                    for start in 0...(scalars.count - n) {
                        var gram = String.UnicodeScalarView()
                        gram.append(contentsOf: scalars[start..<(start + n)])
                        grams[String(gram), default: 0] += 1
                    }
                }
                counts.append(grams)
                totals.append(max(0, scalars.count - n + 1))
            }
            self.counts = counts
            self.totals = totals
        }
    }

    public static let order = 6
    public static let beta = 2.0

    /// The chrF of `hypothesis` against `reference`, 0 to 100.
    public static func score(_ hypothesis: String, reference: String) -> Double {
        score(Profile(hypothesis), reference: Profile(reference))
    }

    /// The chrF of one profiled text against another, 0 to 100.
    public static func score(_ hypothesis: Profile, reference: Profile) -> Double {
        var precision = 0.0, recall = 0.0
        var orders = 0
        for n in 0..<order {
            let hypothesisCount = hypothesis.totals[n], referenceCount = reference.totals[n]
            guard hypothesisCount > 0, referenceCount > 0 else { continue }
            var matches = 0
            for (gram, count) in hypothesis.counts[n] {
                if let other = reference.counts[n][gram] { matches += min(count, other) }
            }
            precision += Double(matches) / Double(hypothesisCount)
            recall += Double(matches) / Double(referenceCount)
            orders += 1
        }
        guard orders > 0 else { return 0 }
        precision /= Double(orders)
        recall /= Double(orders)
        guard precision + recall > 0 else { return 0 }
        let factor = beta * beta
        return 100 * (1 + factor) * precision * recall / (factor * precision + recall)
    }
}
