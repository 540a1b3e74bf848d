extension HeadRecipe {
    /// The recipe of a builder's map (zip-tie, trans-tokenization), checked
    /// against the source head's row count when given.
    public init(map: SparseMap, sourceRows: Int? = nil) throws {
        try self.init(rows: map.map { row in row.map { (index: $0.0, weight: $0.1) } }, sourceRows: sourceRows)
    }

    /// The builders' form of the map: (source row, weight) pairs per new token.
    public var sparseMap: SparseMap {
        (0..<rowCount).map { j in row(j).map { ($0.index, $0.weight) } }
    }
}
