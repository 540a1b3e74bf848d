import ArgumentParser
import HydraCore

extension HeadsCommand {
    /// `hydra heads recommend`: record decoding settings as a head's defaults.
    struct Recommend: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Record the decoding settings translations through a head use unless told otherwise.",
            discussion: """
                Rewrites the head file's hydra.head.decoding.* keys, every table byte unchanged: \
                --no-repeat-ngram N (0: none), --repeat-penalty P (1: none), --candidates N (1: none; \
                consensus decoding, for greedy translations), --beam N (1: none; beam search, for greedy \
                translations; replaces --candidates, as --candidates replaces it), --round-trip-weight W (0: none) and \
                --round-trip-below B (100: always), --examples N (0: none; pairs of the head's translation \
                memory shown in the prompt), --min-length R (0: none), --copy-bias B (0: none). --memory FILE stores a translation memory in the head (a \
                tab-separated file of texts in --memory-language and their translations into the \
                head's language, replacing any it has; --no-memory removes it). --lexicon FILE (repeatable) \
                stores the word forms of word lists or texts in the head's language, which translations through \
                it then keep to (as translate's --lexicon; --no-lexicon removes them). Measure first (hydra \
                heads eval with the same options), then record what translates best.
                """)

        @Argument(help: "The head file (GGUF).")
        var head: String

        @Option(help: "Write the result here instead of replacing the head file.")
        var out: String?

        @Option(help: "The head's default --no-repeat-ngram (0: none).")
        var noRepeatNgram: Int?

        @Option(help: "The head's default --repeat-penalty (1: none).")
        var repeatPenalty: Float?

        @Option(help: "The head's default --candidates for greedy translations (1: none).")
        var candidates: Int?

        @Option(help: "The head's default --beam for greedy translations (1: none).")
        var beam: Int?

        @Option(help: "The head's default --round-trip-weight for consensus decoding (0: none).")
        var roundTripWeight: Float?

        @Option(help: "The head's default --round-trip-below for consensus decoding (100: always).")
        var roundTripBelow: Float?

        @Option(help: "The head's default --examples: pairs of its translation memory shown in the prompt (0: none).")
        var examples: Int?

        @Option(help: "The head's default --min-length: the answer's least characters per source character before it may end (0: none).")
        var minLength: Float?

        @Option(help: "The head's default --copy-bias: logit added to the token that continues the prompt's examples where the answer's last tokens occurred in them (0: none).")
        var copyBias: Float?

        @Option(help: "Store this translation memory in the head: a tab-separated file, a text and its translation per line.")
        var memory: String?

        @Option(help: "The language of the memory's source side.")
        var memoryLanguage = "en"

        @Flag(help: "Remove the head's translation memory.")
        var noMemory = false

        @Option(help: ArgumentHelp("Store the word forms of FILE (a word list or text in the head's language; give it again for more files) as the head's lexicon.", valueName: "file"))
        var lexicon: [String] = []

        @Flag(help: "Remove the head's lexicon.")
        var noLexicon = false

        func settings(memory: TranslationMemory? = nil, lexicon: StoredLexicon? = nil) -> HeadDecoding.Settings {
            .init(noRepeatNgram: noRepeatNgram, repeatPenalty: repeatPenalty, candidates: candidates, beams: beam,
                  roundTripWeight: roundTripWeight, roundTripBelow: roundTripBelow, examples: examples,
                  minLength: minLength, copyBias: copyBias, memory: memory, dropMemory: noMemory, lexicon: lexicon, dropLexicon: noLexicon)
        }

        func validate() throws {
            guard !settings().isEmpty || memory != nil || !lexicon.isEmpty else {
                throw ValidationError(
                    "give --no-repeat-ngram, --repeat-penalty, --candidates, --beam, --round-trip-weight, --round-trip-below, "
                        + "--examples, --min-length, --copy-bias, --memory, --no-memory, --lexicon, --no-lexicon or several")
            }
            if memory != nil && noMemory { throw ValidationError("--memory and --no-memory exclude each other") }
            if !lexicon.isEmpty && noLexicon { throw ValidationError("--lexicon and --no-lexicon exclude each other") }
            _ = try Language.named(memoryLanguage)
        }

        func run() throws {
            let language = try Language.named(memoryLanguage).code
            let stored = try memory.map { try TranslationMemory.read(tsv: $0, sourceLanguage: language) }
            let words = lexicon.isEmpty ? nil : StoredLexicon(try Lexicon.read(paths: lexicon))
            let info = try HeadDecoding.recommend(input: head, output: out ?? head, settings(memory: stored, lexicon: words))
            printError("wrote \(out ?? head): head '\(info.name)' decodes \(HeadsCommand.decoding(info))")
        }
    }
}
