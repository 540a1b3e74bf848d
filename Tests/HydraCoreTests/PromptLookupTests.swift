import Foundation
import Testing
@testable import HydraCore

/// Prompt lookup decoding (`Sampling.draft`): guesses from the prompt,
/// checked in one pass, must change nothing but the time.
@Suite("Prompt lookup decoding")
struct PromptLookupTests {
    @Test("guesses follow the latest occurrence of the longest matching end (2 or 3 tokens), up to the count")
    func guesses() {
        // ... 1 2 3 [4 5 6] ... 2 3 [7 8] ... then the answer ends in 2 3.
        var lookup = PromptLookup(prompt: [9, 1, 2, 3, 4, 5, 6, 0, 2, 3, 7, 8])
        #expect(lookup.guess(count: 4) == [])  // ends in "7 8": not seen before
        lookup.append(1)
        lookup.append(2)
        lookup.append(3)
        // "1 2 3" occurred once (followed by 4 5 6); "2 3" later, but the longer match wins.
        #expect(lookup.guess(count: 2) == [4, 5])
        #expect(lookup.guess(count: 9) == [4, 5, 6, 0, 2, 3, 7, 8, 1])
        #expect(lookup.guess(count: 0) == [])
        lookup.append(7)
        // "3 7" and "2 3 7": the latest "2 3 7" is followed by 8.
        #expect(lookup.guess(count: 3) == [8, 1, 2])
        // One token alone is no match.
        var single = PromptLookup(prompt: [5, 6, 7])
        single.append(5)
        #expect(single.guess(count: 3) == [])
        #expect(PromptLookup(prompt: []).guess(count: 3) == [])
    }

    @Test("a head whose guesses are mostly wrong stops guessing, but for one paragraph in 16")
    func tally() {
        var tally = GuessTally()
        var guesses = tally.shouldGuess()
        #expect(guesses)
        tally.add(guessed: 100, right: 40)
        guesses = tally.shouldGuess()
        #expect(guesses)
        tally.add(guessed: 100, right: 10)  // 50 of 200
        var guessing = 0
        for _ in 0..<32 where tally.shouldGuess() { guessing += 1 }
        #expect(guessing == 2)
        tally.add(guessed: 100, right: 100)  // 150 of 300
        guesses = tally.shouldGuess()
        #expect(guesses)
    }

    @Test("tokens fed in one pass give the logits of feeding them one at a time, bit for bit; positions taken back are as never fed",
          .tags(.model), .modelsWanted, arguments: ["gemma3-270m", "qwen2.5-0.5b", "smollm2-135m"], [false, true])
    func runIsSteps(_ key: String, flash: Bool) throws {
        let hydra = try HydraModel(file: TestModels.gguf(key), contextLength: 256, batchSize: 64,
                                   pool: ThreadPool(threads: 2), flashAttention: flash)
        let tokenizer = hydra.native.tokenizer
        let prompt = tokenizer.tokenize("Translate into Tatar: the weather is good today.", addSpecial: true,
                                        parseSpecial: false)
        let fed = Array(tokenizer.tokenize(" Бүген һава яхшы, иртәгә яңгыр", addSpecial: false, parseSpecial: false)
            .prefix(8))
        #expect(fed.count == 8)
        let batch = SequenceBatch(model: hydra)
        let start = try hydra.startSequence(prompt: prompt.map { HeadToken(hydra.native, $0) }, target: hydra.native,
                                            maxTokens: 32)
        // One token a step.
        let stepped = try start.clone()
        var expected: [[Float]] = []
        for token in fed {
            try batch.step([stepped], tokens: [token])
            expected.append(stepped.logits)
        }
        // All in one pass.
        let run = try start.clone()
        let all = try batch.run(run, tokens: fed)
        let vocabulary = hydra.native.vocabulary.count
        #expect(all.count == fed.count * vocabulary)
        for j in fed.indices {
            #expect(Array(all[j * vocabulary..<(j + 1) * vocabulary]) == expected[j], "\(key): row \(j)")
        }
        #expect(run.logits == expected.last!)
        #expect(run.length == start.length + fed.count)
        // Keep the first 3, then feed another token: as if only those had been fed.
        run.state.length = start.length + 3
        let other = tokenizer.tokenize(" кар", addSpecial: false, parseSpecial: false)[0]
        try batch.step([run], tokens: [other])
        let direct = try start.clone()
        for token in fed.prefix(3) + [other] { try batch.step([direct], tokens: [token]) }
        #expect(run.logits == direct.logits, "\(key): after taking positions back")
        // A pass that does not fit the sequence's room is refused and changes nothing.
        let full = try start.clone()
        #expect(throws: HydraError.self) { _ = try batch.run(full, tokens: Array(repeating: fed[0], count: 40)) }
        #expect(full.length == start.length)
    }

