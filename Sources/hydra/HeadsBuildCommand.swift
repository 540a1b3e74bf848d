import ArgumentParser
import Foundation
import HydraCore

extension HeadsCommand {
    /// `hydra heads build`: a new head for a language over a model's body.
    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Build a head for a new language from a model's native head (zip-tie, trans-tokenization or random rows).",
            discussion: """
                The tokenizer is trained (--train-tokenizer --vocab-size N --corpus FILE...) or taken from \
                an existing head file (--tokenizer). A corpus file ending in .tsv contributes its second \
                column (the target side of a parallel text). zip-tie and transtok write a recipe head (a \
                sparse map onto the native rows, materialized at load); random writes a dense head of \
                random rows with the native table's mean, spread and row norm (a baseline). Files under a \
                'heldout' folder are refused as training data.
                Example:
                  hydra heads build --method transtok --model gemma3-270m --language tt \\
                    --train-tokenizer --vocab-size 16000 --corpus data/tt/tt.txt data/tt/en-tt.tsv \\
                    --pairs data/tt/en-tt.tsv --out heads/tt-gemma3-270m.gguf
                """)

        @Option(help: "How rows are built: ziptie, transtok or random.")
        var method: HeadBuild.Method

        @Option(name: [.short, .long], help: "The body and source head: a GGUF file or a known model's name (default: \(KnownModel.defaultName)).")
        var model: String?

        @Flag(help: "Train a tokenizer for the language on --corpus.")
        var trainTokenizer = false

        @Option(help: "Size of the trained vocabulary (special and byte tokens included).")
        var vocabSize = 16000

        @Option(parsing: .upToNextOption, help: "Training text files (one sentence a line; .tsv: the second column).")
        var corpus: [String] = []

        @Option(help: "Take the tokenizer of this head file instead of training one.")
        var tokenizer: String?

        @Option(parsing: .upToNextOption, help: "Parallel text for transtok: tab-separated lines 'source<TAB>target'.")
        var pairs: [String] = []

        @Option(help: "The head's language (BCP-47 code, e.g. tt).")
        var language: String

        @Option(help: "The head's name (default: <language>-<model file>-<method>).")
        var name: String?

        @Option(help: "transtok: word pairs with a smaller expected alignment count are dropped.")
        var minCount = 1.0

        @Option(help: "transtok: EM iterations of the word aligner.")
        var iterations: Int?

        @Option(help: "transtok: the share of each row taken from its zip-tie row (0 to 1; 0: none).")
        var zipTieShare: Float = 0

        @Option(help: "random: the seed of the rows.")
        var seed: UInt64 = 1

        @Option(help: "The head file to write.")
        var out: String

        func validate() throws {
            if trainTokenizer == (tokenizer != nil) {
                throw ValidationError("give either --train-tokenizer (with --corpus) or --tokenizer HEADFILE")
            }
            if trainTokenizer && corpus.isEmpty { throw ValidationError("--train-tokenizer needs --corpus FILE...") }
            if method == .transtok && pairs.isEmpty { throw ValidationError("--method transtok needs --pairs FILE.tsv") }
            guard (0...1).contains(zipTieShare) else { throw ValidationError("--zip-tie-share must be between 0 and 1") }
            if zipTieShare > 0 && method != .transtok { throw ValidationError("--zip-tie-share mixes zip-tie into --method transtok") }
            if vocabSize < 300 { throw ValidationError("--vocab-size must be at least 300") }
            do {
                try HeadBuild.checkTrainingFiles(corpus + pairs)
            } catch {
                throw ValidationError("\(error)")
            }
        }

        func run() throws {
            var clock = Stopwatch()
            var build = HeadBuild(method: method,
                                  tokenizer: tokenizer.map { .file($0) } ?? .trained(corpus: corpus, vocabularySize: vocabSize),
                                  language: try Language.named(language))
            build.pairs = pairs
            build.name = name
            build.minCount = minCount
            build.iterations = iterations
            build.seed = seed
            build.zipTieShare = zipTieShare
            var bar: ProgressBar?
            let info = try build.write(model: HydraModel.openFile(model), to: out, progress: { stage, fraction in
                if bar?.label != stage {
                    bar?.finish()
                    bar = ProgressBar(stage)
                }
                bar?.update(fraction)
            }, log: printError)
            bar?.finish()
            printError(String(format: "wrote %@: head '%@' (%@) in %.1f s", out, info.name, info.language,
                              clock.lap() / 1000))
        }
    }
}

extension HeadBuild.Method: ExpressibleByArgument {}
