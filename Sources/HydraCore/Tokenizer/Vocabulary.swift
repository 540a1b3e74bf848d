/// The tokenizer half of a model file: token texts, scores, kinds, merges,
/// special ids and flags, resolved the way llama.cpp's `llama_vocab::load`
/// resolves them (defaults per tokenizer model, metadata overrides, special
/// tokens recognised by their text).
public final class Vocabulary: Sendable {
    /// The two tokenizer families hydra runs.
    public enum Kind: Sendable, Equatable {
        /// `tokenizer.ggml.model = llama`: SentencePiece, merging by score, byte fallback.
        case sentencePiece
        /// `tokenizer.ggml.model = gpt2`: byte-level BPE with ranked merges.
        case bytePair
    }

    /// Special token ids as written in metadata; nil means "not given".
    public struct SpecialIDs: Sendable, Equatable {
        public var bos, eos, eot, eom, unk, sep, pad, mask: Int?
        /// Fill-in-the-middle tokens: prefix, suffix, middle, pad, repository, file separator.
        public var fimPre, fimSuf, fimMid, fimPad, fimRep, fimSep: Int?
        public init(bos: Int? = nil, eos: Int? = nil, eot: Int? = nil, eom: Int? = nil,
                    unk: Int? = nil, sep: Int? = nil, pad: Int? = nil, mask: Int? = nil,
                    fimPre: Int? = nil, fimSuf: Int? = nil, fimMid: Int? = nil,
                    fimPad: Int? = nil, fimRep: Int? = nil, fimSep: Int? = nil) {
            (self.bos, self.eos, self.eot, self.eom) = (bos, eos, eot, eom)
            (self.unk, self.sep, self.pad, self.mask) = (unk, sep, pad, mask)
            (self.fimPre, self.fimSuf, self.fimMid) = (fimPre, fimSuf, fimMid)
            (self.fimPad, self.fimRep, self.fimSep) = (fimPad, fimRep, fimSep)
        }
    }

    public let kind: Kind
    /// `tokenizer.ggml.model` ("llama", "gpt2").
    public let model: String
    /// The byte-level pre-tokenizer (unused by SentencePiece).
    public let preTokenizer: PreTokenizerKind
    /// Token texts by id, as stored (SentencePiece spells spaces "▁", byte-level BPE "Ġ").
    public let tokens: [String]
    public let scores: [Float]
    public let attributes: [TokenAttributes]
    /// BPE merges, "left right", in rank order (empty for SentencePiece).
    public let merges: [String]

    public let bos: Int32?
    public let eos: Int32?
    public let eot: Int32?
    public let eom: Int32?
    public let unk: Int32?
    public let sep: Int32?
    public let pad: Int32?
    /// The tokens that end generation (EOS, EOT, `<|im_end|>`, ...), as llama.cpp's EOG set.
    public let endOfGeneration: Set<Int32>
    public let addBOS: Bool
    public let addEOS: Bool
    /// SentencePiece: put a space before text that starts the input or follows a special token.
    public let addSpacePrefix: Bool
    /// BPE: a word that is itself a token skips merging (llama3-style vocabularies).
    public let ignoreMerges: Bool
    /// llama_detokenize's clean-up of " ," " ." " 's" and friends.
    public let cleanSpaces: Bool

    /// Token text → id.
    let table: TokenTable

    /// The number of tokens.
    public var count: Int { tokens.count }

