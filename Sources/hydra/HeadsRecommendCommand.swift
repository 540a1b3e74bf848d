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
                consensus decoding, for greedy translations), --round-trip-weight W (0: none) and \
                --round-trip-below B (100: always). Measure first (hydra heads \
                eval with the same options), then record what translates best.
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

        @Option(help: "The head's default --round-trip-weight for consensus decoding (0: none).")
        var roundTripWeight: Float?

        @Option(help: "The head's default --round-trip-below for consensus decoding (100: always).")
        var roundTripBelow: Float?

        var settings: HeadDecoding.Settings {
            .init(noRepeatNgram: noRepeatNgram, repeatPenalty: repeatPenalty, candidates: candidates,
                  roundTripWeight: roundTripWeight, roundTripBelow: roundTripBelow)
        }

        func validate() throws {
            guard !settings.isEmpty else {
                throw ValidationError(
                    "give --no-repeat-ngram, --repeat-penalty, --candidates, --round-trip-weight, --round-trip-below or several")
            }
        }

        func run() throws {
            let info = try HeadDecoding.recommend(input: head, output: out ?? head, settings)
            printError("wrote \(out ?? head): head '\(info.name)' decodes \(HeadsCommand.decoding(info))")
        }
    }
}
