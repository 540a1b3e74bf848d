import COpenBLAS
import Foundation

/// `hydra heads tune`: improves a head's output rows with the body frozen.
/// The body runs once over the tuning text (through the head's own input
/// rows, as decoding feeds generated tokens back), each trained position's
/// final normed hidden state is cached, and the output rows are fitted to
/// them by `OutputRowTuner`. The input rows are kept: a recipe head stays a
/// recipe (its map, plus the tuned output rows stored beside it); a dense
/// head's rows are rounded to the type it is written in before the body
/// sees them, so the written head is the one that was tuned. A tied head
/// comes out untied. A slice of the native head (`hydra heads mask`) stays
/// a slice: the native tokenizer and input rows, its kept tokens' output
/// rows tuned (positions whose next token it has no row for are not trained).
///
/// Everything lives in a work folder (default: next to the output, `OUT.tune`):
/// the hidden-state cache, a checkpoint, and what they were made from; a
/// second run with the same inputs continues where the first stopped.
public enum HeadTuning {
    public struct Options: Sendable {
        public var tuner = OutputRowTuner.Options()
        /// How the written tables are stored: q8_0 (default), f16 or f32.
        public var tableType: GGMLType = HeadFileWriter.defaultTableType
        /// Longest sequence run through the body (longer lines are cut,
        /// longer pairs skipped).
        public var maxLength = 512
        /// Lines of text files are packed into sequences of up to this many
        /// tokens (0: one line a sequence).
        public var pack = 256
        /// Use at most this many pairs of each pair file (0: all).
        public var maxPairs = 0
        /// Take the `maxPairs` pairs evenly spaced over each file (the
        /// pair at i·count/maxPairs, in file order) instead of the first ones.
        public var spreadPairs = false
        /// Use at most this many sequences (0: all), in file order.
        public var maxSequences = 0
        /// The written head's name (default: the tuned head's).
        public var name: String?
        /// The language the pairs' prompt names, recorded in the written head
        /// (`HeadInfo.promptLanguage`); nil: the head's prompt language, else its language.
        public var promptLanguage: String?
        /// Each pair's prompt shows this many of the pairs of its file
        /// nearest it (its own text never), as translating with
        /// `Sampling.examples` does (0: none).
        public var examples = 0
        /// The decoding the written head recommends (each unset one: the tuned head's).
        public var decoding = HeadDecoding.Settings()
        public init() {}

        /// The language the pairs' prompt names when tuning `head`.
        func prompted(_ head: Head) throws -> Language {
            try Language.named(promptLanguage ?? head.info.promptLanguage ?? head.language)
        }
    }

    /// What a run reports as it goes.
    public enum Event: Sendable {
        /// The tuning sequences are ready: how many, and trained positions.
        case corpus(sequences: Int, positions: Int)
        /// Body pass: sequences done of total, input tokens run in the last
        /// one, and input tokens of the sequences still to run (for the ETA:
        /// sequences differ in length).
        case hidden(done: Int, total: Int, tokens: Int, tokensLeft: Int)
        /// Taking up a previous run: cached sequences, checkpoint step.
        case resumed(sequences: Int, step: Int)
        case tuner(OutputRowTuner.Event)
    }

    public struct Result: Sendable {
        public var sequences = 0
        public var trainRows = 0
        public var validationRows = 0
        public var steps = 0
        /// Validation loss (nats/token) before and after.
        public var validationBefore = Double.nan
        public var validationAfter = Double.nan
        /// With the native head as teacher: the mean KL divergence (nats) of
        /// the validation positions from it, before (when the run started at
        /// step 0) and after.
        public var teacherBefore = Double.nan
        public var teacherAfter = Double.nan
        /// True when `stopAfter` ended the run before the last epoch (no head written).
        public var stopped = false
    }

