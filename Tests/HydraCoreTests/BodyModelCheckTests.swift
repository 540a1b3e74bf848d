import Foundation
import Testing
@testable import HydraCore

/// Loading checks on small synthetic GGUF files: a complete model runs, and
/// a missing, mis-shaped or mistyped tensor, an unknown architecture or a
/// truncated file is a clear error, never a crash.
@Suite struct BodyModelCheckTests {
    /// A one-layer llama (or qwen2/gemma3) with F32 weights: 32-wide
    /// embeddings, 2 query heads and 1 KV head of 16, FFN of 64, 40 tokens.
    struct TinyModel {
        var architecture = "llama"
        var drop: Set<String> = []
        var reshape: [String: [Int]] = [:]

        let embd = 32, heads = 2, kvHeads = 1, headDim = 16, ffn = 64, vocab = 40

        func tensors() -> [(String, [Int])] {
            var list: [(String, [Int])] = [
                ("token_embd.weight", [embd, vocab]),
                ("output_norm.weight", [embd]),
                ("blk.0.attn_norm.weight", [embd]),
                ("blk.0.attn_q.weight", [embd, heads * headDim]),
                ("blk.0.attn_k.weight", [embd, kvHeads * headDim]),
                ("blk.0.attn_v.weight", [embd, kvHeads * headDim]),
                ("blk.0.attn_output.weight", [heads * headDim, embd]),
                ("blk.0.ffn_norm.weight", [embd]),
                ("blk.0.ffn_gate.weight", [embd, ffn]),
                ("blk.0.ffn_up.weight", [embd, ffn]),
                ("blk.0.ffn_down.weight", [ffn, embd]),
            ]
            if architecture == "qwen2" {
                list += [("blk.0.attn_q.bias", [heads * headDim]), ("blk.0.attn_k.bias", [kvHeads * headDim]),
                         ("blk.0.attn_v.bias", [kvHeads * headDim])]
            }
            if architecture == "gemma3" {
                list += [("blk.0.attn_q_norm.weight", [headDim]), ("blk.0.attn_k_norm.weight", [headDim]),
                         ("blk.0.post_attention_norm.weight", [embd]), ("blk.0.post_ffw_norm.weight", [embd])]
            }
            return list
        }

        /// Writes the model to a temporary file and returns its path.
        func write() throws -> String {
            var w = GGUFWriter()
            let a = architecture
            w.set("general.architecture", .string(a))
            w.set("\(a).block_count", .uint32(1))
            w.set("\(a).context_length", .uint32(256))
            w.set("\(a).embedding_length", .uint32(UInt32(embd)))
            w.set("\(a).feed_forward_length", .uint32(UInt32(ffn)))
            w.set("\(a).attention.head_count", .uint32(UInt32(heads)))
            w.set("\(a).attention.head_count_kv", .uint32(UInt32(kvHeads)))
            w.set("\(a).attention.key_length", .uint32(UInt32(headDim)))
            w.set("\(a).attention.value_length", .uint32(UInt32(headDim)))
            w.set("\(a).attention.layer_norm_rms_epsilon", .float32(1e-6))
            w.set("\(a).rope.freq_base", .float32(10000))
            w.set("\(a).vocab_size", .uint32(UInt32(vocab)))
            if a == "gemma3" { w.set("gemma3.attention.sliding_window", .uint32(4)) }
            // A model is run with its native head, which needs a tokenizer:
            // a SentencePiece vocabulary of one piece per row.
            w.set("tokenizer.ggml.model", .string("llama"))
            w.set("tokenizer.ggml.tokens", .array(.strings(["<unk>", "<s>", "</s>"] + (3..<vocab).map { "▁t\($0)" })))
            w.set("tokenizer.ggml.scores", .array(.floats((0..<vocab).map { -Float($0) })))
            w.set("tokenizer.ggml.token_type", .array(.int32s([2, 3, 3] + [Int32](repeating: 1, count: vocab - 3))))
            w.set("tokenizer.ggml.bos_token_id", .uint32(1))
            w.set("tokenizer.ggml.eos_token_id", .uint32(2))
            w.set("tokenizer.ggml.unknown_token_id", .uint32(0))
            var seed: UInt64 = 42
            for (name, defaultShape) in tensors() where !drop.contains(name) {
                let shape = reshape[name] ?? defaultShape
                let count = shape.reduce(1, *)
                let isNorm = shape.count == 1
                let values = (0..<count).map { _ -> Float in
                    seed = seed &* 6364136223846793005 &+ 1442695040888963407
                    let r = Float(seed >> 40) / Float(1 << 24) - 0.5
                    return isNorm ? 1 + 0.1 * r : 0.2 * r
                }
                try w.addTensor(name: name, shape: shape, floats: values)
            }
            let path = FileManager.default.temporaryDirectory
                .appendingPathComponent("hydra-body-\(UUID().uuidString).gguf").path
            try w.write(to: path)
            return path
        }
    }

    func load(_ model: TinyModel) throws -> HydraModel {
        let path = try model.write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        return try HydraModel(path: path, contextLength: 64, batchSize: 8, pool: ThreadPool(threads: 2))
    }

    func loadError(_ model: TinyModel) throws -> String {
        do {
            _ = try load(model)
        } catch {
            return String(describing: error)
        }
        Issue.record("the model loaded")
        return ""
    }

