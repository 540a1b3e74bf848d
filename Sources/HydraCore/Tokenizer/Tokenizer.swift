/// Text ↔ token ids for one vocabulary, matching llama.cpp's `llama_tokenize`,
/// `llama_token_to_piece` and `llama_detokenize` token for token.
public final class Tokenizer: Sendable {
    public let vocabulary: Vocabulary
    private let specials: SpecialTokenMatcher
    private let sentencePiece: SentencePieceEncoder?
    private let bytePair: BytePairEncoder?
    /// How each token's piece begins (UTF8Guard), made on first use.
    let shapeBox = OnceBox<UTF8Guard.Shapes>()

    public init(vocabulary: Vocabulary) {
        self.vocabulary = vocabulary
        specials = SpecialTokenMatcher(vocabulary: vocabulary)
        switch vocabulary.kind {
        case .sentencePiece:
            sentencePiece = SentencePieceEncoder(vocabulary: vocabulary)
            bytePair = nil
        case .bytePair:
            sentencePiece = nil
            bytePair = BytePairEncoder(vocabulary: vocabulary)
        }
    }

    /// The tokenizer of a GGUF model file.
    public convenience init(gguf: GGUFFile) throws {
        self.init(vocabulary: try Vocabulary(gguf: gguf))
    }

    // MARK: Text → ids

    /// Token ids of `text`, as `llama_tokenize`.
    /// - Parameters:
    ///   - addSpecial: add BOS/EOS as the vocabulary asks (`add_bos_token`, `add_eos_token`).
    ///   - parseSpecial: recognise control tokens written in the text (`<|im_start|>`);
    ///     user-defined tokens are always recognised.
    public func tokenize(_ text: String, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        var text = text
        return text.withUTF8 { tokenize(bytes: $0, addSpecial: addSpecial, parseSpecial: parseSpecial) }
    }

    /// Token ids of UTF-8 text (see `tokenize(_:addSpecial:parseSpecial:)`).
    public func tokenize(bytes: UnsafeBufferPointer<UInt8>, addSpecial: Bool, parseSpecial: Bool) -> [Int32] {
        let v = vocabulary
        var output: [Int32] = []
        output.reserveCapacity(bytes.count / 3 + 2)
        if addSpecial && v.addBOS, let bos = v.bos { output.append(bos) }
        let fragments = specials.partition(bytes, parseSpecial: parseSpecial)
        switch v.kind {
        case .sentencePiece:
            var previousWasSpecial = true
            for fragment in fragments {
                switch fragment {
                case .token(let id):
                    output.append(id)
                    previousWasSpecial = true
                case .text(let range):
                    sentencePiece!.encode(escapeSpaces(bytes, range, prefix: v.addSpacePrefix && previousWasSpecial),
                                          into: &output)
                    previousWasSpecial = false
                }
            }
        case .bytePair:
            var queue = MergeQueue()
            var symbols: [MergeSymbol] = []
            for fragment in fragments {
                switch fragment {
                case .token(let id):
                    output.append(id)
                case .text(let range):
                    let piece = UnsafeBufferPointer(rebasing: bytes[range])
                    let cps = UTF8Text.codepoints(piece)
                    var offset = 0
                    for length in v.preTokenizer.split(cps) {
                        var word: [UInt8] = []
                        for cp in cps[offset ..< offset + length] { UTF8Text.append(cp, to: &word) }
                        offset += length
                        word.withUnsafeBufferPointer {
                            bytePair!.encode(word: $0, into: &output, queue: &queue, symbols: &symbols)
                        }
                    }
                }
            }
        }
        if addSpecial && v.addEOS, let eos = v.eos { output.append(eos) }
        return output
    }

    /// SentencePiece sees spaces as "▁" (and, on request, one more in front).
    private func escapeSpaces(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, prefix: Bool) -> [UInt8] {
        let escape: [UInt8] = [0xE2, 0x96, 0x81]
        var out: [UInt8] = []
        out.reserveCapacity(range.count + 16)
        if prefix { out.append(contentsOf: escape) }
        for i in range {
            if bytes[i] == 0x20 { out.append(contentsOf: escape) } else { out.append(bytes[i]) }
        }
        return out
    }

    // MARK: Ids → text

