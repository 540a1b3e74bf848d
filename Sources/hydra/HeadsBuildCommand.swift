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

        enum Method: String, ExpressibleByArgument, CaseIterable {
            case ziptie, transtok, random
        }

        @Option(help: "How rows are built: ziptie, transtok or random.")
        var method: Method

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
            if vocabSize < 300 { throw ValidationError("--vocab-size must be at least 300") }
            for f in corpus + pairs where f.split(separator: "/").contains("heldout") {
                throw ValidationError("\(f) is held-out data: it must not be used to build heads")
            }
        }

        func run() throws {
            var clock = Stopwatch()
            let gguf = try openModel(model)
            let body = try Body(file: gguf)
            let native = try Head.native(of: body)
            let lang = try Language.named(language)

            // The target tokenizer.
            let target: Tokenizer
            let tokenizerNote: String
            if let tokenizer {
                let file = try GGUFFile(path: HeadsCommand.resolve(tokenizer))
                target = try Tokenizer(gguf: file)
                tokenizerNote = "tokenizer from \(URL(fileURLWithPath: tokenizer).lastPathComponent)"
            } else {
                var bar = ProgressBar("training tokenizer (\(vocabSize))")
                bar.update(0)
                let texts = try corpus.map(Self.trainingText)
                let trained = try TokenizerTrainer.train(
                    corpus: texts, options: .init(vocabularySize: vocabSize, specialsFrom: native.vocabulary))
                target = Tokenizer(vocabulary: try trained.vocabulary())
                bar.finish()
                tokenizerNote = "tokenizer: BPE \(vocabSize) trained on "
                    + corpus.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ", ")
            }
            let metadata = TokenizerMetadata(vocabulary: target.vocabulary)

            var info = native.info
            let stem = URL(fileURLWithPath: gguf.path).deletingPathExtension().lastPathComponent
            info.name = name ?? "\(lang.code)-\(stem)-\(method.rawValue)"
            info.language = lang.code
            info.script = lang.script?.description
            let source = gguf.string("general.name") ?? stem

            switch method {
            case .ziptie:
                var bar = ProgressBar("zip-tie")
                bar.update(0)
                let map = ZipTie.build(target: target.vocabulary, source: native.tokenizer)
                bar.finish()
                info.provenance = .init(method: "zip-tie", source: source, notes: tokenizerNote)
                try writeRecipe(map, info: info, metadata: metadata, native: native)
            case .transtok:
                let all = try pairs.flatMap { try ParallelText.read(path: $0) }
                var options = TransTokenization.Options()
                options.minCount = minCount
                if let iterations { options.aligner.iterations = iterations }
                var bar = ProgressBar("trans-tokenization")
                let (map, stats) = TransTokenization.build(pairs: all, source: native.tokenizer, target: target,
                                                           options: options) { stage, fraction in
                    bar.label = "trans-tokenization: \(stage)"
                    bar.update(fraction)
                }
                bar.finish()
                printError("\(stats.sentencePairs) sentence pairs, \(stats.wordPairs) word pairs; target tokens: "
                           + "\(stats.counted) aligned, \(stats.smoothed) smoothed, \(stats.zipTie) zip-tie, \(stats.special) special")
                info.provenance = .init(method: "trans-tokenization", source: source,
                                        notes: "\(tokenizerNote); pairs: \(pairs.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ", ")) (\(all.count)); min count \(minCount); \(stats.counted) aligned, \(stats.smoothed) smoothed, \(stats.zipTie) zip-tie")
                try writeRecipe(map, info: info, metadata: metadata, native: native)
            case .random:
                var bar = ProgressBar("random rows")
                bar.update(0)
                info.provenance = .init(method: "random", source: source,
                                        notes: "\(tokenizerNote); rows random with the native table's mean, spread and mean norm (seed \(seed)); special tokens copied")
                let specials = ZipTie.build(target: target.vocabulary, source: native.tokenizer)
                let embedding = Self.randomTable(native.embedding, count: target.vocabulary.count, seed: seed,
                                                 specials: specials, vocabulary: target.vocabulary)
                bar.update(0.5)
                var output: [Float]? = nil
                if info.output == .separate, let o = native.output {
                    output = Self.randomTable(TokenEmbedding(matrix: o.matrix), count: target.vocabulary.count,
                                              seed: seed &+ 1, specials: specials, vocabulary: target.vocabulary)
                }
                bar.finish()
                try HeadFileWriter.writeDense(info: info, tokenizer: metadata, embedding: embedding, output: output,
                                              width: body.config.embeddingLength, to: out)
            }
            printError(String(format: "wrote %@: head '%@' (%@, %d tokens) in %.1f s", out, info.name, info.language,
                              target.vocabulary.count, clock.lap() / 1000))
        }

        private func writeRecipe(_ map: SparseMap, info: HeadInfo, metadata: TokenizerMetadata, native: Head) throws {
            let recipe = try HeadRecipe(map: map, sourceRows: native.embedding.rowCount)
            try HeadFileWriter.writeRecipe(info: info, tokenizer: metadata, recipe: recipe, source: native, to: out)
        }

        /// A training text file: a .tsv gives its second column, anything else its lines.
        static func trainingText(_ path: String) throws -> String {
            if path.hasSuffix(".tsv") { return try ParallelText.read(path: path).map(\.target).joined(separator: "\n") }
            return try readInput(arguments: [], file: path)
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
}

