import Foundation

/// `hydra heads build` as a value: a new head for a language over a
/// model's body, from the model's native head. The tokenizer is trained on
/// a corpus or taken from a head file; the rows come from zip-tie,
/// trans-tokenization (both written as recipe heads: sparse maps onto the
/// native rows) or random rows matched to the native table (a dense
/// baseline). Files under a `heldout` folder are refused as training data.
public struct HeadBuild {
    public enum Method: String, CaseIterable, Sendable {
        case ziptie, transtok, random
    }

    /// Where the new head's tokenizer comes from.
    public enum TokenizerSource {
        /// BPE trained on these text files (.tsv: the second column).
        case trained(corpus: [String], vocabularySize: Int)
        /// The tokenizer of a head file.
        case file(String)
    }

    public var method: Method
    public var tokenizer: TokenizerSource
    /// Parallel text for trans-tokenization ('source<TAB>target' lines).
    public var pairs: [String] = []
    /// The head's language (BCP-47).
    public var language: Language
    /// The head's name (default: <language>-<model file>-<method>).
    public var name: String?
    /// Trans-tokenization: word pairs with a smaller expected count are dropped.
    public var minCount = 1.0
    /// Trans-tokenization: EM iterations of the word aligner (default: the aligner's).
    public var iterations: Int?
    /// Trans-tokenization: the share of each row taken from its zip-tie row
    /// (0: none; 1: zip-tie alone). For a language the model already reads,
    /// its own pieces of a token say what the token is.
    public var zipTieShare: Float = 0
    /// Random rows: the seed.
    public var seed: UInt64 = 1

    public init(method: Method, tokenizer: TokenizerSource, language: Language) {
        self.method = method
        self.tokenizer = tokenizer
        self.language = language
    }

    /// Refuses held-out files as training data (the one rule of `TuningCorpus.checkNotHeldOut`).
    public static func checkTrainingFiles(_ paths: [String]) throws {
        try TuningCorpus.checkNotHeldOut(paths)
    }

