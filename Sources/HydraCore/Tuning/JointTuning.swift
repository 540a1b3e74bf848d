import COpenBLAS
import Foundation

/// `hydra heads tune-jointly`: a head's input and output rows tuned
/// together by next-token loss through the whole frozen body (Tweety
/// stage 1, Remy et al. 2024; shared METHODS). The sequences are those of
/// `heads tune` (`TuningCorpus`): running text (the head's BOS, then packed
/// lines) and translation pairs (hydra's prompt through the source head,
/// then the answer through this head). Each runs through every block
/// (`FloatBlocks`), the final norm and the output rows; the loss is the
/// mean cross-entropy of the trained positions' next tokens. Its gradient
/// reaches the output rows directly and the input rows of this head's
/// tokens through the body; Adam moves both, one step every
/// `sequencesPerStep` sequences. The output rows are pulled towards their
/// initial values (λ‖W − W₀‖², as `heads tune` does: with a full softmax
/// every row gets a gradient, and rows of tokens the text rarely shows
/// would otherwise drift); input rows move only when their token is read.
///
/// A recipe head is written as its map plus the input rows tuning moved
/// and the output rows (Q8_0 by default): a few hundred input rows instead
/// of a whole table; any other head as a dense head. Everything
/// lives in a work folder: what the run is made from and a checkpoint; a
/// second run continues where the first stopped and writes the same head.
public enum JointTuning {
    public struct Options: Sendable {
        /// Adam learning rate of the input rows.
        public var learningRate: Float = 5e-4
        /// Adam learning rate of the output rows.
        public var outputLearningRate: Float = 5e-4
        /// λ of the output rows' pull towards their initial values.
        public var l2: Float = 1e-2
        public var epochs = 1
        /// End the run after this many steps in all (nil: every step of `epochs`).
        public var steps: Int?
        public var sequencesPerStep = 4
        public var seed: UInt64 = 1
        /// Every Nth sequence is kept out of training to measure the loss on (0: none), as `heads tune` does.
        public var validationEvery = 50
        public var checkpointEvery = 5
        /// Every N steps, also measure the validation loss and write the head so far
        /// (`snapshotPath(out, step:)`), for a curve of quality against tuning tokens (0: never).
        public var snapshotEvery = 0
        public var tableType: GGMLType = HeadFileWriter.defaultTableType
        public var name: String?
        public init() {}

        var identity: String {
            "lr \(learningRate) output lr \(outputLearningRate) l2 \(l2) epochs \(epochs) per step \(sequencesPerStep) seed \(seed) validation \(validationEvery)"
        }
    }

    public typealias Event = ThroughBodyEvent

    public typealias Result = ThroughBodyResult

