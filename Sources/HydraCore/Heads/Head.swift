/// A head: what turns one language's text into the body's inputs and the
/// body's outputs back into that language — a tokenizer, an embedding
/// table, and (unless input-only) an output matrix — plus what it says
/// about itself (`HeadInfo`). A model file's own tables form its native
/// head; head files (`HeadFile`) hold others.
public final class Head: @unchecked Sendable {
    public let info: HeadInfo
    public let tokenizer: Tokenizer
    /// The tokenizer as GGUF metadata (what a head file stores).
    public let tokenizerMetadata: TokenizerMetadata
    /// Input rows, one per token id.
    public let embedding: any EmbeddingSource
    /// The output projection; nil for an input-only head.
    public let output: OutputHead?
    /// "dense", "recipe" or "slice" for head files, "native" for a model file's own head.
    public let kind: String
    /// The file the head was read from, if any.
    public let path: String?
    /// Pairs of texts and their translations into this head's language that
    /// a translation can show in its prompt (`Sampling.examples`), if the
    /// head file stores them.
    public let memory: TranslationMemory?
    /// Whatever owns the memory the tables point into (a mapped file,
    /// materialized tables): kept alive as long as the head.
    private let owners: [AnyObject]
    /// Sets of tokens computed once over the vocabulary: those of other
    /// scripts (`ScriptLock`), those writing placeholder marks or line
    /// breaks (`tokens(writing:)`).
    let maskCache = TokenMaskCache()

    public var name: String { info.name }
    public var language: String { info.language }
    public var vocabulary: Vocabulary { tokenizer.vocabulary }
    /// Whether the head can score tokens (and so be decoded into).
    public var canGenerate: Bool { output != nil }

    public init(info: HeadInfo, tokenizer: Tokenizer, tokenizerMetadata: TokenizerMetadata,
                embedding: any EmbeddingSource, output: OutputHead?, kind: String, path: String? = nil,
                memory: TranslationMemory? = nil, owners: [AnyObject] = []) {
        self.info = info
        self.tokenizer = tokenizer
        self.tokenizerMetadata = tokenizerMetadata
        self.embedding = embedding
        self.output = output
        self.kind = kind
        self.path = path
        self.memory = memory
        self.owners = owners
    }

    /// This head with its output factored by `native`'s (`FactoredOutput`),
    /// as a head file that says `hydra.head.output.factored` is loaded.
    public func factored(_ factoring: OutputFactoring, over native: Head) throws -> Head {
        guard let output, output.tokens == nil else {
            throw HeadError.invalid("head '\(name)': only a head with output rows of its own can be factored")
        }
        guard let nativeOutput = native.output, native !== self else {
            throw HeadError.invalid("head '\(name)': the model's own head has no output to factor it by")
        }
        let factors = switch factoring {
        case .firstToken:
            try FactoredOutput(native: nativeOutput, groups: NativeGroups(head: self, native: native, count: output.vocabularySize))
        case .compatible:
            try FactoredOutput(native: nativeOutput,
                               compatibility: NativeCompatibility(head: self, native: native, count: output.vocabularySize))
        }
        let factoredOutput = output.factored(by: factors)
        return Head(info: info, tokenizer: tokenizer, tokenizerMetadata: tokenizerMetadata, embedding: embedding,
                    output: factoredOutput, kind: kind, path: path, memory: memory, owners: owners)
    }

    /// The native head of a model file: its tokenizer, `token_embd.weight`
    /// and `output.weight` (or the tied table), viewed in place.
    /// - Parameters:
    ///   - language: the head's language; default: the first of the file's
    ///     `general.languages`, else "mul" (many languages).
    ///   - tokenizer: an already-built tokenizer of `body.file` (saves reading it again).
    public static func native(of body: Body, language: String? = nil, name: String = HeadKeys.nativeSource,
                              tokenizer: Tokenizer? = nil) throws -> Head {
        let file = body.file
        let embedding = try TokenEmbedding(file: file, config: body.config)
        let output = try OutputHead(file: file, config: body.config)
        let tok = try tokenizer ?? Tokenizer(gguf: file)
        let lang = language ?? file.strings("general.languages")?.first ?? "mul"
        let tied = file.tensor(named: HeadKeys.outputTensor) == nil
        let info = HeadInfo(
            name: name, language: lang, script: (try? Language.named(lang))?.script?.description,
            body: HeadInfo.BodyFit(body: body), output: tied ? .tied : .separate,
            provenance: .init(method: "native", source: file.string("general.name")))
        return Head(info: info, tokenizer: tok, tokenizerMetadata: TokenizerMetadata(file: file),
                    embedding: embedding, output: output, kind: "native", path: file.path, owners: [file])
    }

    /// Checks that this head fits `body`: same architecture, hidden size and
    /// fingerprint, and tables of the body's width.
    public func checkFits(_ body: Body, fingerprint: BodyFingerprint? = nil) throws {
        let have = HeadInfo.BodyFit(architecture: body.config.architecture.rawValue,
                                    hiddenSize: body.config.embeddingLength,
                                    fingerprint: fingerprint ?? BodyFingerprint(body: body))
        try Self.check(info, fits: have)
        guard embedding.width == have.hiddenSize, output.map({ $0.matrix.cols == have.hiddenSize }) ?? true else {
            throw HeadError.mismatch("head '\(name)' has rows of \(embedding.width) floats but the body takes \(have.hiddenSize)")
        }
    }

    /// Refuses a head whose recorded body differs from `body`.
    static func check(_ info: HeadInfo, fits body: HeadInfo.BodyFit) throws {
        guard info.body == body else {
            throw HeadError.mismatch("head '\(info.name)' was built for body \(info.body) but this body is \(body)")
        }
    }
}

/// Why a head cannot be used.
public enum HeadError: Error, CustomStringConvertible, Equatable {
    /// The head was built for another body.
    case mismatch(String)
    /// The head file is malformed or incomplete.
    case invalid(String)
    /// No head by that name, language or path.
    case notFound(String)

    public var description: String {
        switch self {
        case .mismatch(let s), .invalid(let s), .notFound(let s): s
        }
    }
}
