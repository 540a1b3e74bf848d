import Foundation

/// `--script-lock`: when decoding into a language of a known script, the
/// tokens whose text has letters of another script are never picked. A
/// token is kept when its letters are all of the target script, or it has
/// no letters (digits, punctuation, spaces), or it is a special token (end
/// of turn, end of text), or it is a piece of UTF-8 too short to be a
/// character (byte tokens may spell the target script's letters byte by
/// byte). Letters of the Common and Inherited scripts (digits, marks) are
/// neutral.
public enum ScriptLock {
    /// When to lock.
    public enum Mode: String, Sendable, Codable, CaseIterable {
        /// Lock for heads whose file declares a script (`hydra.head.script`);
        /// not for the model's native head, which serves every language
        /// (translations keep Latin names such as "Firefox" in Russian).
        case auto
        /// Lock to the target head's script, else the target language's.
        case on
        case off
    }

    /// The script to lock decoding into `target` through `head` to, or nil
    /// for no lock.
    public static func script(mode: Mode, head: Head, target: Language) -> Script? {
        let declared = head.kind == "native" ? nil : head.info.script.flatMap { Script(iso15924: $0) }
        switch mode {
        case .off: return nil
        case .auto: return declared
        case .on: return declared ?? target.script
        }
    }

    /// The tokens of `tokenizer` that have a letter of a script other than
    /// `script`.
    public static func bannedTokens(_ tokenizer: Tokenizer, keeping script: Script) -> TokenMask {
        let v = tokenizer.vocabulary
        var mask = TokenMask()
        for i in 0..<v.count {
            let id = Int32(i)
            let attr = v.attributes[i]
            // Special tokens are never text of any script; the end tokens
            // must stay pickable or the answer could not end.
            if v.endOfGeneration.contains(id) || !attr.isDisjoint(with: [.control, .unknown, .unused]) { continue }
            if hasForeignLetter(tokenizer.piece(id), keeping: script) { mask.insert(id) }
        }
        return mask
    }

    /// Whether `bytes` hold a letter of a script other than `script`.
    /// Bytes that do not form a whole character (a lone lead or
    /// continuation byte: a byte token, or a byte-level BPE token that
    /// splits a character) are neutral, so the target script's letters can
    /// still be spelled byte by byte; ASCII bytes are whole characters.
    /// The replacement character (U+FFFD, text lost to a decoder, which
    /// vocabularies learn from such text) counts as foreign to every script.
    static func hasForeignLetter(_ bytes: [UInt8], keeping script: Script) -> Bool {
        var i = 0
        let n = bytes.count
        while i < n {
            let b = bytes[i]
            if b < 0x80 {
                // ASCII: only letters have a script (Latin).
                let isLetter = (b | 0x20) >= UInt8(ascii: "a") && (b | 0x20) <= UInt8(ascii: "z")
                if isLetter && script != .latin { return true }
                i += 1
                continue
            }
            guard let (scalar, length) = decodeScalar(bytes, at: i) else {
                i += 1  // part of a character: neutral
                continue
            }
            let s = Script.of(scalar)
            if (!s.isNeutral && s != script) || scalar == "\u{FFFD}" { return true }
            i += length
        }
        return false
    }

    /// The well-formed multi-byte UTF-8 character at `i`, and its length.
    private static func decodeScalar(_ bytes: [UInt8], at i: Int) -> (Unicode.Scalar, Int)? {
        let b = bytes[i]
        let length: Int, initial: UInt32, minimum: UInt32
        switch b {
        case 0xC2...0xDF: (length, initial, minimum) = (2, UInt32(b & 0x1F), 0x80)
        case 0xE0...0xEF: (length, initial, minimum) = (3, UInt32(b & 0x0F), 0x800)
        case 0xF0...0xF4: (length, initial, minimum) = (4, UInt32(b & 0x07), 0x10000)
        default: return nil
        }
        guard i + length <= bytes.count else { return nil }
        var value = initial
        for k in 1..<length {
            let c = bytes[i + k]
            guard c & 0xC0 == 0x80 else { return nil }
            value = value << 6 | UInt32(c & 0x3F)
        }
        guard value >= minimum, let scalar = Unicode.Scalar(value) else { return nil }
        return (scalar, length)
    }
}

extension ScriptLock {
    /// The names in `text` a translation keeps as they are written: its
    /// words (runs between spaces, without the punctuation at either end)
    /// with a capital after the first letter ("OpenBox", "GNU"), a digit
    /// ("F10", "IPv4"), a dot, underscore or plus inside ("rc.xml",
    /// "Ctrl+C"), or a capital first letter where no sentence starts ("the
    /// Nautilus window"). Plain words ("Failed", "load") and single letters
    /// ("I") are not names; words in capitals for emphasis ("NO WARRANTY") are.
    /// A possessive's "'s" is left out ("Firefox's": "Firefox"). With a
    /// translation memory from the text's language, a word it shows in at
    /// least two sources and keeps in fewer than half of their
    /// translations is no name ("Internet", "Email", "Copy": Title Case
    /// software strings capitalise words their translations translate).
    public static func names(in text: String, keptBy memory: TranslationMemory? = nil) -> [String] {
        var names: [String] = []
        var sentenceStart = true
        for word in text.split(whereSeparator: \.isWhitespace) {
            let core = word.drop { !$0.isLetter && !$0.isNumber }.reversed().drop { !$0.isLetter && !$0.isNumber }.reversed()
            // A name's possessive is not part of it ("Firefox's").
            let whole = String(core)
            let name = whole.hasSuffix("'s") || whole.hasSuffix("’s") ? String(whole.dropLast(2)) : whole
            defer { sentenceStart = word.last.map { ".!?:".contains($0) } ?? false }
            guard let first = name.first, name.count > 1, name.contains(where: \.isLetter) else { continue }
            let inner = name.dropFirst()
            if inner.contains(where: \.isUppercase) || name.contains(where: \.isNumber)
                || inner.dropLast().contains(where: { "._+".contains($0) })
                || (first.isUppercase && !sentenceStart) {
                names.append(name)
            }
        }
        guard let memory else { return names }
        return names.filter { name in
            let (seen, kept) = memory.keeping(name)
            return seen < 2 || 2 * kept >= seen
        }
    }

    /// The tokens among `banned` whose text (leading spaces aside) is part
    /// of one of `names`: a locked answer may still copy the text's own
    /// names, spelled with the tokens of another script ("rc.xml" in a
    /// Tatar answer), and write no other word of that script.
    public static func copyable(_ tokenizer: Tokenizer, among banned: TokenMask, names: [String]) -> [Int32] {
        guard !names.isEmpty else { return [] }
        let spelled = names.map { Array($0.utf8) }
        return banned.ids.filter { id in
            let piece = tokenizer.piece(id).drop { $0 == UInt8(ascii: " ") }
            return !piece.isEmpty && spelled.contains { $0.contains(piece) }
        }
    }
}

extension Head {
    /// The tokens this head may not write in text of `script` (cached).
    public func bannedTokens(keeping script: Script) -> TokenMask {
        maskCache.mask("script \(script)") { ScriptLock.bannedTokens(tokenizer, keeping: script) }
    }
}
