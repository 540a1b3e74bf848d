import ArgumentParser
import Foundation
import HydraCore

extension HeadsCommand {
    /// `hydra heads eval`: compares heads of one language on held-out text.
    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare heads on held-out parallel text: tokens/char, bits/char, decode tokens/s, translations.",
            discussion: """
                The native head is included unless --skip-native. Bits per character: each target-side line is scored \
                as its own sequence (the head's BOS, then the line), -sum log2 p / characters. With \
                --translate N, the first N pairs are translated source -> target through each head \
                (prompt in the native head) and written to --hypotheses DIR/<head>.txt, one line a pair, \
                with the references in DIR/ref.txt (score them with sacrebleu). With --native-input, each \
                head is also measured with its output rows only: the text written so far reaches the body \
                through the native tokenizer and rows (row '<head>+native-input'), which tells a head's \
                input side from its output side.
                """)

        @Option(name: [.short, .long], help: "A GGUF file or a known model's name (default: \(KnownModel.defaultName)).")
        var model: String?

        @Option(name: .customLong("head"), help: "A head file to compare (repeatable; heads of the same name are reported as NAME, NAME#2, …).")
        var heads: [String] = []

        @Option(help: "Held-out pairs: tab-separated 'source<TAB>target' lines.")
        var heldout: String

        @Option(help: "Source language of the pairs.")
        var from = "en"

        @Option(help: "Target language of the pairs (the heads' language).")
        var to: String

        @Option(help: "Score only the first N target lines (default: all).")
        var lines: Int?

        @Option(help: "Translate the first N pairs through each head (0: none).")
        var translate = 0

        @Option(help: "Folder for the translations (default: no files).")
        var hypotheses: String?

        @Option(help: "Type a recipe head's tables are materialized in: f32 (exact) or q8_0 (a quarter of the memory traffic).")
        var materialize = "f32"

        @OptionGroup(title: "Decoding of the translations") var decoding: SamplingOptions

        @Flag(help: "Also measure each head's output rows with the text fed through the native tokenizer.")
        var nativeInput = false

        @Flag(help: "Leave the native head out (its row is the same for every head compared on one model).")
        var skipNative = false

        @OptionGroup var attention: AttentionOption

        @Option(name: [.short, .long], help: "Threads (default: all cores).")
        var threads: Int?

        func validate() throws {
            if skipNative && heads.isEmpty { throw ValidationError("--skip-native leaves nothing to measure: give --head FILE") }
        }

        func run() throws {
            let tableType: GGMLType
            switch materialize.lowercased() {
            case "f32": tableType = .f32
            case "q8_0": tableType = .q8_0
            default: throw ValidationError("--materialize must be f32 or q8_0")
            }
            let source = try Language.named(from), target = try Language.named(to)
            let pairs = try ParallelText.read(path: heldout)
            let hydra = try HydraModel.load(model, contextLength: 2048, threads: threads,
                                            flashAttention: attention.enabled)
            var all = skipNative ? [] : [hydra.native]
            for path in heads {
                all.append(try hydra.heads.load(path: HeadsCommand.resolve(path), catalog: HeadCatalog(directories: []),
                                                materializeAs: tableType, replacing: true))
            }
            let labels = HeadEvaluation.labels(all.map(\.name))
            let texts = Array(pairs.map(\.target).prefix(lines ?? pairs.count))
            let sample = Array(pairs.prefix(translate))
            if let hypotheses {
                try FileManager.default.createDirectory(atPath: hypotheses, withIntermediateDirectories: true)
                try (sample.map(\.target).joined(separator: "\n") + "\n")
                    .write(toFile: hypotheses + "/ref.txt", atomically: true, encoding: .utf8)
                try (sample.map(\.source).joined(separator: "\n") + "\n")
                    .write(toFile: hypotheses + "/src.txt", atomically: true, encoding: .utf8)
            }
            print(["head", "method", "vocab", "tokens/char", "bits/char", "bits/token", "decode tok/s",
                   "translate s", "generated"].joined(separator: "\t"))
            let decodePrompt = hydra.native.tokenizer.tokenize("The weather is good today.", addSpecial: true, parseSpecial: false)
            for (head, label) in zip(all, labels) {
                try measure(head, label: label, nativeInput: false)
                if nativeInput, head !== hydra.native, head.canGenerate { try measure(head, label: label, nativeInput: true) }
            }

            /// One row of the table: `head` as it is, or its output rows behind the native input side.
            func measure(_ head: Head, label: String, nativeInput: Bool) throws {
                let name = nativeInput ? label + "+native-input" : label
                let tpc = HeadEvaluation.tokensPerCharacter(head.tokenizer, lines: texts)
                var bar = ProgressBar("bits/char through \(name)")
                let progress = { (done: Int) in bar.update(Double(done) / Double(max(texts.count, 1))) }
                let score = nativeInput
                    ? try NativeInput.bitsPerCharacter(hydra, head: head, lines: texts, progress: progress)
                    : try HeadEvaluation.bitsPerCharacter(hydra, head: head, lines: texts, progress: progress)
                bar.finish()
                let speed = nativeInput ? 0 : try HeadEvaluation.decodeTokensPerSecond(
                    hydra, prompt: decodePrompt.map { HeadToken(hydra.native, $0) }, target: head)
                var translateSeconds = 0.0, generated = 0, guessed = 0, right = 0
                if !sample.isEmpty {
                    let translator = try Translator(model: hydra, source: hydra.native, target: head)
                    try decoding.apply(to: translator, source: source)
                    var outputs: [String] = []
                    var tbar = ProgressBar("translating through \(name)")
                    var clock = Stopwatch()
                    for (k, pair) in sample.enumerated() {
                        var text = ""
                        if nativeInput {
                            let made = try NativeInput.translate(pair.source, translator: translator, head: head,
                                                                 from: source, to: target)
                            text = made.text
                            generated += made.tokens
                        } else {
                            let stats = try translator.translate(pair.source, from: source, to: target) { text += $0; return true }
                            generated += stats.generatedTokens
                            guessed += stats.guessedTokens
                            right += stats.rightGuesses
                        }
                        outputs.append(text.split(whereSeparator: \.isNewline).joined(separator: " "))
                        tbar.update(Double(k + 1) / Double(sample.count))
                    }
                    translateSeconds = clock.lap() / 1000
                    tbar.finish()
                    if guessed > 0 { printError("\(name): \(right) of \(guessed) guessed tokens right (--draft)") }
                    if let hypotheses {
                        try (outputs.joined(separator: "\n") + "\n")
                            .write(toFile: "\(hypotheses)/\(name).txt", atomically: true, encoding: .utf8)
                    }
                }
                print([name, head.info.provenance.method, "\(head.vocabulary.count)", String(format: "%.4f", tpc),
                       String(format: "%.4f", score.bitsPerCharacter), String(format: "%.3f", score.bitsPerToken),
                       String(format: "%.1f", speed), String(format: "%.1f", translateSeconds), "\(generated)"]
                    .joined(separator: "\t"))
            }
        }
    }
}
