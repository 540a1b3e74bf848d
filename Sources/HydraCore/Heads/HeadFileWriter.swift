/// Writes head files (see `HeadFile` and heads/README.md).
///
/// Table types: a head taken from a model file keeps its tables' blocks
/// as they are (Q4_K stays Q4_K), so it scores exactly like the model.
/// Tables computed in floats (builders, materialized recipes) are written
/// as Q8_0 by default: 1.06 bytes a weight instead of 4 (F32) or 2 (F16),
/// rounding error far below what any head-building method changes, and
/// the output matrix — read in full for every generated token — costs the
/// least memory bandwidth of the three. F32 keeps values exactly (tests),
/// F16 is there for tables whose width is not a multiple of 32.
public enum HeadFileWriter {
    /// The default type of tables computed in floats.
    public static let defaultTableType: GGMLType = .q8_0

    /// Writes `head` as a dense head file.
    /// - Parameters:
    ///   - info: what to record (default: the head's own, with kind and method kept).
    ///   - tableType: nil copies matrix blocks unchanged; else rows are
    ///     dequantized and stored as F32, F16 or Q8_0.
    public static func writeDense(_ head: Head, to path: String, info: HeadInfo? = nil,
                                  tableType: GGMLType? = nil) throws {
        var w = GGUFWriter()
        setMetadata(&w, info: info ?? head.info, kind: "dense", tokenizer: head.tokenizerMetadata)
        let (embedding, owner) = try rows(of: head.embedding)
        try withExtendedLifetime(owner) {
            try addTable(&w, name: HeadKeys.embeddingTensor, matrix: embedding, type: tableType)
        }
        let output = (info ?? head.info).output
        if output != .none, head.output?.tokens != nil {
            throw HeadError.invalid("head '\(head.name)' has output rows for some tokens only: it cannot be written as a dense head")
        }
        if output == .separate, let o = head.output {
            try addTable(&w, name: HeadKeys.outputTensor, matrix: o.matrix, type: tableType)
        } else if output == .separate {
            throw HeadError.invalid("head '\(head.name)' has no output matrix to write")
        }
        if output != .none, let bias = head.output?.bias {
            try w.addTensor(name: HeadKeys.outputBiasTensor, shape: [bias.count],
                            floats: Array(UnsafeBufferPointer(start: bias.values, count: bias.count)))
        }
        try w.write(to: path)
    }

    /// Writes a dense head from tables computed in floats (rows × width,
    /// row-major). `output` nil with `info.output == .separate` is an error.
    /// `memory`: a translation memory to store (a tuned head keeps its own).
    public static func writeDense(info: HeadInfo, tokenizer: TokenizerMetadata, embedding: [Float], output: [Float]?,
                                  width: Int, tableType: GGMLType = defaultTableType, memory: TranslationMemory? = nil,
                                  to path: String) throws {
        guard width > 0, embedding.count % width == 0 else {
            throw HeadError.invalid("\(embedding.count) embedding floats are not rows of \(width)")
        }
        var w = GGUFWriter()
        setMetadata(&w, info: info, kind: "dense", tokenizer: tokenizer, memory: memory)
        let type = width % tableType.blockElements == 0 ? tableType : .f16
        try w.addTensor(name: HeadKeys.embeddingTensor, type: type, shape: [width, embedding.count / width],
                        bytes: OwnedMatrix.encoded(embedding, as: type))
        if info.output == .separate {
            guard let output, output.count % width == 0 else {
                throw HeadError.invalid("head '\(info.name)' is untied but has no output table of rows of \(width)")
            }
            try w.addTensor(name: HeadKeys.outputTensor, type: type, shape: [width, output.count / width],
                            bytes: OwnedMatrix.encoded(output, as: type))
        }
        try w.write(to: path)
    }

    /// Writes a recipe head: `recipe` maps the tokens of `tokenizer` onto
    /// the rows of `source` (recorded by name, row count and token hash).
    /// `info.output` says whether the map also builds output rows.
    public static func writeRecipe(info: HeadInfo, tokenizer: TokenizerMetadata, recipe: HeadRecipe, source: Head,
                                   to path: String) throws {
        try writeRecipe(info: info, tokenizer: tokenizer, recipe: recipe, source: RecipeSource(source), to: path)
    }