    @Test(arguments: ["llama", "qwen2", "gemma3"])
    func completeModelRuns(architecture: String) throws {
        let lm = try load(TinyModel(architecture: architecture))
        #expect(lm.config.architecture.rawValue == architecture)
        let tokens: [Int32] = [1, 5, 7, 3, 9, 11, 2, 4, 8, 6, 10, 12]
        // Longer than the batch of 8 and the sliding window of 4 (gemma3).
        let all = try lm.forward(tokens: tokens, startPosition: 0, allLogits: true)
        #expect(all.count == tokens.count * 40)
        #expect(all.allSatisfy { $0.isFinite })
        // The last position from a batch equals the last of all positions,
        // and decoding one token at a time gives nearly the same logits
        // (ggml sums in other orders for one token than for several).
        lm.state.reset()
        let last = try lm.forward(tokens: tokens, startPosition: 0)
        #expect(last == Array(all.suffix(40)))
        lm.state.reset()
        var stepped: [Float] = []
        for (i, t) in tokens.enumerated() { stepped = try lm.forward(tokens: [t], startPosition: i) }
        let diff = zip(stepped, last).map { abs($0 - $1) }.max()!
        let message = "token-by-token vs batch: \(diff)"
        #expect(diff < 1e-3, "\(message)")
    }

    /// A table whose row i is row `map[i]` of another source: a stand-in
    /// for a head with its own vocabulary.
    struct RemappedEmbedding: EmbeddingSource {
        let base: TokenEmbedding
        let map: [Int]
        var rowCount: Int { map.count }
        var width: Int { base.width }
        func row(_ id: Int, into out: UnsafeMutablePointer<Float>) { base.row(map[id], into: out) }
    }

    @Test(arguments: ["llama", "gemma3"])
    func bodyRunsEmbeddingsFromAnySource(architecture: String) throws {
        let lm = try load(TinyModel(architecture: architecture))
        let native: [Int32] = [3, 1, 4, 1, 5, 9, 2, 6]
        lm.state.reset()
        let want = try lm.forward(tokens: native, startPosition: 0)

        // The same rows reached through another table's ids, run through
        // the body and projected by the native head.
        let map = (0..<40).map { (7 * $0 + 3) % 40 }
        let other = RemappedEmbedding(base: try TokenEmbedding(file: lm.file, config: lm.config), map: map)
        let ids = native.map { n in Int32(map.firstIndex(of: Int(n))!) }
        let e = lm.config.embeddingLength
        var inputs = [Float](repeating: 0, count: ids.count * e)
        var hidden = [Float](repeating: 0, count: e)
        let state = BodyState(config: lm.config, contextLength: 16, batchCapacity: 4, threads: lm.pool.threads,
                              attention: lm.state.attentionKind)
        try ids.withUnsafeBufferPointer { idp in
            try inputs.withUnsafeMutableBufferPointer { inp in
                try lm.body.embed(tokens: idp, from: other, into: inp.baseAddress!)
                try hidden.withUnsafeMutableBufferPointer { h in
                    try lm.body.forward(embeddings: inp.baseAddress!, count: ids.count, startPosition: 0, state: state,
                                        output: .last, hidden: h.baseAddress!, pool: lm.pool)
                }
            }
        }
        #expect(state.length == ids.count)
        #expect(try #require(lm.native.output).logits(hidden: hidden, pool: lm.pool) == want)
    }

    @Test func missingTensorIsAnError() throws {
        let message = try loadError(TinyModel(drop: ["blk.0.ffn_up.weight"]))
        #expect(message.contains("blk.0.ffn_up.weight") && message.contains("missing"), "\(message)")
        let bias = try loadError(TinyModel(architecture: "qwen2", drop: ["blk.0.attn_k.bias"]))
        #expect(bias.contains("blk.0.attn_k.bias"), "\(bias)")
        let norm = try loadError(TinyModel(architecture: "gemma3", drop: ["blk.0.post_ffw_norm.weight"]))
        #expect(norm.contains("post_ffw_norm"), "\(norm)")
    }

    @Test func misshapedTensorIsAnError() throws {
        let message = try loadError(TinyModel(reshape: ["blk.0.attn_k.weight": [32, 32]]))
        #expect(message.contains("blk.0.attn_k.weight") && message.contains("shape"), "\(message)")
        let norm = try loadError(TinyModel(reshape: ["output_norm.weight": [16]]))
        #expect(norm.contains("output_norm.weight"), "\(norm)")
    }

    @Test func unknownArchitectureIsAnError() throws {
        let message = try loadError(TinyModel(architecture: "mamba"))
        #expect(message.contains("mamba") && message.contains("not supported"), "\(message)")
    }

    @Test func truncatedFileIsAnError() throws {
        let path = try TinyModel().write()
        defer { try? FileManager.default.removeItem(atPath: path) }
        let data = try Data(contentsOf: URL(fileURLWithPath: path))
        try data.prefix(data.count - 100).write(to: URL(fileURLWithPath: path))
        #expect(throws: (any Error).self) { _ = try HydraModel(path: path, contextLength: 16) }
    }

    @Test func outOfRangeInputsAreErrors() throws {
        let lm = try load(TinyModel())
        #expect(throws: HydraError.self) { _ = try lm.forward(tokens: [40], startPosition: 0) }
        #expect(throws: HydraError.self) { _ = try lm.forward(tokens: [-1], startPosition: 0) }
        lm.state.reset()
        #expect(throws: HydraError.self) { _ = try lm.forward(tokens: [1], startPosition: 5) }
        #expect(throws: HydraError.self) {
            _ = try lm.forward(tokens: [Int32](repeating: 1, count: 65), startPosition: 0)
        }
    }
}
