import Foundation
import Testing
@testable import HydraCore

/// `hydra heads distill-inputs`: a trans-tokenized Tatar head for
/// smollm2-135m (a 400-token tokenizer trained on 200 training pairs)
/// distilled after 2 blocks on 40 lines of Tatar text.
@Suite("Token distillation", .serialized)
struct TokenDistillationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// A folder with the built head and the text.
    static func setUp() throws -> (folder: String, head: String, text: String) {
        let folder = NSTemporaryDirectory() + "distill-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let pairs = try String(contentsOf: root.appendingPathComponent("data/tt/en-tt.tsv"), encoding: .utf8)
            .split(separator: "\n").prefix(200).joined(separator: "\n")
        let text = try String(contentsOf: root.appendingPathComponent("data/tt/tt-text.txt"), encoding: .utf8)
            .split(separator: "\n").prefix(40).joined(separator: "\n")
        try (pairs + "\n").write(toFile: folder + "/pairs.tsv", atomically: true, encoding: .utf8)
        try (text + "\n").write(toFile: folder + "/text.txt", atomically: true, encoding: .utf8)
        let built = try CLI.run(["heads", "build", "--method", "transtok", "--model", TestModels.path("smollm2-135m"),
                                 "--language", "tt", "--train-tokenizer", "--vocab-size", "400", "--corpus",
                                 folder + "/pairs.tsv", "--pairs", folder + "/pairs.tsv", "--out", folder + "/built.gguf"])
        try #require(built.status == 0, "\(built.stderr)")
        return (folder, folder + "/built.gguf", folder + "/text.txt")
    }

    /// smollm2-135m with the built head loaded.
    static func load(_ headPath: String) throws -> (HydraModel, Head) {
        let model = try HydraModel(path: TestModels.path("smollm2-135m"), contextLength: 64, batchSize: 64,
                                   pool: ThreadPool(threads: 2))
        return (model, try model.heads.load(path: headPath, catalog: HeadCatalog(directories: [])))
    }

    static func options() -> TokenDistillation.Options {
        var o = TokenDistillation.Options()
        o.depth = 2
        o.learningRate = 1e-3
        o.chunkBytes = 300
        o.validationEvery = 5
        o.checkpointEvery = 3
        o.tableType = .f32
        o.name = "tt-distilled-test"
        return o
    }

    /// The stored rows of a distilled head: the input rows it stores beside its map (and their
    /// tokens) and its output rows.
    static func tables(_ path: String) throws -> [[UInt8]] {
        let file = try GGUFFile(path: path)
        return try [HeadKeys.recipeInputTokens, HeadKeys.recipeInputRows, HeadKeys.outputTensor].map { name in
            let t = try #require(file.tensor(named: name))
            return Array(UnsafeRawBufferPointer(start: t.data, count: t.byteCount))
        }
    }

    @Test("the loss falls, the output rows are kept, and a stopped run resumed writes the same head")
    func lossFallsAndResumeIsExact() throws {
        let (folder, headPath, text) = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (model, head) = try Self.load(headPath)

        var losses: [Double] = []
        let straight = try TokenDistillation.run(model: model, head: head, textFiles: [text], options: Self.options(),
                                                 work: folder + "/a.work", out: folder + "/a.gguf") { e in
            if case .step(_, _, let loss, _) = e { losses.append(loss) }
        }
        #expect(straight.steps >= 8)
        #expect(straight.validationAfter < 0.9 * straight.validationBefore,
                "validation loss \(straight.validationBefore) -> \(straight.validationAfter)")
        #expect(losses.allSatisfy { $0.isFinite })

        let stopped = try TokenDistillation.run(model: model, head: head, textFiles: [text], options: Self.options(),
                                                work: folder + "/b.work", out: folder + "/b.gguf", stopAfter: 4)
        #expect(stopped.stopped && !FileManager.default.fileExists(atPath: folder + "/b.gguf"))
        var resumed = false
        try TokenDistillation.run(model: model, head: head, textFiles: [text], options: Self.options(),
                                  work: folder + "/b.work", out: folder + "/b.gguf") { e in
            if case .resumed(let step) = e { resumed = step == 4 }
        }
        #expect(resumed)
        #expect(try Self.tables(folder + "/a.gguf") == Self.tables(folder + "/b.gguf"))

        // The input rows moved, stored beside the map; the output rows are the built head's (stored:
        // the built head ties them to its input rows).
        let tuned = try model.heads.load(path: folder + "/a.gguf", catalog: HeadCatalog(directories: []))
        #expect(tuned.kind == "recipe" && tuned.info.provenance.method.hasSuffix("+ distilled input rows"))
        let patch = try #require(try HeadFile.recipe(of: tuned)?.inputRows)
        let width = model.config.embeddingLength
        var before = [Float](repeating: 0, count: width), after = before
        var moved = 0
        for id in 0..<head.embedding.rowCount {
            head.embedding.row(id, into: &before)
            tuned.embedding.row(id, into: &after)
            if before != after { moved += 1 }
            #expect((before != after) == patch.tokens.contains(Int32(id)), "row \(id)")
        }
        #expect(moved > 50, "\(moved) rows moved")
        let builtOutput = try #require(head.output), tunedOutput = try #require(tuned.output)
        for id in [0, 100, 399] {
            #expect(builtOutput.matrix.dequantizeRow(id) == tunedOutput.matrix.dequantizeRow(id))
        }
    }

    @Test("held-out text and a work folder of another run are refused")
    func refusals() throws {
        let (folder, headPath, text) = try Self.setUp()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (model, head) = try Self.load(headPath)
        let heldout = Self.root.appendingPathComponent("data/heldout/en-tt.tsv").path
        #expect(throws: HydraError.self) {
            try TokenDistillation.run(model: model, head: head, textFiles: [heldout], options: Self.options(),
                                      work: folder + "/w", out: folder + "/o.gguf")
        }
        var o = Self.options()
        o.validationEvery = 0
        try TokenDistillation.run(model: model, head: head, textFiles: [text], options: o, work: folder + "/w",
                                  out: folder + "/o.gguf", stopAfter: 1)
        #expect(throws: HydraError.self) {  // the same folder, other settings
            try TokenDistillation.run(model: model, head: head, textFiles: [text], options: Self.options(),
                                      work: folder + "/w", out: folder + "/o.gguf")
        }
        let cli = try CLI.run(["heads", "distill-inputs", "--model", TestModels.path("smollm2-135m"), "--head", headPath,
                               "--text", heldout, "--out", folder + "/c.gguf"])
        #expect(cli.status != 0 && cli.stderr.contains("held-out"))
    }
}
