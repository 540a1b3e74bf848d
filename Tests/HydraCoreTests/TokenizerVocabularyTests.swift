import Testing
@testable import HydraCore

/// Small hand-made vocabularies, to pin down each rule on its own.
@Suite("Tokenizer on toy vocabularies")
struct TokenizerVocabularyTests {
    /// <unk> <s> </s>, the 256 byte tokens, then a few pieces.
    static func sentencePiece(addSpacePrefix: Bool? = nil) throws -> Tokenizer {
        let bytes = (0..<256).map { "<0x" + String($0, radix: 16, uppercase: true).leftPadded(to: 2) + ">" }
        let pieces = ["▁", "a", "b", "▁a", "ab", "▁ab", "<ctl>", "<ud>"]
        let pieceScores: [Float] = [-5, -5, -5, -2, -3, -1, 0, 0]
        let pieceTypes = [1, 1, 1, 1, 1, 1, 3, 4]
        let vocabulary = try Vocabulary(
            model: "llama", tokens: ["<unk>", "<s>", "</s>"] + bytes + pieces,
            scores: [0, 0, 0] + [Float](repeating: 0, count: 256) + pieceScores,
            tokenTypes: [2, 3, 3] + [Int](repeating: 6, count: 256) + pieceTypes,
            addSpacePrefix: addSpacePrefix)
        return Tokenizer(vocabulary: vocabulary)
    }

    static func id(_ t: Tokenizer, _ text: String) -> Int32 { t.vocabulary.id(of: text)! }

    @Test func sentencePieceMergesByScore() throws {
        let t = try Self.sentencePiece()
        #expect(t.vocabulary.kind == .sentencePiece)
        #expect(t.vocabulary.addBOS && t.vocabulary.addSpacePrefix)
        // "▁ab▁a": "▁a" (-2) is merged first, then "▁ab" (-1) beats nothing left of it.
        let ids = t.tokenize("ab a", addSpecial: true, parseSpecial: false)
        #expect(ids == [1, Self.id(t, "▁ab"), Self.id(t, "▁a")])
        #expect(t.decode(ids) == "ab a")
        #expect(t.detokenize(ids) == Array(" ab a".utf8))  // llama_detokenize keeps the space after BOS
    }

    @Test func sentencePieceByteFallback() throws {
        let t = try Self.sentencePiece(addSpacePrefix: false)
        let ids = t.tokenize("é", addSpecial: false, parseSpecial: false)
        #expect(ids == [Self.id(t, "<0xC3>"), Self.id(t, "<0xA9>")])
        #expect(t.piece(ids[0]) == [0xC3])
        var stream = StreamingDetokenizer(tokenizer: t)
        #expect(stream.append(ids[0]) == "")
        #expect(stream.append(ids[1]) == "é")
    }

    @Test func specialTokensInText() throws {
        let t = try Self.sentencePiece(addSpacePrefix: false)
        let ctl = Self.id(t, "<ctl>"), ud = Self.id(t, "<ud>")
        // User-defined tokens are always matched, control tokens only on request.
        let plain = t.tokenize("a<ud>b<ctl>", addSpecial: false, parseSpecial: false)
        #expect(plain.contains(ud) && !plain.contains(ctl))
        let parsed = t.tokenize("a<ud>b<ctl>", addSpecial: false, parseSpecial: true)
        #expect(parsed == [Self.id(t, "a"), ud, Self.id(t, "b"), ctl])
        #expect(t.piece(ctl) == [] && t.piece(ctl, special: true) == Array("<ctl>".utf8))
        #expect(t.piece(ud) == Array("<ud>".utf8))
    }

    @Test func bytePairMergesByRank() throws {
        // "Ġ" is GPT-2's spelling of the space byte.
        let tokens = ["a", "b", "c", "Ġ", "ab", "Ġab", "<|end|>"]
        let vocabulary = try Vocabulary(model: "gpt2", pre: "gpt-2", tokens: tokens,
                                        tokenTypes: [1, 1, 1, 1, 1, 1, 3], merges: ["a b", "Ġ ab"])
        let t = Tokenizer(vocabulary: vocabulary)
        #expect(t.vocabulary.kind == .bytePair && t.vocabulary.preTokenizer == .gpt2)
        #expect(t.vocabulary.endOfGeneration.contains(6))
        let ids = t.tokenize("ab abc", addSpecial: true, parseSpecial: false)
        #expect(ids == [4, 5, 2])
        #expect(t.decode(ids) == "ab abc")
        // No token for "é": its bytes have no single-byte tokens either, so nothing is emitted.
        #expect(t.tokenize("é", addSpecial: false, parseSpecial: false) == [])
    }

    @Test func rejectsUnknownTokenizers() {
        #expect(throws: TokenizerError.self) { try Vocabulary(model: "bert", tokens: ["a"]) }
        #expect(throws: TokenizerError.self) { try Vocabulary(model: "gpt2", pre: "nonsense", tokens: ["a"], merges: []) }
        #expect(throws: TokenizerError.self) { try Vocabulary(model: "gpt2", pre: "qwen2", tokens: ["a"]) }
    }

    @Test func preTokenizerSplits() {
        func words(_ kind: PreTokenizerKind, _ text: String) -> [String] {
            let cps = text.unicodeScalars.map(\.value)
            var offset = 0
            return kind.split(cps).map { n in
                defer { offset += n }
                return String(String.UnicodeScalarView(cps[offset..<offset + n].map { Unicode.Scalar($0)! }))
            }
        }
        #expect(words(.gpt2, "I'm  here 123") == ["I", "'m", " ", " here", " 123"])
        #expect(words(.smollm, "x 123") == ["x", " ", "1", "2", "3"])
        #expect(words(.qwen2, "Hi 12\n\n  there's") == ["Hi", " ", "1", "2", "\n\n", " ", " there", "'s"])
        #expect(words(.llama3, "12345") == ["123", "45"])
    }
}

private extension String {
    func leftPadded(to n: Int) -> String { String(repeating: "0", count: max(0, n - count)) + self }
}
