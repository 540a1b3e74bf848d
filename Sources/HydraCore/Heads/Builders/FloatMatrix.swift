/// A dense row-major matrix of floats: an embedding or output table, one
/// token per row.
public struct FloatMatrix: Sendable, Equatable {
    public var rows: Int
    public var cols: Int
    public var values: [Float]

    public init(rows: Int, cols: Int, values: [Float]) {
        precondition(values.count == rows * cols, "\(values.count) values for \(rows)×\(cols)")
        (self.rows, self.cols, self.values) = (rows, cols, values)
    }

    public init(rows: Int, cols: Int) {
        self.init(rows: rows, cols: cols, values: [Float](repeating: 0, count: rows * cols))
    }

    /// Row `i` as an array.
    public func row(_ i: Int) -> [Float] { Array(values[i * cols ..< (i + 1) * cols]) }

    /// Replaces row `i`.
    public mutating func setRow(_ i: Int, _ row: [Float]) {
        precondition(row.count == cols)
        values.replaceSubrange(i * cols ..< (i + 1) * cols, with: row)
    }

    /// The rows of a sparse map over this matrix's rows.
    public func materialize(_ map: SparseMap) -> FloatMatrix {
        let out = HydraCore.materialize(map, sourceRows: { row($0) })
        return FloatMatrix(rows: map.count, cols: out.isEmpty ? cols : out.count / max(map.count, 1),
                           values: out.isEmpty ? [Float](repeating: 0, count: map.count * cols) : out)
    }
}
