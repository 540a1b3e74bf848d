import COpenBLAS
import Foundation

/// `hydra heads distill-inputs`: a head's input rows tuned through the
/// frozen body by Token Distillation (Dobler et al. 2025; shared METHODS):
/// the same text runs through the first `depth` blocks twice, once as the
/// model's own tokens (the teacher) and once as the head's tokens; where a
/// token of each ends at the same byte, the head's state should equal the
/// teacher's. A chunk's loss is the squared distance of the two states,
/// summed over its aligned positions, over the teacher's squared lengths
/// summed (positions where either state is over 5× the teacher's median
/// length are left out: the few with the body's massive activations); its gradient goes
/// back through the blocks (`FloatBlocks`) to the head's input rows of
/// that text, which Adam moves (one step a chunk of text).
///
/// Output rows are copied unchanged; retune them afterwards (`heads tune`)
/// on the states the new input rows give. A recipe head stays a recipe: its
/// map, the rows distillation moved stored beside it (those of the tokens
/// its text read, Q8_0 by default) and its output rows as they were; any
/// other head is written dense (both tables). Everything lives in a work folder: what the
/// run is made from and a checkpoint; a second run continues where the
/// first stopped and writes the same head.
public enum TokenDistillation {
    public struct Options: Sendable {
        /// Blocks the states are compared after.
        public var depth = 4
        public var learningRate: Float = 1e-4
        public var epochs = 1
        /// Lines are packed into chunks of up to this many bytes (a longer line is a chunk of its own).
        public var chunkBytes = 600
        /// Chunks longer than this many native tokens are skipped.
        public var maxTokens = 768
        public var seed: UInt64 = 1
        /// Every Nth chunk is kept out of training to measure the loss on (0: none).
        public var validationEvery = 50
        public var checkpointEvery = 20
        public var tableType: GGMLType = HeadFileWriter.defaultTableType
        public var name: String?
        public init() {}

        var identity: String {
            "depth \(depth) lr \(learningRate) epochs \(epochs) chunk \(chunkBytes) max \(maxTokens) seed \(seed) validation \(validationEvery)"
        }
    }

    public typealias Event = ThroughBodyEvent

    public typealias Result = ThroughBodyResult

    /// A piece of text as both tokenizations, and where their tokens end together.
    struct Chunk {
        let tokens: [Int32]        // the head's
        let native: [Int32]        // the model's own
        let aligned: [(Int, Int)]  // (head position, native position) of tokens ending at the same byte
    }