    /// Builds a vocabulary from plain arrays, as they appear in GGUF metadata.
    /// - Parameters:
    ///   - model: `tokenizer.ggml.model` ("llama" or "gpt2").
    ///   - pre: `tokenizer.ggml.pre` (nil: "default").
    ///   - tokenTypes: GGUF token types (nil: all normal).
    ///   - addBOS, addEOS, addSpacePrefix: metadata flags; nil takes llama.cpp's default.
    public init(model: String, pre: String? = nil, tokens: [String], scores: [Float]? = nil,
                tokenTypes: [Int]? = nil, merges: [String]? = nil, special: SpecialIDs = SpecialIDs(),
                addBOS: Bool? = nil, addEOS: Bool? = nil, addSpacePrefix: Bool? = nil) throws {
        let n = tokens.count
        if let scores, scores.count < n { throw TokenizerError("\(scores.count) scores for \(n) tokens") }
        if let tokenTypes, tokenTypes.count < n { throw TokenizerError("\(tokenTypes.count) token types for \(n) tokens") }

        // Defaults per tokenizer model (llama_vocab::impl::load).
        var defaults: (bos: Int?, eos: Int?, unk: Int?)
        var flags = (addBOS: false, addEOS: false, spacePrefix: false, ignoreMerges: false, cleanSpaces: false)
        var preKind = PreTokenizerKind.default
        switch model {
        case "llama":
            kind = .sentencePiece
            defaults = (1, 2, 0)
            flags.spacePrefix = true
            flags.addBOS = true
        case "gpt2":
            kind = .bytePair
            defaults = (11, 11, nil)
            flags.cleanSpaces = true
            guard let resolved = PreTokenizerKind.resolve(pre ?? "default") else {
                throw TokenizerError("unknown pre-tokenizer type: '\(pre ?? "")'")
            }
            preKind = resolved.kind
            if resolved.ignoreMerges { flags.ignoreMerges = true }
            if resolved.addBOS { flags.addBOS = true }
            if !resolved.cleanSpaces { flags.cleanSpaces = false }
            if merges == nil { throw TokenizerError("cannot find tokenizer merges in model file") }
        default:
            throw TokenizerError("unsupported tokenizer model '\(model)'")
        }
        self.model = model
        self.preTokenizer = preKind
        self.merges = merges ?? []
        self.addSpacePrefix = addSpacePrefix ?? flags.spacePrefix
        self.ignoreMerges = flags.ignoreMerges
        self.cleanSpaces = flags.cleanSpaces

        // Token texts, scores and kinds.
        var texts = tokens
        var table = TokenTable(capacity: n + (merges?.count ?? 0) / 4)
        var attrs = [TokenAttributes](repeating: .normal, count: n)
        for i in 0..<n {
            if texts[i].isEmpty { texts[i] = "[EMPTY_\(i)]" }
            var text = texts[i]
            text.withUTF8 { _ = table.append($0) }
            if let tokenTypes { attrs[i] = TokenAttributes(ggufTokenType: tokenTypes[i]) }
        }
        self.tokens = texts
        self.scores = scores.map { Array($0.prefix(n)) } ?? [Float](repeating: 0, count: n)
        self.table = table

        // Special ids: metadata wins when in range; defaults out of range are dropped.
        func resolve(_ given: Int?, _ fallback: Int?) -> Int32? {
            if let given, given >= 0, given < n { return Int32(given) }
            if let fallback, fallback >= 0, fallback < n { return Int32(fallback) }
            return nil
        }
        let bos = resolve(special.bos, defaults.bos)
        let eos = resolve(special.eos, defaults.eos)
        var eot = resolve(special.eot, nil)
        var eom = resolve(special.eom, nil)
        let unk = resolve(special.unk, defaults.unk)
        let sep = resolve(special.sep, nil)
        let pad = resolve(special.pad, nil)
        self.addBOS = addBOS ?? flags.addBOS
        self.addEOS = addEOS ?? flags.addEOS

        // Special tokens recognised by their text: they become control tokens.
        func find(_ candidates: [String]) -> Int32? {
            for text in candidates {
                if let id = table.find(Array(text.utf8)) { return id }
            }
            return nil
        }
        func markControl(_ id: Int32?) {
            if let id { attrs[Int(id)].insert(.control) }
        }
        if eot == nil { eot = find(SpecialTexts.eot); markControl(eot) }
        if eom == nil { eom = find(SpecialTexts.eom); markControl(eom) }
        // Fill-in-the-middle tokens; pad, repository and file separator end generation.
        var fim: [Int32] = []
        let fimTokens: [(Int?, [String], Bool)] = [
            (special.fimPre, SpecialTexts.fimPre, false), (special.fimSuf, SpecialTexts.fimSuf, false),
            (special.fimMid, SpecialTexts.fimMid, false), (special.fimPad, SpecialTexts.fimPad, true),
            (special.fimRep, SpecialTexts.fimRep, true), (special.fimSep, SpecialTexts.fimSep, true),
        ]
        for (given, texts, endsGeneration) in fimTokens {
            var id = resolve(given, nil)
            if id == nil { id = find(texts); markControl(id) }
            if let id, endsGeneration { fim.append(id) }
        }

        // Control tokens named "unused..." are unused.
        for i in 0..<n where attrs[i].contains(.control) && texts[i].contains("unused") {
            attrs[i].insert(.unused)
        }

        // End-of-generation set: FIM pad/repo/sep, tokens known by text, EOS, EOT, EOM.
        var eog = Set(fim)
        for text in SpecialTexts.endOfGeneration {
            if let id = table.find(Array(text.utf8)) {
                eog.insert(id)
                attrs[Int(id)].insert(.control)
            }
        }
        for id in [eos, eot, eom].compactMap({ $0 }) { eog.insert(id) }

        self.bos = bos
        self.eos = eos
        self.eot = eot
        self.eom = eom
        self.unk = unk
        self.sep = sep
        self.pad = pad
        self.endOfGeneration = eog
        self.attributes = attrs
    }

