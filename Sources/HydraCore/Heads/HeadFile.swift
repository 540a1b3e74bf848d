import Foundation

/// Reads head files: GGUF files with `hydra.head.*` metadata, a tokenizer
/// (`tokenizer.ggml.*`) and either tables (`token_embd.weight`, optional
/// `output.weight`: a dense head), a sparse map onto another head's rows
/// (`hydra.recipe.*`: a recipe head, which may also store its own
/// `output.weight`: output rows tuned after building), or another head's
/// tokenizer and input rows with output rows for some of its tokens only
/// (`hydra.slice.tokens` and `output.weight`: a slice head). heads/README.md
/// documents the layout.
public enum HeadFile {
    /// Whether `file` is a head file (rather than a model).
    public static func isHead(_ file: GGUFFile) -> Bool { file.int(HeadKeys.formatVersion) != nil }

    /// The head's self-description, read from metadata only (no tables,
    /// no tokenizer): what `hydra heads list` shows.
    public static func info(of file: GGUFFile) throws -> HeadInfo {
        guard let version = file.int(HeadKeys.formatVersion) else {
            throw HeadError.invalid("\(file.path) is not a head file (no \(HeadKeys.formatVersion))")
        }
        guard version <= HeadKeys.currentFormat else {
            throw HeadError.invalid("\(file.path): head format \(version) is newer than this hydra reads (\(HeadKeys.currentFormat))")
        }
        func required(_ key: String) throws -> String {
            guard let v = file.string(key), !v.isEmpty else { throw HeadError.invalid("\(file.path): \(key) is missing") }
            return v
        }
        let stem = URL(fileURLWithPath: file.path).deletingPathExtension().lastPathComponent
        let fpText = try required(HeadKeys.bodyFingerprint)
        guard let fingerprint = BodyFingerprint(hex: fpText) else {
            throw HeadError.invalid("\(file.path): \(HeadKeys.bodyFingerprint) '\(fpText)' is not 16 hex digits")
        }
        guard let hidden = file.int(HeadKeys.bodyHiddenSize) else {
            throw HeadError.invalid("\(file.path): \(HeadKeys.bodyHiddenSize) is missing")
        }
        let outputText = try required(HeadKeys.output)
        guard let output = HeadInfo.Output(rawValue: outputText) else {
            throw HeadError.invalid("\(file.path): \(HeadKeys.output) '\(outputText)' is not tied, separate or none")
        }
        let promptLanguage = file.string(HeadKeys.promptLanguage)
        if let code = promptLanguage, (try? Language.named(code)) == nil {
            throw HeadError.invalid("\(file.path): \(HeadKeys.promptLanguage) '\(code)' is not a language hydra knows")
        }
        let ngram = file.int(HeadKeys.noRepeatNgram)
        if let n = ngram, !(1...64).contains(n) {
            throw HeadError.invalid("\(file.path): \(HeadKeys.noRepeatNgram) \(n) is not between 1 and 64")
        }
        let penalty = file.float(HeadKeys.repeatPenalty)
        if let p = penalty, !HeadDecoding.isValid(repeatPenalty: p) {
            throw HeadError.invalid("\(file.path): \(HeadKeys.repeatPenalty) \(p) is not in (0, 10]")
        }
        let candidates = file.int(HeadKeys.candidates)
        if let n = candidates, !(n > 1 && HeadDecoding.isValid(candidates: n)) {
            throw HeadError.invalid("\(file.path): \(HeadKeys.candidates) \(n) is not between 3 and 16")
        }
        let beams = file.int(HeadKeys.beams)
        if let n = beams, !(n > 1 && HeadDecoding.isValid(beams: n)) {
            throw HeadError.invalid("\(file.path): \(HeadKeys.beams) \(n) is not between 2 and 16")
        }
        if beams != nil && candidates != nil {
            throw HeadError.invalid("\(file.path): recommends both \(HeadKeys.candidates) and \(HeadKeys.beams)")
        }
        let weight = file.float(HeadKeys.roundTripWeight)
        if let w = weight, !(w > 0 && HeadDecoding.isValid(roundTripWeight: w)) {
            throw HeadError.invalid("\(file.path): \(HeadKeys.roundTripWeight) \(w) is not in (0, 100]")
        }
        let below = file.float(HeadKeys.roundTripBelow)
        if let b = below, !HeadDecoding.isValid(roundTripBelow: b) {
            throw HeadError.invalid("\(file.path): \(HeadKeys.roundTripBelow) \(b) is not between 0 and 100")
        }
        let examples = file.int(HeadKeys.examples)
        if let n = examples, !(n > 0 && HeadDecoding.isValid(examples: n)) {
            throw HeadError.invalid("\(file.path): \(HeadKeys.examples) \(n) is not between 1 and 16")
        }
        let minLength = file.float(HeadKeys.minLength)
        if let r = minLength, !(r > 0 && HeadDecoding.isValid(minLength: r)) {
            throw HeadError.invalid("\(file.path): \(HeadKeys.minLength) \(r) is not in (0, 4]")
        }
        let copyBias = file.float(HeadKeys.copyBias)
        if let b = copyBias, !(b > 0 && HeadDecoding.isValid(copyBias: b)) {
            throw HeadError.invalid("\(file.path): \(HeadKeys.copyBias) \(b) is not in (0, 100]")
        }
        var factored: OutputFactoring?
        if file.metadata[HeadKeys.outputFactored] != nil {
            if let flag = file.bool(HeadKeys.outputFactored) {
                factored = flag ? .firstToken : nil
            } else if let name = file.string(HeadKeys.outputFactored), let f = OutputFactoring(rawValue: name) {
                factored = f
            } else {
                let names = OutputFactoring.allCases.map(\.rawValue).joined(separator: ", ")
                throw HeadError.invalid("\(file.path): \(HeadKeys.outputFactored) is not one of \(names)")
            }
        }
        if factored != nil && (output == .none || kind(of: file) == "slice") {
            throw HeadError.invalid("\(file.path): \(HeadKeys.outputFactored) needs output rows of the head's own")
        }
        var lexicon: StoredLexicon?
        if file.metadata[HeadKeys.lexicon] != nil {
            guard let words = file.strings(HeadKeys.lexicon), !words.isEmpty, !words.contains(where: \.isEmpty) else {
                throw HeadError.invalid("\(file.path): \(HeadKeys.lexicon) is not a list of words")
            }
            lexicon = StoredLexicon(words: words)
        }
        return HeadInfo(
            name: file.string(HeadKeys.name) ?? stem, language: try required(HeadKeys.language),
            script: file.string(HeadKeys.script), promptLanguage: promptLanguage, noRepeatNgram: ngram,
            repeatPenalty: penalty, candidates: candidates, beams: beams, roundTripWeight: weight, roundTripBelow: below,
            examples: examples, minLength: minLength, copyBias: copyBias, lexicon: lexicon,
            body: .init(architecture: try required(HeadKeys.bodyArchitecture), hiddenSize: hidden, fingerprint: fingerprint),
            output: output, factored: factored,
            provenance: .init(method: file.string(HeadKeys.buildMethod) ?? "unknown", source: file.string(HeadKeys.buildSource),
                              date: file.string(HeadKeys.buildDate), tool: file.string(HeadKeys.buildTool),
                              notes: file.string(HeadKeys.buildNotes)))
    }