    /// Tunes `head` on the lines of `textFiles` (a .tsv gives its second
    /// column) and on the translation pairs of `pairFiles` (source → the
    /// head's language, prompt through `model`'s native head), writes the
    /// tuned head to `out`. `stopAfter` stops after that many optimizer
    /// steps, leaving the checkpoint (tests).
    @discardableResult
    public static func run(model: HydraModel, head: Head, textFiles: [String], pairFiles: [String],
                           pairSource: Language, options: Options, work: String, out: String,
                           stopAfter: Int? = nil, events: (Event) -> Void = { _ in }) throws -> Result {
        try TuningCorpus.checkNotHeldOut(textFiles + pairFiles + [out, work])
        guard !textFiles.isEmpty || !pairFiles.isEmpty else {
            throw HydraError.invalidInput("no tuning text: give text files or pair files")
        }
        guard let output = head.output else {
            throw HydraError.invalidInput("head '\(head.name)' is input-only: it has no output rows to tune")
        }
        if output.tokens != nil {
            guard head.kind == "slice", HeadFile.tokensHash(head.vocabulary) == HeadFile.tokensHash(model.native.vocabulary) else {
                throw HydraError.invalidInput("head '\(head.name)' has output rows for some tokens only: tune a whole head or a slice of the model's own head")
            }
            guard options.tuner.distill == 0 else {
                throw HydraError.invalidInput("a slice of the native head has no teacher but itself: tune it without --distill")
            }
        }
        guard output.bias == nil else {
            throw HydraError.invalidInput("head '\(head.name)' has an output bias, which tuning does not handle yet")
        }
        try head.checkFits(model.body)
        guard options.tuner.distill >= 0, options.tuner.distill.isFinite else {
            throw HydraError.invalidInput("the distillation weight must be zero or more, not \(options.tuner.distill)")
        }
        // A factored head's rows are always fitted as a factored output's (its own factoring unless told another).
        var options = options
        if options.tuner.factored == nil { options.tuner.factored = head.info.factored }
        if options.tuner.factored != nil {
            guard output.tokens == nil else {
                throw HydraError.invalidInput("head '\(head.name)' is a slice of the model's own head: it cannot be factored by it")
            }
            guard options.tuner.distill == 0 else {
                throw HydraError.invalidInput("a factored head takes the native head's choices as they are: tune it without --distill")
            }
        }
        guard options.maxLength >= 2 else { throw HydraError.invalidInput("the longest sequence must be at least 2 tokens") }
        let width = model.body.config.embeddingLength
        let type = width % options.tableType.blockElements == 0 ? options.tableType : .f16

        let inputs = try InputRows(head: head, output: output, type: type)
        let initial = rows(of: TokenEmbedding(matrix: output.matrix))
        let limit = min(options.maxLength, model.state.contextLength)
        var sequences = try corpus(model: model, head: inputs.proxy, textFiles: textFiles, pairFiles: pairFiles,
                                   pairSource: pairSource, options: options, limit: limit)
        if let tokens = output.tokens { sequences = rowTargets(sequences, tokens: tokens) }
        let positions = sequences.reduce(0) { $0 + $1.targets.count }
        guard positions > 0 else {
            throw HydraError.invalidInput("the tuning text is empty: no line or pair gave a token to train on")
        }
        events(.corpus(sequences: sequences.count, positions: positions))

        let hidden = hiddenIdentity(model: model, inputs: inputs, initial: initial, sequences: sequences,
                                    limit: limit, pack: options.pack)
        let checkpoint = try openWork(work, hidden: hidden, tuner: options.tuner)
        let cache = try HiddenStateCache(folder: work, width: width)
        let teacher = options.tuner.distill > 0 ? try NativeTeacher(model: model, head: head) : nil
        let factoring = options.tuner.factored
        let groups = factoring == .firstToken ? NativeGroups(head: head, native: model.native, count: output.matrix.rows) : nil
        let compatibility = factoring == .compatible
            ? NativeCompatibility(head: head, native: model.native, count: output.matrix.rows) : nil
        let nativeRows = try factoring == .compatible ? model.native.output.map { TokenEmbedding(matrix: $0.matrix) }
            ?? { throw HydraError.invalidInput("the native head has no output rows to factor by") }() : nil
        let tuner = OutputRowTuner(initial: initial, rows: output.matrix.rows, width: width,
                                   softcap: model.body.config.finalLogitSoftcap, options: options.tuner,
                                   teacher: teacher, groups: groups, compatibility: compatibility, nativeRows: nativeRows)
        try tuner.restore(from: checkpoint)
        if cache.sequencesDone > 0 || tuner.step > 0 {
            events(.resumed(sequences: cache.sequencesDone, step: tuner.step))
        }
        // Tokens each sequence runs (its shared prompt prefix aside), for the ETA.
        var tokensLeft = sequences.dropFirst(cache.sequencesDone).reduce(0) { $0 + $1.inputs.count - $1.sharedPrefix }
        try cache.fill(sequences, model: model) { done, tokens in
            tokensLeft -= sequences[done - 1].inputs.count - sequences[done - 1].sharedPrefix
            events(.hidden(done: done, total: sequences.count, tokens: tokens, tokensLeft: max(tokensLeft, 0)))
        }

        // Fixed threads: sgemm's sums are the same on every run.
        openblas_set_num_threads(Int32(model.pool.threads))
        var result = Result()
        result.sequences = sequences.count
        let (train, validation) = tuner.split(cache)
        result.trainRows = train.count
        result.validationRows = validation.count
        if tuner.step == 0 { result.teacherBefore = tuner.teacherDivergence(cache, rows: validation) ?? .nan }
        try tuner.train(cache, checkpoint: checkpoint, stopAfter: stopAfter) { e in
            if case .validation(let step, let loss) = e {
                if step == 0 { result.validationBefore = loss }
                result.validationAfter = loss
            }
            events(.tuner(e))
        }
        result.steps = tuner.step
        let total = tuner.stepsPerEpoch(trainRows: train.count) * options.tuner.epochs
        if tuner.step < total {
            result.stopped = true
            return result
        }
        if result.validationBefore.isNaN, !validation.isEmpty {
            result.validationAfter = tuner.validationLoss(cache, rows: validation)
        }
        result.teacherAfter = tuner.teacherDivergence(cache, rows: validation) ?? .nan
        let corpusNote = (textFiles + pairFiles).map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ", ")
        try write(head, inputs: inputs, output: tuner.weights, width: width, type: type, options: options,
                  note: "\(corpusNote) (\(sequences.count) sequences, \(positions) positions)",
                  native: model.native, to: out)
        return result
    }

    /// The input rows as they will be written, as the body sees them: a
    /// recipe head keeps its map (materialized in F32 when loaded), a dense
    /// head its rows rounded to the table type, a slice its source's rows
    /// (not written: `floats` empty, `rounded` nil).
    struct InputRows {
        /// The map of a recipe head, and what it maps onto.
        let recipe: (recipe: HeadRecipe, source: RecipeSource, inputRows: RowPatch?)?
        let floats: [Float]
        let rounded: OwnedMatrix?
        /// The head with these input rows: what the tuning text is tokenized and embedded with.
        let proxy: Head

        init(head: Head, output: OutputHead, type: GGMLType) throws {
            if output.tokens != nil {  // a slice (checked in `run`)
                (recipe, floats, rounded, proxy) = (nil, [], nil, head)
                return
            }
            recipe = try HeadFile.recipe(of: head)
            floats = HeadTuning.rows(of: head.embedding)
            let rounded = try OwnedMatrix(floats: floats, rows: head.embedding.rowCount, cols: head.embedding.width,
                                          type: recipe == nil ? type : .f32)
            self.rounded = rounded
            proxy = Head(info: head.info, tokenizer: head.tokenizer, tokenizerMetadata: head.tokenizerMetadata,
                         embedding: TokenEmbedding(matrix: rounded.matrix), output: output, kind: head.kind,
                         owners: [rounded, head])
        }
    }

    /// The tuning sequences: packed lines of the text files, then the pairs.
    static func corpus(model: HydraModel, head: Head, textFiles: [String], pairFiles: [String], pairSource: Language,
                       options: Options, limit: Int) throws -> [TuningSequence] {
        var sequences: [TuningSequence] = []
        for f in textFiles {
            sequences += try TuningCorpus.textSequences(try readLines(f), head: head, maxLength: limit, pack: options.pack)
        }
        for f in pairFiles {
            let all = try ParallelText.read(path: f)
            // The examples come from the whole file, as from the memory a head stores.
            let memory = options.examples > 0 ? try TranslationMemory.read(tsv: f, sourceLanguage: pairSource.code) : nil
            sequences += try TuningCorpus.pairSequences(select(all, count: options.maxPairs, spread: options.spreadPairs),
                                                        model: model, source: model.native, head: head,
                                                        from: pairSource, to: try options.prompted(head),
                                                        maxLength: limit, memory: memory, examples: options.examples)
        }
        if options.maxSequences > 0 { sequences = Array(sequences.prefix(options.maxSequences)) }
        return sequences
    }

    /// The sequences for a slice head, whose row r scores token `tokens[r]`:
    /// each target becomes its row, and a position whose next token has no
    /// row is not trained (the slice can never write it).
    static func rowTargets(_ sequences: [TuningSequence], tokens: [Int32]) -> [TuningSequence] {
        let row = Dictionary(uniqueKeysWithValues: tokens.enumerated().map { ($1, Int32($0)) })
        return sequences.map { s in
            var kept = s
            kept.positions = []
            kept.targets = []
            for (p, t) in zip(s.positions, s.targets) {
                if let r = row[t] { kept.positions.append(p); kept.targets.append(r) }
            }
            return kept
        }
    }

    /// `count` of `items` (all when 0 or more than there are): the first
    /// ones, or evenly spaced over them (item i·n/count), in order.
    static func select<T>(_ items: [T], count: Int, spread: Bool) -> [T] {
        guard count > 0, count < items.count else { return items }
        guard spread else { return Array(items.prefix(count)) }
        return (0..<count).map { items[$0 * items.count / count] }
    }

    /// What the hidden-state cache is made from (16 hex digits): the body,
    /// the input and initial output rows, and every sequence.
    static func hiddenIdentity(model: HydraModel, inputs: InputRows, initial: [Float], sequences: [TuningSequence],
                               limit: Int, pack: Int) -> String {
        var h = FNV1a()
        h.add("hydra-tune-v3")  // v3: pairs after one prefix run side by side, as one prompt pass
        h.add(BodyFingerprint(body: model.body).description)
        h.add(UInt64(limit)); h.add(UInt64(pack))
        inputs.floats.withUnsafeBytes { h.add($0.bindMemory(to: UInt8.self)) }
        if let rounded = inputs.rounded {
            UnsafeRawBufferPointer(start: rounded.matrix.data, count: rounded.matrix.byteCount)
                .withMemoryRebound(to: UInt8.self) { h.add($0) }
        }
        if let tokens = inputs.proxy.output?.tokens {  // a slice: the native input rows, these tokens' output rows
            h.add("slice")
            for t in tokens { h.add(UInt64(UInt32(bitPattern: t))) }
        }
        initial.withUnsafeBytes { h.add($0.bindMemory(to: UInt8.self)) }
        for s in sequences {
            h.add(UInt64(s.inputs.count)); h.add(UInt64(s.sharedPrefix))
            for t in s.inputs { h.add(t.head === inputs.proxy ? "t" : "s"); h.add(UInt64(UInt32(bitPattern: t.token))) }
            for (p, t) in zip(s.positions, s.targets) { h.add(UInt64(UInt32(bitPattern: p)) << 32 | UInt64(UInt32(bitPattern: t))) }
        }
        return BodyFingerprint(value: h.value).description
    }

    /// Opens the work folder for a run: refuses one that holds a run over
    /// other text, head or body; drops a checkpoint made with other
    /// optimizer settings. Returns the checkpoint's path.
    static func openWork(_ work: String, hidden: String, tuner: OutputRowTuner.Options) throws -> String {
        var th = FNV1a()
        th.add(hidden); th.add(tuner.identity)
        let tune = BodyFingerprint(value: th.value).description
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        let identityPath = work + "/identity"
        let checkpoint = work + "/checkpoint.bin"
        if let text = try? String(contentsOfFile: identityPath, encoding: .utf8) {
            let lines = text.split(separator: "\n").map(String.init)
            if lines.first != "hidden \(hidden)" {
                throw HydraError.invalidInput(
                    "the work folder \(work) holds a run over other text, head or body: remove it or give another --work")
            }
            if lines.count < 2 || lines[1] != "tune \(tune)" {
                try? FileManager.default.removeItem(atPath: checkpoint)  // other optimizer settings: start over
            }
        }
        try "hidden \(hidden)\ntune \(tune)\n".write(toFile: identityPath, atomically: true, encoding: .utf8)
        return checkpoint
    }

    /// Writes the tuned head: a recipe head as its map (and the input rows
    /// it stores) plus the tuned output rows, a dense head as both tables, a slice as its tokens'
    /// tuned rows over `native` (the model's own head).
    static func write(_ head: Head, inputs: InputRows, output: [Float], width: Int, type: GGMLType, options: Options,
                      note corpus: String, native: Head, to out: String) throws {
        var info = head.info
        info.name = options.name ?? head.info.name
        info.output = .separate
        info.factored = options.tuner.factored
        let prompted = try options.prompted(head).code
        info.promptLanguage = prompted == head.language ? nil : prompted
        options.decoding.apply(to: &info)
        let o = options.tuner
        var note = String(format: "output rows tuned with the body frozen on %@: Adam lr %g, L2 %g towards the built rows, batch %d, %d epochs, seed %llu",
                          corpus, Double(o.learningRate), Double(o.l2), o.batchSize, o.epochs, o.seed)
        if o.distill > 0 { note += String(format: ", native head as teacher (weight %g)", Double(o.distill)) }
        if let f = o.factored { note += ", factored by the native head (\(f.rawValue))" }
        info.provenance = .init(method: "\(head.info.provenance.method) + tuned output rows",
                                source: head.info.provenance.source,
                                notes: [head.info.provenance.notes, note].compactMap { $0 }.joined(separator: "; "))
        if let tokens = head.output?.tokens {
            try HeadFileWriter.writeSlice(info: info, tokenizer: head.tokenizerMetadata, source: RecipeSource(native), tokens: tokens,
                                          output: output, width: width, tableType: type, memory: head.memory, to: out)
        } else if let recipe = inputs.recipe {
            try HeadFileWriter.writeRecipe(info: info, tokenizer: head.tokenizerMetadata, recipe: recipe.recipe,
                                           source: recipe.source, output: output, inputRows: recipe.inputRows,
                                           width: width, tableType: type,
                                           memory: head.memory, to: out)
        } else {
            try HeadFileWriter.writeDense(info: info, tokenizer: head.tokenizerMetadata, embedding: inputs.floats,
                                          output: output, width: width, tableType: type, memory: head.memory, to: out)
        }
    }

    /// Every row of `source` as floats (rows × width).
    static func rows(of source: any EmbeddingSource) -> [Float] {
        var floats = [Float](repeating: 0, count: source.rowCount * source.width)
        floats.withUnsafeMutableBufferPointer { f in
            for r in 0..<source.rowCount { source.row(r, into: f.baseAddress! + r * source.width) }
        }
        return floats
    }

    /// Lines of a text file; a .tsv gives its second column.
    static func readLines(_ path: String) throws -> [String] {
        if path.hasSuffix(".tsv") { return try ParallelText.read(path: path).map(\.target) }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HydraError.invalidInput("cannot read \(path)")
        }
        return try UTF8Input.decode([UInt8](data)).split(whereSeparator: \.isNewline).map(String.init)
    }
}
