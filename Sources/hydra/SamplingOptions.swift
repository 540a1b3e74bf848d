import ArgumentParser
import Foundation
import HydraCore

/// How `hydra translate` prompts and picks tokens: the model's prompt
/// format unless another is named; greedy by default, sampling with
/// llama.cpp's option names, or beam search.
struct SamplingOptions: ParsableArguments {
    @Option(name: .customLong("temp"), help: "Sampling temperature (0: greedy, the default).")
    var temperature: Float = 0

    @Option(name: .customLong("top-k"), help: "With --temp: sample among the k most likely tokens (0: all).")
    var topK = 40

    @Option(name: .customLong("top-p"), help: "With --temp: sample among the most likely tokens whose probabilities add up to p.")
    var topP: Float = 0.95

    @Option(help: "With --temp: the seed of the random choices (same seed, same text).")
    var seed: UInt64 = 0

    @Option(help: "Beam search with N beams (length-normalized; 1: none; default: what the target head recommends for greedy decoding, else none). Not with --temp.")
    var beam: Int?

    @Option(help: "Consensus decoding: write N translations of each paragraph (the first as the other options say, the others drawn at --candidate-temp) and keep the one the others agree with most (chrF). Slower; 1: off, else 3 to 16; default: what the target head recommends for greedy decoding, else off. Not with --beam.")
    var candidates: Int?

    @Option(help: "With --candidates: the temperature the other candidates are drawn at, unless --temp is set.")
    var candidateTemp: Float = 0.6

    @Option(help: "With --candidates: how much the round-trip check counts beside the candidates' agreement (chrF points per nat of the chance that the model translates a candidate back into the source text, e.g. 3: more often right, about 3× slower; 0: agreement alone; default: what the target head recommends, else 0).")
    var roundTripWeight: Float?

    @Option(help: "With --round-trip-weight: run the check only for paragraphs whose candidates agree less than this (the best one's mean chrF against the others, 0 to 100; 100: always; default: what the target head recommends, else 100).")
    var roundTripBelow: Float?

    @Option(help: "Never repeat an n-gram of N tokens within a translation (0: off; greedy, sampling and beams; default: what the target head recommends, else off).")
    var noRepeatNgram: Int?

    @Option(help: "Penalize tokens among the last --repeat-last-n generated (llama.cpp's repetition penalty; 1: off; default: what the target head recommends, else off).")
    var repeatPenalty: Float?

    @Option(help: "How many of the last generated tokens --repeat-penalty looks at.")
    var repeatLastN = 64

    @Option(help: "Show the N pairs of a translation memory nearest each paragraph in the prompt, as earlier requests and their answers (0 to 16; 0: none; default: what the target head recommends, else none). The memory: --memory, else the one the target head stores.")
    var examples: Int?

    @Option(help: "Let an answer end only once it has R characters for each character of the source text, spaces not counted (e.g. 0.5: no answer of a word or two for a sentence; 0: off; greedy, sampling, --candidates and --beam; default: what the target head recommends, else off).")
    var minLength: Float?

    @Option(help: "A translation memory: a tab-separated file of texts in the source language and their translations, one pair per line, for --examples (instead of the target head's; translated here, not through a running daemon).")
    var memory: String?

    @Option(help: ArgumentHelp("Write only words found in FILE (a word list or text in the target language; give it again for more files): every word of the script most of its letters are in, and no other letter of that script; other text (names in Latin letters, digits, punctuation) stays free. Greedy, sampling, --candidates and --beam; read here, not through a running daemon. Default: the lexicon the target head stores, if any (hydra heads recommend --lexicon).", valueName: "file"))
    var lexicon: [String] = []

    @Flag(help: "Keep to no lexicon, not even the one the target head stores.")
    var noLexicon = false

    @Option(help: "Prompt lookup decoding: guess up to N tokens of the answer from where its last tokens occurred in the prompt (the examples) or the answer, and check them in one pass through the model. The same text as without, sooner when the guesses are right (greedy and sampling with one candidate; 0: off).")
    var draft = Sampling().draft

    @Option(help: "Add B to the logit of the token that continues the prompt's text (the examples) where the answer's last tokens occurred in it: answers copy more of the examples (0 to 100; 0: off; default: what the target head recommends, else off).")
    var copyBias: Float?

    @Option(help: "The prompt's format: auto (from the model's metadata), \(ChatFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var promptFormat = "auto"

    func validate() throws {
        if let problem = sampling.problem { throw ValidationError(problem) }
        // A bad memory file is named before any model is loaded.
        if let memory { _ = try TranslationMemory.read(tsv: memory, sourceLanguage: "und") }
        if !lexicon.isEmpty && noLexicon { throw ValidationError("--lexicon and --no-lexicon exclude each other") }
        for path in lexicon where !FileManager.default.isReadableFile(atPath: path) {
            throw HydraError.invalidInput("cannot read the lexicon \(path)")
        }
        if promptFormat != "auto" && ChatFormat(rawValue: promptFormat) == nil {
            throw ValidationError("--prompt-format must be auto or one of \(ChatFormat.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    /// The prompt format asked for; nil: the model's own.
    var format: ChatFormat? { ChatFormat(rawValue: promptFormat) }

    /// Sets how `translator` prompts and picks tokens; `source`: the
    /// language of the texts (the memory's source side).
    func apply(to translator: Translator, source: Language) throws {
        translator.sampling = sampling
        if let format { translator.format = format }
        if let memory { translator.memory = try TranslationMemory.read(tsv: memory, sourceLanguage: source.code) }
        if !lexicon.isEmpty { translator.lexicon = try Lexicon.read(paths: lexicon) }
    }

    var sampling: Sampling {
        var s = Sampling()
        s.temperature = temperature
        s.topK = topK
        s.topP = topP
        s.seed = seed
        s.beams = beam
        s.candidates = candidates
        s.candidateTemperature = candidateTemp
        s.roundTripWeight = roundTripWeight
        s.roundTripBelow = roundTripBelow
        s.noRepeatNgram = noRepeatNgram
        s.repeatPenalty = repeatPenalty
        s.repeatLastN = repeatLastN
        s.examples = examples
        s.minLength = minLength
        if noLexicon { s.lexicon = false }
        s.draft = draft
        s.copyBias = copyBias
        return s
    }
}