    @discardableResult
    public static func run(model: HydraModel, head: Head, textFiles: [String], options: Options, work: String,
                           out: String, stopAfter: Int? = nil, events: (Event) -> Void = { _ in }) throws -> Result {
        try TuningCorpus.checkNotHeldOut(textFiles + [out, work])
        guard !textFiles.isEmpty else { throw HydraError.invalidInput("no text to distill on") }
        guard head.output?.tokens == nil else {
            throw HydraError.invalidInput("head '\(head.name)' is a slice: its input rows are the model's own")
        }
        try head.checkFits(model.body)
        guard options.learningRate > 0, options.learningRate.isFinite, options.epochs >= 1, options.chunkBytes >= 1,
              options.maxTokens >= 2, options.checkpointEvery >= 1, options.validationEvery >= 0 else {
            throw HydraError.invalidInput("distillation settings out of range")
        }
        let e = model.config.embeddingLength
        var chunks: [Chunk] = []
        for f in textFiles { chunks += self.chunks(try HeadTuning.readLines(f), head: head, native: model.native, options: options) }
        // Indices into `chunks`.
        let validation = options.validationEvery > 0 ? Array(stride(from: 0, to: chunks.count, by: options.validationEvery)) : []
        let train = chunks.indices.filter { options.validationEvery == 0 || $0 % options.validationEvery != 0 }
        guard !train.isEmpty else { throw HydraError.invalidInput("the text gave no chunk whose tokens line up with the model's own") }
        events(.corpus(train: train.count, validation: validation.count, positions: chunks.reduce(0) { $0 + $1.aligned.count }))

        let blocks = try FloatBlocks(body: model.body, depth: options.depth)
        openblas_set_num_threads(Int32(model.pool.threads))  // fixed threads: the same sums on every run
        var state = InputRowAdam(head: head, width: e)

        // The work folder: what the run is made from, and a checkpoint.
        var h = FNV1a()
        h.add("hydra-distill-v1"); h.add(BodyFingerprint(body: model.body).description); h.add(options.identity)
        state.rows.withUnsafeBytes { h.add($0.bindMemory(to: UInt8.self)) }  // the head's rows, before any step
        for c in chunks { for t in c.tokens { h.add(UInt64(UInt32(bitPattern: t))) }; h.add("|") }
        let identity = BodyFingerprint(value: h.value).description
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let identityPath = work + "/identity", checkpoint = work + "/checkpoint.bin"
        if let old = try? String(contentsOfFile: identityPath, encoding: .utf8), old != identity + "\n" {
            throw HydraError.invalidInput("the work folder \(work) holds a run over other text, head, body or settings: remove it or give another --work")
        }
        try (identity + "\n").write(toFile: identityPath, atomically: true, encoding: .utf8)
        if FileManager.default.fileExists(atPath: checkpoint) {
            try state.restore(from: checkpoint)
            events(.resumed(step: state.step))
        }

        // The teacher's states at each chunk's aligned positions (aligned × e), run once and kept:
        // they do not change, and validation and later epochs read them again.
        var teachers = [[Float]?](repeating: nil, count: chunks.count)
        func loss(_ index: Int, learningRate: Float) -> Double {
            let chunk = chunks[index]
            let teacher = teachers[index] ?? {
                let all = blocks.forward(nativeInputs(chunk.native, model.native.embedding, width: e), count: chunk.native.count).output
                return chunk.aligned.flatMap { all[$0.1 * e..<($0.1 + 1) * e] }
            }()
            teachers[index] = teacher
            return step(blocks, chunk, teacher: teacher, &state, learningRate: learningRate, width: e)
        }

        var result = Result()
        let total = train.count * options.epochs
        func validationLoss() -> Double {
            guard !validation.isEmpty else { return .nan }
            return validation.reduce(0.0) { $0 + loss($1, learningRate: 0) } / Double(validation.count)
        }
        if state.step == 0 {
            result.validationBefore = validationLoss()
            if !result.validationBefore.isNaN { events(.validation(step: 0, loss: result.validationBefore)) }
        }
        while state.step < total {
            if let stopAfter, state.step >= stopAfter {
                try state.save(to: checkpoint)
                result.steps = state.step
                result.stopped = true
                return result
            }
            let epoch = state.step / train.count
            let order = seededOrder(train.count, seed: options.seed &+ UInt64(epoch))
            let index = train[order[state.step % train.count]]
            let value = loss(index, learningRate: options.learningRate)
            state.step += 1
            events(.step(step: state.step, total: total, loss: value, tokens: chunks[index].tokens.count))
            if state.step % options.checkpointEvery == 0 && state.step < total { try state.save(to: checkpoint) }
        }
        result.steps = state.step
        result.validationAfter = validationLoss()
        if !result.validationAfter.isNaN { events(.validation(step: state.step, loss: result.validationAfter)) }
        try write(head, rows: state.rows, width: e, options: options, chunks: train.count, to: out)
        return result
    }

    /// One chunk's loss, and (learning rate > 0) an Adam step on the rows
    /// of its tokens; `teacher` holds the model's states at the chunk's
    /// aligned positions, in their order.
    static func step(_ blocks: FloatBlocks, _ chunk: Chunk, teacher: [Float], _ state: inout InputRowAdam,
                     learningRate: Float, width e: Int) -> Double {
        let pass = blocks.forward(state.inputs(chunk.tokens), count: chunk.tokens.count)
        // The aligned positions, less those where either state is far longer than the teacher's median
        // (the body's few "massive activation" positions, which would outweigh every other).
        func squaredLength(_ x: [Float], _ row: Int) -> Float { (0..<e).reduce(Float(0)) { $0 + x[row * e + $1] * x[row * e + $1] } }
        let lengths = chunk.aligned.indices.map { squaredLength(teacher, $0) }
        let median = lengths.sorted()[lengths.count / 2]
        let kept = chunk.aligned.indices.filter {
            lengths[$0] <= 25 * median && squaredLength(pass.output, chunk.aligned[$0].0) <= 25 * median
        }
        guard !kept.isEmpty else { return 0 }
        let size = kept.reduce(Float(0)) { $0 + lengths[$1] }
        var gradient = [Float](repeating: 0, count: pass.output.count)
        var distance: Float = 0
        for a in kept {
            let p = chunk.aligned[a].0
            for i in 0..<e {
                let d = pass.output[p * e + i] - teacher[a * e + i]
                distance += d * d
                gradient[p * e + i] = 2 * d / size
            }
        }
        let loss = Double(distance / size)
        guard learningRate > 0 else { return loss }
        let dx = blocks.backward(pass, outputGradient: gradient)
        // The gradient of each row: the sum over the positions of its token.
        var rowGradient: [Int32: [Float]] = [:]
        state.accumulate(dx, tokens: chunk.tokens, into: &rowGradient)
        state.adam(rowGradient, learningRate: learningRate)
        return loss
    }

