import Foundation
import Testing
@testable import HydraCore

/// `hydra heads tune-jointly`: the trans-tokenized 400-token Tatar head of
/// `TokenDistillationTests` tuned through all 30 blocks of smollm2-135m,
/// on running text and on translation prompts (the model's own tokens,
/// then the head's).
@Suite("Joint tuning through the body", .serialized)
struct JointTuningTests {
    static func options() -> JointTuning.Options {
        var o = JointTuning.Options()
        o.learningRate = 2e-3
        o.outputLearningRate = 2e-3
        o.sequencesPerStep = 3
        o.validationEvery = 5
        o.checkpointEvery = 2
        o.tableType = .f32
        o.name = "tt-joint-test"
        return o
    }

    /// The sequences: 40 lines of text one a sequence, then 8 pairs as hydra's prompt.
    static func corpus() -> HeadTuning.Options {
        var c = HeadTuning.Options()
        c.pack = 0
        c.maxLength = 160
        c.maxPairs = 8
        return c
    }

    static func run(_ model: HydraModel, _ head: Head, folder: String, text: String, work: String, out: String,
                    stopAfter: Int? = nil, steps: Int? = nil, snapshotEvery: Int = 0,
                    events: (JointTuning.Event) -> Void = { _ in }) throws -> JointTuning.Result {
        var options = options()
        options.snapshotEvery = snapshotEvery
        options.steps = steps
        return try JointTuning.run(model: model, head: head, textFiles: [text], pairFiles: [folder + "/pairs.tsv"],
                            pairSource: try Language.named("en"), corpus: corpus(), options: options,
                            work: folder + "/" + work, out: folder + "/" + out, stopAfter: stopAfter, events: events)
    }

    /// What a tuned recipe head stores: the input rows tuning moved (their
    /// tokens and rows) and the output rows, as bytes.
    static func tables(_ path: String) throws -> (input: [UInt8], output: [UInt8]) {
        let file = try GGUFFile(path: path)
        func bytes(_ name: String) throws -> [UInt8] {
            let t = try #require(file.tensor(named: name))
            return Array(UnsafeRawBufferPointer(start: t.data, count: t.byteCount))
        }
        return (try bytes(HeadKeys.recipeInputTokens) + bytes(HeadKeys.recipeInputRows), try bytes(HeadKeys.outputTensor))
    }