    /// Reads the vocabulary of a GGUF file (`tokenizer.ggml.*`).
    public convenience init(gguf: GGUFFile) throws {
        guard let model = gguf.string("tokenizer.ggml.model") else {
            throw TokenizerError("\(gguf.path): no tokenizer.ggml.model")
        }
        guard let tokens = gguf.strings("tokenizer.ggml.tokens") else {
            throw TokenizerError("\(gguf.path): cannot find tokenizer vocab")
        }
        let scores = gguf.floats("tokenizer.ggml.scores")
            ?? gguf.ints("tokenizer.ggml.scores").map { $0.map { Float($0) } }
        func id(_ key: String) -> Int? { gguf.int("tokenizer.ggml." + key) }
        try self.init(
            model: model, pre: gguf.string("tokenizer.ggml.pre"), tokens: tokens, scores: scores,
            tokenTypes: gguf.ints("tokenizer.ggml.token_type"), merges: gguf.strings("tokenizer.ggml.merges"),
            special: SpecialIDs(bos: id("bos_token_id"), eos: id("eos_token_id"), eot: id("eot_token_id"),
                                eom: id("eom_token_id"), unk: id("unknown_token_id"), sep: id("seperator_token_id"),
                                pad: id("padding_token_id"), mask: id("mask_token_id"),
                                fimPre: id("fim_pre_token_id") ?? id("prefix_token_id"),
                                fimSuf: id("fim_suf_token_id") ?? id("suffix_token_id"),
                                fimMid: id("fim_mid_token_id") ?? id("middle_token_id"),
                                fimPad: id("fim_pad_token_id"), fimRep: id("fim_rep_token_id"),
                                fimSep: id("fim_sep_token_id")),
            addBOS: gguf.bool("tokenizer.ggml.add_bos_token"), addEOS: gguf.bool("tokenizer.ggml.add_eos_token"),
            addSpacePrefix: gguf.bool("tokenizer.ggml.add_space_prefix"))
    }

    /// The id of a token text, or nil.
    public func id(of text: String) -> Int32? {
        table.find(Array(text.utf8)).flatMap { Int($0) < count ? $0 : nil }
    }

    /// Whether generating `id` ends generation.
    public func isEndOfGeneration(_ id: Int32) -> Bool { endOfGeneration.contains(id) }

    /// Whether `id` is a control token (BOS, EOS, `<start_of_turn>`, ...).
    public func isControl(_ id: Int32) -> Bool { attributes[Int(id)].contains(.control) }
}

/// Texts by which llama.cpp recognises special tokens that metadata does not name.
enum SpecialTexts {
    static let eot = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>",
                      "<|end_of_text|>", "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>"]
    static let eom = ["<|eom_id|>"]
    static let fimPre = ["<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>", "<PRE>", "▁<PRE>",
                         "<|code_prefix|>", "<|prefix|>"]
    static let fimSuf = ["<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>", "<SUF>", "▁<SUF>",
                         "<|code_suffix|>", "<|suffix|>"]
    static let fimMid = ["<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>", "<MID>", "▁<MID>",
                         "<|code_middle|>", "<|middle|>"]
    static let fimPad = ["<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"]
    static let fimRep = ["<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"]
    static let fimSep = ["<|file_sep|>"]
    static let endOfGeneration = ["<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>",
                                  "<|calls|>", "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>",
                                  "_<EOT>", "[EOT]", "[EOS]", "<|end_of_text|>", "<end_of_utterance>", "<eos>",
                                  "<turn|>", "<|tool_response>", "<｜end▁of▁sentence｜>", "[e~["]
}
