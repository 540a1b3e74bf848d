import Foundation
import Testing
@testable import HydraCore

/// Zip-tie and sparse maps on hand-made vocabularies.
@Suite struct HeadBuilderMapTests {
    /// Gemma-like source: 4 specials, 256 byte tokens (ids 4–259), then pieces.
    static func sourceVocabulary(addSpacePrefix: Bool = false) throws -> Vocabulary {
        let hex = Array("0123456789ABCDEF")
        let bytes = (0..<256).map { "<0x\(hex[$0 >> 4])\(hex[$0 & 15])>" }
        let pieces = ["▁a", "bc", "ab", "▁", "a", "b", "c"]   // ids 260…266
        return try Vocabulary(model: "llama", tokens: ["<pad>", "<eos>", "<bos>", "<unk>"] + bytes + pieces,
                              scores: [0, 0, 0, 0] + [Float](repeating: 0, count: 256) + [-1, -2, -3, -10, -11, -12, -13],
                              tokenTypes: [3, 3, 3, 3] + [Int](repeating: 6, count: 256) + [Int](repeating: 1, count: 7),
                              special: .init(bos: 2, eos: 1, unk: 3, pad: 0), addSpacePrefix: addSpacePrefix)
    }

    static func targetVocabulary() throws -> Vocabulary {
        try Vocabulary(model: "llama", tokens: ["<unk>", "<s>", "</s>", "<0x41>", "▁abc", "cab", "aaa", "é"],
                       tokenTypes: [2, 3, 3, 6, 1, 1, 1, 1])
    }

    static func flat(_ row: [(Int32, Float)]) -> [Float] { row.flatMap { [Float($0.0), $0.1] } }

    @Test func zipTieWeightsWorkedOutByHand() throws {
        for prefix in [false, true] {
            let map = ZipTie.build(target: try Self.targetVocabulary(),
                                   source: Tokenizer(vocabulary: try Self.sourceVocabulary(addSpacePrefix: prefix)))
            let expected: [[(Int32, Float)]] = [
                [(3, 1)],                 // <unk> → <unk>
                [(2, 1)],                 // <s> → <bos>
                [(1, 1)],                 // </s> → <eos>
                [(4 + 0x41, 1)],          // <0x41>: "A" is no source piece, so its byte token
                [(260, 0.5), (261, 0.5)], // " abc" → ▁a (score −1) then bc (−2)
                [(262, 0.5), (266, 0.5)], // "cab" → c · ab, no space added in front
                [(264, 1)],               // "aaa" → a a a: one token three times
                [(4 + 0xA9, 0.5), (4 + 0xC3, 0.5)], // "é" = C3 A9 → two byte tokens
            ]
            #expect(map.map(Self.flat) == expected.map(Self.flat), "addSpacePrefix \(prefix)")
        }
    }

    @Test func materializeSumsWeightedRows() {
        let rows: [[Float]] = [[1, 2], [3, 4]]
        var fetched: [Int] = []
        let dense = materialize([[(0, 0.5), (1, 0.5)], [], [(1, 2)], [(1, 1)]]) { i in
            fetched.append(i)
            return rows[i]
        }
        #expect(dense == [2, 3, 0, 0, 6, 8, 3, 4])
        #expect(fetched == [0, 1])  // each source row read once
    }

    @Test func mapsBecomeHeadRecipes() throws {
        let map: SparseMap = [[(0, 0.5), (1, 0.5)], [], [(1, 2)]]
        let recipe = try HeadRecipe(map: map, sourceRows: 2)
        #expect(recipe.offsets == [0, 2, 2, 3] && recipe.indices == [0, 1, 1] && recipe.weights == [0.5, 0.5, 2])
        #expect(SparseMaps.equal(recipe.sparseMap, map))
        #expect(throws: HydraError.self) { try HeadRecipe(map: map, sourceRows: 1) }
    }

    @Test func pruneAndAverage() {
        let row: [(Int32, Float)] = [(5, 6), (2, 3), (9, 0.001), (7, 1)]
        #expect(Self.flat(SparseMaps.pruned(row, maxEntries: 2, minWeight: 0.01)) == [2, 1.0 / 3, 5, 2.0 / 3])
        #expect(Self.flat(SparseMaps.pruned(row, maxEntries: 10, minWeight: 0.01)) == [2, 0.3, 5, 0.6, 7, 0.1])
        let averaged = SparseMaps.average([[[(1, 1)], []], [[(1, 0.5), (2, 0.5)], [(3, 2)]]])
        #expect(averaged.map(Self.flat) == [[1, 0.75, 2, 0.25], [3, 1]])
        // Weighted: a quarter of the second map (a row empty in one map, or
        // weighted 0, averages the others).
        let mixed = SparseMaps.average([[[(1, 1)], []], [[(1, 0.5), (2, 0.5)], [(3, 2)]]], weights: [0.75, 0.25])
        #expect(mixed.map(Self.flat) == [[1, 0.875, 2, 0.125], [3, 1]])
        let alone = SparseMaps.average([[[(1, 1)]], [[(2, 1)]]], weights: [1, 0])
        #expect(alone.map(Self.flat) == [[1, 1]])
    }

    @Test func randomRowsMatchTheMeanNorm() {
        var rng = SplitMix64(seed: 7)
        let values = (0..<(200 * 16)).map { _ in Float(Double(rng.next() % 1000) / 500 - 1) }
        let source = FloatMatrix(rows: 200, cols: 16, values: values)
        let random = RandomRows.matched(to: source, count: 50, seed: 3)
        func norm(_ r: [Float]) -> Double { r.reduce(0) { $0 + Double($1 * $1) }.squareRoot() }
        let meanNorm = (0..<200).map { norm(source.row($0)) }.reduce(0, +) / 200
        for r in 0..<50 { #expect(abs(norm(random.row(r)) - meanNorm) < 1e-4) }
        #expect(random == RandomRows.matched(to: source, count: 50, seed: 3))
        #expect(random != RandomRows.matched(to: source, count: 50, seed: 4))
    }
}