    /// "dense", "recipe" or "slice".
    public static func kind(of file: GGUFFile) -> String { file.string(HeadKeys.kind) ?? "dense" }

    /// Loads the head in `path` for `body`, refusing a head built for
    /// another body before reading any table.
    /// - Parameters:
    ///   - fingerprint: the body's fingerprint, if already known.
    ///   - source: finds a recipe's source head by name ("native" included).
    ///   - materializeAs: the type a recipe's tables are built in (F32:
    ///     exact; Q8_0: a quarter of the memory and faster decoding).
    public static func load(path: String, body: Body, fingerprint: BodyFingerprint? = nil,
                            source: (String) throws -> Head, materializeAs: GGMLType = .f32) throws -> Head {
        let file: GGUFFile
        do {
            file = try GGUFFile(path: path)
        } catch let e as GGUFError {
            throw HeadError.invalid("invalid head file \(e.description)")
        }
        let info = try info(of: file)
        let fit = HeadInfo.BodyFit(architecture: body.config.architecture.rawValue,
                                   hiddenSize: body.config.embeddingLength,
                                   fingerprint: fingerprint ?? BodyFingerprint(body: body))
        try Head.check(info, fits: fit)
        let tokenizer: Tokenizer
        do {
            tokenizer = try Tokenizer(gguf: file)
        } catch {
            throw HeadError.invalid("\(path): tokenizer: \(error)")
        }
        let metadata = TokenizerMetadata(file: file)
        let memory = try HeadDecoding.memory(of: file)
        let head: Head
        switch kind(of: file) {
        case "dense":
            head = try dense(file: file, info: info, tokenizer: tokenizer, metadata: metadata, memory: memory, body: body)
        case "recipe":
            head = try recipe(file: file, info: info, tokenizer: tokenizer, metadata: metadata, memory: memory, body: body,
                              source: source, materializeAs: materializeAs)
        case "slice":
            head = try slice(file: file, info: info, tokenizer: tokenizer, metadata: metadata, memory: memory, body: body,
                             source: source)
        case let other:
            throw HeadError.invalid("\(path): \(HeadKeys.kind) '\(other)' is not dense, recipe or slice")
        }
        try head.checkFits(body, fingerprint: fit.fingerprint)
        guard head.embedding.rowCount >= tokenizer.vocabulary.count else {
            throw HeadError.invalid("\(path): \(head.embedding.rowCount) embedding rows for \(tokenizer.vocabulary.count) tokens")
        }
        if let output = head.output, output.vocabularySize < tokenizer.vocabulary.count {
            throw HeadError.invalid("\(path): \(output.vocabularySize) output rows for \(tokenizer.vocabulary.count) tokens")
        }
        return head
    }

