/// A sparse map from a new vocabulary onto the rows of a source head: new
/// token j is Σ_k weights[k] · source row indices[k] for k in
/// offsets[j]..<offsets[j+1] (compressed sparse rows). Builders
/// (trans-tokenization, zip-tie) produce one; a recipe head stores only
/// this and is materialized when loaded.
public struct HeadRecipe: Sendable, Equatable {
    /// rowCount + 1 entries, starting at 0, never decreasing.
    public let offsets: [Int32]
    public let indices: [Int32]
    public let weights: [Float]

    /// Rows of the new vocabulary.
    public var rowCount: Int { offsets.count - 1 }
    /// Non-zero entries in all.
    public var entryCount: Int { indices.count }

    /// Checks the arrays: offsets start at 0, never decrease and end at the
    /// number of entries; indices are in 0..<sourceRows when that is given.
    public init(offsets: [Int32], indices: [Int32], weights: [Float], sourceRows: Int? = nil) throws {
        guard offsets.count >= 2, offsets.first == 0, Int(offsets.last!) == indices.count,
              indices.count == weights.count
        else {
            throw HydraError.invalidModel(
                "recipe: \(offsets.count) offsets, \(indices.count) indices and \(weights.count) weights do not agree")
        }
        for i in 1..<offsets.count where offsets[i] < offsets[i - 1] {
            throw HydraError.invalidModel("recipe: offsets decrease at row \(i - 1)")
        }
        if let sourceRows, let bad = indices.first(where: { $0 < 0 || Int($0) >= sourceRows }) {
            throw HydraError.invalidModel("recipe: source row \(bad) is outside the source head's \(sourceRows) rows")
        }
        if let bad = weights.first(where: { !$0.isFinite }) {
            throw HydraError.invalidModel("recipe: weight \(bad) is not finite")
        }
        self.offsets = offsets
        self.indices = indices
        self.weights = weights
    }

    /// A recipe from one list of (source row, weight) per new token.
    public init(rows: [[(index: Int32, weight: Float)]], sourceRows: Int? = nil) throws {
        var offsets: [Int32] = [0]
        var indices: [Int32] = []
        var weights: [Float] = []
        for row in rows {
            for (i, w) in row {
                indices.append(i)
                weights.append(w)
            }
            offsets.append(Int32(indices.count))
        }
        try self.init(offsets: offsets, indices: indices, weights: weights, sourceRows: sourceRows)
    }

    /// Each new token j is source row j, weight 1 (a copy of the source).
    public static func identity(rows: Int) -> HeadRecipe {
        let ids = (0..<rows).map { Int32($0) }
        return try! HeadRecipe(offsets: ids + [Int32(rows)], indices: ids,
                               weights: [Float](repeating: 1, count: rows))
    }

    /// The entries of new row `j`.
    public func row(_ j: Int) -> [(index: Int32, weight: Float)] {
        (Int(offsets[j])..<Int(offsets[j + 1])).map { (indices[$0], weights[$0]) }
    }

    /// The new table: rowCount rows of the width of `source`, each the
    /// weighted sum of source rows (dequantized, summed in entry order in
    /// Float, so a weight-1 copy is exact). A row with no entries is zero.
    public func materialize(from source: some EmbeddingSource) -> [Float] {
        let width = source.width
        var out = [Float](repeating: 0, count: rowCount * width)
        var scratch = [Float](repeating: 0, count: width)
        out.withUnsafeMutableBufferPointer { o in
            scratch.withUnsafeMutableBufferPointer { s in
                let sp = s.baseAddress!
                for j in 0..<rowCount {
                    let dst = o.baseAddress! + j * width
                    for k in Int(offsets[j])..<Int(offsets[j + 1]) {
                        source.row(Int(indices[k]), into: sp)
                        let w = weights[k]
                        for c in 0..<width { dst[c] += w * sp[c] }
                    }
                }
            }
        }
        return out
    }

    /// The new vector from a source vector with one value per source row
    /// (an output bias).
    public func materialize(vector: UnsafePointer<Float>) -> [Float] {
        (0..<rowCount).map { j in
            var sum: Float = 0
            for k in Int(offsets[j])..<Int(offsets[j + 1]) { sum += weights[k] * vector[Int(indices[k])] }
            return sum
        }
    }
}

/// What a recipe maps onto: a head named in the file (`native` for the
/// body's own), its row count and the hash of its tokens.
public struct RecipeSource: Sendable, Equatable {
    public var name: String
    public var rows: Int
    public var tokensHash: String

    public init(name: String, rows: Int, tokensHash: String) {
        self.name = name
        self.rows = rows
        self.tokensHash = tokensHash
    }

    public init(_ head: Head) {
        self.init(name: head.name, rows: head.embedding.rowCount, tokensHash: HeadFile.tokensHash(head.vocabulary))
    }
}

/// Input rows a recipe head stores beside its map: rows tuned after the
/// head was built (`hydra heads tune-jointly`), which replace the mapped
/// rows of their tokens when the head is loaded. A tuning run moves only
/// the rows of the tokens its text reads, so a head keeps the map for the
/// rest and stores a few hundred rows instead of a whole table.
public struct RowPatch: Sendable, Equatable {
    /// The tokens whose rows are stored, increasing.
    public let tokens: [Int32]
    /// tokens.count rows of `width` floats, in the order of `tokens`.
    public let rows: [Float]
    public let width: Int

    public init(tokens: [Int32], rows: [Float], width: Int) throws {
        guard width > 0, rows.count == tokens.count * width,
              zip(tokens, tokens.dropFirst()).allSatisfy({ $0 < $1 }), tokens.first.map({ $0 >= 0 }) ?? true
        else {
            throw HydraError.invalidModel("input rows: \(tokens.count) increasing tokens need \(tokens.count) rows of \(width) (\(rows.count) floats)")
        }
        if rows.contains(where: { !$0.isFinite }) { throw HydraError.invalidModel("input rows: a value is not finite") }
        self.tokens = tokens
        self.rows = rows
        self.width = width
    }

    /// The rows of `table` (rows × width floats) that differ from `initial`,
    /// and those of `keeping` (a patch the head already stored) in any case.
    public init(changed table: [Float], from initial: [Float], width: Int, keeping: [Int32] = []) throws {
        precondition(table.count == initial.count && width > 0 && table.count % width == 0)
        let kept = Set(keeping)
        var tokens: [Int32] = [], rows: [Float] = []
        for r in 0..<table.count / width {
            let row = table[r * width..<(r + 1) * width]
            guard kept.contains(Int32(r)) || row != initial[r * width..<(r + 1) * width] else { continue }
            tokens.append(Int32(r))
            rows += row
        }
        try self.init(tokens: tokens, rows: rows, width: width)
    }

    /// Puts the stored rows into `table` (rows × width floats).
    public func apply(to table: inout [Float]) throws {
        guard let last = tokens.last else { return }
        guard (Int(last) + 1) * width <= table.count, table.count % width == 0 else {
            throw HydraError.invalidModel("input rows: token \(last) is outside a table of \(table.count / width) rows of \(width)")
        }
        for (i, t) in tokens.enumerated() {
            table.replaceSubrange(Int(t) * width..<(Int(t) + 1) * width, with: rows[i * width..<(i + 1) * width])
        }
    }
}
