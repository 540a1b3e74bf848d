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

    @Test("the loss falls, the head keeps its memory and stored input rows, and a run stopped after k steps and resumed writes the same head as one straight through")
    func lossFallsAndResumeIsExact() throws {
        let (folder, text, pairs) = try Self.corpus()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let hydra = try HydraModel(path: TestModels.path("gemma3-270m"), contextLength: 128, batchSize: 128,
                                   pool: ThreadPool(threads: 2))
        // A translation memory in the head, which the tuned head must keep.
        let memory = try TranslationMemory(pairs: [.init(source: "Good morning.", target: "Хәерле иртә."),
                                                   .init(source: "Thank you.", target: "Рәхмәт.")], sourceLanguage: "en")
        try HeadDecoding.recommend(input: Self.headPath, output: folder + "/built.gguf", .init(memory: memory))
        // Input rows of tokens 500 and 501 stored beside the map (as tune-jointly writes them), which the tuned head must keep.
        let built = try GGUFFile(path: folder + "/built.gguf"), map = try HeadFile.recipe(of: folder + "/built.gguf")
        let patch = try RowPatch(tokens: [500, 501], rows: (0..<1280).map { Float(sin(Double($0))) / 50 }, width: 640)
        try HeadFileWriter.writeRecipe(info: try HeadFile.info(of: built), tokenizer: TokenizerMetadata(file: built),
                                       recipe: map.recipe, source: map.source, inputRows: patch, tableType: .f32,
                                       memory: memory, to: folder + "/patched.gguf")
        let head = try hydra.heads.load(path: folder + "/patched.gguf", catalog: HeadCatalog(directories: []))
        #expect(head.memory?.pairs.count == 2)
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
        #expect(tuned.memory?.pairs.map(\.target) == memory.pairs.map(\.target))
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
        #expect(x == y && x == Array(patch.rows[0..<640]))
        #expect(try HeadFile.recipe(of: folder + "/a.gguf").inputRows == patch)
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

    @Test("with --examples each pair's sequence starts with the prompt a translation with examples sends, never showing the pair itself")
    func pairsWithExamples() throws {
        let (folder, _, _) = try Self.corpus()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // Training pairs about files: two near twins (lines 1078 and 1079), so each has a near pair.
        let lines = try String(contentsOf: Self.root.appendingPathComponent("data/tt/en-tt.tsv"), encoding: .utf8)
            .split(separator: "\n")
        let pairs = folder + "/files.tsv"
        try ([1078, 2018, 1079, 2672, 6695, 7378].map { String(lines[$0 - 1]) }.joined(separator: "\n") + "\n")
            .write(toFile: pairs, atomically: true, encoding: .utf8)
        let hydra = try HydraModel(path: TestModels.path("gemma3-270m"), contextLength: 512, batchSize: 128,
                                   pool: ThreadPool(threads: 2))
        var info = try hydra.heads.load(path: Self.headPath, catalog: HeadCatalog(directories: [])).info
        info.promptLanguage = "ru"
        let built = try hydra.heads.load(path: Self.headPath, catalog: HeadCatalog(directories: []))
        let head = Head(info: info, tokenizer: built.tokenizer, tokenizerMetadata: built.tokenizerMetadata,
                        embedding: built.embedding, output: built.output, kind: built.kind, owners: [built])
        let (en, ru) = (try Language.named("en"), try Language.named("ru"))
        let all = try ParallelText.read(path: pairs)
        // A memory without the tuned pairs: the sequence's prompt is exactly the one translating sends.
        let others = try TranslationMemory(pairs: all.dropFirst(2).map { .init(source: $0.source, target: $0.target) },
                                           sourceLanguage: "en")
        let sequences = try TuningCorpus.pairSequences(Array(all.prefix(2)), model: hydra, source: hydra.native, head: head,
                                                       from: en, to: ru, maxLength: 512, memory: others, examples: 2)
        let translator = try Translator(model: hydra, source: hydra.native, target: head)
        let prompt = try TranslationPrompt(source: en, target: try Language.named("tt"), answeredBy: head)
        #expect(sequences.count == 2 && others.nearest(all[0].source, count: 2).count == 2)
        for (s, pair) in zip(sequences, all) {
            let plan = try translator.plan(pair.source, prompt: prompt, source: hydra.native, target: head,
                                           memory: others, examples: 2)
            #expect(Array(s.inputs.prefix(plan.tokens.count).map(\.token)) == plan.tokens.map(\.token))
            #expect(zip(s.inputs, plan.tokens).allSatisfy { $0.head === $1.head })
            #expect(s.positions.first == Int32(plan.tokens.count - 1))
            // With examples the prompt names the answer's language (Tatar), without the head's prompt language.
            let template = s.inputs.prefix(plan.tokens.count).filter { $0.head === hydra.native }.map(\.token)
            let text = String(decoding: hydra.native.tokenizer.detokenize(template), as: UTF8.self)
            let named = others.nearest(pair.source, count: 2).isEmpty ? "Russian" : "Tatar"
            #expect(text.contains(named) && !text.contains(named == "Tatar" ? "Russian" : "Tatar"), "\(text)")
            #expect(s.sharedPrefix > 0)
        }
        // A memory holding the tuned pairs (the whole file): each pair shows only other pairs.
        let whole = try TranslationMemory.read(tsv: pairs, sourceLanguage: "en")
        let own = try TuningCorpus.pairSequences(Array(all.prefix(2)), model: hydra, source: hydra.native, head: head,
                                                 from: en, to: ru, maxLength: 512, memory: whole, examples: 2)
        #expect(own.count == 2)
        for (s, pair) in zip(own, all) {
            let shown = s.inputs.prefix(Int(s.positions[0]) + 1).filter { $0.head === head }.map(\.token)
            let answers = String(decoding: head.tokenizer.detokenize(shown), as: UTF8.self)
            #expect(!answers.contains(pair.target), "\(answers)")
        }
        // The first pair's near twin (line 1079) is shown in its place.
        let twin = own[0].inputs.prefix(Int(own[0].positions[0]) + 1).filter { $0.head === head }.map(\.token)
        #expect(String(decoding: head.tokenizer.detokenize(twin), as: UTF8.self).contains(all[2].target))
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

    @Test("the native head as teacher: its group probabilities are the native softmax, its gradient the KL's, and tuning with it lowers the KL and resumes exactly")
    func nativeTeacher() throws {
        let (folder, text, pairs) = try Self.corpus()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let hydra = try HydraModel(path: TestModels.path("gemma3-270m"), contextLength: 128, batchSize: 128,
                                   pool: ThreadPool(threads: 2))
        let head = try hydra.heads.load(path: Self.headPath, catalog: HeadCatalog(directories: []))
        let teacher = try NativeTeacher(model: hydra, head: head)
        let native = try #require(hydra.native.output)

        // Each new token sits in the group of the first native token of its text.
        let grouped = teacher.group.filter { $0 >= 0 }.count
        #expect(grouped > head.vocabulary.count * 9 / 10, "\(grouped) of \(head.vocabulary.count) tokens grouped")
        #expect(teacher.nativeIds.count > 1000 && Set(teacher.nativeIds).count == teacher.nativeIds.count)
        for v in stride(from: 300, to: head.vocabulary.count, by: 997) where teacher.group[v] >= 0 {
            let bytes = head.tokenizer.piece(Int32(v))
            let first = bytes.withUnsafeBufferPointer {
                hydra.native.tokenizer.tokenize(bytes: $0, addSpecial: false, parseSpecial: false).first
            }
            #expect(first == teacher.nativeIds[Int(teacher.group[v])], "token \(v)")
        }

        // Hidden states of Tatar text through the head, as tuning caches them.
        let sequences = try TuningCorpus.textSequences(try HeadTuning.readLines(text), head: head, maxLength: 96, pack: 96)
        let cache = try HiddenStateCache(folder: folder + "/states", width: 640)
        try cache.fill(Array(sequences.prefix(1)), model: hydra)
        let d = 640, g = teacher.nativeIds.count, vocab = try #require(head.output).vocabularySize
        for r in [0, cache.rows / 2, cache.rows - 1] {
            let h = (0..<d).map { HalfFloat.float(fromHalf: cache.hidden[r * d + $0]) }
            var q = [Float](repeating: 0, count: g)
            teacher.probabilities(h, count: 1, width: d, softcap: nil, into: &q)
            // The teacher = the native head's softmax over its groups' tokens, renormalised.
            let logits = native.logits(hidden: h, pool: nil)
            let picked = teacher.nativeIds.map { Double(logits[Int($0)]) }
            let top = picked.max()!
            let e = picked.map { exp($0 - top) }
            let total = e.reduce(0, +)
            // (The runtime's product rounds the hidden state to 8 bits; the teacher's is in floats.
            // That moves a log-probability by about 0.1 (0.103 seen on an AVX2 machine), so the
            // logs get 0.25; the bound on probabilities and the same argmax check the rest.)
            let worst = zip(q, e).map { abs(Double($0) - $1 / total) }.max()!
            let worstLog = zip(q, e).filter { $1 / total > 1e-4 }.map { abs(log(Double($0)) - log($1 / total)) }.max()!
            #expect(worst < 1e-2 && worstLog < 0.25, "largest difference from the native softmax: \(worst), in logs \(worstLog)")
            #expect(q.indices.max { q[$0] < q[$1] } == e.indices.max { e[$0] < e[$1] })

            // The KL's gradient against central differences, at the built rows' logits.
            let z = TokenEmbedding(matrix: try #require(head.output).matrix)
            var row = [Float](repeating: 0, count: d), logit = [Float](repeating: 0, count: vocab)
            for v in 0..<vocab {
                z.row(v, into: &row)
                logit[v] = zip(row, h).reduce(0) { $0 + $1.0 * $1.1 }
            }
            var mass = [Float](repeating: 0, count: g)
            func kl(_ l: [Float], gradient: UnsafeMutablePointer<Float>? = nil) -> Double {
                let t = l.max()!
                let p = l.map { expf($0 - t) }
                return teacher.divergence(p: p, q: q, mass: &mass, scale: 1, gradient: gradient)
            }
            var grad = [Float](repeating: 0, count: vocab)
            let base = kl(logit, gradient: &grad)
            #expect(base > 0 && base.isFinite)
            let probe = (0..<vocab).sorted { abs(grad[$0]) > abs(grad[$1]) }.prefix(4) + [teacher.group.firstIndex(of: -1) ?? 0]
            for v in probe {
                let eps: Float = 1e-2
                var up = logit, down = logit
                up[v] += eps; down[v] -= eps
                let numeric = (kl(up) - kl(down)) / Double(2 * eps)
                #expect(abs(numeric - Double(grad[v])) <= 0.05 * abs(numeric) + 2e-5,
                        "token \(v): gradient \(grad[v]), central difference \(numeric)")
            }
        }

        // Tuning with the teacher lowers the validation KL, and resumes exactly.
        var options = Self.options()
        options.tuner.distill = 1
        options.tuner.validationEvery = 4
        let a = try HeadTuning.run(model: hydra, head: head, textFiles: [text], pairFiles: [pairs],
                                   pairSource: try Language.named("en"), options: options, work: folder + "/a.work",
                                   out: folder + "/a.gguf")
        #expect(a.validationRows > 0 && a.teacherAfter < a.teacherBefore - 0.1, "\(a)")
        let stopped = try HeadTuning.run(model: hydra, head: head, textFiles: [text], pairFiles: [pairs],
                                         pairSource: try Language.named("en"), options: options,
                                         work: folder + "/b.work", out: folder + "/b.gguf", stopAfter: 2)
        #expect(stopped.stopped)
        try HeadTuning.run(model: hydra, head: head, textFiles: [text], pairFiles: [pairs],
                           pairSource: try Language.named("en"), options: options, work: folder + "/b.work",
                           out: folder + "/b.gguf")
        #expect(try Self.outputRows(folder + "/a.gguf") == Self.outputRows(folder + "/b.gguf"))
        // Without the teacher the same run writes other rows.
        options.tuner.distill = 0
        try HeadTuning.run(model: hydra, head: head, textFiles: [text], pairFiles: [pairs],
                           pairSource: try Language.named("en"), options: options, work: folder + "/c.work",
                           out: folder + "/c.gguf")
        #expect(try Self.outputRows(folder + "/a.gguf") != Self.outputRows(folder + "/c.gguf"))
    }

    @Test("a factored head: the native head's probabilities passed on to the tokens that agree with them (by first native token, or to every compatible token), a distribution; tuning lowers the loss among those tokens, resumes exactly, and the written head is read factored",
          arguments: OutputFactoring.allCases)
    func factoredOutput(factoring: OutputFactoring) throws {
        let (folder, text, pairs) = try Self.corpus()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let hydra = try HydraModel(path: TestModels.path("gemma3-270m"), contextLength: 128, batchSize: 128,
                                   pool: ThreadPool(threads: 2))
        let built = try hydra.heads.load(path: Self.headPath, catalog: HeadCatalog(directories: []))
        var options = Self.options()
        options.tuner.factored = factoring
        options.tuner.validationEvery = 4
        options.name = "tt-factored"
        let english = try Language.named("en")
        let a = try HeadTuning.run(model: hydra, head: built, textFiles: [text], pairFiles: [pairs], pairSource: english,
                                   options: options, work: folder + "/a.work", out: folder + "/a.gguf")
        #expect(a.validationRows > 0 && a.validationAfter < a.validationBefore - 0.1, "\(a)")
        let stopped = try HeadTuning.run(model: hydra, head: built, textFiles: [text], pairFiles: [pairs],
                                         pairSource: english, options: options, work: folder + "/b.work",
                                         out: folder + "/b.gguf", stopAfter: 2)
        #expect(stopped.stopped)
        try HeadTuning.run(model: hydra, head: built, textFiles: [text], pairFiles: [pairs], pairSource: english,
                           options: options, work: folder + "/b.work", out: folder + "/b.gguf")
        #expect(try Self.outputRows(folder + "/a.gguf") == Self.outputRows(folder + "/b.gguf"))
        #expect(try GGUFFile(path: folder + "/a.gguf").string(HeadKeys.outputFactored) == factoring.rawValue)
        // A factored head is not distilled.
        options.tuner.distill = 1
        #expect(throws: HydraError.self) {
            try HeadTuning.run(model: hydra, head: built, textFiles: [text], pairFiles: [], pairSource: english,
                               options: options, work: folder + "/c.work", out: folder + "/c.gguf")
        }

        // Read back, its logits are log-probabilities: exp sums to 1, and (first-token) each group of tokens
        // holds the native head's probability of its native token (renormalised over the groups), or
        // (compatible) each token the sum over its compatible native tokens of their probability times its
        // share of their tokens by the rows, from the runtime's own native logits of the same hidden state.
        let head = try hydra.heads.load(path: folder + "/a.gguf", catalog: HeadCatalog(directories: []))
        #expect(head.info.factored == factoring && head.output?.factored?.factoring == factoring)
        let groups = NativeGroups(head: head, native: hydra.native, count: head.vocabulary.count)
        let end = try #require(head.vocabulary.endOfGeneration.first)
        #expect(groups.first[Int(end)] >= 0, "the end token has a native token, so a factored answer can end")
        let compatibility = NativeCompatibility(head: head, native: hydra.native, count: head.vocabulary.count)
        if factoring == .compatible { try Self.checkCompatibility(compatibility, head: head, native: hydra.native) }
        let sequences = try TuningCorpus.textSequences(try HeadTuning.readLines(text), head: head, maxLength: 96, pack: 96)
        let cache = try HiddenStateCache(folder: folder + "/states", width: 640)
        try cache.fill(Array(sequences.prefix(1)), model: hydra)
        let d = 640
        let native = try #require(hydra.native.output), output = try #require(head.output)
        for r in [0, cache.rows / 2, cache.rows - 1] {
            let h = (0..<d).map { HalfFloat.float(fromHalf: cache.hidden[r * d + $0]) }
            let logits = output.logits(hidden: h, pool: nil)
            let total = logits.reduce(0.0) { $0 + exp(Double($1)) }
            #expect(abs(total - 1) < 1e-3, "the probabilities sum to \(total)")
            let nativeLogits = native.logits(hidden: h, pool: nil)
            if factoring == .compatible {
                // The rows alone (the same matrix, not factored), then the mixture in doubles.
                let z = OutputHead(matrix: output.matrix).logits(hidden: h, pool: nil).map(Double.init)
                let a = compatibility.natives.map { Double(nativeLogits[Int($0)]) }
                let top = a.max()!, lse = top + log(a.reduce(0.0) { $0 + exp($1 - top) })
                var p = [Double](repeating: 0, count: z.count)
                for n in compatibility.natives {
                    let heads = compatibility.heads(of: Int(n))
                    let zTop = heads.map { z[Int($0)] }.max()!
                    let share = exp(Double(nativeLogits[Int(n)]) - lse) / heads.reduce(0.0) { $0 + exp(z[Int($1)] - zTop) }
                    for t in heads { p[Int(t)] += share * exp(z[Int(t)] - zTop) }
                }
                let worst = p.indices.filter { p[$0] > 1e-6 }.map { abs(log(p[$0]) - Double(logits[$0])) }.max()!
                #expect(worst < 1e-3, "a token's log-probability differs from the mixture's by \(worst)")
                continue
            }
            let natives = Set(groups.first.filter { $0 >= 0 })
            let top = natives.map { Double(nativeLogits[Int($0)]) }.max()!
            let z = natives.reduce(0.0) { $0 + exp(Double(nativeLogits[Int($1)]) - top) }
            var mass: [Int32: Double] = [:]
            for (t, g) in groups.first.enumerated() where g >= 0 { mass[g, default: 0] += exp(Double(logits[t])) }
            let worst = natives.map { abs(mass[$0, default: 0] - exp(Double(nativeLogits[Int($0)]) - top) / z) }.max()!
            #expect(worst < 1e-4, "a group's probability differs from the native head's by \(worst)")
        }
    }

    /// The pairs of a few of the head's tokens, against every native token's text.
    static func checkCompatibility(_ c: NativeCompatibility, head: Head, native: Head) throws {
        let nativeTexts = (0..<native.vocabulary.count).map { n -> [UInt8] in
            native.vocabulary.attributes[n].isDisjoint(with: [.control, .userDefined, .unknown]) ? native.tokenizer.piece(Int32(n)) : []
        }
        var checked = 0
        for t in stride(from: 300, to: head.vocabulary.count, by: 997) {
            let text = head.tokenizer.piece(Int32(t))
            guard !text.isEmpty, head.vocabulary.attributes[t].isDisjoint(with: [.control, .userDefined, .unknown]) else { continue }
            let expected = nativeTexts.indices.filter { n in
                let m = nativeTexts[n]
                return !m.isEmpty && (m.starts(with: text) || text.starts(with: m))
            }
            #expect(c.natives(of: t).map(Int.init) == expected, "token \(t) '\(String(decoding: text, as: UTF8.self))'")
            for n in expected { #expect(c.heads(of: n).contains(Int32(t))) }
            checked += 1
        }
        #expect(checked > 5)
        #expect(c.natives.allSatisfy { !c.heads(of: Int($0)).isEmpty })
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
        let distill = try CLI.run(["heads", "tune", "--head", Self.headPath, "--text", text, "--distill", "-1",
                                   "--out", folder + "/x.gguf"])
        #expect(distill.status != 0 && distill.stderr.contains("--distill"), "\(distill.stderr)")
        let held = try CLI.run(["heads", "tune", "--head", Self.headPath, "--pairs", "data/heldout/en-tt.tsv",
                                "--out", folder + "/x.gguf"])
        #expect(held.status != 0 && held.stderr.contains("held-out"), "\(held.stderr)")
    }
}
