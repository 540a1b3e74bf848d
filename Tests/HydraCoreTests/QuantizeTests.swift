import CHydraKernels
import Foundation
import Testing
@testable import HydraCore

/// What llama-quantize wrote for one input and type
/// (scripts/reference/make-quantize-fixtures.sh).
struct QuantizeFixture: Decodable {
    struct Tensor: Decodable {
        let name: String
        let type: String
        let shape: [Int]
        let sha256: String
    }

    let input: String
    let type: String
    let bytes: Int
    let sha256: String
    let header_bytes: Int
    let header_sha256: String
    let tensors: [Tensor]
}

@Suite("quantization", .serialized)
struct QuantizeTests {
    // ---- llama-quantize's output, tensor by tensor ----------------------------

    /// The inputs of the fixtures: llama.cpp's F32 conversion of SmolLM2
    /// (setup-convert.sh) and three cached models, requantized (Gemma 3's
    /// and Qwen2's rows of 640 and 896 take the fallback types).
    static func inputPath(_ input: String) -> String {
        switch input {
        case "smollm2-135m-f32": ConvertCheckpoints.path("reference/smollm2-135m-f32.gguf")
        case "smollm2-135m-q4_1": TestModels.path("smollm2-135m")
        case "qwen2.5-0.5b-q4_k_m": TestModels.path("qwen2.5-0.5b")
        case "qwen2.5-1.5b-q4_k_m": qwen15
        default: TestModels.path("gemma3-270m")
        }
    }

    /// hydra's default model: its rows of 1536 take the K types in every
    /// matrix (the others' rows fall back to 32-block types but in ffn_down).
    /// Not one of the test models: checked when `hydra models fetch` got it.
    static let qwen15 = TestModels.directory + "/qwen2.5-coder-1.5b-instruct-Q4_K_M.gguf"

    static let cases: [(String, String)] = [
        ("smollm2-135m-f32", "f16"), ("smollm2-135m-f32", "bf16"), ("smollm2-135m-f32", "q8_0"), ("smollm2-135m-f32", "q4_0"), ("smollm2-135m-f32", "q4_1"),
        ("smollm2-135m-f32", "q5_0"), ("smollm2-135m-f32", "q5_1"), ("smollm2-135m-f32", "q6_k"),
        ("smollm2-135m-f32", "q4_k_s"), ("smollm2-135m-f32", "q4_k_m"), ("smollm2-135m-f32", "q5_k_m"),
        ("smollm2-135m-q4_1", "q8_0"), ("smollm2-135m-q4_1", "q4_0"), ("smollm2-135m-q4_1", "q4_k_m"),
        ("gemma3-270m-q4_k_m", "q8_0"), ("gemma3-270m-q4_k_m", "q4_k_m"),
        ("qwen2.5-0.5b-q4_k_m", "q4_k_m"), ("qwen2.5-0.5b-q4_k_m", "q5_k_s"),
    ]

    /// Every tensor is checked when HYDRA_QUANTIZE_FULL is set (minutes:
    /// the K types run at a few MB/s). By default: the small tensors, and
    /// the matrices of blocks 0 and 4 (for the K mixes the attention and
    /// ffn_down ones, which take every type of the mix between them);
    /// `wholeFile` checks every byte of one file.
    static let full = ProcessInfo.processInfo.environment["HYDRA_QUANTIZE_FULL"] != nil

    static func checked(_ t: QuantizeFixture.Tensor, type: QuantizationType) -> Bool {
        if full || t.shape.reduce(1, *) <= 1 << 16 { return true }
        guard t.name.hasPrefix("blk.0.") || t.name.hasPrefix("blk.4.") else { return false }
        return type.defaultType.blockElements == 32 || t.name.contains("attn_") || t.name.contains("ffn_down")
    }

