import Foundation
import Testing
@testable import HydraCore

/// The head evaluation figures on values checked by hand.
struct HeadsBuildEvaluationTests {
    @Test func negativeLog2OfSoftmax() {
        // Logits (0, 0, 0, 0): p = 1/4 each, 2 bits.
        let uniform: [Float] = [0, 0, 0, 0]
        #expect(abs(HeadEvaluation.negativeLog2(uniform, count: 4, of: 2) - 2) < 1e-9)
        // Logits (ln 3, 0): p = 3/4 and 1/4 -> 0.415 and 2 bits; a shift changes nothing.
        let l: [Float] = [Float(log(3.0)) + 100, 100]
        #expect(abs(HeadEvaluation.negativeLog2(l, count: 2, of: 0) - (-log2(0.75))) < 1e-5)
        #expect(abs(HeadEvaluation.negativeLog2(l, count: 2, of: 1) - 2) < 1e-5)
    }

    @Test func parallelTextSkipsIncompleteLines() {
        let pairs = ParallelText.parse("a b\tа б\nno tab\n\tempty source\nc\t в \n")
        #expect(pairs.map(\.source) == ["a b", "c"])
        #expect(pairs.map(\.target) == ["а б", "в"])
    }

    @Test func tokensPerCharacterCountsCharacters() throws {
        // A vocabulary of single characters: one token per character, plus
        // "▁" for the space prefix before the first word.
        let v = try Vocabulary(model: "llama", tokens: ["<unk>", "<s>", "</s>", "▁", "a", "б"],
                               scores: [0, 0, 0, -1, -2, -3], tokenTypes: [2, 3, 3, 1, 1, 1],
                               special: .init(bos: 1, eos: 2, unk: 0), addBOS: true, addEOS: false,
                               addSpacePrefix: true)
        let t = Tokenizer(vocabulary: v)
        // "aб a" -> ▁ a б ▁ a: 5 tokens for 4 characters; "б" -> ▁ б: 2 for 1.
        #expect(HeadEvaluation.tokensPerCharacter(t, lines: ["aб a", "б"]) == 7.0 / 5.0)
    }
}
