import Foundation
import Testing
@testable import HydraCore

/// The builders on the repository's real Tatar and Russian data, with the
/// figures printed. Slow in debug builds, so they run only when
/// HYDRA_HEAD_DATA=1 (release: scripts/build.sh, then
/// `HYDRA_HEAD_DATA=1 swift test -c release -Xswiftc -enable-testing --skip-build --filter HeadBuilderDataTests`).
@Suite(.enabled(if: ProcessInfo.processInfo.environment["HYDRA_HEAD_DATA"] == "1"), .serialized, .tags(.model), .modelsWanted)
struct HeadBuilderDataTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func read(_ relative: String) throws -> String {
        try String(contentsOf: root.appendingPathComponent(relative), encoding: .utf8)
    }

    /// Tab-separated (English, other) pairs.
    static func pairs(_ relative: String) throws -> [(source: String, target: String)] {
        try read(relative).split(separator: "\n").compactMap { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            return f.count >= 2 ? (String(f[0]), String(f[1])) : nil
        }
    }

    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    static func tokensPerCharacter(_ tokenizer: Tokenizer, _ lines: [String]) -> Double {
        var tokens = 0, characters = 0
        for line in lines {
            tokens += tokenizer.tokenize(line, addSpecial: false, parseSpecial: false).count
            characters += line.count
        }
        return Double(tokens) / Double(characters)
    }

    /// The training text of a language: its running text plus the target side of its pairs.
    static func corpus(text: String, pairs: String) throws -> [String] {
        [try read(text), try Self.pairs(pairs).map { $0.target }.joined(separator: "\n")]
    }

    @Test(arguments: [8000, 16000, 32000])
    func tatarTokenizer(size: Int) throws {
        let gemma = try Tokenizer(gguf: TestModels.gguf("gemma3-270m"))
        let corpus = try Self.corpus(text: "data/tt/tt.txt", pairs: "data/tt/en-tt.tsv")
        var options = TokenizerTrainer.Options(vocabularySize: size, specialsFrom: gemma.vocabulary)
        options.minPairCount = 2
        var trained: TrainedVocabulary!
        let time = try Self.seconds { trained = try TokenizerTrainer.train(corpus: corpus, options: options) }
        let tatar = Tokenizer(vocabulary: try trained.vocabulary())
        let heldout = try Self.pairs("data/heldout/en-tt.tsv").map { $0.target }
        let training = corpus.flatMap { $0.split(separator: "\n").map(String.init) }
        let mine = Self.tokensPerCharacter(tatar, heldout), native = Self.tokensPerCharacter(gemma, heldout)
        print(String(format: "tt tokenizer %d (%d tokens, %d chars of text) trained in %.2f s: tokens/char held-out %.4f (gemma %.4f, ratio %.2f), training text %.4f (gemma %.4f)",
                     size, trained.tokens.count, corpus.reduce(0) { $0 + $1.count }, time, mine, native, mine / native,
                     Self.tokensPerCharacter(tatar, training), Self.tokensPerCharacter(gemma, training)))
        #expect(mine < native)
        // Round trip through main's tokenizer.
        for line in heldout.prefix(50) {
            #expect(tatar.decode(tatar.tokenize(line, addSpecial: false, parseSpecial: false)) == line)
        }
    }

    /// The same with the 312k-form Tatar word list added (each form once).
    @Test(arguments: [16000, 32000])
    func tatarTokenizerWithWordList(size: Int) throws {
        let gemma = try Tokenizer(gguf: TestModels.gguf("gemma3-270m"))
        let corpus = try Self.corpus(text: "data/tt/tt.txt", pairs: "data/tt/en-tt.tsv") + [try Self.read("data/tt/tt-words.txt")]
        var trained: TrainedVocabulary!
        let time = try Self.seconds {
            trained = try TokenizerTrainer.train(corpus: corpus, options: .init(vocabularySize: size, specialsFrom: gemma.vocabulary))
        }
        let tatar = Tokenizer(vocabulary: try trained.vocabulary())
        let heldout = try Self.pairs("data/heldout/en-tt.tsv").map { $0.target }
        let mine = Self.tokensPerCharacter(tatar, heldout), native = Self.tokensPerCharacter(gemma, heldout)
        print(String(format: "tt tokenizer %d with word list (%d tokens, %d chars) trained in %.2f s: tokens/char held-out %.4f (gemma %.4f, ratio %.2f)",
                     size, trained.tokens.count, corpus.reduce(0) { $0 + $1.count }, time, mine, native, mine / native))
    }

    @Test func russianTokenizerAndTimings() throws {
        let qwen = try Tokenizer(gguf: TestModels.gguf("qwen2.5-0.5b"))
        let corpus = try Self.corpus(text: "data/ru/ru.txt", pairs: "data/ru/en-ru.tsv")
        var trained: TrainedVocabulary!
        let time = try Self.seconds {
            trained = try TokenizerTrainer.train(corpus: corpus, options: .init(vocabularySize: 32000, specialsFrom: qwen.vocabulary))
        }
        let russian = Tokenizer(vocabulary: try trained.vocabulary())
        let heldout = try Self.pairs("data/heldout/en-ru.tsv").map { $0.target }
        print(String(format: "ru tokenizer 32000 (%d chars) trained in %.2f s: tokens/char held-out %.4f (qwen %.4f)",
                     corpus.reduce(0) { $0 + $1.count }, time, Self.tokensPerCharacter(russian, heldout),
                     Self.tokensPerCharacter(qwen, heldout)))

        let pairs = try Self.pairs("data/ru/en-ru.tsv")
        var result: (map: SparseMap, statistics: TransTokenization.Statistics)!
        let alignTime = Self.seconds { result = TransTokenization.build(pairs: pairs, source: qwen, target: russian) }
        print(String(format: "ru trans-tokenization over %d pairs in %.2f s: ", pairs.count, alignTime) + "\(result.statistics)")
        Self.show(result.map, target: russian, source: qwen, words: ["▁файл", "▁ошибка", "▁открыть", "▁не", "▁и"])
    }

    @Test(arguments: [0.5, 1.0, 2.0])
    func tatarTransTokenization(minCount: Double) throws {
        let gemma = try Tokenizer(gguf: TestModels.gguf("gemma3-270m"))
        let corpus = try Self.corpus(text: "data/tt/tt.txt", pairs: "data/tt/en-tt.tsv")
        let trained = try TokenizerTrainer.train(corpus: corpus, options: .init(vocabularySize: 16000, specialsFrom: gemma.vocabulary))
        let tatar = Tokenizer(vocabulary: try trained.vocabulary())
        let pairs = try Self.pairs("data/tt/en-tt.tsv")
        var result: (map: SparseMap, statistics: TransTokenization.Statistics)!
        var options = TransTokenization.Options()
        options.minCount = minCount
        let time = Self.seconds { result = TransTokenization.build(pairs: pairs, source: gemma, target: tatar, options: options) }
        print(String(format: "tt trans-tokenization (min count %.1f) over %d pairs in %.2f s: ", minCount, pairs.count, time)
              + "\(result.statistics)")
        var zipTie: SparseMap = []
        let zipTime = Self.seconds { zipTie = ZipTie.build(target: tatar.vocabulary, source: gemma) }
        print(String(format: "tt zip-tie in %.2f s, mean entries %.2f", zipTime,
                     Double(zipTie.reduce(0) { $0 + $1.count }) / Double(zipTie.count)))
        Self.show(result.map, target: tatar, source: gemma, words: ["▁файл", "▁хата", "▁ачу", "▁һәм", "▁юк"])
        #expect(result.statistics.counted > 1000)
        var checksum = 0.0
        for (j, row) in result.map.enumerated() { for (i, w) in row { checksum += Double(j % 97 + 1) * Double(i % 89 + 1) * Double(w) } }
        print("  map checksum", checksum)
        print("  specials:", tatar.vocabulary.tokens.prefix(trained.tokens.firstIndex(of: "<0x00>")!))
    }

    /// LEP at the size of a real head: 32k new rows, 60k shared rows, hidden 1024.
    @Test func propagationTiming() throws {
        var rng = SplitMix64(seed: 5)
        func random(_ r: Int, _ c: Int) -> FloatMatrix {
            FloatMatrix(rows: r, cols: c, values: (0..<(r * c)).map { _ in Float(Double(rng.next() % 20001) / 10000 - 1) })
        }
        let base = random(60000, 1024), instruct = random(60000, 1024), donor = random(32000, 1024)
        var out: FloatMatrix?
        let time = Self.seconds {
            out = EmbeddingPropagation.propagate(donor: donor, base: base, instruct: instruct, variant: .shared)
        }
        var p: [Double]?
        let fit = Self.seconds { p = EmbeddingPropagation.projection(base: base, instruct: instruct, variant: .shared) }
        let move = Self.seconds { _ = EmbeddingPropagation.apply(p!, to: donor, outCols: 1024) }
        print(String(format: "LEP 60000×1024 fit + 32000 rows moved in %.2f s (fit %.2f s, move %.2f s)", time, fit, move))
        #expect(out?.rows == 32000)
    }

    /// A Tatar recipe head for gemma3-270m written, loaded over the body and run.
    @Test func tatarRecipeHeadLoadsOverGemma() throws {
        let lm = try TestHeads.model("gemma3-270m")
        let hydra = lm
        let native = hydra.native
        let corpus = try Self.corpus(text: "data/tt/tt.txt", pairs: "data/tt/en-tt.tsv")
        let trained = try TokenizerTrainer.train(corpus: corpus, options: .init(vocabularySize: 16000, specialsFrom: native.vocabulary))
        let tatar = Tokenizer(vocabulary: try trained.vocabulary())
        let (map, _) = TransTokenization.build(pairs: try Self.pairs("data/tt/en-tt.tsv"), source: native.tokenizer, target: tatar)
        let recipe = try HeadRecipe(map: map, sourceRows: native.embedding.rowCount)
        var info = TestHeads.renamed(native, "gemma3-270m-tt-transtok", language: "tt")
        info.provenance.method = "trans-tokenization"
        let path = temporaryPath("tt-recipe.gguf")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try HeadFileWriter.writeRecipe(info: info, tokenizer: TokenizerMetadata(vocabulary: tatar.vocabulary), recipe: recipe,
                                       source: native, to: path)
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        let head = try hydra.heads.load(path: path, catalog: HeadCatalog(directories: []))
        print(String(format: "tt recipe head: %d rows, %d entries, %.2f MB", recipe.rowCount, recipe.entryCount, Double(size) / 1e6))
        #expect(head.vocabulary.count == trained.tokens.count && head.canGenerate)
        let ids = head.tokenizer.tokenize("Сезнең файл", addSpecial: true, parseSpecial: false)
        let logits = Array(try hydra.forwardLast(tokens: ids, head: head, startPosition: 0, logitsFrom: head))
        #expect(logits.count == trained.tokens.count && logits.allSatisfy { $0.isFinite })
    }

    /// Prints the top source tokens of a few target tokens.
    static func show(_ map: SparseMap, target: Tokenizer, source: Tokenizer, words: [String]) {
        for w in words {
            guard let j = target.vocabulary.id(of: w) else { print("  \(w): not a token"); continue }
            let top = map[Int(j)].sorted { $0.1 > $1.1 }.prefix(5)
                .map { source.vocabulary.tokens[Int($0.0)] + String(format: " %.2f", $0.1) }
            print("  \(w) → \(top.joined(separator: ", "))")
        }
    }
}