    private static func dense(file: GGUFFile, info: HeadInfo, tokenizer: Tokenizer, metadata: TokenizerMetadata,
                              memory: TranslationMemory?, body: Body) throws -> Head {
        let lookup = TensorLookup(file: file)
        let width = body.config.embeddingLength
        let table = try lookup.required(HeadKeys.embeddingTensor)
        let embedding = try lookup.matrix(table, rows: table.rows, cols: width)
        var outputMatrix: QuantizedMatrix?
        switch info.output {
        case .none: outputMatrix = nil
        case .tied: outputMatrix = embedding
        case .separate:
            let t = try lookup.required(HeadKeys.outputTensor)
            outputMatrix = try lookup.matrix(t, rows: t.rows, cols: width)
        }
        let output = try outputMatrix.map { m in
            OutputHead(matrix: m, bias: try lookup.optionalVector(HeadKeys.outputBiasTensor, m.rows),
                       softcap: body.config.finalLogitSoftcap)
        }
        return Head(info: info, tokenizer: tokenizer, tokenizerMetadata: metadata,
                    embedding: TokenEmbedding(matrix: embedding), output: output, kind: "dense", path: file.path,
                    memory: memory, owners: [file])
    }

    /// The head whose rows a recipe or slice head uses, found by the name
    /// the file records and checked against the row count and token hash
    /// it records.
    private static func recordedSource(of file: GGUFFile, info: HeadInfo,
                                       source: (String) throws -> Head) throws -> (name: String, head: Head) {
        guard let name = file.string(HeadKeys.recipeSource) else {
            throw HeadError.invalid("\(file.path): \(HeadKeys.recipeSource) is missing")
        }
        let from = try source(name)
        let rows = from.embedding.rowCount
        if let expected = file.int(HeadKeys.recipeSourceRows), expected != rows {
            throw HeadError.mismatch("head '\(info.name)' maps onto \(expected) rows of head '\(name)', which has \(rows)")
        }
        if let expected = file.string(HeadKeys.recipeSourceTokens), expected != tokensHash(from.vocabulary) {
            throw HeadError.mismatch("head '\(info.name)' was built on another tokenizer than head '\(name)' has")
        }
        return (name, from)
    }

