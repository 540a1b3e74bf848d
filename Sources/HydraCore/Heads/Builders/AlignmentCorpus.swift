/// A parallel corpus as the aligner sees it: each side tokenized by its own
/// tokenizer, tokens joined back into words (a word is the token ids from one
/// word-initial token to the next), words interned as ids.
public struct AlignmentCorpus: Sendable {
    /// Source word id → its source token ids.
    public private(set) var sourceWords: [[Int32]] = []
    /// Target word id → its target token ids.
    public private(set) var targetWords: [[Int32]] = []
    /// Sentence pairs as word ids.
    public private(set) var sentences: [(source: [Int32], target: [Int32])] = []

    /// - Parameters:
    ///   - pairs: (source text, target text); a bilingual dictionary's word pairs work too.
    ///   - maxWords: pairs with a longer side are skipped (alignment cost grows with the product).
    public init(pairs: [(source: String, target: String)], source: Tokenizer, target: Tokenizer, maxWords: Int = 100) {
        var sourceSide = WordSplitter(tokenizer: source)
        var targetSide = WordSplitter(tokenizer: target)
        var sourceIDs: [[Int32]: Int32] = [:]
        var targetIDs: [[Int32]: Int32] = [:]
        func intern(_ word: [Int32], _ ids: inout [[Int32]: Int32], _ words: inout [[Int32]]) -> Int32 {
            if let id = ids[word] { return id }
            let id = Int32(words.count)
            ids[word] = id
            words.append(word)
            return id
        }
        for (s, t) in pairs {
            let sw = sourceSide.words(s), tw = targetSide.words(t)
            if sw.isEmpty || tw.isEmpty || sw.count > maxWords || tw.count > maxWords { continue }
            sentences.append((sw.map { intern($0, &sourceIDs, &sourceWords) },
                              tw.map { intern($0, &targetIDs, &targetWords) }))
        }
    }
}

/// Tokenizes a sentence and groups its tokens into words: a token that starts
/// with white space starts a word, and punctuation is a word of its own.
struct WordSplitter {
    let tokenizer: Tokenizer
    /// Whether text should get a leading space so its first word is spelled
    /// like every other word ("▁The", "ĠThe"): not when the tokenizer adds one.
    let prependSpace: Bool
    /// Token id → kind, filled on first sight.
    private var kinds: [Int32: Kind] = [:]

    enum Kind { case word, startsWord, punctuation, space }

    init(tokenizer: Tokenizer) {
        self.tokenizer = tokenizer
        let v = tokenizer.vocabulary
        prependSpace = !(v.kind == .sentencePiece && v.addSpacePrefix)
    }

    mutating func words(_ text: String) -> [[Int32]] {
        let trimmed = text.trimmingWhitespace()
        if trimmed.isEmpty { return [] }
        let ids = tokenizer.tokenize(prependSpace ? " " + trimmed : trimmed, addSpecial: false, parseSpecial: false)
        var words: [[Int32]] = []
        var previous = Kind.punctuation
        for id in ids {
            let k = kind(id)
            let starts = words.isEmpty || (previous != .space && (k != .word || previous == .punctuation))
            if starts { words.append([id]) } else { words[words.count - 1].append(id) }
            previous = k
        }
        return words
    }

    private mutating func kind(_ id: Int32) -> Kind {
        if let k = kinds[id] { return k }
        let k = Self.classify(tokenizer.piece(id, special: true))
        kinds[id] = k
        return k
    }

    static func classify(_ bytes: [UInt8]) -> Kind {
        let isSpace: (UInt8) -> Bool = { $0 == 0x20 || $0 == 0x0A || $0 == 0x09 || $0 == 0x0D }
        let body = bytes.drop(while: isSpace)
        if body.isEmpty { return bytes.isEmpty ? .word : .space }
        // Bytes that are not whole UTF-8 characters belong to a word.
        guard let text = String(validating: body, as: UTF8.self) else {
            return body.count < bytes.count ? .startsWord : .word
        }
        let punctuation = text.unicodeScalars.allSatisfy {
            !$0.properties.isAlphabetic && $0.properties.numericType == nil && !isSpace(UInt8(truncatingIfNeeded: $0.value))
        }
        if punctuation { return .punctuation }
        return body.count < bytes.count ? .startsWord : .word
    }
}

extension String {
    /// The text without leading and trailing spaces, tabs and line breaks.
    func trimmingWhitespace() -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else { return "" }
        return String(self[first...last])
    }
}
