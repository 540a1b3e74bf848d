import Foundation
import Testing
@testable import HydraCore

/// `hydra heads tune`: output rows fitted on cached hidden states with the
/// body frozen (gemma3-270m and the built Tatar head, a small corpus).
@Suite("Head tuning", .serialized)
struct HeadTuningTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static var headPath: String { root.appendingPathComponent("heads/tt-gemma3-270m-transtok.gguf").path }

    /// A temporary folder with 24 lines of Tatar text and 8 en–tt pairs from the training data.
    static func corpus() throws -> (folder: String, text: String, pairs: String) {
        let folder = NSTemporaryDirectory() + "tune-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
        let text = try String(contentsOf: root.appendingPathComponent("data/tt/tt.txt"), encoding: .utf8)
            .split(separator: "\n").dropFirst(100).prefix(24).joined(separator: "\n")
        let pairs = try String(contentsOf: root.appendingPathComponent("data/tt/en-tt.tsv"), encoding: .utf8)
            .split(separator: "\n").dropFirst(200).prefix(8).joined(separator: "\n")
        try (text + "\n").write(toFile: folder + "/tt.txt", atomically: true, encoding: .utf8)
        try (pairs + "\n").write(toFile: folder + "/en-tt.tsv", atomically: true, encoding: .utf8)
        return (folder, folder + "/tt.txt", folder + "/en-tt.tsv")
    }

    static func options() -> HeadTuning.Options {
        var o = HeadTuning.Options()
        o.tuner.batchSize = 64
        o.tuner.epochs = 3
        o.tuner.learningRate = 1e-3
        o.tuner.checkpointEvery = 2
        o.tuner.validationEvery = 0
        o.tableType = .f32
        o.maxLength = 96
        o.promptLanguage = "ru"  // the pairs' prompt names Russian; the written head records it
        return o
    }

    static func outputRows(_ path: String) throws -> [UInt8] {
        let file = try GGUFFile(path: path)
        let t = try #require(file.tensor(named: HeadKeys.outputTensor))
        return Array(UnsafeRawBufferPointer(start: t.data, count: t.byteCount))
    }

    @Test("the loss falls, and a run stopped after k steps and resumed writes the same head as one straight through")
    func lossFallsAndResumeIsExact() throws {
        let (folder, text, pairs) = try Self.corpus()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let hydra = try HydraModel(path: TestModels.path("gemma3-270m"), contextLength: 128, batchSize: 128,
                                   pool: ThreadPool(threads: 2))
        let head = try hydra.heads.load(path: Self.headPath, catalog: HeadCatalog(directories: []))
        let english = try Language.named("en")

        var losses: [Double] = []
        var named = Self.options()
        named.name = "tt-tuned-test"
        let a = try HeadTuning.run(model: hydra, head: head, textFiles: [text], pairFiles: [pairs], pairSource: english,
                                   options: named, work: folder + "/a.work", out: folder + "/a.gguf") { e in
            if case .tuner(.step(_, _, let loss, _)) = e { losses.append(loss) }
        }
        #expect(!a.stopped && a.steps == losses.count && a.steps >= 6, "\(a)")
        let third = max(losses.count / 3, 1)
        let early = losses.prefix(third).reduce(0, +) / Double(third)
        let late = losses.suffix(third).reduce(0, +) / Double(third)
        #expect(late < early - 0.1, "training loss \(losses)")

        // The tuned head loads over the body, untied, with the input rows of the built head:
        // a recipe head stays a recipe, with the tuned output rows stored beside its map.
        let tuned = try hydra.heads.load(path: folder + "/a.gguf", catalog: HeadCatalog(directories: []))
        #expect(tuned.info.output == .separate)
        #expect(head.kind == "recipe" && tuned.kind == "recipe")
        let stored = try Self.outputRows(folder + "/a.gguf").withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        var tunedRow = [Float](repeating: 0, count: 640), builtRow = tunedRow
        TokenEmbedding(matrix: try #require(tuned.output).matrix).row(500, into: &tunedRow)
        TokenEmbedding(matrix: try #require(head.output).matrix).row(500, into: &builtRow)
        #expect(tunedRow == Array(stored[500 * 640..<501 * 640]))
        #expect(tunedRow != builtRow)
        #expect(tuned.vocabulary.count == head.vocabulary.count)
        #expect(head.info.promptLanguage == nil && tuned.info.promptLanguage == "ru")
        // The pairs were tuned behind the prompt that translating through the tuned head sends.
        let (en, tt) = (english, try Language.named("tt"))
        let ru = try TuningCorpus.pairSequences(Array(try ParallelText.read(path: pairs).prefix(1)), model: hydra,
                                                source: hydra.native, head: head, from: en, to: try Language.named("ru"),
                                                maxLength: 96)
        let translator = try Translator(model: hydra, source: hydra.native, target: tuned)
        let sent = translator.promptIds(try ParallelText.read(path: pairs)[0].source,
                                        prompt: try TranslationPrompt(source: en, target: tt, answeredBy: tuned))
        #expect(ru.first.map { Array($0.inputs.prefix(sent.count).map(\.token)) } == sent)
        var x = [Float](repeating: 0, count: 640), y = x
        head.embedding.row(500, into: &x)
        tuned.embedding.row(500, into: &y)
        #expect(x == y)
        hydra.heads.remove(named: tuned.name)

        let work = folder + "/b.work"
        let stopped = try HeadTuning.run(model: hydra, head: head, textFiles: [text], pairFiles: [pairs],
                                         pairSource: english, options: Self.options(), work: work,
                                         out: folder + "/b.gguf", stopAfter: 3)
        #expect(stopped.stopped && stopped.steps == 3)
        #expect(!FileManager.default.fileExists(atPath: folder + "/b.gguf"))
        var resumedAt = -1
        _ = try HeadTuning.run(model: hydra, head: head, textFiles: [text], pairFiles: [pairs], pairSource: english,
                               options: Self.options(), work: work, out: folder + "/b.gguf") { e in
            if case .resumed(_, let step) = e { resumedAt = step }
        }
        #expect(resumedAt == 3)
        #expect(try Self.outputRows(folder + "/a.gguf") == Self.outputRows(folder + "/b.gguf"))
    }

    @Test("translation pairs after one prompt run side by side give the states each gets alone, within rounding")
    func pairsSideBySide() throws {
        let (folder, _, pairs) = try Self.corpus()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let hydra = try HydraModel(path: TestModels.path("gemma3-270m"), contextLength: 128, batchSize: 128,
                                   pool: ThreadPool(threads: 2))
        let head = try hydra.heads.load(path: Self.headPath, catalog: HeadCatalog(directories: []))
        let sequences = try TuningCorpus.pairSequences(Array(try ParallelText.read(path: pairs).prefix(4)), model: hydra,
                                                       source: hydra.native, head: head, from: try Language.named("en"),
                                                       to: try Language.named("tt"), maxLength: 96)
        #expect(sequences.count == 4 && sequences.allSatisfy { $0.sharedPrefix > 0 })
        let together = try HiddenStateCache(folder: folder + "/together", width: 640)
        try together.fill(sequences, model: hydra)
        var alone: [UInt16] = []
        for (i, s) in sequences.enumerated() {
            let one = try HiddenStateCache(folder: folder + "/alone\(i)", width: 640)
            try one.fill([s], model: hydra)
            alone += one.hidden
        }
        #expect(together.rows == sequences.reduce(0) { $0 + $1.targets.count })
        #expect(together.hidden.count == alone.count)
        var worst: Float = 0, scale: Float = 0
        for (a, b) in zip(together.hidden, alone) {
            let x = HalfFloat.float(fromHalf: a), y = HalfFloat.float(fromHalf: b)
            worst = max(worst, abs(x - y))
            scale = max(scale, abs(y))
        }
        #expect(scale > 0 && worst <= 0.02 * scale, "largest difference \(worst) of states up to \(scale)")
    }

    @Test("--max-pairs takes the first pairs, or with --spread-pairs pairs spread evenly over the file")
    func pairSelection() {
        let items = Array(0..<10)
        #expect(HeadTuning.select(items, count: 3, spread: false) == [0, 1, 2])
        #expect(HeadTuning.select(items, count: 3, spread: true) == [0, 3, 6])
        #expect(HeadTuning.select(items, count: 5, spread: true) == [0, 2, 4, 6, 8])
        #expect(HeadTuning.select(items, count: 0, spread: true) == items)
        #expect(HeadTuning.select(items, count: 12, spread: true) == items)
    }

    @Test("bad input is refused with a clear error")
    func badInput() throws {
        let (folder, text, pairs) = try Self.corpus()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let hydra = try HydraModel(path: TestModels.path("gemma3-270m"), contextLength: 128, batchSize: 128,
                                   pool: ThreadPool(threads: 2))
        let head = try hydra.heads.load(path: Self.headPath, catalog: HeadCatalog(directories: []))
        let english = try Language.named("en")
        func message(_ text: [String], _ pairs: [String] = []) -> String {
            do {
                try HeadTuning.run(model: hydra, head: head, textFiles: text, pairFiles: pairs, pairSource: english,
                                   options: Self.options(), work: folder + "/w", out: folder + "/o.gguf")
                return ""
            } catch { return "\(error)" }
        }
        let empty = folder + "/empty.txt"
        try "\n  \n".write(toFile: empty, atomically: true, encoding: .utf8)
        #expect(message([empty]).contains("empty"))
        #expect(message([]).contains("no tuning text"))
        #expect(message([Self.root.appendingPathComponent("data/heldout/en-tt.tsv").path]).contains("held-out"))
        #expect(message([], [Self.root.appendingPathComponent("data/heldout/en-tt.tsv").path]).contains("held-out"))

        // A work folder from another corpus is not mixed with this one.
        try HeadTuning.run(model: hydra, head: head, textFiles: [text], pairFiles: [], pairSource: english,
                           options: Self.options(), work: folder + "/w2", out: folder + "/o2.gguf", stopAfter: 1)
        #expect(throws: HydraError.self) {
            try HeadTuning.run(model: hydra, head: head, textFiles: [text], pairFiles: [pairs], pairSource: english,
                               options: Self.options(), work: folder + "/w2", out: folder + "/o2.gguf")
        }

        // The CLI: a head built for another body, bad numbers, held-out files.
        let smol = try CLI.run(["heads", "tune", "--model", TestModels.path("smollm2-135m"), "--head", Self.headPath,
                                "--text", text, "--out", folder + "/x.gguf"])
        #expect(smol.status != 0 && smol.stderr.contains("was built for body"), "\(smol.stderr)")
        let lr = try CLI.run(["heads", "tune", "--head", Self.headPath, "--text", text, "--lr", "-1",
                              "--out", folder + "/x.gguf"])
        #expect(lr.status != 0 && lr.stderr.contains("--lr"), "\(lr.stderr)")
        let held = try CLI.run(["heads", "tune", "--head", Self.headPath, "--pairs", "data/heldout/en-tt.tsv",
                                "--out", folder + "/x.gguf"])
        #expect(held.status != 0 && held.stderr.contains("held-out"), "\(held.stderr)")
    }
}
