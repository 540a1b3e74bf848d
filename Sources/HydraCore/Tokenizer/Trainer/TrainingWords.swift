/// Splits training text into the chunks that BPE may merge within, as
/// SentencePiece does with `split_by_whitespace` and `split_by_unicode_script`:
/// "▁" only starts a piece, letters never merge with digits or punctuation,
/// and (optionally) every digit stays alone.
struct TrainingWords {
    /// Chunk (spaces spelled "▁") → how often it occurs.
    private(set) var counts: [String: Int] = [:]
    /// Chunks in first-seen order, so that training does not depend on hash order.
    private(set) var order: [String] = []

    let splitDigits: Bool
    let addSpacePrefix: Bool

    init(splitDigits: Bool, addSpacePrefix: Bool) {
        self.splitDigits = splitDigits
        self.addSpacePrefix = addSpacePrefix
    }

    /// The character classes that do not merge with each other.
    enum CharacterClass { case space, letter, digit, other }

    static func characterClass(_ s: Unicode.Scalar) -> CharacterClass {
        if s == " " || s == "▁" { return .space }
        let p = s.properties
        switch p.generalCategory {
        case .decimalNumber: return .digit
        case .nonspacingMark, .spacingMark, .enclosingMark: return .letter
        default: return p.isAlphabetic ? .letter : .other
        }
    }

    /// Adds one line (no newline) `weight` times.
    mutating func add(line: Substring, weight: Int = 1) {
        var chunk = String.UnicodeScalarView()
        var chunkClass: CharacterClass? = nil
        var pendingSpace = addSpacePrefix
        func flush() {
            if !chunk.isEmpty { record(String(chunk), weight) }
            chunk.removeAll()
            chunkClass = nil
        }
        for s in line.unicodeScalars {
            let c = Self.characterClass(s)
            if c == .space {
                // A second space in a row becomes a piece of its own.
                flush()
                if pendingSpace { record("▁", weight) }
                pendingSpace = true
                continue
            }
            let joins = chunkClass == c && !(c == .digit && splitDigits)
            if !joins { flush() }
            if pendingSpace {
                chunk.append("▁")
                pendingSpace = false
            }
            chunk.append(s)
            chunkClass = c
        }
        flush()
        if pendingSpace && !line.isEmpty { record("▁", weight) }
    }

    private mutating func record(_ chunk: String, _ weight: Int) {
        if let n = counts[chunk] {
            counts[chunk] = n + weight
        } else {
            counts[chunk] = weight
            order.append(chunk)
        }
    }
}
