import CICUShim

/// Text cut into the pieces to translate and the pieces to copy through.
/// Joining the pieces gives back the input exactly, so blank lines,
/// indentation, list markers, headings' `#`, quote markers, fenced code
/// blocks and trailing newlines survive translation unchanged.
///
/// - A paragraph is a run of non-blank lines; a line that starts with a
///   list, heading or quote marker starts a paragraph of its own, and the
///   marker is copied through.
/// - A fenced code block (a line starting with ``` or ~~~ up to its closing
///   fence, or the end of the text) is copied through untranslated.
/// - Text without a single letter (rules, numbers, punctuation) is copied.
/// - A paragraph longer than `maxSegmentBytes` is cut at sentence
///   boundaries (ICU's sentence rules) into groups of whole sentences.
public struct Paragraphs: Sendable, Equatable {
    public enum Piece: Sendable, Equatable {
        /// Text to translate: no leading or trailing whitespace, no blank line.
        case text(String)
        /// Text kept as it is (whitespace, markers, code).
        case verbatim(String)
    }

    public let pieces: [Piece]

    /// The default longest segment sent to the model at once, in UTF-8 bytes.
    public static let defaultMaxSegmentBytes = 1200

    /// Cuts `input`; `locale` picks ICU's sentence rules (root rules when nil).
    public init(_ input: String, maxSegmentBytes: Int = Paragraphs.defaultMaxSegmentBytes, locale: String? = nil) {
        let scalars = Array(input.unicodeScalars)
        var ranges: [Range<Int>] = []
        for block in Self.blocks(scalars) {
            let text = Self.string(scalars[block])
            if text.utf8.count <= maxSegmentBytes {
                ranges.append(block)
            } else {
                ranges += Self.sentenceGroups(scalars, block, maxBytes: maxSegmentBytes, locale: locale)
            }
        }
        var pieces: [Piece] = []
        var cursor = 0
        for r in ranges {
            if cursor < r.lowerBound { pieces.append(.verbatim(Self.string(scalars[cursor..<r.lowerBound]))) }
            pieces.append(.text(Self.string(scalars[r])))
            cursor = r.upperBound
        }
        if cursor < scalars.count { pieces.append(.verbatim(Self.string(scalars[cursor...]))) }
        self.pieces = pieces
    }

    /// The text pieces only, in order.
    public var texts: [String] {
        pieces.compactMap { if case .text(let t) = $0 { return t } else { return nil } }
    }

    // MARK: - Blocks

    /// Ranges (in scalars) of the paragraphs to translate, trimmed, markers left out.
    static func blocks(_ s: [Unicode.Scalar]) -> [Range<Int>] {
        var blocks: [Range<Int>] = []
        var open: Range<Int>?  // the paragraph being built
        var fence: (marker: Unicode.Scalar, count: Int)?
        var lineStart = 0
        func close() {
            if let o = open, Self.hasLetter(s[o]) { blocks.append(o) }
            open = nil
        }
        while lineStart <= s.count {
            let lineEnd = s[lineStart...].firstIndex(of: "\n") ?? s.count
            let content = Self.skipSpace(s, from: lineStart, to: lineEnd)
            if let f = fence {
                // Inside code: only the closing fence matters.
                if Self.fenceRun(s, at: content, to: lineEnd, marker: f.marker) >= f.count,
                   Self.skipSpace(s, from: content + Self.fenceRun(s, at: content, to: lineEnd, marker: f.marker),
                                  to: lineEnd) == lineEnd {
                    fence = nil
                }
            } else if let f = Self.openingFence(s, at: content, to: lineEnd) {
                close()
                fence = f
            } else if content == lineEnd {
                close()  // a blank line ends the paragraph
            } else {
                let start = Self.skipMarkers(s, from: content, to: lineEnd)
                let last = Self.lastNonSpace(s, from: start, to: lineEnd)
                if start == lineEnd || last == nil || !Self.hasLetter(s[start...last!]) {
                    close()  // a marker alone, a rule, numbers: copied as they are
                } else {
                    let end = last! + 1
                    if start != content { close() }  // a marker starts a new paragraph
                    if let o = open {
                        open = o.lowerBound..<end
                    } else {
                        open = start..<end
                    }
                }
            }
            if lineEnd == s.count { break }
            lineStart = lineEnd + 1
        }
        close()
        return blocks
    }

    static func isSpace(_ c: Unicode.Scalar) -> Bool { c.properties.isWhitespace }

    static func skipSpace(_ s: [Unicode.Scalar], from: Int, to end: Int) -> Int {
        var i = from
        while i < end && isSpace(s[i]) { i += 1 }
        return i
    }

    static func lastNonSpace(_ s: [Unicode.Scalar], from: Int, to end: Int) -> Int? {
        var i = end - 1
        while i >= from && isSpace(s[i]) { i -= 1 }
        return i >= from ? i : nil
    }

    static func hasLetter(_ s: ArraySlice<Unicode.Scalar>) -> Bool {
        s.contains { $0.properties.isAlphabetic }
    }

    /// How many `marker` scalars follow `at`.
    static func fenceRun(_ s: [Unicode.Scalar], at: Int, to end: Int, marker: Unicode.Scalar) -> Int {
        var i = at
        while i < end && s[i] == marker { i += 1 }
        return i - at
    }

