import Foundation
import Testing
@testable import HydraCore

/// chrF and consensus decoding (--candidates).
@Suite("Consensus decoding")
struct ConsensusTests {
    /// sacrebleu 2.6.0's sentence chrF (`CHRF().sentence_score(h, [r])`) of
    /// these pairs: the reference the Swift chrF must equal.
    static let sacrebleu: [(String, String, Double)] = [
        ("Су бүген көн, урынын була мөмкин.", "Бүген һава яхшы.", 13.574259274676107),
        ("Файл системасын карау һәм файллар белән идарә итү", "Эзләү һәм идарә файллар", 37.9282931791052),
        ("Доступна новая версия Warzone 2100!", "Новый сборник Warzone 2100 доступен!", 42.24558677300727),
        ("The cat sat on the mat.", "The cat sat on the mat.", 100),
        ("", "Бүген", 0),
        ("ab  c", "abc", 100),
        ("ab", "abcdefg", 26.76056338028169),
        ("abcdefgh", "ab", 55.00000000000001),
        ("мин мин мин мин", "мин", 51.86170212765958),
    ]

    @Test("chrF equals sacrebleu's sentence chrF")
    func chrfMatchesSacrebleu() {
        for (hypothesis, reference, expected) in Self.sacrebleu {
            let got = ChrF.score(hypothesis, reference: reference)
            #expect(abs(got - expected) < 1e-9, "\(hypothesis) | \(reference): \(got) vs \(expected)")
        }
    }

    @Test("the consensus is the text the others agree with most; the first among equals")
    func choose() {
        #expect(Consensus.choose(["Бүген көн", "Бүген һава яхшы.", "Бүген һава бик яхшы.", "Бүген һава яхшы!"]) == 1)
        #expect(Consensus.choose(["x", "Бүген һава", "Бүген һава"]) == 1)
        #expect(Consensus.choose(["a", "b", "c"]) == 0)
        #expect(Consensus.choose(["a", "b"]) == 0)
        #expect(Consensus.choose([]) == 0)
    }

    @Test("the round-trip check outweighs agreement by its weight, and only with one score per text")
    func chooseWithRoundTrip() {
        let texts = ["Бүген һава яхшы.", "Бүген һава яхшы!", "Кичә яңгыр яуды."]
        #expect(Consensus.choose(texts) == 0)
        // Agreement: 100-odd chrF points between the first two, ~10 to the third.
        let scores = [-30.0, -20.0, -5.0]
        #expect(Consensus.choose(texts, weight: 0) { scores } == 0)
        #expect(Consensus.choose(texts, weight: 0.5) { scores } == 1)
        #expect(Consensus.choose(texts, weight: 5) { scores } == 2)
        #expect(Consensus.choose(texts, weight: 5) { [-5] } == 0)
        #expect(Consensus.choose(texts, weight: 5) { nil } == 0)
    }

    @Test("the round-trip check runs only where the best agreement is below the threshold")
    func roundTripThreshold() {
        let texts = ["Бүген һава яхшы.", "Бүген һава яхшы!", "Кичә яңгыр яуды."]
        let agreement = Consensus.agreement(texts)
        let best = agreement.max()!
        for (i, a) in agreement.enumerated() {
            let others = texts.indices.filter { $0 != i }.map { ChrF.score(texts[i], reference: texts[$0]) }
            #expect(abs(a - others.reduce(0, +) / 2) < 1e-9)
        }
        var ran = 0
        let scores = { () -> [Double]? in ran += 1; return [-30, -20, -5] }
        #expect(Consensus.choose(texts, weight: 5, checkBelow: best, roundTrip: scores) == 0 && ran == 0)
        #expect(Consensus.choose(texts, weight: 5, checkBelow: best + 0.01, roundTrip: scores) == 2 && ran == 1)
        #expect(Consensus.choose(texts, weight: 0, checkBelow: 100, roundTrip: scores) == 0 && ran == 1)
        // All equal: agreement 100, no check even at the default threshold.
        #expect(Consensus.choose(["a b", "a b", "a b"], weight: 5, roundTrip: scores) == 0 && ran == 1)
    }

