import Foundation
import Testing
@testable import HydraCore

/// The word aligner and trans-tokenization on a four-sentence corpus.
@Suite struct HeadBuilderAlignmentTests {
    static let pairs: [(source: String, target: String)] = [
        ("the house", "das haus"), ("the book", "das buch"), ("a book", "ein buch"), ("a house", "ein haus"),
    ]

    /// Tokenizers trained on each side: every word becomes one token.
    static func tokenizers() throws -> (source: Tokenizer, target: Tokenizer) {
        let en = try TokenizerTrainer.train(corpus: pairs.map { $0.source }, options: .init(vocabularySize: 400))
        let de = try TokenizerTrainer.train(corpus: pairs.map { $0.target }, options: .init(vocabularySize: 400))
        return (Tokenizer(vocabulary: try en.vocabulary()), Tokenizer(vocabulary: try de.vocabulary()))
    }

    static func id(_ t: Tokenizer, _ text: String) -> Int32 { t.vocabulary.id(of: text)! }

    @Test func corpusKeepsWords() throws {
        let (en, de) = try Self.tokenizers()
        let corpus = AlignmentCorpus(pairs: Self.pairs + [("the house, a book", "das haus, ein buch")], source: en, target: de)
        #expect(corpus.sentences.count == 5)
        #expect(corpus.sourceWords.map { $0.map { en.vocabulary.tokens[Int($0)] } } == [["▁the"], ["▁house"], ["▁book"], ["▁a"], ["<0x2C>"]])
        #expect(corpus.sentences[4].source == [0, 1, 4, 3, 2])
        #expect(corpus.sentences[4].target == [0, 1, 4, 3, 2])
    }

    @Test(arguments: [0.0, 4.0])
    func alignerFindsTheObviousAlignment(tension: Double) throws {
        let (en, de) = try Self.tokenizers()
        let corpus = AlignmentCorpus(pairs: Self.pairs, source: en, target: de)
        var options = WordAligner.Options()
        options.diagonalTension = tension
        options.iterations = 10
        let counts = WordAligner.align(corpus, options: options)
        let sw = corpus.sourceWords.map { en.vocabulary.tokens[Int($0[0])] }
        let tw = corpus.targetWords.map { de.vocabulary.tokens[Int($0[0])] }
        var table: [String: Double] = [:]
        for k in counts.counts.indices { table[sw[Int(counts.source[k])] + " " + tw[Int(counts.target[k])]] = counts.counts[k] }
        // Each word pair occurs twice; EM must give it nearly both occurrences.
        for pair in ["▁the ▁das", "▁house ▁haus", "▁book ▁buch", "▁a ▁ein"] {
            #expect(table[pair, default: 0] > 1.6, "\(pair): \(table[pair, default: 0]) (λ = \(tension))")
        }
        for pair in ["▁the ▁haus", "▁house ▁das", "▁a ▁buch"] {
            #expect(table[pair, default: 0] < 0.3, "\(pair): \(table[pair, default: 0]) (λ = \(tension))")
        }
        let total = counts.counts.reduce(0, +)
        #expect(total <= 8 && total > 7)  // 8 target words, a little mass on NULL
    }

    @Test func countsAreSpreadOverTokenPairsByHand() {
        var counts = TokenPairCounts()
        counts.distribute(4, sourceTokens: [10, 11], targetTokens: [20, 21, 22])
        counts.distribute(2, sourceTokens: [12], targetTokens: [23])
        let rows = counts.rows(targetCount: 24)
        func c(_ i: Int32, _ j: Int) -> Double { rows[j].first { $0.0 == i }?.1 ?? 0 }
        // Half (2) over all six pairs: 1/3 each. Half over the position-matched
        // pairs (0,0) (1,1) (1,2): 2/3 each.
        #expect(abs(c(10, 20) - 1) < 1e-12 && abs(c(11, 20) - 1.0 / 3) < 1e-12)
        #expect(abs(c(10, 21) - 1.0 / 3) < 1e-12 && abs(c(11, 21) - 1) < 1e-12)
        #expect(abs(c(10, 22) - 1.0 / 3) < 1e-12 && abs(c(11, 22) - 1) < 1e-12)
        #expect(c(12, 23) == 2)
        #expect(TokenPairCounts.positionMatched(3, 1).map { [$0.0, $0.1] } == [[0, 0], [1, 0], [2, 0]])
    }

