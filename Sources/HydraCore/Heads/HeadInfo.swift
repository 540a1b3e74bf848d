import Foundation

/// What a head says about itself: its name and language, the body it fits,
/// whether it scores tokens, and how it was made. Stored as `hydra.head.*`
/// metadata in head files (see heads/README.md).
public struct HeadInfo: Sendable, Equatable {
    /// How a head turns hidden states into logits.
    public enum Output: String, Sendable {
        /// The embedding table doubles as the output matrix.
        case tied
        /// A separate output matrix (`output.weight`).
        case separate
        /// None: the head only embeds (an input-only head).
        case none
    }

    /// The body a head was built for.
    public struct BodyFit: Sendable, Equatable, CustomStringConvertible {
        public var architecture: String
        public var hiddenSize: Int
        public var fingerprint: BodyFingerprint

        public init(architecture: String, hiddenSize: Int, fingerprint: BodyFingerprint) {
            self.architecture = architecture
            self.hiddenSize = hiddenSize
            self.fingerprint = fingerprint
        }

        /// The fit of a loaded body.
        public init(body: Body) {
            self.init(architecture: body.config.architecture.rawValue, hiddenSize: body.config.embeddingLength,
                      fingerprint: BodyFingerprint(body: body))
        }

        /// "<fingerprint> (qwen2, 896)".
        public var description: String { "\(fingerprint) (\(architecture), \(hiddenSize))" }
    }

    /// How the head was made.
    public struct Provenance: Sendable, Equatable {
        /// "native" (a model file's own head), "copy", "zip-tie",
        /// "trans-tokenization", "lep", "random", ...
        public var method: String
        /// The head it was made from, if any.
        public var source: String?
        /// ISO 8601 date.
        public var date: String?
        /// The program (and version) that made it.
        public var tool: String?
        /// Free text: corpora, parameters.
        public var notes: String?

        public init(method: String, source: String? = nil, date: String? = nil, tool: String? = nil,
                    notes: String? = nil) {
            self.method = method
            self.source = source
            self.date = date
            self.tool = tool
            self.notes = notes
        }
    }

    /// Unique among the heads of one body ("qwen2.5-0.5b-tt-ziptie").
    public var name: String
    /// BCP-47 language code ("tt"; "mul" for a native multilingual head).
    public var language: String
    /// ISO 15924 script code of the language ("Cyrl"), when it has one.
    public var script: String?
    /// The language the translation prompt names when this head writes the
    /// answer, where that is not the head's own: a related language the body
    /// writes well ("ru" for a Tatar head), whose intent the tuned output rows
    /// turn into this head's language. Nil: the head's language.
    public var promptLanguage: String?
    /// The `--no-repeat-ngram` that translations through this head use
    /// unless told otherwise (a tuned head whose greedy answers fall into
    /// loops); nil: off.
    public var noRepeatNgram: Int?
    /// The `--repeat-penalty` that translations through this head use
    /// unless told otherwise; nil: off (1).
    public var repeatPenalty: Float?
    /// The `--candidates` (consensus decoding) that greedy translations
    /// through this head use unless told otherwise; nil: off (1).
    public var candidates: Int?
    /// The `--beam` (beam search) that greedy translations through this
    /// head use unless told otherwise (or told --candidates or --lexicon,
    /// which beams do not do); nil: none (1).
    /// A head recommends candidates or beams, not both.
    public var beams: Int?
    /// The `--round-trip-weight` of consensus decoding through this head
    /// unless told otherwise; nil: off (0).
    public var roundTripWeight: Float?
    /// The `--round-trip-below` of consensus decoding through this head
    /// unless told otherwise; nil: 100 (the check wherever it is on).
    public var roundTripBelow: Float?
    /// The `--examples` (pairs of the head's translation memory shown in
    /// the prompt, `Head.memory`) that translations through this head use
    /// unless told otherwise; nil: none.
    public var examples: Int?
    /// The `--min-length` (the answer's least characters per source
    /// character before it may end) that translations through this head
    /// use unless told otherwise; nil: off.
    public var minLength: Float?
    /// The `--copy-bias` (logit added to the token that continues the
    /// prompt's examples where the answer's last tokens occurred in them)
    /// that translations through this head use unless told otherwise;
    /// nil: off.
    public var copyBias: Float?
    /// The word forms translations through this head keep to unless told
    /// otherwise (`--lexicon`, `--no-lexicon`); nil: any.
    public var lexicon: StoredLexicon?
    public var body: BodyFit
    public var output: Output
    /// How the model's own head factors the head's output (`FactoredOutput`):
    /// it says how the text goes on, the rows only which of the head's
    /// tokens that agree with it comes; nil: the rows alone.
    public var factored: OutputFactoring?
    public var provenance: Provenance

    public init(name: String, language: String, script: String? = nil, promptLanguage: String? = nil,
                noRepeatNgram: Int? = nil, repeatPenalty: Float? = nil, candidates: Int? = nil, beams: Int? = nil,
                roundTripWeight: Float? = nil, roundTripBelow: Float? = nil, examples: Int? = nil, minLength: Float? = nil,
                copyBias: Float? = nil, lexicon: StoredLexicon? = nil, body: BodyFit, output: Output, factored: OutputFactoring? = nil,
                provenance: Provenance) {
        self.name = name
        self.language = language
        self.script = script
        self.promptLanguage = promptLanguage
        self.noRepeatNgram = noRepeatNgram
        self.repeatPenalty = repeatPenalty
        self.candidates = candidates
        self.beams = beams
        self.roundTripWeight = roundTripWeight
        self.roundTripBelow = roundTripBelow
        self.examples = examples
        self.minLength = minLength
        self.copyBias = copyBias
        self.lexicon = lexicon
        self.body = body
        self.output = output
        self.factored = factored
        self.provenance = provenance
    }

