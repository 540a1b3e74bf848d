/// A tokenizer as GGUF metadata (`tokenizer.ggml.*`, `tokenizer.chat_template`,
/// the keys llama.cpp reads), kept in order so a head file carries its
/// tokenizer exactly as the model file it came from did.
public struct TokenizerMetadata: Sendable, Equatable {
    public var entries: [(key: String, value: GGUFValue)]

    public init(entries: [(key: String, value: GGUFValue)]) { self.entries = entries }

    public static func == (a: Self, b: Self) -> Bool {
        a.entries.map(\.key) == b.entries.map(\.key) && a.entries.map(\.value) == b.entries.map(\.value)
    }

    /// Every `tokenizer.*` key of `file`, in file order.
    public init(file: GGUFFile) {
        entries = file.metadataKeys.filter { $0.hasPrefix("tokenizer.") }.map { ($0, file.metadata[$0]!) }
    }

    /// The keys of a vocabulary built in memory (e.g. a trained tokenizer).
    /// - Parameters:
    ///   - pre: `tokenizer.ggml.pre` for byte-level BPE ("default", "qwen2", ...).
    ///   - chatTemplate: the chat template to carry, if any.
    public init(vocabulary v: Vocabulary, pre: String? = nil, chatTemplate: String? = nil) {
        var e: [(String, GGUFValue)] = [("tokenizer.ggml.model", .string(v.model))]
        if v.kind == .bytePair { e.append(("tokenizer.ggml.pre", .string(pre ?? "default"))) }
        e.append(("tokenizer.ggml.tokens", .array(.strings(v.tokens))))
        e.append(("tokenizer.ggml.scores", .array(.floats(v.scores))))
        e.append(("tokenizer.ggml.token_type", .array(.int32s(v.attributes.map(Self.ggufTokenType)))))
        if v.kind == .bytePair { e.append(("tokenizer.ggml.merges", .array(.strings(v.merges)))) }
        let ids: [(String, Int32?)] = [("bos_token_id", v.bos), ("eos_token_id", v.eos), ("eot_token_id", v.eot),
                                       ("eom_token_id", v.eom), ("unknown_token_id", v.unk),
                                       ("seperator_token_id", v.sep), ("padding_token_id", v.pad)]
        for (key, id) in ids {
            if let id { e.append(("tokenizer.ggml." + key, .uint32(UInt32(id)))) }
        }
        e.append(("tokenizer.ggml.add_bos_token", .bool(v.addBOS)))
        e.append(("tokenizer.ggml.add_eos_token", .bool(v.addEOS)))
        if v.kind == .sentencePiece { e.append(("tokenizer.ggml.add_space_prefix", .bool(v.addSpacePrefix))) }
        if let chatTemplate { e.append(("tokenizer.chat_template", .string(chatTemplate))) }
        entries = e
    }

    /// The value of `key`, if present.
    public subscript(key: String) -> GGUFValue? { entries.first { $0.key == key }?.value }

    /// The chat template, if the tokenizer carries one.
    public var chatTemplate: String? { self["tokenizer.chat_template"]?.stringValue }

    /// The GGUF token type of a token's attributes (the inverse of
    /// `TokenAttributes(ggufTokenType:)` for the kinds it reads).
    static func ggufTokenType(_ a: TokenAttributes) -> Int32 {
        // Control before unused: the vocabulary marks control tokens named
        // "unused…" as unused too, but their stored type was control.
        if a.contains(.byte) { return 6 }
        if a.contains(.control) { return 3 }
        if a.contains(.userDefined) { return 4 }
        if a.contains(.unused) { return 5 }
        if a.contains(.unknown) { return 2 }
        if a.contains(.normal) { return 1 }
        return 0
    }
}
