/// Counts c(source token i, target token j), kept per target token; insertion
/// order is fixed so sums do not depend on hashing.
struct TokenPairCounts {
    private var index: [UInt64: Int] = [:]
    private(set) var target: [Int32] = []
    private(set) var source: [Int32] = []
    private(set) var counts: [Double] = []

    mutating func add(source i: Int32, target j: Int32, _ c: Double) {
        guard c > 0 else { return }
        let key = UInt64(UInt32(j)) << 32 | UInt64(UInt32(i))
        if let k = index[key] {
            counts[k] += c
        } else {
            index[key] = counts.count
            target.append(j)
            source.append(i)
            counts.append(c)
        }
    }

    /// Step 3 of trans-tokenization: a word pair's count goes whole to the
    /// token pair when both words are one token; otherwise half is spread over
    /// all token pairs and half over the position-matched pairs.
    mutating func distribute(_ c: Double, sourceTokens a: [Int32], targetTokens b: [Int32]) {
        if a.isEmpty || b.isEmpty { return }
        if a.count == 1 && b.count == 1 {
            add(source: a[0], target: b[0], c)
            return
        }
        let all = c / 2 / Double(a.count * b.count)
        for i in a { for j in b { add(source: i, target: j, all) } }
        let matched = Self.positionMatched(a.count, b.count)
        for (p, q) in matched { add(source: a[p], target: b[q], c / 2 / Double(matched.count)) }
    }

    /// The (source position, target position) pairs at the same relative place:
    /// each position of either word is matched to the position of the other
    /// word whose span holds its centre.
    static func positionMatched(_ n: Int, _ m: Int) -> [(Int, Int)] {
        var pairs: [(Int, Int)] = []
        var seen = Set<Int>()
        func add(_ p: Int, _ q: Int) { if seen.insert(p * m + q).inserted { pairs.append((p, q)) } }
        for q in 0..<m { add(min(n - 1, (2 * q + 1) * n / (2 * m)), q) }
        for p in 0..<n { add(p, min(m - 1, (2 * p + 1) * m / (2 * n))) }
        return pairs.sorted { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
    }

    /// Counts grouped by target token: target id → [(source id, count)] sorted by source id.
    func rows(targetCount: Int) -> [[(Int32, Double)]] {
        var rows = [[(Int32, Double)]](repeating: [], count: targetCount)
        for k in counts.indices where Int(target[k]) < targetCount { rows[Int(target[k])].append((source[k], counts[k])) }
        for j in rows.indices where rows[j].count > 1 { rows[j].sort { $0.0 < $1.0 } }
        return rows
    }
}
