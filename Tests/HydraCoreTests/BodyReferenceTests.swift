import Foundation
import Testing
@testable import HydraCore

/// llama.cpp's logits and greedy continuations (Tests/Fixtures/<key>/),
/// compared with hydra's forward pass on the real models.
@Suite(.serialized, .tags(.model), .modelsWanted) struct BodyReferenceTests {
    struct LogitsFile: Decodable {
        struct Case: Decodable {
            let name: String
            let ids: [Int32]
            let top: [[Double]]
            let stride: Int
            let sample: [Float]
        }
        let n_vocab: Int
        let cases: [Case]
    }

    struct GreedyFile: Decodable {
        struct Case: Decodable {
            let name: String
            let prompt_ids: [Int32]
            let n_predict: Int
            let ids: [Int32]
            let stopped_at_eog: Bool
        }
        let cases: [Case]
    }

    /// Largest |hydra − llama.cpp| over the fixture's top-50 and sampled
    /// logits allowed. All three models match bit for bit (against the
    /// fixtures of this CPU's kind): the measured difference, 5e-5, is the
    /// fixtures' rounding to 6 significant digits.
    static let tolerance: Float = 1e-4

    /// One model per key, shared by the tests of this suite, with the plain
    /// attention path the fixtures were made with (llama-cpp-python's
    /// default, flash attention off).
    static func model(_ key: String) throws -> HydraModel {
        try models.withLock { cache in
            if let m = cache[key] { return m }
            let m = try HydraModel(file: TestModels.gguf(key), contextLength: 512, pool: ThreadPool(threads: 2),
                                   flashAttention: false)
            cache[key] = m
            return m
        }
    }
    private static let models = Mutex<[String: HydraModel]>([:])

    @Test(arguments: TestModels.keys)
    func lastPositionLogitsMatchLlamaCpp(key: String) throws {
        let fixture = try Fixtures.loadForThisCPU(key, "logits.json", as: LogitsFile.self)
        let model = try Self.model(key)
        #expect(model.vocabularySize == fixture.n_vocab)
        for c in fixture.cases {
            model.state.reset()
            let logits = try model.forward(tokens: c.ids, startPosition: 0)
            var maxDiff: Float = 0
            for pair in c.top {
                maxDiff = max(maxDiff, abs(logits[Int(pair[0])] - Float(pair[1])))
            }
            for (i, want) in c.sample.enumerated() {
                maxDiff = max(maxDiff, abs(logits[i * c.stride] - want))
            }
            // Top 10 in the same order; neighbours closer than the tolerance
            // may swap.
            let wantTop = c.top.prefix(10).map { Int($0[0]) }
            let gotTop = Array(logits.indices.sorted { logits[$0] > logits[$1] }.prefix(10))
            var orderOK = true
            for (i, (g, w)) in zip(gotTop, wantTop).enumerated() where g != w {
                let close = abs(Float(c.top[i][1]) - logits[g]) < Self.tolerance
                if !close { orderOK = false }
            }
            print("[body] \(key) \(c.name): \(c.ids.count) tokens, max |diff| = \(maxDiff), top-10 \(gotTop == wantTop ? "identical" : "differs: \(gotTop) vs \(wantTop)")")
            #expect(gotTop.first == wantTop.first, "\(key) \(c.name): top-1 \(gotTop[0]) vs llama.cpp \(wantTop[0])")
            #expect(maxDiff < Self.tolerance, "\(key) \(c.name): max |diff| \(maxDiff)")
            #expect(orderOK, "\(key) \(c.name): top-10 \(gotTop) vs llama.cpp \(wantTop)")
        }
    }

    @Test(arguments: TestModels.keys)
    func greedyContinuationMatchesLlamaCpp(key: String) throws {
        let fixture = try Fixtures.loadForThisCPU(key, "greedy.json", as: GreedyFile.self)
        let model = try Self.model(key)
        for c in fixture.cases {
            let stop: Set<Int32> = c.stopped_at_eog ? [c.ids.last!] : []
            let got = try model.generateGreedy(promptIds: c.prompt_ids, maxTokens: c.n_predict, stopAt: stop)
            let same = got == c.ids
            print("[body] \(key) greedy \(c.name): \(same ? "identical" : "differs") (\(got.count) tokens)")
            // The first token comes from the prompt pass, the rest from decoding.
            #expect(got.first == c.ids.first, "\(key) \(c.name)")
            #expect(got == c.ids, "\(key) \(c.name)")
        }
    }
}