    @Test func countsBecomeProbabilities() throws {
        let (en, de) = try Self.tokenizers()
        var counts = TokenPairCounts()
        let haus = Self.id(de, "▁haus")
        counts.add(source: Self.id(en, "▁house"), target: haus, 3)
        counts.add(source: Self.id(en, "▁the"), target: haus, 1)
        var options = TransTokenization.Options()
        options.identicalCount = 0
        var statistics = TransTokenization.Statistics()
        let map = TransTokenization.mapFromCounts(counts, source: en, target: de, options: options, statistics: &statistics)
        let expected: [(Int32, Float)] = [(Self.id(en, "▁house"), 0.75), (Self.id(en, "▁the"), 0.25)].sorted { $0.0 < $1.0 }
        #expect(HeadBuilderMapTests.flat(map[Int(haus)]) == HeadBuilderMapTests.flat(expected))
        // Specials map to their counterparts.
        #expect(HeadBuilderMapTests.flat(map[1]) == [1, 1] && HeadBuilderMapTests.flat(map[2]) == [2, 1])
        #expect(statistics.counted == 1 && statistics.special == 3)
    }

    @Test func transTokenizationMapsWordsAndSmoothsTheRest() throws {
        let (en, de) = try Self.tokenizers()
        var options = TransTokenization.Options()
        options.identicalCount = 0
        let (map, statistics) = TransTokenization.build(pairs: Self.pairs, source: en, target: de, options: options)
        #expect(statistics.sentencePairs == 4)
        for (t, s) in [("▁haus", "▁house"), ("▁das", "▁the"), ("▁buch", "▁book"), ("▁ein", "▁a")] {
            // Cross pairs stay under the minimum count: the row is the one word.
            #expect(HeadBuilderMapTests.flat(map[Int(Self.id(de, t))]) == [Float(Self.id(en, s)), 1], "\(t)")
        }
        // "▁hau" was never aligned: it borrows from "▁haus", the token that starts with it.
        #expect(HeadBuilderMapTests.flat(map[Int(Self.id(de, "▁hau"))]) == [Float(Self.id(en, "▁house")), 1])
        // "h" neither: zip-tie onto the source character "h".
        #expect(HeadBuilderMapTests.flat(map[Int(Self.id(de, "h"))]) == [Float(Self.id(en, "h")), 1])
        #expect(statistics.counted == 4 && statistics.smoothed > 0 && statistics.zipTie > 256)
    }

    @Test func aBilingualDictionaryStandsInForSentences() throws {
        let (en, de) = try Self.tokenizers()
        let dictionary: [(source: String, target: String)] = [("house", "haus"), ("book", "buch"), ("house", "haus")]
        let (map, statistics) = TransTokenization.build(pairs: dictionary, source: en, target: de)
        #expect(statistics.sentencePairs == 3)
        #expect(HeadBuilderMapTests.flat(map[Int(Self.id(de, "▁haus"))]) == [Float(Self.id(en, "▁house")), 1])
    }

    @Test func identicalStringsGiveEvidence() throws {
        let (en, de) = try Self.tokenizers()
        var statistics = TransTokenization.Statistics()
        let map = TransTokenization.mapFromCounts(TokenPairCounts(), source: en, target: de,
                                                  options: TransTokenization.Options(), statistics: &statistics)
        #expect(HeadBuilderMapTests.flat(map[Int(Self.id(de, "e"))]) == [Float(Self.id(en, "e")), 1])
    }

    @Test func deterministic() throws {
        let (en, de) = try Self.tokenizers()
        let a = TransTokenization.build(pairs: Self.pairs, source: en, target: de).map
        let b = TransTokenization.build(pairs: Self.pairs, source: en, target: de).map
        #expect(SparseMaps.equal(a, b))
    }
}