    /// The bytes of one token, as `llama_token_to_piece` with no stripping.
    /// Control and unknown tokens are empty unless `special` is set.
    public func piece(_ id: Int32, special: Bool = false) -> [UInt8] {
        let v = vocabulary
        guard id >= 0 && Int(id) < v.count else { return [] }
        let attr = v.attributes[Int(id)]
        if !special && !attr.isDisjoint(with: [.unknown, .control]) { return [] }
        let text = v.tokens[Int(id)]
        if !attr.isDisjoint(with: [.unknown, .control, .userDefined]) { return Array(text.utf8) }
        if attr.contains(.normal) {
            switch v.kind {
            case .sentencePiece:
                // "▁" (E2 96 81) → " "
                let utf8 = Array(text.utf8)
                var out: [UInt8] = []
                out.reserveCapacity(utf8.count)
                var i = 0
                while i < utf8.count {
                    if utf8[i] == 0xE2 && i + 2 < utf8.count && utf8[i + 1] == 0x96 && utf8[i + 2] == 0x81 {
                        out.append(0x20)
                        i += 3
                    } else {
                        out.append(utf8[i])
                        i += 1
                    }
                }
                return out
            case .bytePair:
                return ByteLevel.decode(text)
            }
        }
        if attr.contains(.byte) {
            // "<0xNN>"
            let utf8 = Array(text.utf8)
            guard utf8.count >= 5, let value = UInt8(String(decoding: utf8[3..<5], as: UTF8.self), radix: 16) else { return [] }
            return [value]
        }
        return []
    }

    /// Text of token ids: the pieces joined, with the space that SentencePiece
    /// put before the text removed again (when the vocabulary adds one).
    /// Bytes that do not form UTF-8 become U+FFFD.
    public func decode(_ ids: [Int32], special: Bool = false) -> String {
        var d = StreamingDetokenizer(tokenizer: self, special: special)
        var out = ""
        for id in ids { out += d.append(id) }
        out += d.finish()
        return out
    }

    /// The bytes of `llama_detokenize`: optionally drop a leading BOS and
    /// trailing EOS (`removeSpecial`), print control tokens (`unparseSpecial`),
    /// strip the SentencePiece prefix space, and apply the vocabulary's clean-up
    /// of spaces before punctuation.
    public func detokenize(_ ids: [Int32], removeSpecial: Bool = false, unparseSpecial: Bool = false) -> [UInt8] {
        let v = vocabulary
        var ids = ids[...]
        var removeSpace = v.addSpacePrefix
        if removeSpecial && v.addBOS, let first = ids.first, first == v.bos {
            removeSpace = false
            ids = ids.dropFirst()
        }
        if removeSpecial && v.addEOS, let last = ids.last, last == v.eos {
            ids = ids.dropLast()
        }
        var text: [UInt8] = []
        for id in ids {
            var p = piece(id, special: unparseSpecial)
            if removeSpace, p.first == 0x20 { p.removeFirst() }
            removeSpace = false
            text.append(contentsOf: p)
        }
        return v.cleanSpaces ? Self.cleanSpaces(text) : text
    }

    /// llama_detokenize's three passes: " ?" " !" " ." " ," lose the space,
    /// a lone " ' " loses both, and " 's" " 'm" " 're" " 've" lose theirs.
    static func cleanSpaces(_ input: [UInt8]) -> [UInt8] {
        let space = UInt8(ascii: " "), quote = UInt8(ascii: "'")
        var text = input
        // First pass.
        var total = text.isEmpty ? 0 : 1
        for i in 1..<max(text.count, 1) {
            let x = text[i]
            if text[i - 1] == space && [UInt8(ascii: "?"), UInt8(ascii: "!"), UInt8(ascii: "."), UInt8(ascii: ",")].contains(x) {
                total -= 1
            }
            text[total] = x
            total += 1
        }
        text.removeSubrange(total...)
        // Second pass.
        var i = 1
        total = text.isEmpty ? 0 : 1
        let n2 = text.count
        while i < n2 {
            let x = text[i]
            if x == quote && i + 1 < n2 && text[i - 1] == space && text[i + 1] == space {
                total -= 1
                i += 1
                text[i] = 0
            }
            text[total] = x
            total += 1
            i += 1
        }
        text.removeSubrange(total...)
        // Third pass.
        total = text.isEmpty ? 0 : 1
        let n3 = text.count
        for i in 1..<max(n3, 1) {
            let x = text[i]
            if text[i - 1] == space && x == quote && i + 1 < n3 {
                let x1 = text[i + 1]
                if x1 == UInt8(ascii: "s") || x1 == UInt8(ascii: "m") {
                    total -= 1
                } else if i + 2 < n3 {
                    let x2 = text[i + 2]
                    if (x1 == UInt8(ascii: "r") && x2 == UInt8(ascii: "e")) || (x1 == UInt8(ascii: "v") && x2 == UInt8(ascii: "e")) {
                        total -= 1
                    }
                }
            }
            text[total] = x
            total += 1
        }
        text.removeSubrange(total...)
        return text
    }
}