    @Test("same tensor types, order, header and bytes as llama-quantize", .tags(.model), .modelsWanted,
          arguments: QuantizeTests.cases.map { "\($0.0)/\($0.1)" })
    func matchesLlamaQuantize(_ key: String) throws {
        let parts = key.split(separator: "/").map(String.init)
        try check(input: parts[0], typeName: parts[1])
    }

    /// Its Q4_K_M requantized to Q4_K_M copies the tensors whose type stays
    /// (as llama-quantize does); to Q5_K_M it quantizes every Q4_K matrix.
    @Test("Qwen2.5-1.5B: K types in every matrix, as llama-quantize", .tags(.model), .modelsWanted,
          .enabled(if: FileManager.default.fileExists(atPath: QuantizeTests.qwen15), "qwen2.5-1.5b is not in the model cache"),
          arguments: ["q4_k_m", "q5_k_m"])
    func qwen15MatchesLlamaQuantize(_ type: String) throws {
        try check(input: "qwen2.5-1.5b-q4_k_m", typeName: type)
    }

    func check(input: String, typeName: String) throws {
        let fixture: QuantizeFixture = try Fixtures.load("quantize/\(input)-\(typeName).json")
        let type = try QuantizationType(name: typeName)
        let file = try GGUFFile(path: Self.inputPath(input))
        let plan = try GGUFQuantizer.modelPlan(file, type: type)

        // Order, shapes and types of every tensor.
        #expect(plan.plans.map(\.name) == fixture.tensors.map(\.name))
        for (p, f) in zip(plan.plans, fixture.tensors) {
            #expect(p.type.name == f.type, "\(p.name): \(p.type.name), llama-quantize \(f.type)")
            #expect(p.shape == f.shape, "\(p.name)")
        }
        // Metadata and tensor infos, byte for byte.
        let layout = try GGUFStreamWriter.layout(path: "-", metadata: plan.metadata, tensors: plan.plans,
                                                 alignment: file.alignment)
        #expect(layout.header.count == fixture.header_bytes)
        #expect(SHA256.hex(layout.header) == fixture.header_sha256, "header (metadata, tensor infos) differs")
        #expect(layout.header.count + layout.dataBytes == fixture.bytes)

        // Tensor data.
        let pool = ThreadPool(threads: 2)
        var compared = 0
        for (i, f) in fixture.tensors.enumerated() where Self.checked(f, type: type) {
            let bytes = try GGUFQuantizer.encoded(plan.tensors[i], as: plan.plans[i].type, pool: pool)
            #expect(SHA256.hex(bytes) == f.sha256, "\(f.name) (\(f.type)) differs from llama-quantize's")
            compared += 1
        }
        #expect(compared > 0)
    }