    /// Tunes `head` on the sequences `heads tune` would build from the same
    /// files and `corpus` settings (its pack, pairs, prompt language and
    /// examples; its tuner and table settings are not read).
    @discardableResult
    public static func run(model: HydraModel, head: Head, textFiles: [String], pairFiles: [String],
                           pairSource: Language, corpus: HeadTuning.Options, options: Options, work: String,
                           out: String, stopAfter: Int? = nil, events: (Event) -> Void = { _ in }) throws -> Result {
        try TuningCorpus.checkNotHeldOut(textFiles + pairFiles + [out, work])
        guard !textFiles.isEmpty || !pairFiles.isEmpty else {
            throw HydraError.invalidInput("no tuning text: give text files or pair files")
        }
        guard let output = head.output else { throw HydraError.invalidInput("head '\(head.name)' has no output rows") }
        guard output.tokens == nil else {
            throw HydraError.invalidInput("head '\(head.name)' is a slice: its input rows are the model's own")
        }
        guard output.bias == nil else {
            throw HydraError.invalidInput("head '\(head.name)' has an output bias, which tuning does not handle yet")
        }
        try head.checkFits(model.body)
        guard options.learningRate > 0, options.learningRate.isFinite, options.outputLearningRate >= 0,
              options.outputLearningRate.isFinite, options.l2 >= 0, options.l2.isFinite, options.epochs >= 1,
              options.sequencesPerStep >= 1, options.checkpointEvery >= 1, (options.steps ?? 1) >= 1, options.validationEvery >= 0, options.snapshotEvery >= 0,
              corpus.maxLength >= 2 else {
            throw HydraError.invalidInput("tuning settings out of range")
        }
        let e = model.config.embeddingLength
        let vocabulary = output.vocabularySize
        let sequences = try HeadTuning.corpus(model: model, head: head, textFiles: textFiles, pairFiles: pairFiles,
                                              pairSource: pairSource, options: corpus, limit: corpus.maxLength)
        guard sequences.allSatisfy({ $0.targets.allSatisfy { Int($0) < vocabulary } }) else {
            throw HydraError.invalidInput("a target token lies outside the head's \(vocabulary) output rows")
        }
        let every = options.validationEvery
        let validation = sequences.indices.filter { every > 0 && $0 % every == every - 1 }
        let train = sequences.indices.filter { every == 0 || $0 % every != every - 1 }
        guard !train.isEmpty else { throw HydraError.invalidInput("the tuning text gave no sequence to train on") }
        events(.corpus(train: train.count, validation: validation.count, positions: sequences.reduce(0) { $0 + $1.targets.count }))

        let blocks = try FloatBlocks(body: model.body, depth: model.config.layerCount)
        openblas_set_num_threads(Int32(model.pool.threads))  // fixed threads: the same sums on every run
        var inputs = InputRowAdam(head: head, width: e)
        // What a recipe head is written back as: its map, and the rows that move from where they start.
        let start = Start(recipe: try HeadFile.recipe(of: head), inputs: inputs.rows)
        var outputOptions = OutputRowTuner.Options()
        outputOptions.learningRate = options.outputLearningRate
        outputOptions.l2 = options.l2
        let outputs = OutputRowTuner(initial: HeadTuning.rows(of: TokenEmbedding(matrix: output.matrix)),
                                     rows: vocabulary, width: e, softcap: nil, options: outputOptions)

        // The work folder: what the run is made from, and a checkpoint of both tables.
        var h = FNV1a()
        h.add("hydra-joint-v1"); h.add(BodyFingerprint(body: model.body).description); h.add(options.identity)
        inputs.rows.withUnsafeBytes { h.add($0.bindMemory(to: UInt8.self)) }
        outputs.weights.withUnsafeBytes { h.add($0.bindMemory(to: UInt8.self)) }
        for q in sequences {
            for t in q.inputs { h.add(t.head === head ? "h" : t.head.name); h.add(UInt64(UInt32(bitPattern: t.token))) }
            for (p, t) in zip(q.positions, q.targets) { h.add(UInt64(UInt32(bitPattern: p)) << 32 | UInt64(UInt32(bitPattern: t))) }
            h.add("|")
        }
        let identity = BodyFingerprint(value: h.value).description
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let identityPath = work + "/identity", inputCheckpoint = work + "/inputs.bin", outputCheckpoint = work + "/outputs.bin"
        if let old = try? String(contentsOfFile: identityPath, encoding: .utf8), old != identity + "\n" {
            throw HydraError.invalidInput("the work folder \(work) holds a run over other text, head, body or settings: remove it or give another --work")
        }
        try (identity + "\n").write(toFile: identityPath, atomically: true, encoding: .utf8)
        if FileManager.default.fileExists(atPath: inputCheckpoint) {
            try inputs.restore(from: inputCheckpoint)
            try outputs.restore(from: outputCheckpoint)
            guard outputs.step == inputs.step else {
                throw HydraError.invalidInput("the checkpoints in \(work) are of different steps: remove the folder to start over")
            }
            events(.resumed(step: inputs.step))
        }
        func save() throws {
            try outputs.save(to: outputCheckpoint)
            try inputs.save(to: inputCheckpoint)
        }

        var result = Result()
        func validationLoss() -> Double {
            guard !validation.isEmpty else { return .nan }
            let nats = packed(validation.map { sequences[$0] }).reduce(0.0) {
                $0 + loss(blocks, $1, head: head, inputs: inputs, outputs: outputs.weights, vocabulary: vocabulary)
            }
            return nats / Double(validation.reduce(0) { $0 + sequences[$1].targets.count })
        }
        if inputs.step == 0 {
            result.validationBefore = validationLoss()
            if !result.validationBefore.isNaN { events(.validation(step: 0, loss: result.validationBefore)) }
        }
        let perEpoch = (train.count + options.sequencesPerStep - 1) / options.sequencesPerStep
        let total = min(perEpoch * options.epochs, options.steps ?? .max)
        guard inputs.step <= total else {
            throw HydraError.invalidInput("the checkpoint in \(work) is of step \(inputs.step), past the \(total) steps asked for: remove the folder to start over")
        }
        while inputs.step < total {
            if let stopAfter, inputs.step >= stopAfter {
                try save()
                result.steps = inputs.step
                result.stopped = true
                return result
            }
            let epoch = inputs.step / perEpoch, k = inputs.step % perEpoch
            let order = seededOrder(train.count, seed: options.seed &+ UInt64(epoch))
            let per = options.sequencesPerStep
            let batch = order[k * per..<min((k + 1) * per, train.count)].map { sequences[train[$0]] }
            let positions = batch.reduce(0) { $0 + $1.targets.count }
            var gradient: Gradient? = Gradient(scale: 1 / Float(positions), outputs: vocabulary * e)
            var nats = 0.0
            for pass in packed(batch) {
                nats += loss(blocks, pass, head: head, inputs: inputs, outputs: outputs.weights, vocabulary: vocabulary,
                             gradient: &gradient)
            }
            inputs.adam(gradient!.inputs, learningRate: options.learningRate)
            outputs.apply(gradient: gradient!.outputs)
            inputs.step += 1
            events(.step(step: inputs.step, total: total, loss: nats / Double(positions),
                         tokens: batch.reduce(0) { $0 + $1.inputs.count }))
            if inputs.step % options.checkpointEvery == 0 && inputs.step < total { try save() }
            if options.snapshotEvery > 0 && inputs.step % options.snapshotEvery == 0 && inputs.step < total {
                let loss = validationLoss()
                if !loss.isNaN { events(.validation(step: inputs.step, loss: loss)) }
                try write(head, start: start, inputs: inputs.rows, outputs: outputs.weights, width: e, options: options,
                          promptLanguage: try corpus.prompted(head), sequences: train.count,
                          to: snapshotPath(out, step: inputs.step))
            }
        }
        result.steps = inputs.step
        result.validationAfter = validationLoss()
        if !result.validationAfter.isNaN { events(.validation(step: inputs.step, loss: result.validationAfter)) }
        try write(head, start: start, inputs: inputs.rows, outputs: outputs.weights, width: e, options: options,
                  promptLanguage: try corpus.prompted(head), sequences: train.count, to: out)
        return result
    }

