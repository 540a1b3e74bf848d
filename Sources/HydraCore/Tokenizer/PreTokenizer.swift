/// How byte-level BPE cuts text into words before merging
/// (`tokenizer.ggml.pre`), following llama.cpp's regex lists per type.
public enum PreTokenizerKind: String, Sendable {
    /// `[\p{P}\$\+<=>\^~\|]+`, then the GPT-2 regex, `\p{N}+`, `[0-9][0-9][0-9]`.
    case `default`
    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    case gpt2
    /// Every `\p{N}` alone, then the GPT-2 regex (smollm, starcoder, refact, command-r, ...).
    case smollm
    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    case qwen2
    /// As qwen2 with `\p{N}{1,3}`.
    case llama3

    /// The pre-tokenizer for a `tokenizer.ggml.pre` name with the flags llama.cpp
    /// sets alongside it; nil for names hydra does not know.
    static func resolve(_ name: String) -> (kind: PreTokenizerKind, ignoreMerges: Bool, addBOS: Bool, cleanSpaces: Bool)? {
        switch name {
        case "default":
            return (.default, false, false, true)
        case "gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "a.x-4.0", "mellum",
             "modern-bert", "mpt", "olmo", "jais", "trillion", "granite-docling":
            return (.gpt2, false, false, true)
        case "smollm":
            return (.smollm, false, false, false)
        case "starcoder", "refact", "command-r", "codeshell", "exaone", "minerva-7b", "mellum2":
            return (.smollm, false, false, true)
        case "qwen2", "deepseek-r1-qwen", "kormo", "f2llmv2":
            return (.qwen2, false, false, false)
        case "stablelm2", "hunyuan":
            return (.qwen2, false, false, true)
        case "llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2", "jina-v5-nano":
            return (.llama3, true, true, true)
        default:
            return nil
        }
    }

    /// Splits code points into words; returns the length of each word in code
    /// points, in order (their sum is `cps.count`).
    func split(_ cps: [UInt32]) -> [Int] {
        if cps.isEmpty { return [] }
        let flags = cps.map(CodepointFlags.of)
        let text = SplitText(cps: cps, flags: flags)
        var pieces = [cps.count]
        switch self {
        case .default:
            pieces = text.splitMatches(pieces) { text.runLength(from: $0, end: $1, where: SplitText.isDefaultPunctuation) }
            pieces = text.splitGPT2(pieces)
            pieces = text.splitMatches(pieces) { pos, end in text.runLength(from: pos, end: end) { $1.isNumber } }
            pieces = text.splitMatches(pieces) { pos, end in
                end - pos >= 3 && (0..<3).allSatisfy { (48...57).contains(cps[pos + $0]) } ? 3 : 0
            }
        case .gpt2:
            pieces = text.splitGPT2(pieces)
        case .smollm:
            pieces = text.splitMatches(pieces) { pos, _ in flags[pos].isNumber ? 1 : 0 }
            pieces = text.splitGPT2(pieces)
        case .qwen2:
            pieces = text.splitQwen2(pieces, maxDigits: 1)
        case .llama3:
            pieces = text.splitQwen2(pieces, maxDigits: 3)
        }
        return pieces
    }
}

/// Code points with their flags, and the hand-written forms of llama.cpp's
/// pre-tokenizer regexes over them. Each split refines a list of piece lengths.
struct SplitText {
    let cps: [UInt32]
    let flags: [CodepointFlags]

    static let outOfRange: UInt32 = 0xFFFF_FFFF

    /// `[\p{P}\$\+<=>\^~\|]` as llama.cpp evaluates it: ASCII punctuation other
    /// than the backtick, the listed symbols, and non-ASCII punctuation.
    static func isDefaultPunctuation(_ cp: UInt32, _ flags: CodepointFlags) -> Bool {
        if cp < 128 {
            switch UInt8(cp) {
            case UInt8(ascii: "!")...UInt8(ascii: "/"), UInt8(ascii: ":")...UInt8(ascii: "@"),
                 UInt8(ascii: "[")...UInt8(ascii: "_"), UInt8(ascii: "{")...UInt8(ascii: "~"):
                return true
            default:
                return false
            }
        }
        return !flags.isWhitespace && flags.contains(.punctuation)
    }

    func runLength(from pos: Int, end: Int, where test: (UInt32, CodepointFlags) -> Bool) -> Int {
        var p = pos
        while p < end && test(cps[p], flags[p]) { p += 1 }
        return p - pos
    }

