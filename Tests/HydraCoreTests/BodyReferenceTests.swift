import Foundation
import Testing
@testable import HydraCore

/// llama.cpp's logits and greedy continuations (Tests/Fixtures/<key>/),
/// compared with hydra's forward pass on the real models.
@Suite(.serialized) struct BodyReferenceTests {
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
    /// logits allowed. SmolLM2 (Q4_1, Q8_0) matches bit for bit: its
    /// measured difference, 5e-5, is the fixtures' rounding to 6 digits.
    static let tolerance: Float = 0.05

    /// Models whose products are not yet bit-exact with llama.cpp on x86.
    /// Q4_K (ggml's repacked 8x8 gemv/gemm), Q5_0, Q8_0 and single-token
    /// Q6_K products are exact; a prompt of 8 or more tokens sends Q6_K
    /// (and Q4_K matrices with a row count not a multiple of 8) through
    /// ggml's tiled K-quant matmul (ggml-cpu/tiled), whose sums round
    /// differently by an ulp. 24 or 18 layers amplify that to logit
    /// differences of up to 0.31 (Qwen, greedy runs identical) and 1.32
    /// (Gemma, greedy runs diverge).
    /// Their strict checks run as known issues; a loose bound still catches
    /// real errors.
    static let kernelLimited: Set<String> = ["qwen2.5-0.5b", "gemma3-270m"]
    static let looseTolerance: Float = 2.0
    static let kernelIssue: Comment = "Q6_K prompt products differ from ggml's tiled K-quant matmul by an ulp"

    /// One model per key, shared by the tests of this suite.
    static func model(_ key: String) throws -> LanguageModel {
        try models.withLock { cache in
            if let m = cache[key] { return m }
            let m = try LanguageModel(file: TestModels.gguf(key), contextLength: 512, pool: ThreadPool(threads: 2))
            cache[key] = m
            return m
        }
    }
    private static let models = Mutex<[String: LanguageModel]>([:])

    @Test(arguments: TestModels.keys)
    func lastPositionLogitsMatchLlamaCpp(key: String) throws {
        let fixture = try Fixtures.load("\(key)/logits.json", as: LogitsFile.self)
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
            #expect(maxDiff < Self.looseTolerance, "\(key) \(c.name): max |diff| \(maxDiff)")
            try Self.strict(key) {
                #expect(maxDiff < Self.tolerance, "\(key) \(c.name): max |diff| \(maxDiff)")
                #expect(orderOK, "\(key) \(c.name): top-10 \(gotTop) vs llama.cpp \(wantTop)")
            }
        }
    }

    /// Runs strict checks, as a known issue for the kernel-limited models.
    static func strict(_ key: String, _ body: () throws -> Void) throws {
        if kernelLimited.contains(key) {
            withKnownIssue(kernelIssue, isIntermittent: true) { try body() }
        } else {
            try body()
        }
    }

    @Test(arguments: TestModels.keys)
    func greedyContinuationMatchesLlamaCpp(key: String) throws {
        let fixture = try Fixtures.load("\(key)/greedy.json", as: GreedyFile.self)
        let model = try Self.model(key)
        for c in fixture.cases {
            let stop: Set<Int32> = c.stopped_at_eog ? [c.ids.last!] : []
            let got = try model.generateGreedy(promptIds: c.prompt_ids, maxTokens: c.n_predict, stopAt: stop)
            let same = got == c.ids
            print("[body] \(key) greedy \(c.name): \(same ? "identical" : "differs") (\(got.count) tokens)")
            // The first token comes from the prompt pass, the rest from decoding.
            #expect(got.first == c.ids.first, "\(key) \(c.name)")
            try Self.strict(key) { #expect(got == c.ids, "\(key) \(c.name)") }
        }
    }
}