    /// Where the snapshot of step `step` goes: `out` with `.stepN` before its extension (tt.gguf → tt.step50.gguf).
    public static func snapshotPath(_ out: String, step: Int) -> String {
        let url = URL(fileURLWithPath: out)
        let ext = url.pathExtension
        let stem = ext.isEmpty ? out : String(out.dropLast(ext.count + 1))
        return stem + ".step\(step)" + (ext.isEmpty ? "" : "." + ext)
    }

    /// Short sequences run side by side in one pass of the body (each
    /// attending only to itself) until they hold this many inputs: the
    /// products then read each weight once for all of them. A longer
    /// sequence runs alone, so a pass needs no more memory than the longest
    /// sequence `heads tune` packs.
    static let passInputs = 256

    /// `sequences` packed into passes of the body, in order: as many consecutive ones as fit in `passInputs`.
    static func packed(_ sequences: [TuningSequence]) -> [Packed] {
        var result: [Packed] = []
        for q in sequences {
            if let last = result.last, last.sequence.inputs.count + q.inputs.count <= passInputs {
                result[result.count - 1].append(q)
            } else {
                result.append(Packed(q))
            }
        }
        return result
    }

    /// Sequences packed one after another: their inputs, positions (moved by the inputs before them) and targets.
    struct Packed {
        var sequence: TuningSequence
        var segments: [Int]

        init(_ q: TuningSequence) {
            sequence = q
            segments = [q.inputs.count]
        }

        mutating func append(_ q: TuningSequence) {
            let offset = Int32(sequence.inputs.count)
            sequence.inputs += q.inputs
            sequence.positions += q.positions.map { $0 + offset }
            sequence.targets += q.targets
            segments.append(q.inputs.count)
        }
    }

    /// A step's gradient: of the input rows by token, and of the output rows (vocabulary × e).
    struct Gradient {
        /// What each sequence's summed loss is multiplied by (1 / the step's positions: a mean).
        let scale: Float
        var inputs: [Int32: [Float]] = [:]
        var outputs: [Float]

        init(scale: Float, outputs count: Int) {
            self.scale = scale
            outputs = [Float](repeating: 0, count: count)
        }
    }

    /// The summed cross-entropy (nats) of the pass's targets through the
    /// body and `outputs` (vocabulary × e), `head`'s input rows from `inputs`.
    static func loss(_ blocks: FloatBlocks, _ packed: Packed, head: Head, inputs: InputRowAdam,
                     outputs: [Float], vocabulary: Int) -> Double {
        var none: Gradient?
        return loss(blocks, packed, head: head, inputs: inputs, outputs: outputs, vocabulary: vocabulary, gradient: &none)
    }