/// A one-line progress bar on standard error (plain lines when stderr is
/// not a terminal).
struct ProgressBar {
    var label: String
    private var shownLabel = ""
    private var lastPercent = -1
    private let terminal = isatty(2) != 0

    init(_ label: String) { self.label = label }

    /// Shows `fraction` (0...1) done.
    mutating func update(_ fraction: Double) {
        let percent = Int((min(max(fraction, 0), 1) * 100).rounded(.down))
        guard percent != lastPercent || label != shownLabel else { return }
        if terminal {
            let filled = percent * 30 / 100
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled)
            FileHandle.standardError.write(Data("\r\u{1B}[K[\(bar)] \(String(format: "%3d", percent))% \(label)".utf8))
        } else if label != shownLabel || percent / 25 != lastPercent / 25 {
            printError("\(label): \(percent)%")
        }
        lastPercent = percent
        shownLabel = label
    }

    /// Shows 100% and ends the line.
    mutating func finish() {
        update(1)
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

extension HeadsCommand {
    /// `hydra heads eval`: compares heads of one language on held-out text.
    struct Eval: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Compare heads on held-out parallel text: tokens/char, bits/char, decode tokens/s, translations.",
            discussion: """
                The native head is always included. Bits per character: each target-side line is scored \
                as its own sequence (the head's BOS, then the line), -sum log2 p / characters. With \
                --translate N, the first N pairs are translated source -> target through each head \
                (prompt in the native head) and written to --hypotheses DIR/<head>.txt, one line a pair, \
                with the references in DIR/ref.txt (score them with sacrebleu).
                """)

        @Option(name: [.short, .long], help: "A GGUF file or a known model's name (default: \(KnownModel.defaultName)).")
        var model: String?

        @Option(name: .customLong("head"), help: "A head file to compare (repeatable).")
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

        @Option(name: [.short, .long], help: "Threads (default: all cores).")
        var threads: Int?

        func run() throws {
            let tableType: GGMLType
            switch materialize.lowercased() {
            case "f32": tableType = .f32
            case "q8_0": tableType = .q8_0
            default: throw ValidationError("--materialize must be f32 or q8_0")
            }
            let source = try Language.named(from), target = try Language.named(to)
            let pairs = try ParallelText.read(path: heldout)
            let gguf = try openModel(model)
            let lm = try loadModel(gguf, contextLength: 2048, threads: threads)
            let hydra = try HydraModel(model: lm)
            var all = [hydra.native]
            for path in heads {
                all.append(try hydra.heads.load(path: HeadsCommand.resolve(path), catalog: HeadCatalog(directories: []),
                                                materializeAs: tableType))
            }
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
            for head in all {
                let tpc = HeadEvaluation.tokensPerCharacter(head.tokenizer, lines: texts)
                var bar = ProgressBar("bits/char through \(head.name)")
                let score = try HeadEvaluation.bitsPerCharacter(hydra, head: head, lines: texts) {
                    bar.update(Double($0) / Double(max(texts.count, 1)))
                }
                bar.finish()
                let speed = try HeadEvaluation.decodeTokensPerSecond(
                    hydra, prompt: decodePrompt.map { HeadToken(hydra.native, $0) }, target: head)
                var translateSeconds = 0.0, generated = 0
                if !sample.isEmpty {
                    let translator = try Translator(model: hydra, source: hydra.native, target: head)
                    var outputs: [String] = []
                    var tbar = ProgressBar("translating through \(head.name)")
                    var clock = Stopwatch()
                    for (k, pair) in sample.enumerated() {
                        var text = ""
                        let stats = try translator.translate(pair.source, from: source, to: target) { text += $0; return true }
                        generated += stats.generatedTokens
                        outputs.append(text.split(whereSeparator: \.isNewline).joined(separator: " "))
                        tbar.update(Double(k + 1) / Double(sample.count))
                    }
                    translateSeconds = clock.lap() / 1000
                    tbar.finish()
                    if let hypotheses {
                        try (outputs.joined(separator: "\n") + "\n")
                            .write(toFile: "\(hypotheses)/\(head.name).txt", atomically: true, encoding: .utf8)
                    }
                }
                print([head.name, head.info.provenance.method, "\(head.vocabulary.count)", String(format: "%.4f", tpc),
                       String(format: "%.4f", score.bitsPerCharacter), String(format: "%.3f", score.bitsPerToken),
                       String(format: "%.1f", speed), String(format: "%.1f", translateSeconds), "\(generated)"]
                    .joined(separator: "\t"))
            }
        }
    }
}
