import Foundation
import Testing
@testable import HydraCore

/// Least squares and Learned Embedding Propagation on random matrices with a known answer.
@Suite struct HeadBuilderPropagationTests {
    static func random(_ rows: Int, _ cols: Int, _ rng: inout SplitMix64) -> FloatMatrix {
        FloatMatrix(rows: rows, cols: cols, values: (0..<(rows * cols)).map { _ in Float(Double(rng.next() % 20001) / 10000 - 1) })
    }

    static func product(_ e: FloatMatrix, _ p: [Double], _ m: Int) -> FloatMatrix {
        var out = [Float](repeating: 0, count: e.rows * m)
        for r in 0..<e.rows {
            for c in 0..<m {
                var s = 0.0
                for t in 0..<e.cols { s += Double(e.values[r * e.cols + t]) * p[t * m + c] }
                out[r * m + c] = Float(s)
            }
        }
        return FloatMatrix(rows: e.rows, cols: m, values: out)
    }

    @Test func leastSquaresSolvesASmallSystemByHand() throws {
        // A = [[1,0],[0,2],[1,1]], B = A·[[1,2],[3,4]] exactly.
        let a: [Double] = [1, 0, 0, 2, 1, 1]
        let b: [Double] = [1, 2, 6, 8, 4, 6]
        let p = try #require(LeastSquares.solve(a: a, b: b, rows: 3, aCols: 2, bCols: 2, ridge: 0))
        for (x, y) in zip(p, [1.0, 2, 3, 4]) { #expect(abs(x - y) < 1e-12) }
        #expect(LeastSquares.solve(a: [1, 1, 2, 2], b: [1, 2], rows: 2, aCols: 2, bCols: 1, ridge: 0) == nil)
    }

    @Test func recoversAKnownProjection() throws {
        var rng = SplitMix64(seed: 11)
        let base = Self.random(200, 12, &rng)
        let p = (0..<(12 * 9)).map { _ in Double(rng.next() % 2001) / 1000 - 1 }
        let instruct = Self.product(base, p, 9)
        let fitted = try #require(EmbeddingPropagation.projection(base: base, instruct: instruct, variant: .shared, ridge: 1e-12))
        let error = zip(fitted, p).map { abs($0 - $1) }.max()!
        #expect(error < 1e-4)

        let donor = Self.random(30, 12, &rng)
        let expected = Self.product(donor, p, 9)
        let decomposition: SparseMap = (0..<60).map { j -> [(Int32, Float)] in [(Int32(j), 0.5), (Int32(j + 60), 0.5)] }
        let variants: [EmbeddingPropagation.Variant] = [.shared, .overlap(oldIDs: Array(0..<40)), .conversion(decomposition: decomposition)]
        for variant in variants {
            let out = try #require(EmbeddingPropagation.propagate(donor: donor, base: base, instruct: instruct, variant: variant,
                                                                  specials: [(new: 2, old: 7)], ridge: 1e-12))
            #expect(out.rows == 30 && out.cols == 9)
            #expect(out.row(2) == instruct.row(7))
            for r in 0..<30 where r != 2 {
                let error = zip(out.row(r), expected.row(r)).map { abs($0 - $1) }.max()!
                #expect(error < 1e-4)
            }
        }
        let swapped = try #require(EmbeddingPropagation.propagate(donor: donor, base: base, instruct: base, variant: .swap))
        #expect(swapped == donor)
    }
}