    /// The head's output rows as floats (vocabulary × e).
    static func outputRows(_ head: Head) throws -> [Float] {
        HeadTuning.rows(of: TokenEmbedding(matrix: try #require(head.output).matrix))
    }

    @Test("the float pass's loss equals the runtime's, packed sequences keep their losses, and the gradient is the loss's derivative")
    func lossAndGradient() throws {
        let (folder, headPath, _) = try TokenDistillationTests.setUp()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // A context long enough for a translation prompt.
        let model = try HydraModel(path: TestModels.path("smollm2-135m"), contextLength: 192, batchSize: 192,
                                   pool: ThreadPool(threads: 2))
        let head = try model.heads.load(path: headPath, catalog: HeadCatalog(directories: []))
        let text = try #require(try TuningCorpus.textSequences(["Бүген һава бик яхшы, без паркка барабыз."], head: head,
                                                               maxLength: 64).first)
        let pair = try #require(try TuningCorpus.pairSequences(
            [(source: "The weather is good.", target: "Һава яхшы.")], model: model, source: model.native, head: head,
            from: try Language.named("en"), to: try Language.named("tt"), maxLength: 160).first)
        #expect(pair.inputs.contains { $0.head !== head } && pair.inputs.contains { $0.head === head })
        let blocks = try FloatBlocks(body: model.body, depth: model.config.layerCount)
        let e = model.config.embeddingLength
        var inputs = InputRowAdam(head: head, width: e)
        var outputs = try Self.outputRows(head)
        let vocabulary = head.output!.vocabularySize

        // The runtime's cross-entropy of the same targets (its logits equal llama.cpp's).
        for sequence in [text, pair] {
            model.state.reset()
            let logits = try model.forwardAll(sequence.inputs, startPosition: 0, logitsFrom: head)
            let runtime = logits.withUnsafeBufferPointer { l in
                zip(sequence.positions, sequence.targets).reduce(0.0) {
                    $0 + HeadEvaluation.negativeLog2(l.baseAddress! + Int($1.0) * vocabulary, count: vocabulary, of: Int($1.1))
                } * log(2.0)
            }
            let float = JointTuning.loss(blocks, .init(sequence), head: head, inputs: inputs, outputs: outputs,
                                         vocabulary: vocabulary)
            #expect(abs(float - runtime) <= 0.02 * runtime, "float pass \(float) nats, runtime \(runtime) nats")
            #expect(float != runtime)  // two computations, not one read twice
        }

        // Both in one pass, side by side: each attends only to itself at its own positions.
        var both = JointTuning.Packed(text)
        both.append(pair)
        #expect(both.segments == [text.inputs.count, pair.inputs.count])
        let apart = [text, pair].reduce(0.0) {
            $0 + JointTuning.loss(blocks, .init($1), head: head, inputs: inputs, outputs: outputs, vocabulary: vocabulary)
        }
        let packed = JointTuning.loss(blocks, both, head: head, inputs: inputs, outputs: outputs, vocabulary: vocabulary)
        #expect(abs(packed - apart) <= 1e-4 * apart, "packed \(packed) nats, apart \(apart) nats")

        // The gradient of the packed pass: the model's own tokens feed the pair's prompt, the head's the rest.
        var gradient: JointTuning.Gradient? = JointTuning.Gradient(scale: 1, outputs: vocabulary * e)
        _ = JointTuning.loss(blocks, both, head: head, inputs: inputs, outputs: outputs, vocabulary: vocabulary,
                             gradient: &gradient)
        var random = SeededGenerator(seed: 11)
        func gaussian() -> Float { Float((-2 * log(random.nextUnit())).squareRoot() * cos(2 * .pi * random.nextUnit())) }
        // Input rows: a random direction over the head's rows the pass reads.
        let read = Set(both.sequence.inputs.filter { $0.head === head }.map(\.token)).sorted()
        #expect(read.count == gradient!.inputs.count)
        var direction = [Float](repeating: 0, count: inputs.rows.count)
        for id in read { for i in 0..<e { direction[Int(id) * e + i] = gaussian() } }
        let inputSlope = read.reduce(0.0) { s, id in
            s + (0..<e).reduce(0.0) { $0 + Double(gradient!.inputs[id]![$1] * direction[Int(id) * e + $1]) }
        }
        let original = inputs.rows
        func inputLoss(_ h: Float) -> Double {
            inputs.rows = zip(original, direction).map { $0 + h * $1 }
            return JointTuning.loss(blocks, both, head: head, inputs: inputs, outputs: outputs, vocabulary: vocabulary)
        }
        let h = Float(0.05 / abs(inputSlope))
        let inputNumeric = (inputLoss(h) - inputLoss(-h)) / Double(2 * h)
        inputs.rows = original
        #expect(abs(inputNumeric - inputSlope) <= 0.02 * abs(inputNumeric),
                "input rows: finite differences \(inputNumeric), backward pass \(inputSlope)")
        // Output rows: a random direction over all of them.
        let outputDirection = (0..<outputs.count).map { _ in gaussian() }
        let outputSlope = zip(gradient!.outputs, outputDirection).reduce(0.0) { $0 + Double($1.0 * $1.1) }
        let initial = outputs
        func outputLoss(_ h: Float) -> Double {
            outputs = zip(initial, outputDirection).map { $0 + h * $1 }
            return JointTuning.loss(blocks, both, head: head, inputs: inputs, outputs: outputs, vocabulary: vocabulary)
        }
        // The loss is far more curved along output rows (they feed the logits directly): a smaller step.
        let k = Float(0.002 / abs(outputSlope))
        let outputNumeric = (outputLoss(k) - outputLoss(-k)) / Double(2 * k)
        #expect(abs(outputNumeric - outputSlope) <= 0.02 * abs(outputNumeric),
                "output rows: finite differences \(outputNumeric), gradient \(outputSlope)")
    }

    @Test("the validation loss falls, both tables move, a stopped run resumed writes the same head, --steps N writes step N's head, snapshots change nothing, the memory stays, a recipe head stores only the input rows that moved")
    func lossFallsAndResumeIsExact() throws {
        let (folder, headPath, text) = try TokenDistillationTests.setUp()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        // A translation memory in the head, which the tuned heads must keep.
        let memory = try TranslationMemory(pairs: [.init(source: "Good morning.", target: "Хәерле иртә."),
                                                   .init(source: "Thank you.", target: "Рәхмәт.")], sourceLanguage: "en")
        try HeadDecoding.recommend(input: headPath, output: headPath, .init(memory: memory))
        let (model, head) = try TokenDistillationTests.load(headPath)
        #expect(head.memory?.pairs.count == 2)

        var losses: [Double] = [], snapshotLosses: [Int: Double] = [:]
        let straight = try Self.run(model, head, folder: folder, text: text, work: "a.work", out: "a.gguf",
                                    snapshotEvery: 5) { e in
            if case .step(_, _, let loss, _) = e { losses.append(loss) }
            if case .validation(let step, let loss) = e { snapshotLosses[step] = loss }
        }
        #expect(straight.steps >= 10)  // 39 sequences to train on, 3 a step
        #expect(straight.validationAfter < 0.95 * straight.validationBefore,
                "validation loss \(straight.validationBefore) -> \(straight.validationAfter)")
        #expect(losses.allSatisfy { $0.isFinite })

        let stopped = try Self.run(model, head, folder: folder, text: text, work: "b.work", out: "b.gguf", stopAfter: 3)
        #expect(stopped.stopped && !FileManager.default.fileExists(atPath: folder + "/b.gguf"))
        var resumed = false
        try Self.run(model, head, folder: folder, text: text, work: "b.work", out: "b.gguf") { e in
            if case .resumed(let step) = e { resumed = step == 3 }
        }
        #expect(resumed)
        let a = try Self.tables(folder + "/a.gguf"), b = try Self.tables(folder + "/b.gguf")
        #expect(a.input == b.input && a.output == b.output)  // b wrote no snapshots
        // A checkpoint past the steps asked for is refused; --steps 5 writes what the run had at step 5.
        #expect(throws: HydraError.self) {
            try Self.run(model, head, folder: folder, text: text, work: "b.work", out: "c.gguf", steps: 2)
        }
        let five = try Self.run(model, head, folder: folder, text: text, work: "c.work", out: "c.gguf", steps: 5)
        #expect(five.steps == 5 && !five.stopped)

        // The snapshots: every 5th step before the last, each with its validation loss, between the start and the end.
        #expect(JointTuning.snapshotPath(folder + "/a.gguf", step: 5) == folder + "/a.step5.gguf")
        let snapshots = stride(from: 5, to: straight.steps, by: 5).map { $0 }
        #expect(!snapshots.isEmpty && snapshots.allSatisfy { snapshotLosses[$0] != nil })
        #expect(snapshots.allSatisfy { FileManager.default.fileExists(atPath: JointTuning.snapshotPath(folder + "/a.gguf", step: $0)) })
        #expect(!FileManager.default.fileExists(atPath: JointTuning.snapshotPath(folder + "/a.gguf", step: straight.steps)))
        let first = try Self.tables(JointTuning.snapshotPath(folder + "/a.gguf", step: 5))
        #expect(first.input != a.input && first.output != a.output)
        let c = try Self.tables(folder + "/c.gguf")
        #expect(c.input == first.input && c.output == first.output)
        #expect(snapshotLosses[5]! < straight.validationBefore)
        let snapshot = try HeadDecoding.memory(of: GGUFFile(path: JointTuning.snapshotPath(folder + "/a.gguf", step: 5)))
        #expect(snapshot?.pairs.map(\.target) == memory.pairs.map(\.target))

        let tuned = try model.heads.load(path: folder + "/a.gguf", catalog: HeadCatalog(directories: []))
        #expect(tuned.kind == "recipe" && tuned.info.provenance.method.hasSuffix("+ jointly tuned rows"))
        #expect(tuned.memory?.pairs.map(\.source) == memory.pairs.map(\.source))
        let builtOutput = try Self.outputRows(head), tunedOutput = try Self.outputRows(tuned)
        #expect(builtOutput != tunedOutput)
        // The tuned recipe head stores exactly the input rows that moved, with the values tuning gave them (F32 here).
        let built = HeadTuning.rows(of: head.embedding), moved = HeadTuning.rows(of: tuned.embedding)
        let e = model.config.embeddingLength
        let changed = (0..<head.embedding.rowCount).filter { built[$0 * e..<($0 + 1) * e] != moved[$0 * e..<($0 + 1) * e] }
        let stored = try #require(try HeadFile.recipe(of: folder + "/a.gguf").inputRows)
        #expect(!changed.isEmpty && stored.tokens.map { Int($0) } == changed)
        #expect(try GGUFFile(path: folder + "/a.gguf").int(HeadKeys.formatVersion) == 2)
    }

    @Test("held-out text is refused, by the API and the command")
    func refusals() throws {
        let (folder, headPath, _) = try TokenDistillationTests.setUp()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (model, head) = try TokenDistillationTests.load(headPath)
        let heldout = TokenDistillationTests.root.appendingPathComponent("data/heldout/en-tt.tsv").path
        #expect(throws: HydraError.self) {
            try JointTuning.run(model: model, head: head, textFiles: [], pairFiles: [heldout],
                                pairSource: try Language.named("en"), corpus: Self.corpus(), options: Self.options(),
                                work: folder + "/w", out: folder + "/o.gguf")
        }
        let cli = try CLI.run(["heads", "tune-jointly", "--model", TestModels.path("smollm2-135m"), "--head", headPath,
                               "--text", heldout, "--out", folder + "/c.gguf"])
        #expect(cli.status != 0 && cli.stderr.contains("held-out"))
    }
}