    /// Writes a recipe head; with `output` (rows × width floats, `info.output`
    /// separate) the file also stores these output rows, which replace the
    /// mapped ones when it is loaded: a tuned head whose input rows are
    /// still the map. With `inputRows`, it also stores these input rows,
    /// which replace the mapped rows of their tokens (format 2).
    public static func writeRecipe(info: HeadInfo, tokenizer: TokenizerMetadata, recipe: HeadRecipe, source: RecipeSource,
                                   output: [Float]? = nil, inputRows: RowPatch? = nil, width: Int = 0,
                                   tableType: GGMLType = defaultTableType,
                                   memory: TranslationMemory? = nil, to path: String) throws {
        guard recipe.indices.allSatisfy({ Int($0) < source.rows }) else {
            throw HeadError.invalid("the recipe points past the \(source.rows) rows of head '\(source.name)'")
        }
        let patch = inputRows.flatMap { $0.tokens.isEmpty ? nil : $0 }
        var w = GGUFWriter()
        setMetadata(&w, info: info, kind: "recipe", tokenizer: tokenizer, memory: memory,
                    format: patch == nil ? 1 : HeadKeys.currentFormat)
        setSource(&w, source)
        try w.addTensor(name: HeadKeys.recipeOffsets, type: .i32, shape: [recipe.offsets.count],
                        bytes: recipe.offsets.withUnsafeBytes { Array($0) })
        // GGUF tensors have at least one element: an empty map stores one unused entry.
        let indices = recipe.indices.isEmpty ? [Int32(0)] : recipe.indices
        let weights = recipe.weights.isEmpty ? [Float(0)] : recipe.weights
        try w.addTensor(name: HeadKeys.recipeIndices, type: .i32, shape: [indices.count],
                        bytes: indices.withUnsafeBytes { Array($0) })
        try w.addTensor(name: HeadKeys.recipeWeights, shape: [weights.count], floats: weights)
        if let output {
            guard info.output == .separate, width > 0, output.count == recipe.rowCount * width else {
                throw HeadError.invalid("head '\(info.name)': output rows need a separate output and \(recipe.rowCount) rows of \(width)")
            }
            let type = width % tableType.blockElements == 0 ? tableType : .f16
            try w.addTensor(name: HeadKeys.outputTensor, type: type, shape: [width, recipe.rowCount],
                            bytes: OwnedMatrix.encoded(output, as: type))
        }
        if let patch {
            guard Int(patch.tokens[patch.tokens.count - 1]) < recipe.rowCount else {
                throw HeadError.invalid("head '\(info.name)': stored input rows past its \(recipe.rowCount) tokens")
            }
            let type = patch.width % tableType.blockElements == 0 ? tableType : .f16
            try w.addTensor(name: HeadKeys.recipeInputTokens, type: .i32, shape: [patch.tokens.count],
                            bytes: patch.tokens.withUnsafeBytes { Array($0) })
            try w.addTensor(name: HeadKeys.recipeInputRows, type: type, shape: [patch.width, patch.tokens.count],
                            bytes: OwnedMatrix.encoded(patch.rows, as: type))
        }
        try w.write(to: path)
    }

    /// Writes a slice head: `source`'s tokenizer, with output rows for
    /// `tokens` only — the rows of `source`'s output matrix (and bias) for
    /// those tokens, their blocks copied unchanged, so each kept token
    /// scores exactly as it does through `source`. Its input rows stay
    /// `source`'s (recorded by name, row count and token hash, not copied).
    public static func writeSlice(_ source: Head, tokens: [Int32], info: HeadInfo, to path: String) throws {
        guard let output = source.output, output.tokens == nil else {
            throw HeadError.invalid("head '\(source.name)' has no whole output matrix to slice")
        }
        let ids = Array(Set(tokens)).sorted()
        guard let first = ids.first, first >= 0, Int(ids[ids.count - 1]) < output.vocabularySize else {
            throw HeadError.invalid("a slice of head '\(source.name)' needs tokens below \(output.vocabularySize)")
        }
        var w = try sliceWriter(info: info, tokenizer: source.tokenizerMetadata, source: RecipeSource(source), tokens: ids)
        let m = output.matrix
        var bytes: [UInt8] = []
        bytes.reserveCapacity(ids.count * m.rowBytes)
        for id in ids {
            bytes += UnsafeRawBufferPointer(start: m.data + Int(id) * m.rowBytes, count: m.rowBytes)
        }
        try w.addTensor(name: HeadKeys.outputTensor, type: m.type, shape: [m.cols, ids.count], bytes: bytes)
        if let bias = output.bias {
            try w.addTensor(name: HeadKeys.outputBiasTensor, shape: [ids.count], floats: ids.map { bias.values[Int($0)] })
        }
        try w.write(to: path)
    }

    /// Writes a slice head whose rows were computed in floats (`tokens.count`
    /// rows × width: tuned rows, `HeadTuning`) over the input rows of `source`.
    public static func writeSlice(info: HeadInfo, tokenizer: TokenizerMetadata, source: RecipeSource, tokens: [Int32],
                                  output: [Float], width: Int, tableType: GGMLType = defaultTableType,
                                  memory: TranslationMemory? = nil, to path: String) throws {
        guard !tokens.isEmpty, zip(tokens, tokens.dropFirst()).allSatisfy({ $0 < $1 }), tokens[0] >= 0,
              Int(tokens[tokens.count - 1]) < source.rows, width > 0, output.count == tokens.count * width else {
            throw HeadError.invalid("head '\(info.name)': a slice needs increasing tokens below \(source.rows) and a row of \(width) for each")
        }
        var w = try sliceWriter(info: info, tokenizer: tokenizer, source: source, tokens: tokens, memory: memory)
        let type = width % tableType.blockElements == 0 ? tableType : .f16
        try w.addTensor(name: HeadKeys.outputTensor, type: type, shape: [width, tokens.count],
                        bytes: OwnedMatrix.encoded(output, as: type))
        try w.write(to: path)
    }