    /// A translation memory the answers copy from: the text is one of its
    /// sentences with one word changed.
    static let memory = [
        TranslationMemory.Pair(source: "A file with this name already exists.", target: "Мондый исемле файл инде бар."),
        TranslationMemory.Pair(source: "A folder with this name already exists.", target: "Мондый исемле папка инде бар."),
        TranslationMemory.Pair(source: "Could not save the file.", target: "Файлны саклап булмады."),
    ]

    @Test("translating with guesses writes exactly what it writes without, greedy and sampled, with the decoding rules on",
          .tags(.model), .modelsWanted, arguments: ["qwen2.5-0.5b", "gemma3-270m"])
    func sameText(_ key: String) throws {
        let hydra = try HydraModel(file: TestModels.gguf(key), contextLength: 1024, batchSize: 64,
                                   pool: ThreadPool(threads: 2))
        let texts = ["A scheme with this name already exists.", "Could not save the folder."]
        func translate(_ draft: Int, temperature: Float, copyBias: Float = 0) throws -> (String, Translator.Statistics) {
            let translator = try Translator(model: hydra)
            translator.memory = try TranslationMemory(pairs: Self.memory, sourceLanguage: "en")
            var sampling = Sampling()
            sampling.examples = 3
            sampling.draft = draft
            sampling.temperature = temperature
            sampling.seed = 7
            sampling.noRepeatNgram = 4
            sampling.repeatPenalty = 1.1
            sampling.minLength = 0.5
            sampling.copyBias = copyBias
            translator.sampling = sampling
            var text = ""
            var total = Translator.Statistics()
            for source in texts {
                let stats = try translator.translate(source, from: try Language.named("en"), to: try Language.named("tt")) { text += $0; return true }
                total.guessedTokens += stats.guessedTokens
                total.rightGuesses += stats.rightGuesses
                total.generatedTokens += stats.generatedTokens
                text += "\n"
            }
            return (text, total)
        }
        for (temperature, copyBias): (Float, Float) in [(0, 0), (0.8, 0), (0, 3)] {
            let (plain, plainStats) = try translate(0, temperature: temperature, copyBias: copyBias)
            #expect(plainStats.guessedTokens == 0)
            for draft in [1, 4] {
                let (guessed, stats) = try translate(draft, temperature: temperature, copyBias: copyBias)
                #expect(guessed == plain, "\(key), draft \(draft), temperature \(temperature), copy bias \(copyBias)")
                #expect(stats.generatedTokens == plainStats.generatedTokens)
                #expect(stats.guessedTokens > 0)
            }
        }
        // The greedy answers copy the memory's words, and the guesses find
        // them; a copy bias makes them copy more.
        let (_, stats) = try translate(4, temperature: 0)
        #expect(stats.rightGuesses > 0, "\(key): \(stats.rightGuesses) of \(stats.guessedTokens)")
        let (_, biased) = try translate(4, temperature: 0, copyBias: 50)
        #expect(Double(biased.rightGuesses) / Double(biased.guessedTokens)
                >= max(0.75, Double(stats.rightGuesses) / Double(stats.guessedTokens)),
                "\(key): \(biased.rightGuesses) of \(biased.guessedTokens) against \(stats.rightGuesses) of \(stats.guessedTokens)")
    }

    @Test("--copy-bias: 0 to 100, the daemon's key")
    func copyBiasOption() throws {
        var s = Sampling()
        #expect(s.copyBias == nil && s.problem == nil)
        for bad: Float in [-1, 101, .nan] {
            s.copyBias = bad
            #expect(s.problem?.contains("--copy-bias") == true)
        }
        let decoded = try RPCCoding.decoder().decode(Sampling.self, from: Data(#"{"copy_bias": 4}"#.utf8))
        #expect(decoded.copyBias == 4)
    }

    @Test("--draft: 0 to 16, 3 when not given; the daemon's key")
    func option() throws {
        var s = Sampling()
        #expect(s.draft == 3)
        for bad in [-1, 17] {
            s.draft = bad
            #expect(s.problem?.contains("--draft") == true)
        }
        let decoded = try RPCCoding.decoder().decode(Sampling.self, from: Data(#"{"draft": 0}"#.utf8))
        #expect(decoded.draft == 0)
        #expect(try RPCCoding.decoder().decode(Sampling.self, from: Data("{}".utf8)).draft == 3)
    }
}