    /// The same, adding its gradient × `gradient.scale` to `gradient`.
    static func loss(_ blocks: FloatBlocks, _ packed: Packed, head: Head, inputs: InputRowAdam,
                     outputs: [Float], vocabulary: Int, gradient: inout Gradient?) -> Double {
        let sequence = packed.sequence
        let e = inputs.width, n = sequence.inputs.count, m = sequence.positions.count
        let pass = blocks.forward(inputs.inputs(sequence.inputs, tuned: head), count: n, segments: packed.segments)
        let normed = blocks.finalNorm(pass.output, count: n)
        // The trained positions' normed states (m × e), their logits (m × vocabulary); then, in place,
        // scale × (softmax − one-hot of the target).
        var states = [Float](repeating: 0, count: m * e)
        for (r, p) in sequence.positions.enumerated() {
            for i in 0..<e { states[r * e + i] = normed[Int(p) * e + i] }
        }
        var logits = [Float](repeating: 0, count: m * vocabulary)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(m), Int32(vocabulary), Int32(e), 1, states, Int32(e),
                    outputs, Int32(e), 0, &logits, Int32(vocabulary))
        var nats = 0.0
        logits.withUnsafeMutableBufferPointer { l in
            for r in 0..<m {
                let row = l.baseAddress! + r * vocabulary
                var top = -Float.infinity
                for j in 0..<vocabulary where row[j] > top { top = row[j] }
                var sum = 0.0
                for j in 0..<vocabulary { sum += Double(expf(row[j] - top)) }
                let logSum = Float(log(sum)) + top
                let target = Int(sequence.targets[r])
                nats += Double(logSum - row[target])
                guard let scale = gradient?.scale else { continue }
                for j in 0..<vocabulary { row[j] = expf(row[j] - logSum) * scale }
                row[target] -= scale
            }
        }
        guard gradient != nil else { return nats }
        // Output rows: dW += dLogitsᵀ · states. The states: dStates = dLogits · W, back at their positions.
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(vocabulary), Int32(e), Int32(m), 1, logits,
                    Int32(vocabulary), states, Int32(e), 1, &gradient!.outputs, Int32(e))
        var dStates = [Float](repeating: 0, count: m * e)
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(m), Int32(e), Int32(vocabulary), 1, logits,
                    Int32(vocabulary), outputs, Int32(e), 0, &dStates, Int32(e))
        var dNormed = [Float](repeating: 0, count: n * e)
        for (r, p) in sequence.positions.enumerated() {
            for i in 0..<e { dNormed[Int(p) * e + i] += dStates[r * e + i] }
        }
        let dx = blocks.backward(pass, outputGradient: blocks.finalNormBack(pass.output, dNormed, count: n))
        inputs.accumulate(dx, tokens: sequence.inputs, tuned: head, into: &gradient!.inputs)
        return nats
    }

    /// A recipe head's map as read when the run began, and the input rows it started from.
    struct Start {
        let recipe: (recipe: HeadRecipe, source: RecipeSource, inputRows: RowPatch?)?
        let inputs: [Float]
    }

    /// Writes `head` with the tuned input and output rows: a recipe head as
    /// its map, the input rows tuning moved (those of the tokens its text
    /// read, and any the head already stored) and the output rows; any
    /// other head as a dense head.
    static func write(_ head: Head, start: Start, inputs: [Float], outputs: [Float], width: Int, options: Options,
                      promptLanguage: Language, sequences: Int, to out: String) throws {
        var info = head.info
        info.name = options.name ?? head.info.name
        info.output = .separate
        info.promptLanguage = promptLanguage.code == head.language ? nil : promptLanguage.code
        let note = String(format: "input and output rows tuned jointly by next-token loss through the frozen body on %d sequences: Adam lr %g (output rows %g, L2 %g towards their initial values), %d sequences a step, %d epochs, seed %llu",
                          sequences, Double(options.learningRate), Double(options.outputLearningRate), Double(options.l2),
                          options.sequencesPerStep, options.epochs, options.seed)
        info.provenance = .init(method: "\(head.info.provenance.method) + jointly tuned rows",
                                source: head.info.provenance.source,
                                notes: [head.info.provenance.notes, note].compactMap { $0 }.joined(separator: "; "))
        let type = width % options.tableType.blockElements == 0 ? options.tableType : .f16
        if let stored = start.recipe {
            let moved = try RowPatch(changed: inputs, from: start.inputs, width: width, keeping: stored.inputRows?.tokens ?? [])
            try HeadFileWriter.writeRecipe(info: info, tokenizer: head.tokenizerMetadata, recipe: stored.recipe,
                                           source: stored.source, output: outputs, inputRows: moved, width: width,
                                           tableType: type, memory: head.memory, to: out)
        } else {
            try HeadFileWriter.writeDense(info: info, tokenizer: head.tokenizerMetadata, embedding: inputs, output: outputs,
                                          width: width, tableType: type, memory: head.memory, to: out)
        }
    }
}
