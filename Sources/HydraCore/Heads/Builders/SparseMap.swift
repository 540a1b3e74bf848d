/// How a built head's rows come from another head's rows: for each target
/// token id, (source token id, weight) pairs. A target row is
/// Σ weight · source row; an empty entry is a zero row.
public typealias SparseMap = [[(Int32, Float)]]

/// The dense table of a map: `map.count` rows, each the weighted sum of the
/// source rows it names. Every source row is fetched once.
/// - Parameter sourceRows: source token id → its row (all of one width).
public func materialize(_ map: SparseMap, sourceRows: (Int) -> [Float]) -> [Float] {
    var cache: [Int: [Float]] = [:]
    func row(_ i: Int) -> [Float] {
        if let r = cache[i] { return r }
        let r = sourceRows(i)
        cache[i] = r
        return r
    }
    guard let first = map.first(where: { !$0.isEmpty })?.first else { return [] }
    let width = row(Int(first.0)).count
    var out = [Float](repeating: 0, count: map.count * width)
    out.withUnsafeMutableBufferPointer { out in
        for (j, entries) in map.enumerated() {
            let base = j * width
            for (i, w) in entries {
                let r = row(Int(i))
                precondition(r.count == width, "source row \(i) has \(r.count) values, not \(width)")
                for k in 0..<width { out[base + k] += w * r[k] }
            }
        }
    }
    return out
}

/// Helpers on sparse maps.
public enum SparseMaps {
    /// The entries scaled to sum to one (unchanged when they sum to zero).
    public static func normalized(_ row: [(Int32, Float)]) -> [(Int32, Float)] {
        let total = row.reduce(Float(0)) { $0 + $1.1 }
        guard total > 0 else { return row }
        return row.map { ($0.0, $0.1 / total) }
    }

    /// Keeps the `maxEntries` largest weights (ties: smaller id) that are at
    /// least `minWeight` of the row's total, sorted by id, renormalized.
    public static func pruned(_ row: [(Int32, Float)], maxEntries: Int, minWeight: Float) -> [(Int32, Float)] {
        let total = row.reduce(Float(0)) { $0 + $1.1 }
        guard total > 0 else { return [] }
        let kept = row.filter { $0.1 >= minWeight * total }
            .sorted { $0.1 > $1.1 || ($0.1 == $1.1 && $0.0 < $1.0) }
            .prefix(maxEntries)
            .sorted { $0.0 < $1.0 }
        return normalized(Array(kept.isEmpty ? row.prefix(1) : kept[...]))
    }

    /// The mean of several maps onto the same source head (e.g. en→tt and
    /// ru→tt), row by row, each map counting `weights` (default: equally);
    /// a row empty in some maps averages the others.
    public static func average(_ maps: [SparseMap], weights: [Float]? = nil) -> SparseMap {
        guard let count = maps.first?.count else { return [] }
        precondition(maps.allSatisfy { $0.count == count }, "maps of different sizes")
        let weights = weights ?? [Float](repeating: 1, count: maps.count)
        precondition(weights.count == maps.count && weights.allSatisfy { $0 >= 0 }, "one weight ≥ 0 a map")
        return (0..<count).map { j in
            let rows = zip(maps.map { $0[j] }, weights).filter { !$0.0.isEmpty && $0.1 > 0 }
            let total = rows.reduce(Float(0)) { $0 + $1.1 }
            var sums: [Int32: Float] = [:]
            for (row, weight) in rows {
                for (i, w) in normalized(row) { sums[i, default: 0] += w * weight / total }
            }
            return sums.keys.sorted().map { ($0, sums[$0]!) }
        }
    }

    /// Whether two maps hold the same entries (weights within `tolerance`).
    public static func equal(_ a: SparseMap, _ b: SparseMap, tolerance: Float = 0) -> Bool {
        guard a.count == b.count else { return false }
        for (x, y) in zip(a, b) {
            guard x.count == y.count else { return false }
            for (p, q) in zip(x, y) where p.0 != q.0 || abs(p.1 - q.1) > tolerance { return false }
        }
        return true
    }
}