    /// Regex-iterator splitting: within each piece, every leftmost non-empty
    /// match becomes a piece, and so does the text between matches.
    func splitMatches(_ pieces: [Int], matchLength: (Int, Int) -> Int) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(pieces.count)
        var start = 0
        for length in pieces {
            let end = start + length
            var gapStart = start
            var pos = start
            while pos < end {
                let m = matchLength(pos, end)
                if m > 0 {
                    if pos > gapStart { out.append(pos - gapStart) }
                    out.append(m)
                    pos += m
                    gapStart = pos
                } else {
                    pos += 1
                }
            }
            if end > gapStart { out.append(end - gapStart) }
            start = end
        }
        return out
    }

    /// `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`
    func splitGPT2(_ pieces: [Int]) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(cps.count / 3)
        var start = 0
        for length in pieces {
            let ini = start, end = start + length
            start = end
            func cp(_ p: Int) -> UInt32 { p >= ini && p < end ? cps[p] : Self.outOfRange }
            func fl(_ p: Int) -> CodepointFlags { p >= ini && p < end ? flags[p] : .outside }
            var pos = ini
            var prevEnd = ini
            func add(_ e: Int) {
                if e > prevEnd { out.append(e - prevEnd) }
                prevEnd = e
            }
            while pos < end {
                let c = cp(pos)
                let f = fl(pos)
                // 's|'t|'re|'ve|'m|'ll|'d
                if c == 0x27 && pos + 1 < end {
                    let n = cp(pos + 1)
                    if n == 0x73 || n == 0x74 || n == 0x6D || n == 0x64 {  // s t m d
                        pos += 2; add(pos); continue
                    }
                    if pos + 2 < end {
                        let nn = cp(pos + 2)
                        if (n == 0x72 && nn == 0x65) || (n == 0x76 && nn == 0x65) || (n == 0x6C && nn == 0x6C) {
                            pos += 3; add(pos); continue
                        }
                    }
                }
                let space = c == 0x20 ? 1 : 0
                var f2 = space == 1 ? fl(pos + 1) : f
                // ' ?\p{L}+', ' ?\p{N}+'
                if f2.isLetter || f2.isNumber {
                    let letter = f2.isLetter
                    pos += space
                    while letter ? f2.isLetter : f2.isNumber {
                        pos += 1
                        f2 = fl(pos)
                    }
                    add(pos); continue
                }
                // ' ?[^\s\p{L}\p{N}]+'
                if !f2.isWhitespace && f2.isInside {
                    pos += space
                    while !(f2.isWhitespace || f2.isLetter || f2.isNumber) && f2.isInside {
                        pos += 1
                        f2 = fl(pos)
                    }
                    add(pos); continue
                }
                var spaces = 0
                while fl(pos + spaces).isWhitespace { spaces += 1 }
                // '\s+(?!\S)': leave the last space to the word that follows
                if spaces > 1 && cp(pos + spaces) != Self.outOfRange {
                    pos += spaces - 1; add(pos); continue
                }
                if spaces > 0 {
                    pos += spaces; add(pos); continue
                }
                pos += 1
                add(pos)
            }
        }
        return out
    }

    /// `(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,maxDigits}|
    ///  ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+`
    func splitQwen2(_ pieces: [Int], maxDigits: Int) -> [Int] {
        var out: [Int] = []
        out.reserveCapacity(cps.count / 3)
        var start = 0
        for length in pieces {
            let ini = start, end = start + length
            start = end
            func cp(_ p: Int) -> UInt32 { p >= ini && p < end ? cps[p] : Self.outOfRange }
            func fl(_ p: Int) -> CodepointFlags { p >= ini && p < end ? flags[p] : .outside }
            func lower(_ c: UInt32) -> UInt32 { c >= 0x41 && c <= 0x5A ? c + 32 : c }
            var pos = ini
            var prevEnd = ini
            func add(_ e: Int) {
                if e > prevEnd { out.append(e - prevEnd) }
                prevEnd = e
            }
            while pos < end {
                let c = cp(pos)
                let f = fl(pos)
                // (?i:'s|'t|'re|'ve|'m|'ll|'d)
                if c == 0x27 && pos + 1 < end {
                    let n = lower(cp(pos + 1))
                    if n == 0x73 || n == 0x74 || n == 0x6D || n == 0x64 {
                        pos += 2; add(pos); continue
                    }
                    if pos + 2 < end {
                        let nn = lower(cp(pos + 2))
                        if (n == 0x72 && nn == 0x65) || (n == 0x76 && nn == 0x65) || (n == 0x6C && nn == 0x6C) {
                            pos += 3; add(pos); continue
                        }
                    }
                }
                // [^\r\n\p{L}\p{N}]?\p{L}+
                if !(c == 0x0D || c == 0x0A || f.isNumber) && (f.isLetter || fl(pos + 1).isLetter) {
                    pos += 1
                    while fl(pos).isLetter { pos += 1 }
                    add(pos); continue
                }
                // \p{N}{1,maxDigits}
                if f.isNumber {
                    var run = 0
                    while fl(pos).isNumber {
                        pos += 1
                        run += 1
                        if run == maxDigits { add(pos); run = 0 }
                    }
                    add(pos); continue
                }
                // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
                let space = c == 0x20 ? 1 : 0
                var f2 = space == 1 ? fl(pos + 1) : f
                if !(f2.isWhitespace || f2.isLetter || f2.isNumber) && f.isInside {
                    pos += space
                    while !(f2.isWhitespace || f2.isLetter || f2.isNumber) && f2.isInside {
                        pos += 1
                        f2 = fl(pos)
                    }
                    while cp(pos) == 0x0D || cp(pos) == 0x0A { pos += 1 }
                    add(pos); continue
                }
                var spaces = 0
                var lastLineEnd = 0
                while fl(pos + spaces).isWhitespace {
                    let c2 = cp(pos + spaces)
                    if c2 == 0x0D || c2 == 0x0A { lastLineEnd = pos + spaces + 1 }
                    spaces += 1
                }
                // \s*[\r\n]+
                if lastLineEnd > 0 {
                    pos = lastLineEnd; add(pos); continue
                }
                // \s+(?!\S)
                if spaces > 1 && cp(pos + spaces) != Self.outOfRange {
                    pos += spaces - 1; add(pos); continue
                }
                if spaces > 0 {
                    pos += spaces; add(pos); continue
                }
                pos += 1
                add(pos)
            }
        }
        return out
    }
}