    /// Today's date as the build date ("2025-01-31").
    public static func today() -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyy-MM-dd"
        return f.string(from: Date())
    }
}

/// The metadata keys and tensor names of head files.
public enum HeadKeys {
    /// Bumped when the layout changes incompatibly.
    public static let formatVersion = "hydra.head.format_version"
    /// The newest format this hydra reads and writes: 2 added a recipe's
    /// stored input rows (`recipeInputTokens`), which a reader of format 1
    /// would ignore; a file without them is written as format 1.
    public static let currentFormat = 2
    public static let name = "hydra.head.name"
    public static let language = "hydra.head.language"
    public static let script = "hydra.head.script"
    /// The language the translation prompt names (see `HeadInfo.promptLanguage`).
    public static let promptLanguage = "hydra.head.prompt_language"
    /// The head's default `--no-repeat-ngram` (see `HeadInfo.noRepeatNgram`).
    public static let noRepeatNgram = "hydra.head.decoding.no_repeat_ngram"
    /// The head's default `--repeat-penalty` (see `HeadInfo.repeatPenalty`).
    public static let repeatPenalty = "hydra.head.decoding.repeat_penalty"
    /// The head's default `--candidates` (see `HeadInfo.candidates`).
    public static let candidates = "hydra.head.decoding.candidates"
    /// The head's default `--beam` (see `HeadInfo.beams`).
    public static let beams = "hydra.head.decoding.beams"
    /// The head's default `--round-trip-weight` (see `HeadInfo.roundTripWeight`).
    public static let roundTripWeight = "hydra.head.decoding.round_trip_weight"
    /// The head's default `--round-trip-below` (see `HeadInfo.roundTripBelow`).
    public static let roundTripBelow = "hydra.head.decoding.round_trip_below"
    /// The head's default `--examples` (see `HeadInfo.examples`).
    public static let examples = "hydra.head.decoding.examples"
    /// The head's default `--min-length` (see `HeadInfo.minLength`).
    public static let minLength = "hydra.head.decoding.min_length"
    /// The head's default `--copy-bias` (see `HeadInfo.copyBias`).
    public static let copyBias = "hydra.head.decoding.copy_bias"
    /// The head's lexicon (see `HeadInfo.lexicon`): its words, lower-cased,
    /// as a string array.
    public static let lexicon = "hydra.head.decoding.lexicon"
    /// The head's translation memory (`Head.memory`): the language of its
    /// source side, and the two sides as string arrays of one length.
    public static let memoryLanguage = "hydra.head.memory.language"
    public static let memorySource = "hydra.head.memory.source"
    public static let memoryTarget = "hydra.head.memory.target"
    /// "dense", "recipe" or "slice".
    public static let kind = "hydra.head.kind"
    /// "tied", "separate" or "none".
    public static let output = "hydra.head.output"
    /// How the model's own head factors the output: "first-token" or "compatible" (`OutputFactoring`);
    /// true in older files: "first-token".
    public static let outputFactored = "hydra.head.output.factored"
    public static let bodyArchitecture = "hydra.head.body.architecture"
    public static let bodyHiddenSize = "hydra.head.body.hidden_size"
    public static let bodyFingerprint = "hydra.head.body.fingerprint"
    public static let buildMethod = "hydra.head.build.method"
    public static let buildSource = "hydra.head.build.source"
    public static let buildDate = "hydra.head.build.date"
    public static let buildTool = "hydra.head.build.tool"
    public static let buildNotes = "hydra.head.build.notes"

    /// Recipe and slice heads: the head whose rows the map points into, or
    /// whose tokenizer and input rows the slice keeps ("native": the body
    /// file's own head).
    public static let recipeSource = "hydra.recipe.source"
    /// Rows of the source head (checked at load).
    public static let recipeSourceRows = "hydra.recipe.source_rows"
    /// Hash of the source head's token texts (checked at load).
    public static let recipeSourceTokens = "hydra.recipe.source_tokens"

    public static let embeddingTensor = "token_embd.weight"
    public static let outputTensor = "output.weight"
    public static let outputBiasTensor = "output.bias"
    public static let recipeOffsets = "hydra.recipe.offsets"
    public static let recipeIndices = "hydra.recipe.indices"
    public static let recipeWeights = "hydra.recipe.weights"
    /// Recipe heads: input rows stored beside the map (`RowPatch`), which
    /// replace the mapped rows of these tokens (I32, increasing) at load.
    public static let recipeInputTokens = "hydra.recipe.input_tokens"
    /// Those rows: `[hidden, tokens]`, F32, F16 or Q8_0.
    public static let recipeInputRows = "hydra.recipe.input_rows"
    /// Slice heads: the token each `output.weight` row scores (I32, increasing).
    public static let sliceTokens = "hydra.slice.tokens"

    /// The name a recipe uses for the native head of its body.
    public static let nativeSource = "native"
}
