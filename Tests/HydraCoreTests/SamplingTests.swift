import Foundation
import Testing
@testable import HydraCore

/// Sampling (--temp, --top-k, --top-p, --seed) and beam search (--beam).
@Suite("Sampling and beam search")
struct SamplingTests {
    static func sampler(temp: Float, k: Int = 0, p: Float = 1, seed: UInt64 = 7, banned: [Int32] = []) -> Sampler {
        var s = Sampling()
        s.temperature = temp
        s.topK = k
        s.topP = p
        s.seed = seed
        return Sampler(banned: TokenMask(banned), sampling: s)
    }

    @Test("draws follow the tempered distribution; top-k 1 is greedy; a seed repeats its draws")
    func draws() {
        // Probabilities 1/4 and 3/4 at temperature 1.
        let logits: [Float] = [0, Float(Foundation.log(3.0)), -.infinity]
        logits.withUnsafeBufferPointer { l in
            let s = Self.sampler(temp: 1)
            var ones = 0
            for _ in 0..<4000 where s.pick(l) == 1 { ones += 1 }
            #expect(abs(Double(ones) / 4000 - 0.75) < 0.03, "\(ones)")
            // Temperature 0.5 squares the odds: 9:1.
            let cold = Self.sampler(temp: 0.5)
            ones = 0
            for _ in 0..<4000 where cold.pick(l) == 1 { ones += 1 }
            #expect(abs(Double(ones) / 4000 - 0.9) < 0.03, "\(ones)")
            let topK = Self.sampler(temp: 1, k: 1)
            #expect((0..<100).allSatisfy { _ in topK.pick(l) == 1 })
            // Top-p 0.5 keeps only the likelier token.
            let topP = Self.sampler(temp: 1, p: 0.5)
            #expect((0..<100).allSatisfy { _ in topP.pick(l) == 1 })
            let banned = Self.sampler(temp: 1, banned: [1])
            #expect((0..<100).allSatisfy { _ in banned.pick(l) == 0 })
            let a = Self.sampler(temp: 1, seed: 3), b = Self.sampler(temp: 1, seed: 3)
            #expect((0..<50).map { _ in a.pick(l) } == (0..<50).map { _ in b.pick(l) })
        }
    }

    @Test("--no-repeat-ngram bans exactly the tokens that would repeat an n-gram already written")
    func noRepeatNgram() {
        // History a b c a b: with n = 3 the next token may not be c ("a b c" again);
        // with n = 2, not c (after "b") ; with n = 1 none of a, b, c.
        let h: [Int32] = [0, 1, 2, 0, 1]
        #expect(Sampler.repeatingTokens(h, n: 3) == [2])
        #expect(Sampler.repeatingTokens(h, n: 2) == [2])
        #expect(Sampler.repeatingTokens(h, n: 1) == [0, 1, 2])
        #expect(Sampler.repeatingTokens(h, n: 4) == [])
        #expect(Sampler.repeatingTokens(h, n: 0) == [])
        #expect(Sampler.repeatingTokens([5, 5, 5], n: 2) == [5])
        #expect(Sampler.repeatingTokens([0, 1], n: 3) == [])
        // Greedy picks the best token that does not repeat; without history, the best.
        var s = Sampling()
        s.noRepeatNgram = 3
        let sampler = Sampler(sampling: s)
        let logits: [Float] = [0.1, 0.2, 3, 1, -.infinity]
        logits.withUnsafeBufferPointer { l in
            #expect(sampler.pick(l, after: []) == 2)
            #expect(sampler.pick(l, after: h) == 3)
            #expect(Sampler(sampling: Sampling()).pick(l, after: h) == 2)
        }
    }