    /// A line opening a fenced code block: three or more ` or ~.
    static func openingFence(_ s: [Unicode.Scalar], at: Int, to end: Int) -> (marker: Unicode.Scalar, count: Int)? {
        guard at < end, s[at] == "`" || s[at] == "~" else { return nil }
        let n = fenceRun(s, at: at, to: end, marker: s[at])
        return n >= 3 ? (s[at], n) : nil
    }

    /// Skips list markers ("-", "*", "+", "•", "1.", "1)", with an optional
    /// task box "[ ]"), heading markers ("#" to "######") and quote markers
    /// (">"), each with the whitespace after it; several may follow each other.
    static func skipMarkers(_ s: [Unicode.Scalar], from: Int, to end: Int) -> Int {
        var i = from
        while i < end, let m = marker(s, at: i, to: end) {
            i = skipSpace(s, from: m, to: end)
        }
        return i
    }

    /// The end of the marker at `i`, when there is one followed by whitespace
    /// (or, for ">", by anything).
    static func marker(_ s: [Unicode.Scalar], at i: Int, to end: Int) -> Int? {
        func spaced(_ j: Int) -> Int? { j < end && isSpace(s[j]) ? j : nil }
        switch s[i] {
        case "-", "*", "+", "•":
            guard let j = spaced(i + 1) else { return nil }
            // A task box: "- [ ] " or "- [x] ".
            let k = skipSpace(s, from: j, to: end)
            if k + 3 < end, s[k] == "[", s[k + 2] == "]", isSpace(s[k + 3]), " xX".unicodeScalars.contains(s[k + 1]) {
                return k + 3
            }
            return j
        case "#":
            let n = fenceRun(s, at: i, to: end, marker: "#")
            return n <= 6 ? spaced(i + n) : nil
        case ">":
            return i + 1
        case "0"..."9":
            var j = i
            while j < end && j - i < 9 && ("0"..."9").contains(s[j]) { j += 1 }
            guard j < end, s[j] == "." || s[j] == ")" else { return nil }
            return spaced(j + 1)
        default:
            return nil
        }
    }

    // MARK: - Sentences

    /// Cuts one long paragraph into groups of whole sentences of at most
    /// `maxBytes` (a sentence longer than that is a group of its own).
    static func sentenceGroups(_ s: [Unicode.Scalar], _ block: Range<Int>, maxBytes: Int, locale: String?) -> [Range<Int>] {
        let sentences = sentenceRanges(s, block, locale: locale)
        var groups: [Range<Int>] = []
        var current: Range<Int>?
        var currentBytes = 0
        for r in sentences {
            let bytes = s[r].reduce(0) { $0 + UTF8.width($1) }
            if let c = current, currentBytes + bytes <= maxBytes {
                current = c.lowerBound..<r.upperBound
                currentBytes += bytes
            } else {
                if let c = current { groups.append(c) }
                current = r
                currentBytes = bytes
            }
        }
        if let c = current { groups.append(c) }
        // Trim each group; drop those left without a letter.
        return groups.compactMap { g in
            let start = skipSpace(s, from: g.lowerBound, to: g.upperBound)
            guard let last = lastNonSpace(s, from: start, to: g.upperBound) else { return nil }
            let r = start..<(last + 1)
            return hasLetter(s[r]) ? r : nil
        }
    }

    /// The sentences of `block` as ICU finds them, as scalar ranges.
    static func sentenceRanges(_ s: [Unicode.Scalar], _ block: Range<Int>, locale: String?) -> [Range<Int>] {
        let text = string(s[block])
        let utf8 = Array(text.utf8)
        var offsets = [Int64](repeating: 0, count: 64)
        var n = Int32(0)
        while true {
            n = utf8.withUnsafeBufferPointer { b in
                b.withMemoryRebound(to: CChar.self) { c in
                    if let locale {
                        return hydra_icu_sentence_breaks(c.baseAddress, Int64(c.count), locale, &offsets, Int32(offsets.count))
                    }
                    return hydra_icu_sentence_breaks(c.baseAddress, Int64(c.count), nil, &offsets, Int32(offsets.count))
                }
            }
            if n <= Int32(offsets.count) { break }
            offsets = [Int64](repeating: 0, count: Int(n))
        }
        guard n > 0 else { return [block] }  // ICU failed: one sentence
        // Map UTF-8 offsets back to scalar indices.
        var ranges: [Range<Int>] = []
        var byte = 0
        var index = block.lowerBound
        var start = block.lowerBound
        for k in 0..<Int(n) {
            let target = Int(offsets[k])
            while byte < target && index < block.upperBound {
                byte += UTF8.width(s[index])
                index += 1
            }
            if index > start { ranges.append(start..<index) }
            start = index
        }
        if start < block.upperBound { ranges.append(start..<block.upperBound) }
        return ranges
    }

    static func string<C: Collection>(_ scalars: C) -> String where C.Element == Unicode.Scalar {
        var v = String.UnicodeScalarView()
        v.append(contentsOf: scalars)
        return String(v)
    }
}