    /// A slice head file's keys and kept tokens, before its output rows.
    private static func sliceWriter(info: HeadInfo, tokenizer: TokenizerMetadata, source: RecipeSource,
                                    tokens: [Int32], memory: TranslationMemory? = nil) throws -> GGUFWriter {
        var w = GGUFWriter()
        var sliced = info
        sliced.output = .separate
        setMetadata(&w, info: sliced, kind: "slice", tokenizer: tokenizer, memory: memory)
        setSource(&w, source)
        try w.addTensor(name: HeadKeys.sliceTokens, type: .i32, shape: [tokens.count], bytes: tokens.withUnsafeBytes { Array($0) })
        return w
    }

    /// The keys naming the head a recipe or slice head's rows come from.
    private static func setSource(_ w: inout GGUFWriter, _ source: RecipeSource) {
        w.set(HeadKeys.recipeSource, .string(source.name))
        w.set(HeadKeys.recipeSourceRows, .uint32(UInt32(source.rows)))
        w.set(HeadKeys.recipeSourceTokens, .string(source.tokensHash))
    }

    /// The `hydra.head.*`, `general.*` and tokenizer keys.
    /// `format`: the oldest format that reads the file right.
    static func setMetadata(_ w: inout GGUFWriter, info: HeadInfo, kind: String, tokenizer: TokenizerMetadata,
                            memory: TranslationMemory? = nil, format: Int = 1) {
        w.set("general.type", .string("hydra-head"))
        w.set("general.name", .string(info.name))
        w.set(HeadKeys.formatVersion, .uint32(UInt32(format)))
        w.set(HeadKeys.name, .string(info.name))
        w.set(HeadKeys.language, .string(info.language))
        if let script = info.script { w.set(HeadKeys.script, .string(script)) }
        if let code = info.promptLanguage { w.set(HeadKeys.promptLanguage, .string(code)) }
        for case let (key, value?) in HeadDecoding.keys(of: info) { w.set(key, value) }
        for case let (key, value?) in HeadDecoding.memoryKeys(memory) { w.set(key, value) }
        w.set(HeadKeys.kind, .string(kind))
        w.set(HeadKeys.output, .string(info.output.rawValue))
        if let f = info.factored { w.set(HeadKeys.outputFactored, .string(f.rawValue)) }
        w.set(HeadKeys.bodyArchitecture, .string(info.body.architecture))
        w.set(HeadKeys.bodyHiddenSize, .uint32(UInt32(info.body.hiddenSize)))
        w.set(HeadKeys.bodyFingerprint, .string(info.body.fingerprint.description))
        let p = info.provenance
        w.set(HeadKeys.buildMethod, .string(p.method))
        if let s = p.source { w.set(HeadKeys.buildSource, .string(s)) }
        w.set(HeadKeys.buildDate, .string(p.date ?? HeadInfo.today()))
        w.set(HeadKeys.buildTool, .string(p.tool ?? "hydra \(Hydra.version)"))
        if let s = p.notes { w.set(HeadKeys.buildNotes, .string(s)) }
        for (key, value) in tokenizer.entries { w.set(key, value) }
    }

    /// The matrix behind an embedding source (dequantizing rows when it is
    /// not a plain table).
    private static func rows(of source: any EmbeddingSource) throws -> (QuantizedMatrix, OwnedMatrix?) {
        if let t = source as? TokenEmbedding { return (t.matrix, nil) }
        var floats = [Float](repeating: 0, count: source.rowCount * source.width)
        floats.withUnsafeMutableBufferPointer { f in
            for r in 0..<source.rowCount { source.row(r, into: f.baseAddress! + r * source.width) }
        }
        let owned = try OwnedMatrix(floats: floats, rows: source.rowCount, cols: source.width)
        return (owned.matrix, owned)
    }

    private static func addTable(_ w: inout GGUFWriter, name: String, matrix m: QuantizedMatrix, type: GGMLType?) throws {
        let bytes: [UInt8]
        let outType = type ?? m.type
        if outType == m.type {
            bytes = Array(UnsafeRawBufferPointer(start: m.data, count: m.byteCount))
        } else {
            var floats = [Float](repeating: 0, count: m.rows * m.cols)
            floats.withUnsafeMutableBufferPointer { f in
                for r in 0..<m.rows { m.dequantizeRow(r, into: f.baseAddress! + r * m.cols) }
            }
            bytes = try OwnedMatrix.encoded(floats, as: outType)
        }
        try w.addTensor(name: name, type: outType, shape: [m.cols, m.rows], bytes: bytes)
    }
}