    @Test("where no allowed token has a finite logit, the pick is still an allowed token, greedy or drawn")
    func allowedWithoutFiniteLogits() {
        // Token 2, the only one allowed, has a logit of -inf; the others are
        // refused (a continuation byte the spelling rule refuses, say).
        let logits: [Float] = [1, 2, -.infinity, 3, 0.5]
        logits.withUnsafeBufferPointer { l in
            for temp: Float in [0, 0.8] {
                for k in [0, 2] {
                    let s = Self.sampler(temp: temp, k: k, banned: [4])
                    #expect(s.pick(l, after: [], allowed: { $0 == 2 }) == 2, "temp \(temp), top-k \(k)")
                    // Nothing allowed at all: whatever comes back is not banned.
                    #expect(s.pick(l, after: [], allowed: { _ in false }) != 4)
                }
            }
            // Every logit -inf: a draw is as greedy decoding, never a banned token.
            let none = [Float](repeating: -.infinity, count: 5)
            none.withUnsafeBufferPointer { #expect(Self.sampler(temp: 0.8, k: 3, banned: [0]).pick($0) == 1) }
        }
    }

    @Test("--repeat-penalty divides a recent token's positive logit and multiplies a negative one, as llama.cpp's")
    func repeatPenalty() {
        var s = Sampling()
        s.repeatPenalty = 2
        s.repeatLastN = 2
        let sampler = Sampler(sampling: s)
        // Token 0 (logit 3) was just written: 3 / 2 = 1.5 falls below token 1's 2.
        let logits: [Float] = [3, 2, -1, -1.5]
        logits.withUnsafeBufferPointer { l in
            #expect(sampler.pick(l, after: []) == 0)
            #expect(sampler.pick(l, after: [0]) == 1)
            // Both recent: 1.5 and 1 — token 0 again.
            #expect(sampler.pick(l, after: [0, 1]) == 0)
            // Token 0 is older than the last two: not penalized.
            #expect(sampler.pick(l, after: [0, 2, 3]) == 0)
        }
        // A negative logit is multiplied: -1 · 2 = -2 falls below -1.5.
        let negative: [Float] = [-1, -1.5]
        negative.withUnsafeBufferPointer { l in
            #expect(sampler.pick(l, after: []) == 0)
            #expect(sampler.pick(l, after: [0]) == 1)
        }
        var off = Sampling()
        off.repeatPenalty = 1
        logits.withUnsafeBufferPointer { #expect(Sampler(sampling: off).pick($0, after: [0]) == 0) }
        // Unset (nil): off here; a translator fills in the target head's recommendation.
        logits.withUnsafeBufferPointer { #expect(Sampler(sampling: Sampling()).pick($0, after: [0]) == 0) }
        var bad = Sampling()
        bad.repeatPenalty = 0
        #expect(bad.problem?.contains("repeat-penalty") == true)
        bad = Sampling()
        bad.repeatLastN = -1
        #expect(bad.problem?.contains("repeat-last-n") == true)
    }

    @Test("decoding settings: daemon keys decode with defaults for what is absent; bad ones are named")
    func samplingSettings() throws {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        let s = try d.decode(Sampling.self, from: Data(#"{"top_k": 5, "no_repeat_ngram": 4, "repeat_penalty": 1.1, "min_length": 0.5}"#.utf8))
        var expected = Sampling()
        expected.topK = 5
        expected.noRepeatNgram = 4
        expected.repeatPenalty = 1.1
        expected.minLength = 0.5
        #expect(s == expected)
        #expect(try d.decode(Sampling.self, from: Data("{}".utf8)) == Sampling())
        #expect(Sampling().problem == nil)
        var bad = Sampling()
        bad.beams = 2
        bad.temperature = 1
        #expect(bad.problem?.contains("--beam") == true)
        bad = Sampling()
        bad.noRepeatNgram = -1
        #expect(bad.problem?.contains("no-repeat-ngram") == true)
        bad = Sampling()
        bad.minLength = -0.5
        #expect(bad.problem?.contains("min-length") == true)
    }

    /// A prompt through the native head of smollm2-135m.
    static func prompt(_ hydra: HydraModel) throws -> [HeadToken] {
        let translator = try Translator(model: hydra)
        let p = TranslationPrompt(source: try Language.named("en"), target: try Language.named("ru"))
        return translator.promptIds("The weather is good today.", prompt: p).map { HeadToken(hydra.native, $0) }
    }

    /// Runs a beam search to its end, stepping its beams together.
    static func search(_ hydra: HydraModel, _ prompt: [HeadToken], width: Int, maxTokens: Int,
                       sampling: Sampling = Sampling()) throws -> BeamSearch {
        let first = try hydra.startSequence(prompt: prompt, target: hydra.native, maxTokens: maxTokens)
        var beam = try BeamSearch(first: first, width: width, maxTokens: maxTokens, banned: TokenMask(),
                                  isEnd: hydra.native.vocabulary.isEndOfGeneration, sampling: sampling,
                                  makeSequence: first.clone)
        let batch = SequenceBatch(model: hydra)
        while !beam.isDone {
            try batch.step(beam.beams.map(\.sequence), tokens: beam.beams.map { $0.tokens.last! })
            try beam.advance()
        }
        return beam
    }

    @Test("a beam of one is greedy decoding", .tags(.model), .modelsWanted)
    func beamOfOne() throws {
        let hydra = try HydraModel(path: TestModels.path("smollm2-135m"), contextLength: 512, batchSize: 64,
                                   pool: ThreadPool(threads: 2))
        let prompt = try Self.prompt(hydra)
        var greedy: [Int32] = []
        try hydra.decode(prompt: prompt, target: hydra.native, maxTokens: 24) { token in
            greedy.append(token)
            return !hydra.native.vocabulary.isEndOfGeneration(token)
        }
        if let last = greedy.last, hydra.native.vocabulary.isEndOfGeneration(last) { greedy.removeLast() }
        #expect(try Self.search(hydra, prompt, width: 1, maxTokens: 24).best == greedy)
    }

    /// Beams are penalized by their own tokens as greedy decoding is by
    /// its history: with one beam, the same tokens.
    @Test("a beam of one with the repetition penalty and n-gram ban is greedy decoding with them",
          .tags(.model), .modelsWanted)
    func penalizedBeamOfOne() throws {
        let hydra = try HydraModel(path: TestModels.path("smollm2-135m"), contextLength: 512, batchSize: 64,
                                   pool: ThreadPool(threads: 2))
        let prompt = try Self.prompt(hydra)
        var sampling = Sampling()
        sampling.noRepeatNgram = 2
        sampling.repeatPenalty = 1.3
        let sampler = Sampler(sampling: sampling)
        let isEnd = hydra.native.vocabulary.isEndOfGeneration
        let sequence = try hydra.startSequence(prompt: prompt, target: hydra.native, maxTokens: 32)
        let batch = SequenceBatch(model: hydra)
        var greedy: [Int32] = []
        while greedy.count < 32 {
            let token = sequence.logits.withUnsafeBufferPointer { sampler.pick($0, after: greedy) }
            if isEnd(token) { break }
            greedy.append(token)
            if greedy.count < 32 { try batch.step([sequence], tokens: [token]) }
        }
        let plain = try Self.search(hydra, prompt, width: 1, maxTokens: 32).best
        let penalized = try Self.search(hydra, prompt, width: 1, maxTokens: 32, sampling: sampling).best
        #expect(penalized == greedy)
        #expect(penalized != plain, "the penalties change nothing on this prompt: the test shows nothing")
        let bigrams = zip(penalized, penalized.dropFirst()).map { [$0, $1] }
        #expect(Set(bigrams).count == bigrams.count, "a bigram repeats")
    }

    /// Each hypothesis's score must be its log-probability computed from
    /// scratch: the beams' caches were copied right.
    @Test("every hypothesis of a 4-beam search scores what a fresh pass gives its tokens", .tags(.model), .modelsWanted)
    func beamScores() throws {
        let hydra = try HydraModel(path: TestModels.path("smollm2-135m"), contextLength: 512, batchSize: 64,
                                   pool: ThreadPool(threads: 2))
        let prompt = try Self.prompt(hydra)
        let search = try Self.search(hydra, prompt, width: 4, maxTokens: 12)
        #expect(search.finished.count >= 4)
        for h in search.finished.prefix(6) {
            // Ended by an end token unless it ran out of room.
            let ranOut = h.tokens.count == 12
            var tokens = h.tokens
            if !ranOut { tokens.append(try #require(hydra.native.vocabulary.eot ?? hydra.native.vocabulary.eos)) }
            // Token by token from an empty cache: the arithmetic a lone sequence gets.
            var logits = Array(try hydra.forwardLast(prompt, startPosition: 0, logitsFrom: hydra.native))
            var score = 0.0
            for (k, token) in tokens.enumerated() {
                let m = Double(logits.max()!)
                let z = logits.reduce(0.0) { $0 + Foundation.exp(Double($1) - m) }
                score += Double(logits[Int(token)]) - m - Foundation.log(z)
                if k + 1 < tokens.count {
                    logits = Array(try hydra.forwardLast([HeadToken(hydra.native, token)], startPosition: prompt.count + k,
                                                         logitsFrom: hydra.native))
                }
            }
            #expect(abs(score - h.score) < 1e-6 * max(1, abs(score)), "\(h.tokens): \(score) vs \(h.score)")
        }
    }

    @Test("hydra translate --beam and --temp: valid options, repeatable output", .tags(.model), .modelsWanted)
    func commandLine() throws {
        let common = ["translate", "--no-daemon", "--model", "smollm2-135m", "--from", "en", "--to", "ru", "Good morning."]
        let a = try CLI.run(common + ["--temp", "0.8", "--seed", "5"]), b = try CLI.run(common + ["--temp", "0.8", "--seed", "5"])
        #expect(a.status == 0 && a.stdout == b.stdout && !a.stdout.isEmpty, "\(a.stderr)")
        let beam = try CLI.run(common + ["--beam", "3"])
        #expect(beam.status == 0 && !beam.stdout.isEmpty, "\(beam.stderr)")
        let blocked = try CLI.run(common + ["--no-repeat-ngram", "2"])
        #expect(blocked.status == 0 && !blocked.stdout.isEmpty, "\(blocked.stderr)")
        for bad in [["--beam", "0"], ["--beam", "2", "--temp", "1"], ["--top-p", "0"], ["--temp", "-1"],
                    ["--no-repeat-ngram", "-2"]] {
            let r = try CLI.run(common + bad)
            #expect(r.status != 0 && r.stderr.contains("Error"), "\(bad): \(r.stderr)")
        }
    }
}
