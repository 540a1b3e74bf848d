/// A SentencePiece (`tokenizer.ggml.model = llama`) vocabulary made by the
/// trainer, as the plain arrays a GGUF file stores.
public struct TrainedVocabulary: Sendable, Equatable {
    /// Token texts by id: special tokens, 256 `<0xNN>` byte tokens, merged pieces, then characters.
    public var tokens: [String]
    /// Merged pieces score −rank, so merging by score replays the training merges.
    public var scores: [Float]
    /// GGUF token types (1 normal, 2 unknown, 3 control, 6 byte).
    public var tokenTypes: [Int]
    public var special: Vocabulary.SpecialIDs
    public var addBOS: Bool
    public var addEOS: Bool
    public var addSpacePrefix: Bool
    /// The training merges in order, "left right" (pieces spelled with "▁").
    public var merges: [String]

    /// The vocabulary that main's `Tokenizer` runs.
    public func vocabulary() throws -> Vocabulary {
        try Vocabulary(model: "llama", tokens: tokens, scores: scores, tokenTypes: tokenTypes,
                       special: special, addBOS: addBOS, addEOS: addEOS, addSpacePrefix: addSpacePrefix)
    }
}

extension TokenAttributes {
    /// The GGUF token type that stands for these attributes (inverse of `init(ggufTokenType:)`).
    var ggufTokenType: Int {
        if contains(.control) { return 3 }
        if contains(.unknown) { return 2 }
        if contains(.userDefined) { return 4 }
        if contains(.unused) { return 5 }
        if contains(.byte) { return 6 }
        if contains(.normal) { return 1 }
        return 0
    }
}