    private static func recipe(file: GGUFFile, info: HeadInfo, tokenizer: Tokenizer, metadata: TokenizerMetadata,
                               memory: TranslationMemory?, body: Body, source: (String) throws -> Head, materializeAs: GGMLType) throws -> Head {
        let (sourceName, from) = try recordedSource(of: file, info: info, source: source)
        let rows = from.embedding.rowCount
        let map = try HeadRecipe(offsets: int32s(file, HeadKeys.recipeOffsets), indices: int32s(file, HeadKeys.recipeIndices),
                                 weights: floats(file, HeadKeys.recipeWeights), sourceRows: rows)
        let width = body.config.embeddingLength
        var table = map.materialize(from: from.embedding)
        if let patch = try inputRows(file, rowCount: map.rowCount) {
            guard patch.width == width else {
                throw HeadError.invalid("\(file.path): stored input rows of \(patch.width) values for a body of \(width)")
            }
            try patch.apply(to: &table)
        }
        let embedding = try OwnedMatrix(floats: table, rows: map.rowCount, cols: width, type: materializeAs)
        var owners: [AnyObject] = [file, embedding, from]
        var output: OutputHead?
        switch info.output {
        case .none:
            output = nil
        case .tied, .separate:
            guard let sourceOutput = from.output else {
                throw HeadError.invalid("\(file.path): head '\(sourceName)' has no output matrix to map")
            }
            // A tied source gives a tied target: its output rows are the new embedding rows.
            var matrix = embedding.matrix
            if info.output == .separate, let tuned = file.tensor(named: HeadKeys.outputTensor) {
                // Output rows stored beside the map (tuned after building).
                matrix = try TensorLookup(file: file).matrix(tuned, rows: map.rowCount, cols: width)
            } else if info.output == .separate || from.info.output != .tied {
                let owned = try OwnedMatrix(floats: map.materialize(from: TokenEmbedding(matrix: sourceOutput.matrix)),
                                            rows: map.rowCount, cols: width, type: materializeAs)
                owners.append(owned)
                matrix = owned.matrix
            }
            var bias: WeightVector?
            if let b = sourceOutput.bias {
                let values = UnsafeMutablePointer<Float>.allocate(capacity: map.rowCount)
                values.initialize(from: map.materialize(vector: b.values), count: map.rowCount)
                let box = FloatBox(values)
                owners.append(box)
                bias = WeightVector(values: values, count: map.rowCount)
            }
            output = OutputHead(matrix: matrix, bias: bias, softcap: body.config.finalLogitSoftcap)
        }
        return Head(info: info, tokenizer: tokenizer, tokenizerMetadata: metadata,
                    embedding: TokenEmbedding(matrix: embedding.matrix), output: output, kind: "recipe",
                    path: file.path, memory: memory, owners: owners)
    }

    private static func slice(file: GGUFFile, info: HeadInfo, tokenizer: Tokenizer, metadata: TokenizerMetadata,
                              memory: TranslationMemory?, body: Body, source: (String) throws -> Head) throws -> Head {
        guard info.output == .separate else {
            throw HeadError.invalid("\(file.path): a slice head's \(HeadKeys.output) must be separate")
        }
        // The slice keeps its source's tokenizer (stored in the file too, so
        // the file reads alone): the same token texts, in the same order.
        guard file.string(HeadKeys.recipeSourceTokens) == tokensHash(tokenizer.vocabulary) else {
            throw HeadError.mismatch("head '\(info.name)' was not sliced from the tokenizer of head '\(file.string(HeadKeys.recipeSource) ?? "?")'")
        }
        let (sourceName, from) = try recordedSource(of: file, info: info, source: source)
        guard let sourceOutput = from.output else {
            throw HeadError.invalid("\(file.path): head '\(sourceName)' has no output to slice")
        }
        let tokens = try int32s(file, HeadKeys.sliceTokens)
        let lookup = TensorLookup(file: file)
        let rows = try lookup.required(HeadKeys.outputTensor)
        let matrix = try lookup.productMatrix(rows, rows: tokens.count, cols: body.config.embeddingLength)
        let output = try OutputHead(matrix: matrix, tokens: tokens, vocabularySize: sourceOutput.vocabularySize,
                                    bias: try lookup.optionalVector(HeadKeys.outputBiasTensor, tokens.count),
                                    softcap: body.config.finalLogitSoftcap)
        return Head(info: info, tokenizer: tokenizer, tokenizerMetadata: metadata, embedding: from.embedding,
                    output: output, kind: "slice", path: file.path, memory: memory, owners: [file, from])
    }

    /// What `recipe(of:)` reads from the file `head` was loaded from, if
    /// it is a recipe head.
    public static func recipe(of head: Head) throws -> (recipe: HeadRecipe, source: RecipeSource, inputRows: RowPatch?)? {
        guard head.kind == "recipe", let path = head.path else { return nil }
        return try recipe(of: path)
    }

    /// Whether the recipe head `head` was loaded from stores its output
    /// rows (tuned after building) rather than mapping them.
    public static func storesOutputRows(_ head: Head) throws -> Bool {
        guard head.kind == "recipe", head.info.output == .separate, let path = head.path else { return false }
        do {
            return try GGUFFile(path: path).tensor(named: HeadKeys.outputTensor) != nil
        } catch let e as GGUFError {
            throw HeadError.invalid("invalid head file \(e.description)")
        }
    }

