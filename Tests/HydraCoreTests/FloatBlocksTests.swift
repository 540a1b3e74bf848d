import Foundation
import Testing
@testable import HydraCore

/// `FloatBlocks`: the float forward pass follows the runtime's (which
/// equals llama.cpp's), and its backward pass is the derivative of that
/// forward pass (central finite differences along random directions).
@Suite("Float blocks and their backward pass", .serialized)
struct FloatBlocksTests {
    /// Input rows of `tokens` through the model's own head.
    static func inputs(_ model: HydraModel, _ tokens: [Int32]) throws -> [Float] {
        var x = [Float](repeating: 0, count: tokens.count * model.config.embeddingLength)
        try tokens.withUnsafeBufferPointer { t in
            try x.withUnsafeMutableBufferPointer { try model.body.embed(tokens: t, from: model.native.embedding, into: $0.baseAddress!) }
        }
        return x
    }

    static func tokens(_ model: HydraModel) -> [Int32] {
        model.native.tokenizer.tokenize("Бүген һава яхшы. The weather is good today, and tomorrow too.",
                                        addSpecial: true, parseSpecial: false)
    }

    @Test("after 2 blocks the float pass equals the runtime's state to rounding (qwen2.5-0.5b, smollm2-135m)",
          arguments: ["qwen2.5-0.5b", "smollm2-135m"])
    func forwardFollowsRuntime(key: String) throws {
        let model = try HydraModel(path: TestModels.path(key), contextLength: 64, batchSize: 64, pool: ThreadPool(threads: 2))
        let tokens = Self.tokens(model)
        let x = try Self.inputs(model, tokens)
        let depth = 2
        var runtime: [Float] = []
        model.body.trace = { name, layer, values in
            if name == "l_out" && layer == depth - 1 { runtime = Array(values) }
        }
        defer { model.body.trace = nil }
        let e = model.config.embeddingLength
        var hidden = [Float](repeating: 0, count: tokens.count * e)
        try x.withUnsafeBufferPointer { xb in
            try hidden.withUnsafeMutableBufferPointer {
                try model.body.forward(embeddings: xb.baseAddress!, count: tokens.count, startPosition: 0, state: model.state,
                                       output: .all, hidden: $0.baseAddress!, pool: model.pool)
            }
        }
        let blocks = try FloatBlocks(body: model.body, depth: depth)
        let pass = blocks.forward(x, count: tokens.count)
        #expect(runtime.count == pass.output.count)
        // Per position: the difference is small beside the state's size
        // (the runtime rounds activations to 8 bits before its products).
        var worst: Float = 0
        for t in 0..<tokens.count {
            var diff: Float = 0, size: Float = 0
            for i in 0..<e {
                let a = pass.output[t * e + i], b = runtime[t * e + i]
                diff += (a - b) * (a - b)
                size += b * b
            }
            worst = max(worst, (diff / size).squareRoot())
        }
        #expect(worst < 0.05, "largest relative difference \(worst)")
        #expect(worst > 0)  // two different computations, not one read twice
    }

    @Test("the backward pass is the derivative of the forward pass (qwen2.5-0.5b: biases, NEOX RoPE, 7 query heads a KV head; smollm2-135m)",
          arguments: ["qwen2.5-0.5b", "smollm2-135m"])
    func backwardMatchesFiniteDifferences(key: String) throws {
        let model = try HydraModel(path: TestModels.path(key), contextLength: 64, batchSize: 64, pool: ThreadPool(threads: 2))
        let tokens = Array(Self.tokens(model).prefix(12))
        let x = try Self.inputs(model, tokens)
        let blocks = try FloatBlocks(body: model.body, depth: 2)
        var random = SeededGenerator(seed: 7)
        func gaussian() -> Float { Float((-2 * log(random.nextUnit())).squareRoot() * cos(2 * .pi * random.nextUnit())) }
        // loss = Σ w · output, so d loss / d output = w.
        let w = (0..<x.count).map { _ in gaussian() }
        func loss(_ input: [Float]) -> Double {
            zip(blocks.forward(input, count: tokens.count).output, w).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        }
        let gradient = blocks.backward(blocks.forward(x, count: tokens.count), outputGradient: w)
        let scale = (x.reduce(0) { $0 + $1 * $1 } / Float(x.count)).squareRoot()
        for _ in 0..<3 {
            let v = (0..<x.count).map { _ in gaussian() * scale }
            let epsilon: Float = 1e-2
            let plus = zip(x, v).map { $0 + epsilon * $1 }, minus = zip(x, v).map { $0 - epsilon * $1 }
            let numeric = (loss(plus) - loss(minus)) / Double(2 * epsilon)
            let analytic = zip(gradient, v).reduce(0.0) { $0 + Double($1.0 * $1.1) }
            #expect(abs(numeric - analytic) <= 0.02 * abs(numeric), "finite differences \(numeric), backward pass \(analytic)")
        }
        // One position's input changes only that position's and later outputs' loss: the last row's gradient
        // is the gradient of the last output row alone, not zero.
        let e = model.config.embeddingLength
        #expect(gradient[(tokens.count - 1) * e..<tokens.count * e].contains { $0 != 0 })
    }

    @Test("Gemma blocks are refused with a clear error")
    func gemmaRefused() throws {
        let model = try HydraModel(path: TestModels.path("gemma3-270m"), contextLength: 32, batchSize: 32, pool: ThreadPool(threads: 1))
        #expect(throws: HydraError.self) { try FloatBlocks(body: model.body, depth: 1) }
        let small = try HydraModel(path: TestModels.path("smollm2-135m"), contextLength: 32, batchSize: 32, pool: ThreadPool(threads: 1))
        #expect(throws: HydraError.self) { try FloatBlocks(body: small.body, depth: 0) }
        #expect(throws: HydraError.self) { try FloatBlocks(body: small.body, depth: small.config.layerCount + 1) }
    }
}
