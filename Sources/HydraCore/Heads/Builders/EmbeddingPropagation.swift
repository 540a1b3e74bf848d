import COpenBLAS

/// Learned Embedding Propagation (Tikhomirov & Chernyshev, 2024): carry
/// embeddings learned for a base model B into its instruct sibling I. A linear
/// map P = argmin ‖X_B·P − X_I‖ is fitted in float64 on rows both models
/// share, then the donor's rows move over: E_new = E_D·P.
public enum EmbeddingPropagation {
    /// Which rows the projection is fitted on.
    public enum Variant: Sendable {
        /// P = identity: the donor rows as they are.
        case swap
        /// All rows B and I share (the same old vocabulary).
        case shared
        /// The old rows (ids in B and I) of tokens that the new vocabulary also has.
        case overlap(oldIDs: [Int])
        /// Each new token as the mean of its old sub-token rows in B and in I
        /// (`decomposition` maps new ids onto old ids, as zip-tie does). The default.
        case conversion(decomposition: SparseMap)
    }

    /// The donor's rows in the instruct model's space.
    /// - Parameters:
    ///   - donor: E_D, new vocabulary × hidden of B.
    ///   - base: E_B, old vocabulary × hidden of B.
    ///   - instruct: E_I, old vocabulary × hidden of I.
    ///   - specials: (new id, old id) pairs whose rows are copied from I as they are.
    ///   - ridge: relative ridge of the least-squares fit.
    public static func propagate(donor: FloatMatrix, base: FloatMatrix, instruct: FloatMatrix, variant: Variant,
                                 specials: [(new: Int, old: Int)] = [], ridge: Double = 1e-8) -> FloatMatrix? {
        var out: FloatMatrix
        if case .swap = variant {
            out = donor
        } else {
            guard let p = projection(base: base, instruct: instruct, variant: variant, ridge: ridge) else { return nil }
            out = apply(p, to: donor, outCols: instruct.cols)
        }
        for (new, old) in specials { out.setRow(new, instruct.row(old)) }
        return out
    }

    /// P (hidden of B × hidden of I, row-major, float64) for a variant other than swap.
    public static func projection(base: FloatMatrix, instruct: FloatMatrix, variant: Variant, ridge: Double = 1e-8) -> [Double]? {
        let x: FloatMatrix, y: FloatMatrix
        switch variant {
        case .swap:
            precondition(base.cols == instruct.cols, "swap needs equal widths")
            var identity = [Double](repeating: 0, count: base.cols * base.cols)
            for i in 0..<base.cols { identity[i * base.cols + i] = 1 }
            return identity
        case .shared:
            let n = min(base.rows, instruct.rows)
            x = FloatMatrix(rows: n, cols: base.cols, values: Array(base.values[0 ..< n * base.cols]))
            y = FloatMatrix(rows: n, cols: instruct.cols, values: Array(instruct.values[0 ..< n * instruct.cols]))
        case .overlap(let ids):
            x = FloatMatrix(rows: ids.count, cols: base.cols, values: ids.flatMap { base.row($0) })
            y = FloatMatrix(rows: ids.count, cols: instruct.cols, values: ids.flatMap { instruct.row($0) })
        case .conversion(let decomposition):
            let used = decomposition.filter { !$0.isEmpty }
            x = base.materialize(used)
            y = instruct.materialize(used)
        }
        return LeastSquares.solve(a: x.values.map(Double.init), b: y.values.map(Double.init),
                                  rows: x.rows, aCols: x.cols, bCols: y.cols, ridge: ridge)
    }

    /// E·P in float64 (OpenBLAS, a block of rows at a time), rounded to float.
    static func apply(_ p: [Double], to e: FloatMatrix, outCols m: Int) -> FloatMatrix {
        let k = e.cols, block = 2048
        var out = [Float](repeating: 0, count: e.rows * m)
        var x = [Double](repeating: 0, count: block * k)
        var y = [Double](repeating: 0, count: block * m)
        var start = 0
        while start < e.rows {
            let n = min(block, e.rows - start)
            for t in 0..<(n * k) { x[t] = Double(e.values[start * k + t]) }
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(m), Int32(k), 1, x, Int32(k),
                        p, Int32(m), 0, &y, Int32(m))
            for t in 0..<(n * m) { out[start * m + t] = Float(y[t]) }
            start += n
        }
        return FloatMatrix(rows: e.rows, cols: m, values: out)
    }
}