    /// A training text file: a .tsv gives its second column, anything else
    /// its text (which must be UTF-8).
    public static func trainingText(_ path: String) throws -> String {
        try checkTrainingFiles([path])
        if path.hasSuffix(".tsv") { return try ParallelText.read(path: path).map(\.target).joined(separator: "\n") }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HydraError.invalidInput("cannot read \(path)")
        }
        return try UTF8Input.decode([UInt8](data))
    }

    /// Builds the head over `file`'s native head and writes it to `out`.
    /// `progress` gets a stage's name and the fraction done; `log` a line
    /// of figures. Returns what was written.
    @discardableResult
    public func write(model file: GGUFFile, to out: String, progress: (String, Double) -> Void = { _, _ in },
                      log: (String) -> Void = { _ in }) throws -> HeadInfo {
        if case .trained(let corpus, _) = tokenizer { try Self.checkTrainingFiles(corpus) }
        try Self.checkTrainingFiles(pairs)
        guard (0...1).contains(zipTieShare) else {
            throw HydraError.invalidInput("the zip-tie share must be between 0 and 1, not \(zipTieShare)")
        }
        let body = try Body(file: file)
        let native = try Head.native(of: body)
        let (target, tokenizerNote) = try makeTokenizer(native: native, progress: progress)
        let metadata = TokenizerMetadata(vocabulary: target.vocabulary)

        var info = native.info
        let stem = URL(fileURLWithPath: file.path).deletingPathExtension().lastPathComponent
        info.name = name ?? "\(language.code)-\(stem)-\(method.rawValue)"
        info.language = language.code
        info.script = language.script?.description
        let source = file.string("general.name") ?? stem
        func writeRecipe(_ map: SparseMap) throws {
            let recipe = try HeadRecipe(map: map, sourceRows: native.embedding.rowCount)
            try HeadFileWriter.writeRecipe(info: info, tokenizer: metadata, recipe: recipe, source: native, to: out)
        }

        switch method {
        case .ziptie:
            progress("zip-tie", 0)
            let map = ZipTie.build(target: target.vocabulary, source: native.tokenizer)
            progress("zip-tie", 1)
            info.provenance = .init(method: "zip-tie", source: source, notes: tokenizerNote)
            try writeRecipe(map)
        case .transtok:
            let all = try pairs.flatMap { try ParallelText.read(path: $0) }
            var options = TransTokenization.Options()
            options.minCount = minCount
            if let iterations { options.aligner.iterations = iterations }
            var (map, stats) = TransTokenization.build(pairs: all, source: native.tokenizer, target: target,
                                                       options: options) { stage, fraction in
                progress("trans-tokenization: \(stage)", fraction)
            }
            var mix = ""
            if zipTieShare > 0 {
                let zipTie = ZipTie.build(target: target.vocabulary, source: native.tokenizer)
                map = SparseMaps.average([map, zipTie], weights: [1 - zipTieShare, zipTieShare])
                mix = "; \(zipTieShare) of each row zip-tie"
            }
            log("\(stats.sentencePairs) sentence pairs, \(stats.wordPairs) word pairs; target tokens: "
                + "\(stats.counted) aligned, \(stats.smoothed) smoothed, \(stats.zipTie) zip-tie, \(stats.special) special")
            let names = pairs.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ", ")
            info.provenance = .init(method: "trans-tokenization", source: source,
                                    notes: "\(tokenizerNote); pairs: \(names) (\(all.count)); min count \(minCount); "
                                        + "\(stats.counted) aligned, \(stats.smoothed) smoothed, \(stats.zipTie) zip-tie\(mix)")
            try writeRecipe(map)
        case .random:
            progress("random rows", 0)
            info.provenance = .init(method: "random", source: source,
                                    notes: "\(tokenizerNote); rows random with the native table's mean, spread and mean norm (seed \(seed)); special tokens copied")
            let specials = ZipTie.build(target: target.vocabulary, source: native.tokenizer)
            let embedding = Self.randomTable(native.embedding, count: target.vocabulary.count, seed: seed,
                                             specials: specials, vocabulary: target.vocabulary)
            progress("random rows", 0.5)
            var output: [Float]? = nil
            if info.output == .separate, let o = native.output {
                output = Self.randomTable(TokenEmbedding(matrix: o.matrix), count: target.vocabulary.count,
                                          seed: seed &+ 1, specials: specials, vocabulary: target.vocabulary)
            }
            progress("random rows", 1)
            try HeadFileWriter.writeDense(info: info, tokenizer: metadata, embedding: embedding, output: output,
                                          width: body.config.embeddingLength, to: out)
        }
        return info
    }

    /// The new head's tokenizer and a note on where it came from.
    private func makeTokenizer(native: Head, progress: (String, Double) -> Void) throws -> (Tokenizer, String) {
        switch tokenizer {
        case .file(let path):
            let file = try GGUFFile(path: try HeadCatalog().resolve(path))
            return (try Tokenizer(gguf: file), "tokenizer from \(URL(fileURLWithPath: path).lastPathComponent)")
        case .trained(let corpus, let size):
            let stage = "training tokenizer (\(size))"
            progress(stage, 0)
            let texts = try corpus.map(Self.trainingText)
            let trained = try TokenizerTrainer.train(
                corpus: texts, options: .init(vocabularySize: size, specialsFrom: native.vocabulary))
            progress(stage, 1)
            let names = corpus.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ", ")
            return (Tokenizer(vocabulary: try trained.vocabulary()), "tokenizer: BPE \(size) trained on \(names)")
        }
    }

    /// Random rows matched to (a sample of) `source`'s rows; special
    /// tokens keep their counterpart's row, so BOS stays BOS.
    static func randomTable(_ source: any EmbeddingSource, count: Int, seed: UInt64, specials: SparseMap,
                            vocabulary: Vocabulary) -> [Float] {
        let width = source.width
        // Every 4th row is plenty for a mean, a spread and a mean norm.
        let sampled = stride(from: 0, to: source.rowCount, by: 4).map { $0 }
        var values = [Float](repeating: 0, count: sampled.count * width)
        values.withUnsafeMutableBufferPointer { v in
            for (k, r) in sampled.enumerated() { source.row(r, into: v.baseAddress! + k * width) }
        }
        var table = RandomRows.matched(to: FloatMatrix(rows: sampled.count, cols: width, values: values),
                                       count: count, seed: seed).values
        var row = [Float](repeating: 0, count: width)
        for j in 0..<count where vocabulary.attributes[j].contains(.control) || vocabulary.attributes[j].contains(.unknown) {
            guard let (i, _) = specials[j].first else { continue }
            row.withUnsafeMutableBufferPointer { source.row(Int(i), into: $0.baseAddress!) }
            table.replaceSubrange(j * width..<(j + 1) * width, with: row)
        }
        return table
    }
}