    /// The whole file written by `GGUFQuantizer.quantizeModel` (temporary
    /// file, streamed) is llama-quantize's file, byte for byte.
    @Test("whole file: SmolLM2 F32 to Q8_0 equals llama-quantize's file", .tags(.model), .modelsWanted)
    func wholeFile() throws {
        let fixture: QuantizeFixture = try Fixtures.load("quantize/smollm2-135m-f32-q8_0.json")
        let out = temporaryPath("smollm2-q8_0.gguf")
        defer { unlink(out) }
        var calls = 0
        let result = try GGUFQuantizer.quantizeModel(input: Self.inputPath("smollm2-135m-f32"), output: out, type: .q8_0,
                                                     pool: ThreadPool(threads: 2)) { done, total in
            calls += 1
            #expect(done <= total)
        }
        #expect(calls > 2)
        #expect(result.outputBytes == fixture.bytes)
        #expect(try fileSHA256(out) == fixture.sha256)
        let dir = (out as NSString).deletingLastPathComponent
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: dir).filter { $0.hasSuffix(".partial") }
        #expect(leftovers.isEmpty)
    }

    /// `hydra convert --type q4_k_m` quantizes with the same mix and
    /// quantizers: its tensors are llama-quantize's Q4_K_M of the F32
    /// conversion (the order is the converter's own).
    @Test("convert --type q4_k_m gives llama-quantize's tensors", .tags(.model), .modelsWanted)
    func convertQuantized() throws {
        let fixture: QuantizeFixture = try Fixtures.load("quantize/smollm2-135m-f32-q4_k_m.json")
        let dir = try ConvertCheckpoints.converted("smollm2-135m-hf", type: .q4_k_m)
        let file = try GGUFFile(path: dir + "/model.gguf")
        #expect(file.int("general.file_type") == 15)
        #expect(Set(file.tensors.map(\.name)) == Set(fixture.tensors.map(\.name)))
        for f in fixture.tensors {
            guard let t = file.tensor(named: f.name) else { continue }
            #expect(t.type.name == f.type, "\(f.name)")
            if Self.checked(f, type: .q4_k_m) {
                let bytes = Array(UnsafeRawBufferPointer(start: t.data, count: t.byteCount))
                #expect(SHA256.hex(bytes) == f.sha256, "\(f.name) differs from llama-quantize's")
            }
        }
    }

    func fileSHA256(_ path: String) throws -> String {
        for tool in ["/usr/bin/sha256sum", "/bin/sha256sum"] where FileManager.default.isExecutableFile(atPath: tool) {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: tool)
            p.arguments = [path]
            let pipe = Pipe()
            p.standardOutput = pipe
            try p.run()
            let data = pipe.fileHandleForReading.readDataToEndOfFile()
            p.waitUntilExit()
            return String(decoding: data, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
        }
        return SHA256.hex(Array(try Data(contentsOf: URL(fileURLWithPath: path))))
    }

    // ---- the mix rules -----------------------------------------------------------

    @Test("Q4_K_M mix: Q6_K output and half the attn_v/ffn_down, fallbacks for odd widths")
    func mixRules() {
        var inputs: [QuantizationInput] = [
            .init(name: "token_embd.weight", type: .f32, shape: [256, 1000]),
            .init(name: "output_norm.weight", type: .f32, shape: [256]),
        ]
        for l in 0..<8 {
            for n in ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up"] {
                inputs.append(.init(name: "blk.\(l).\(n).weight", type: .f32, shape: [256, 256]))
            }
            inputs.append(.init(name: "blk.\(l).ffn_down.weight", type: .f32, shape: [512, 256]))
            inputs.append(.init(name: "blk.\(l).attn_norm.weight", type: .f32, shape: [256]))
        }
        let t = QuantizationMix.types(for: inputs, type: .q4_k_m, layers: 8)
        #expect(t["token_embd.weight"] == .q6_K)  // tied: the output's type
        #expect(t["output_norm.weight"] == .f32)
        #expect(t["blk.0.attn_q.weight"] == .q4_K)
        // use_more_bits for 8 layers: 0, 3 (i - 1 ≡ 2 mod 3), 6, 7
        for l in 0..<8 {
            let more = [0, 3, 6, 7].contains(l)
            #expect(t["blk.\(l).attn_v.weight"] == (more ? .q6_K : .q4_K), "layer \(l)")
            #expect(t["blk.\(l).ffn_down.weight"] == (more ? .q6_K : .q4_K), "layer \(l)")
        }
        inputs.append(.init(name: "output.weight", type: .f32, shape: [256, 1000]))
        let untied = QuantizationMix.types(for: inputs, type: .q4_k_m, layers: 8)
        #expect(untied["token_embd.weight"] == .q4_K)
        #expect(untied["output.weight"] == .q6_K)
        // Odd widths: Q4_K -> Q5_0, Q6_K -> Q8_0, and F16 when not even 32-wide.
        #expect(QuantizationMix.fallback(.q4_K, rowLength: 640) == .q5_0)
        #expect(QuantizationMix.fallback(.q6_K, rowLength: 640) == .q8_0)
        #expect(QuantizationMix.fallback(.q4_K, rowLength: 100) == .f16)
        // llama-quantize's order: outside blocks first, then by block number.
        let order = QuantizationMix.ordered([
            .init(name: "blk.10.attn_q.weight", type: .f32, shape: [1]), .init(name: "blk.2.attn_q.weight", type: .f32, shape: [1]),
            .init(name: "token_embd.weight", type: .f32, shape: [1]), .init(name: "blk.2.attn_k.weight", type: .f32, shape: [1]),
        ]).map(\.name)
        #expect(order == ["token_embd.weight", "blk.2.attn_k.weight", "blk.2.attn_q.weight", "blk.10.attn_q.weight"])
    }

    // ---- round trips on random rows ----------------------------------------------

    /// Relative RMS error of quantize -> dequantize on Gaussian rows, with
    /// the bound each type keeps (about 1.4x what it reaches).
    static let bounds: [(GGMLType, Double)] = [
        (.f16, 0.001), (.bf16, 0.005), (.q8_0, 0.008), (.q6_K, 0.025), (.q5_0, 0.06), (.q5_1, 0.055), (.q5_K, 0.05),
        (.q4_0, 0.12), (.q4_1, 0.11), (.q4_K, 0.10),
    ]

    @Test("round trip through the dequantizers stays within each type's error", arguments: QuantizeTests.bounds.map(\.0))
    func roundTrip(_ type: GGMLType) throws {
        let bound = Self.bounds.first { $0.0 == type }!.1
        var rng = SeededGenerator(seed: 42)
        let rowLength = 512, rows = 48
        var x = [Float](repeating: 0, count: rowLength * rows)
        for i in x.indices {
            let u = Double.random(in: 1e-12..<1, using: &rng), v = Double.random(in: 0..<1, using: &rng)
            x[i] = Float((-2 * log(u)).squareRoot() * cos(2 * .pi * v) * 0.02)
        }
        for r in 0..<rows where r % 7 == 3 { for j in 0..<rowLength { x[r * rowLength + j] = 0 } }  // all-zero rows
        let q = try WeightQuantizer.quantize(x, rowLength: rowLength, as: type, pool: ThreadPool(threads: 2))
        #expect(q.count == rows * hydra_quantize_row_bytes(Int32(type.rawValue), Int64(rowLength)).asInt)
        // Threads split rows, never blocks: the same bytes on one thread.
        #expect(try WeightQuantizer.quantize(x, rowLength: rowLength, as: type) == q)
        let y = try WeightQuantizer.dequantize(q, type: type, count: x.count)
        var e2 = 0.0, x2 = 0.0
        for i in x.indices {
            e2 += Double(y[i] - x[i]) * Double(y[i] - x[i])
            x2 += Double(x[i]) * Double(x[i])
        }
        let rel = (e2 / x2).squareRoot()
        #expect(rel < bound, "\(type.name): relative RMS error \(rel)")
        for r in 0..<rows where r % 7 == 3 {
            #expect(y[(r * rowLength)..<((r + 1) * rowLength)].allSatisfy { $0 == 0 }, "\(type.name): zero row \(r)")
        }
    }

    @Test("Q8_0 in C equals the converter's Q8_0 (both ggml's quantize_row_q8_0_ref)")
    func q8_0MatchesConverter() throws {
        var rng = SeededGenerator(seed: 7)
        let x = (0..<(32 * 64)).map { _ in Float.random(in: -3...3, using: &rng) }
        #expect(try WeightQuantizer.quantize(x, rowLength: 256, as: .q8_0) == TensorEncoding.encode(x, as: .q8_0))
        let viaEncoding = try TensorEncoding.encode(x, as: .q4_K, rowLength: 256)
        #expect(viaEncoding == (try WeightQuantizer.quantize(x, rowLength: 256, as: .q4_K)))
    }

    // ---- bad inputs ----------------------------------------------------------------

    func message(_ body: () throws -> Void) -> String {
        do { try body() } catch { return String(describing: error) }
        return "no error"
    }

    @Test("bad inputs: partial blocks, unsupported types, files that are not GGUF, heads and models swapped")
    func badInputs() throws {
        let x = [Float](repeating: 1, count: 300)
        #expect(message { _ = try WeightQuantizer.quantize(x, rowLength: 300, as: .q4_K) }.contains("not whole Q4_K blocks"))
        #expect(message { _ = try WeightQuantizer.quantize(x, rowLength: 100, as: .q8_0) }.contains("not whole Q8_0 blocks"))
        #expect(message { _ = try WeightQuantizer.quantize(x, rowLength: 256, as: .q2_K) }.contains("cannot quantize to Q2_K"))
        #expect(message { _ = try QuantizationType(name: "q3_x") }.contains("unknown quantization type 'q3_x'"))
        #expect(try QuantizationType(name: "Q4_K") == .q4_k_m)
        #expect(hydra_quantize_rows(Int32(GGMLType.q4_K.rawValue), x, nil, 1, 300, nil) == -2)
        #expect(hydra_quantize_rows(Int32(GGMLType.q3_K.rawValue), x, nil, 1, 256, nil) == -1)

        let junk = temporaryPath("junk.gguf")
        try Data("this is not a GGUF file at all, just text".utf8).write(to: URL(fileURLWithPath: junk))
        defer { unlink(junk) }
        let out = temporaryPath("out.gguf")
        let modelError = message { _ = try GGUFQuantizer.quantizeModel(input: junk, output: out, type: .q8_0) }
        #expect(modelError.contains(junk) && modelError.lowercased().contains("gguf"), "\(modelError)")
        let headError = message { _ = try GGUFQuantizer.quantizeHead(input: junk, output: out, type: .q8_0) }
        #expect(headError.contains(junk) && headError.lowercased().contains("gguf"), "\(headError)")
        #expect(!FileManager.default.fileExists(atPath: out))

        let head = Self.repoHead("tt-gemma3-270m.gguf")
        #expect(message { _ = try GGUFQuantizer.quantizeModel(input: head, output: out, type: .q8_0) }.contains("is a head file"))
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    @Test("a quantized model is requantized only when allowed", .tags(.model), .modelsWanted)
    func requantizeNeedsPermission() throws {
        let out = temporaryPath("requant.gguf")
        let e = message { _ = try GGUFQuantizer.quantizeModel(input: TestModels.path("smollm2-135m"), output: out, type: .q8_0) }
        #expect(e.contains("requantizing is disabled"), "\(e)")
        #expect(!FileManager.default.fileExists(atPath: out))
        #expect(message { _ = try GGUFQuantizer.quantizeHead(input: TestModels.path("smollm2-135m"), output: out, type: .q8_0) }
            .contains("is not a head file"))
    }

    // ---- the commands ----------------------------------------------------------------

    @Test("hydra quantize and hydra heads quantize: output, progress on stderr, one-line errors", .tags(.model),
          .modelsWanted)
    func commands() throws {
        let out = temporaryPath("cli-head.gguf"), dense = try Self.denseHead("cli-dense")
        defer { unlink(out); unlink(dense) }
        let ok = try runHydra(["heads", "quantize", dense, out, "q4_0", "-t", "2"])
        #expect(ok.status == 0, "\(ok.stderr)")
        #expect(ok.stdout.isEmpty)
        #expect(ok.stderr.contains("token_embd.weight Q4_0") && ok.stderr.contains("MB/s"), "\(ok.stderr)")
        #expect(try GGUFFile(path: out).tensor(named: "token_embd.weight")?.type == .q4_0)

        let junk = temporaryPath("not.gguf")
        try Data("plain text".utf8).write(to: URL(fileURLWithPath: junk))
        defer { unlink(junk) }
        let out2 = temporaryPath("cli-out.gguf")
        for args in [["quantize", junk, out2, "q8_0"], ["quantize", junk, out2, "q3_x"], ["heads", "quantize", junk, out2, "q8_0"],
                     ["quantize", Self.repoHead("tt-gemma3-270m.gguf"), out2, "q8_0"]] {
            let r = try runHydra(args)
            #expect(r.status != 0, "\(args)")
            #expect(r.stderr.split(separator: "\n").count == 1, "\(args): \(r.stderr)")
            #expect(!FileManager.default.fileExists(atPath: out2))
        }
    }

    // ---- heads ------------------------------------------------------------------------

    static func repoHead(_ name: String) -> String {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("heads/\(name)").path
    }

    /// A dense head with untied Q8_0 tables 640 wide: the shipped Tatar head
    /// of gemma3-270m (a recipe with tuned output rows) written out dense,
    /// to a temporary file.
    static func denseHead(_ name: String) throws -> String {
        let model = try TestHeads.model("gemma3-270m")
        let head = try model.heads.load(path: repoHead("tt-gemma3-270m.gguf"), catalog: HeadCatalog(directories: []))
        return try TestHeads.denseCopy(head, name, tableType: .q8_0)
    }

    @Test("heads: tables quantized by the mix, metadata and recipe maps kept", .tags(.model), .modelsWanted)
    func heads() throws {
        // A dense head (Q8_0 tables 640 wide): the embedding table to Q4_0,
        // the output table's Q6_K falls back to Q8_0, its type already.
        let dense = try Self.denseHead("mix-dense")
        let out = temporaryPath("head-q4_0.gguf")
        defer { unlink(out); unlink(dense) }
        let r = try GGUFQuantizer.quantizeHead(input: dense, output: out, type: .q4_0, pool: ThreadPool(threads: 2))
        #expect(r.types["token_embd.weight"] == .q4_0)
        #expect(r.types["output.weight"] == .q8_0)
        let a = try GGUFFile(path: dense), b = try GGUFFile(path: out)
        #expect(a.metadataKeys == b.metadataKeys)
        for k in a.metadataKeys { #expect(a.metadata[k] == b.metadata[k], "\(k)") }
        #expect(try HeadFile.info(of: b).name == (try HeadFile.info(of: a)).name)
        let ao = a.tensor(named: "output.weight")!, bo = b.tensor(named: "output.weight")!
        #expect(memcmp(ao.data, bo.data, ao.byteCount) == 0)
        // The Q4_0 table is the Q8_0 one, requantized: close to it.
        let ae = a.tensor(named: "token_embd.weight")!, be = b.tensor(named: "token_embd.weight")!
        let n = 640 * 64
        var xa = [Float](repeating: 0, count: n), xb = xa
        try WeightQuantizer.dequantize(ae.data, type: ae.type, count: n, into: &xa)
        try WeightQuantizer.dequantize(be.data, type: be.type, count: n, into: &xb)
        let e2 = zip(xa, xb).map { Double($0 - $1) * Double($0 - $1) }.reduce(0, +)
        let x2 = xa.map { Double($0) * Double($0) }.reduce(0, +)
        #expect((e2 / x2).squareRoot() < 0.12)

        // A recipe head without stored tables: every tensor as it was.
        let recipe = Self.repoHead("tt-gemma3-270m-transtok.gguf")
        let out2 = temporaryPath("recipe-q4_k_m.gguf")
        defer { unlink(out2) }
        let r2 = try GGUFQuantizer.quantizeHead(input: recipe, output: out2, type: .q4_k_m)
        #expect(r2.quantized == 0)
        let ra = try GGUFFile(path: recipe), rb = try GGUFFile(path: out2)
        #expect(ra.metadataKeys == rb.metadataKeys)
        for t in ra.tensors {
            let u = rb.tensor(named: t.name)!
            #expect(u.type == t.type && u.byteCount == t.byteCount && memcmp(u.data, t.data, t.byteCount) == 0, "\(t.name)")
        }
    }
}

private extension Int64 {
    var asInt: Int { Int(self) }
}