    @Test("--candidates settings: the others are drawn with their own seeds; bad values are named")
    func settings() {
        var s = Sampling()
        s.candidates = 5
        #expect(s.problem == nil)
        var first = s
        first.candidates = 1
        #expect(s.candidate(0) == first)
        let third = s.candidate(2)
        #expect(third.temperature == s.candidateTemperature && third.seed == 2 && third.candidates == 1)
        s.temperature = 0.9
        #expect(s.candidate(3).temperature == 0.9)
        for bad in [0, 2, 17] {
            var b = Sampling()
            b.candidates = bad
            #expect(b.problem?.contains("--candidates") == true, "\(bad)")
        }
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        let daemon = try? d.decode(Sampling.self, from: Data(#"{"candidates": 5, "candidate_temperature": 0.8}"#.utf8))
        #expect(daemon?.candidates == 5 && daemon?.candidateTemperature == 0.8)
        let weighted = try? d.decode(Sampling.self, from: Data(#"{"round_trip_weight": 3}"#.utf8))
        #expect(weighted?.roundTripWeight == 3 && weighted?.roundTripBelow == nil && Sampling().roundTripWeight == nil)
        let gated = try? d.decode(Sampling.self, from: Data(#"{"round_trip_below": 30}"#.utf8))
        #expect(gated?.roundTripBelow == 30)
        for bad: Float in [-1, 101, .nan, .infinity] {
            var b = Sampling()
            b.roundTripWeight = bad
            #expect(b.problem?.contains("--round-trip-weight") == true, "\(bad)")
            var c = Sampling()
            c.roundTripBelow = bad
            #expect(c.problem?.contains("--round-trip-below") == true, "\(bad)")
        }
        var both = Sampling()
        both.candidates = 3
        both.beams = 2
        #expect(both.problem?.contains("--beam") == true)
    }

    /// smollm2-135m, translating with its own head, and the English text
    /// both model tests translate into Russian.
    static func smollm() throws -> Translator {
        try Translator(model: try HydraModel(path: TestModels.path("smollm2-135m"), contextLength: 1024,
                                             batchSize: 64, pool: ThreadPool(threads: 2)))
    }

    static let english = (try! Language.named("en"), try! Language.named("ru"),
                          "The history of this city is long and full of remarkable events.")

    /// The candidates are stepped together in one batch: each must be the
    /// text its settings give alone, and the answer their consensus.
    @Test("--candidates 3 answers the consensus of the three translations written alone", .tags(.model), .modelsWanted)
    func candidatesTranslate() throws {
        let translator = try Self.smollm()
        let (en, ru, text) = Self.english
        func translate(_ sampling: Sampling) throws -> String {
            translator.sampling = sampling
            var out = ""
            try translator.translate(text, from: en, to: ru) { out += $0; return true }
            return out
        }
        var sampling = Sampling()
        sampling.candidates = 3
        sampling.candidateTemperature = 1.2
        let alone = try (0..<3).map { try translate(sampling.candidate($0)) }
        #expect(Set(alone).count > 1, "\(alone)")
        sampling.roundTripWeight = 0
        let agreed = try translate(sampling)
        #expect(agreed == alone[Consensus.choose(alone)], "\(agreed) vs \(alone)")
        sampling.roundTripWeight = 3
        let checked = try translate(sampling)
        let scores = try #require(try translator.roundTripScores(alone, of: text, from: en, to: ru))
        #expect(checked == alone[Consensus.choose(alone, weight: 3) { scores }], "\(checked) vs \(alone)")
        // The check runs only where the candidates agree less than --round-trip-below.
        let best = Float(Consensus.agreement(alone).max()!)
        sampling.roundTripBelow = best.nextDown
        #expect(try translate(sampling) == agreed)
        sampling.roundTripBelow = best.nextUp
        #expect(try translate(sampling) == checked)
    }

    /// Candidates that picked the same tokens share one pass (twins): each
    /// must still be the text its settings give alone, also after a twin's
    /// pick differs and it goes on from a copy of the cache it shared.
    @Test("candidates that picked the same tokens share a pass and still write what they write alone",
          .tags(.model), .modelsWanted)
    func twinCandidates() throws {
        let translator = try Self.smollm()
        let (en, ru, text) = Self.english
        func translate(_ sampling: Sampling) throws -> (text: String, stats: Translator.Statistics) {
            translator.sampling = sampling
            var out = ""
            let stats = try translator.translate(text, from: en, to: ru) { out += $0; return true }
            return (out, stats)
        }
        var parted = false, seen: [String] = []
        for temperature: Float in [0.1, 0.2, 0.4] {
            var sampling = Sampling()
            sampling.candidates = 5
            sampling.candidateTemperature = temperature
            sampling.roundTripWeight = 0
            let alone = try (0..<5).map { try translate(sampling.candidate($0)) }
            let together = try translate(sampling)
            seen += alone.map(\.text)
            #expect(together.text == alone[Consensus.choose(alone.map(\.text))].text, "\(together.text) vs \(alone)")
            #expect(together.stats.generatedTokens == alone.map(\.stats.generatedTokens).reduce(0, +))
            #expect(together.stats.twinTokens > 0, "at \(temperature)")
            // Twins that parted: texts that begin alike and then differ.
            for a in alone where alone.contains(where: { $0.text != a.text && $0.text.prefix(8) == a.text.prefix(8) }) {
                parted = true
            }
        }
        #expect(parted, "no two candidates began alike and then parted: \(seen)")
    }

    /// The round-trip score is the log-probability of the source text
    /// after the reverse prompt, each candidate's prompt run after the
    /// cached opening: the same as the whole sequence run at once and
    /// scored position by position (exactly for the first, which runs the
    /// opening with it).
    @Test("round-trip scores equal the reverse prompt's log-probabilities run whole", .tags(.model), .modelsWanted)
    func roundTripScores() throws {
        let translator = try Self.smollm()
        let lm = translator.hydra
        let (en, ru, text) = Self.english
        let candidates = ["История этого города длинная.", "Город большой.", "История этого города длинная.",
                          "История этого города длинная и полна замечательных событий."]
        let scores = try #require(try translator.roundTripScores(candidates, of: text, from: en, to: ru))
        #expect(scores[0] == scores[2])
        #expect(scores[3] > scores[1], "\(scores)")
        let tokenizer = lm.native.tokenizer
        let answer = tokenizer.tokenize(text, addSpecial: false, parseSpecial: false)
        for (candidate, score) in zip(candidates, scores) {
            let parts = TranslationPrompt(source: ru, target: en).parts(candidate, format: translator.format)
            let context = tokenizer.tokenize(parts.prefix, addSpecial: true, parseSpecial: true)
                + tokenizer.tokenize(parts.text, addSpecial: false, parseSpecial: false)
                + tokenizer.tokenize(parts.suffix, addSpecial: false, parseSpecial: true)
            let all = context + answer
            lm.state.reset()
            let logits = try lm.forward(tokens: Array(all.dropLast()), startPosition: 0, allLogits: true)
            let v = lm.vocabularySize
            var whole = 0.0
            logits.withUnsafeBufferPointer { l in
                for (j, token) in answer.enumerated() {
                    let row = context.count - 1 + j
                    whole += Perplexity.logSoftmax(UnsafeBufferPointer(rebasing: l[row * v..<(row + 1) * v]), at: Int(token))
                }
            }
            // Run in other batches than the whole sequence (the opening apart),
            // the products round differently: a few hundredths of a nat a token.
            #expect(abs(whole - score) < 0.05 * Double(answer.count), "\(candidate): \(whole) vs \(score)")
            if candidate == candidates[0] { #expect(whole == score) }
        }
    }
}
