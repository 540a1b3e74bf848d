import CHydraKernels
import Foundation
import Testing
@testable import HydraCore

/// The persistent thread pool.
@Suite struct QuantPoolTests {
    @Test(arguments: [1, 2, 3])
    func everyThreadRunsOncePerRun(threads: Int) {
        let pool = ThreadPool(threads: threads)
        #expect(pool.threads == threads)
        var counts = [Int32](repeating: 0, count: threads)
        counts.withUnsafeMutableBufferPointer { buffer in
            for _ in 0..<2000 {
                hydra_pool_run(pool.raw, { ctx, i, n in
                    let slots = ctx!.assumingMemoryBound(to: Int32.self)
                    slots[Int(i)] += 1
                    _ = n
                }, buffer.baseAddress!)
            }
        }
        #expect(counts == [Int32](repeating: 2000, count: threads))
    }

    /// Products from several Swift tasks through one pool stay correct.
    @Test func concurrentCallersAreSerialized() async throws {
        var rng = TestRandom(seed: 5)
        let rows = 64, cols = 512
        let bytes = randomMatrixBytes(.q8_0, rows: rows, cols: cols, rng: &rng)
        let x = rng.activations(cols * 2, scale: 1)
        let pool = ThreadPool(threads: 2)
        let expected = bytes.withUnsafeBytes { raw in
            try! QuantizedMatrix(type: .q8_0, rows: rows, cols: cols, data: raw.baseAddress!).multiply(x, tokens: 2, pool: nil)
        }
        let results = await withTaskGroup(of: Bool.self) { group in
            for _ in 0..<8 {
                group.addTask {
                    bytes.withUnsafeBytes { raw in
                        let m = try! QuantizedMatrix(type: .q8_0, rows: rows, cols: cols, data: raw.baseAddress!)
                        return (0..<50).allSatisfy { _ in m.multiply(x, tokens: 2, pool: pool) == expected }
                    }
                }
            }
            return await group.reduce(into: [Bool]()) { $0.append($1) }
        }
        #expect(results.allSatisfy { $0 })
    }
}
