import Foundation
import Testing
@testable import HydraCore

@Suite struct TokenizerTrainerTests {
    /// hug ×10, pug ×5, pun ×12, bun ×4, hugs ×5.
    static let toyCorpus: [String] = {
        var lines: [String] = []
        for (word, n) in [("hug", 10), ("pug", 5), ("pun", 12), ("bun", 4), ("hugs", 5)] {
            lines += Array(repeating: word, count: n)
        }
        return [lines.joined(separator: "\n")]
    }()

    @Test func reproducesTheMergeSequenceWorkedOutByHand() throws {
        let trained = try TokenizerTrainer.train(corpus: Self.toyCorpus, options: .init(vocabularySize: 1000))
        // Pair counts by hand: ug 20, then ▁p 17, un 16, ▁h 15 (tie with h·ug broken
        // by the smaller symbol ids), ▁h·ug 15, ▁p·un 12, ▁p·ug 5 (tie with ug·s), ...
        #expect(trained.merges == ["u g", "▁ p", "u n", "▁ h", "▁h ug", "▁p un", "▁p ug", "▁hug s", "▁ b", "▁b un"])
        // Specials, 256 bytes, 10 pieces, 8 characters.
        #expect(trained.tokens.count == 3 + 256 + 10 + 8)
        #expect(Array(trained.tokens[0..<3]) == ["<unk>", "<s>", "</s>"])
        #expect(trained.tokens[3] == "<0x00>" && trained.tokens[258] == "<0xFF>")
        #expect(Array(trained.tokens[259..<262]) == ["ug", "▁p", "un"])
        #expect(trained.scores[259] == 0 && trained.scores[260] == -1)
        // Characters by frequency (u and ▁ both 36: lower code point first).
        #expect(Array(trained.tokens[269...]) == ["u", "▁", "g", "p", "n", "h", "s", "b"])
    }

    @Test func mainTokenizerReplaysTheMerges() throws {
        let trained = try TokenizerTrainer.train(corpus: Self.toyCorpus, options: .init(vocabularySize: 1000))
        let tokenizer = Tokenizer(vocabulary: try trained.vocabulary())
        func pieces(_ text: String) -> [String] {
            tokenizer.tokenize(text, addSpecial: false, parseSpecial: false).map { trained.tokens[Int($0)] }
        }
        #expect(pieces("hugs pun bun") == ["▁hugs", "▁pun", "▁bun"])
        #expect(pieces("gun") == ["▁", "g", "un"])
        // é is no character of the corpus: byte fallback.
        #expect(pieces("é") == ["▁", "<0xC3>", "<0xA9>"])
        #expect(tokenizer.tokenize("pug", addSpecial: true, parseSpecial: false).first == 1)
        #expect(tokenizer.decode(tokenizer.tokenize("hugs bun é", addSpecial: false, parseSpecial: false)) == "hugs bun é")
    }

    @Test func stopsAtTheRequestedSize() throws {
        let trained = try TokenizerTrainer.train(corpus: Self.toyCorpus, options: .init(vocabularySize: 3 + 256 + 8 + 4))
        #expect(trained.tokens.count == 271)
        #expect(trained.merges == ["u g", "▁ p", "u n", "▁ h"])
        #expect(throws: TokenizerError.self) {
            try TokenizerTrainer.train(corpus: Self.toyCorpus, options: .init(vocabularySize: 100))
        }
    }

    @Test func wordsDoNotMixLettersDigitsAndPunctuation() {
        var words = TrainingWords(splitDigits: true, addSpacePrefix: true)
        words.add(line: "«Кеше» 2024, ok")
        #expect(words.order == ["▁«", "Кеше", "»", "▁2", "0", "2", "4", ",", "▁ok"])
    }

    @Test func copiesSpecialTokensFromASourceVocabulary() throws {
        let source = try Vocabulary(model: "llama", tokens: ["<pad>", "<eos>", "<bos>", "<unk>", "<unused0>", "<start_of_turn>", "<end_of_turn>", "a"],
                                    tokenTypes: [3, 3, 3, 3, 3, 3, 3, 1],
                                    special: .init(bos: 2, eos: 1, unk: 3, pad: 0), addSpacePrefix: false)
        var options = TokenizerTrainer.Options(vocabularySize: 1000, specialsFrom: source)
        options.addSpacePrefix = false
        let trained = try TokenizerTrainer.train(corpus: Self.toyCorpus, options: options)
        #expect(Array(trained.tokens[0..<6]) == ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"])
        #expect(trained.special == Vocabulary.SpecialIDs(bos: 2, eos: 1, eot: 5, unk: 3, pad: 0))
        let vocabulary = try trained.vocabulary()
        #expect(vocabulary.isControl(4) && vocabulary.isEndOfGeneration(5))
        let tokenizer = Tokenizer(vocabulary: vocabulary)
        #expect(tokenizer.tokenize("<start_of_turn>hug", addSpecial: true, parseSpecial: true) == [2, 4, vocabulary.id(of: "hug")!])
    }
}