    /// The model's own rows of `tokens`.
    static func nativeInputs(_ tokens: [Int32], _ native: any EmbeddingSource, width: Int) -> [Float] {
        var x = [Float](repeating: 0, count: tokens.count * width)
        x.withUnsafeMutableBufferPointer { b in
            for (t, id) in tokens.enumerated() { native.row(Int(id), into: b.baseAddress! + t * width) }
        }
        return x
    }

    /// Lines packed into chunks of up to `chunkBytes` bytes (joined by new
    /// lines), each tokenized both ways; chunks with no shared token end, or
    /// longer than `maxTokens` native tokens, are dropped.
    static func chunks(_ lines: [String], head: Head, native: Head, options: Options) -> [Chunk] {
        packLines(lines, bytes: options.chunkBytes).compactMap { text in
            let bytes = Array(text.utf8)
            let tokens = head.tokenizer.tokenize(text, addSpecial: false, parseSpecial: false)
            let nativeTokens = native.tokenizer.tokenize(text, addSpecial: false, parseSpecial: false)
            guard tokens.count >= 2, nativeTokens.count <= options.maxTokens,
                  let ends = tokenEnds(tokens, head.tokenizer, bytes),
                  let nativeEnds = tokenEnds(nativeTokens, native.tokenizer, bytes) else { return nil }
            var at: [Int: Int] = [:]
            for (q, end) in nativeEnds.enumerated() where at[end] == nil { at[end] = q }
            // A token ending where a native token ends; the first position has no context to learn from.
            let aligned = ends.enumerated().compactMap { p, end in p > 0 ? at[end].map { (p, $0) } : nil }
            return aligned.isEmpty ? nil : Chunk(tokens: tokens, native: nativeTokens, aligned: aligned)
        }
    }

    /// The byte offset in `text` where each token ends, or nil when the
    /// tokens do not spell `text` (a space the tokenizer put first is allowed).
    static func tokenEnds(_ tokens: [Int32], _ tokenizer: Tokenizer, _ text: [UInt8]) -> [Int]? {
        var spelled: [UInt8] = []
        var ends: [Int] = []
        for t in tokens {
            spelled += tokenizer.piece(t)
            ends.append(spelled.count)
        }
        if spelled == text { return ends }
        if spelled.first == 0x20, spelled.count == text.count + 1, spelled.dropFirst().elementsEqual(text) {
            return ends.map { $0 - 1 }
        }
        return nil
    }

    /// Writes `head` with the tuned input rows and its own output rows: a
    /// recipe head as its map plus the rows that moved (and any it already
    /// stored), any other head as a dense head.
    static func write(_ head: Head, rows: [Float], width: Int, options: Options, chunks: Int, to out: String) throws {
        var info = head.info
        info.name = options.name ?? head.info.name
        let note = String(format: "input rows tuned by token distillation after %d blocks on %d chunks: Adam lr %g, %d epochs, seed %llu",
                          options.depth, chunks, Double(options.learningRate), options.epochs, options.seed)
        info.provenance = .init(method: "\(head.info.provenance.method) + distilled input rows",
                                source: head.info.provenance.source,
                                notes: [head.info.provenance.notes, note].compactMap { $0 }.joined(separator: "; "))
        let type = width % options.tableType.blockElements == 0 ? options.tableType : .f16
        let stored = try HeadFile.recipe(of: head)
        // A recipe's output rows mapped from the source's output matrix stay mapped; any others (stored,
        // or tied to the input rows that moved) are written as they were.
        let mapped = try stored != nil && head.info.output == .separate && !HeadFile.storesOutputRows(head)
        let output = mapped ? nil : head.output.map { HeadTuning.rows(of: TokenEmbedding(matrix: $0.matrix)) }
        if output != nil { info.output = .separate }
        if let stored {
            let moved = try RowPatch(changed: rows, from: HeadTuning.rows(of: head.embedding), width: width,
                                     keeping: stored.inputRows?.tokens ?? [])
            try HeadFileWriter.writeRecipe(info: info, tokenizer: head.tokenizerMetadata, recipe: stored.recipe,
                                           source: stored.source, output: output, inputRows: moved, width: width,
                                           tableType: type, memory: head.memory, to: out)
            return
        }
        try HeadFileWriter.writeDense(info: info, tokenizer: head.tokenizerMetadata, embedding: rows, output: output,
                                      width: width, tableType: type, memory: head.memory, to: out)
    }
}