    /// The map of a recipe head file, what it maps onto and the input rows
    /// it stores beside the map, without materializing anything (tuning
    /// writes them back beside new rows).
    public static func recipe(of path: String) throws -> (recipe: HeadRecipe, source: RecipeSource, inputRows: RowPatch?) {
        let file: GGUFFile
        do {
            file = try GGUFFile(path: path)
        } catch let e as GGUFError {
            throw HeadError.invalid("invalid head file \(e.description)")
        }
        guard kind(of: file) == "recipe", let name = file.string(HeadKeys.recipeSource),
              let rows = file.int(HeadKeys.recipeSourceRows), let tokens = file.string(HeadKeys.recipeSourceTokens)
        else {
            throw HeadError.invalid("\(path) is not a recipe head (or lacks its source's name, rows or token hash)")
        }
        let map = try HeadRecipe(offsets: int32s(file, HeadKeys.recipeOffsets), indices: int32s(file, HeadKeys.recipeIndices),
                                 weights: floats(file, HeadKeys.recipeWeights), sourceRows: rows)
        return (map, RecipeSource(name: name, rows: rows, tokensHash: tokens), try inputRows(file, rowCount: map.rowCount))
    }

    /// The input rows a recipe head stores beside its map, if any
    /// (`HeadKeys.recipeInputTokens`, format 2), dequantized.
    private static func inputRows(_ file: GGUFFile, rowCount: Int) throws -> RowPatch? {
        guard let stored = file.tensor(named: HeadKeys.recipeInputRows) else {
            if file.tensor(named: HeadKeys.recipeInputTokens) != nil {
                throw HeadError.invalid("\(file.path): \(HeadKeys.recipeInputTokens) without \(HeadKeys.recipeInputRows)")
            }
            return nil
        }
        let tokens = try int32s(file, HeadKeys.recipeInputTokens)
        guard stored.shape.count == 2, stored.shape[0] > 0 else {
            throw HeadError.invalid("\(file.path): \(HeadKeys.recipeInputRows) is not a table of rows")
        }
        let width = Int(stored.shape[0])
        let matrix = try TensorLookup(file: file).matrix(stored, rows: tokens.count, cols: width)
        var rows = [Float](repeating: 0, count: tokens.count * width)
        rows.withUnsafeMutableBufferPointer { r in
            for i in 0..<tokens.count { matrix.dequantizeRow(i, into: r.baseAddress! + i * width) }
        }
        let patch: RowPatch
        do {
            patch = try RowPatch(tokens: tokens, rows: rows, width: width)
        } catch {
            throw HeadError.invalid("\(file.path): \(error)")
        }
        if let last = patch.tokens.last, Int(last) >= rowCount {
            throw HeadError.invalid("\(file.path): stored input row for token \(last) of a head of \(rowCount) tokens")
        }
        return patch
    }

    /// A 1-D tensor of I32 values.
    private static func int32s(_ file: GGUFFile, _ name: String) throws -> [Int32] {
        guard let t = file.tensor(named: name), t.type == .i32, t.shape.count == 1 else {
            throw HeadError.invalid("\(file.path): tensor \(name) (I32, one dimension) is missing")
        }
        return Array(UnsafeBufferPointer(start: t.data.assumingMemoryBound(to: Int32.self), count: t.elementCount))
    }

    /// A 1-D tensor of F32 values.
    private static func floats(_ file: GGUFFile, _ name: String) throws -> [Float] {
        guard let t = file.tensor(named: name), t.type == .f32, t.shape.count == 1 else {
            throw HeadError.invalid("\(file.path): tensor \(name) (F32, one dimension) is missing")
        }
        return Array(UnsafeBufferPointer(start: t.data.assumingMemoryBound(to: Float.self), count: t.elementCount))
    }

    /// A hash of a vocabulary's token texts (16 hex digits): recipes record
    /// their source's so a map is never applied to another tokenizer's rows.
    public static func tokensHash(_ vocabulary: Vocabulary) -> String {
        var h = FNV1a()
        for t in vocabulary.tokens { h.add(t) }
        return BodyFingerprint(value: h.value).description
    }
}

/// Owns a buffer of floats (a materialized bias).
private final class FloatBox {
    let pointer: UnsafeMutablePointer<Float>
    init(_ pointer: UnsafeMutablePointer<Float>) { self.pointer = pointer }
    deinit { pointer.deallocate() }
}
