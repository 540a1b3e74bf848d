/// Where a text may be cut into parts that translate, one after the other,
/// exactly as the whole does: the starts of lines outside code fences that
/// do not continue an open paragraph (a blank line, a line without letters,
/// a line with a list, heading or quote marker, a fence, or any line after
/// one of those). Parsing from such a line sees the same paragraphs as
/// parsing the whole, so the translations of the parts, joined, are the
/// translation of the whole. The daemon's client uses it to send a long
/// document in requests that fit the daemon's limits.
extension Paragraphs {
    /// The parts of `text` (already NFC) cut at such lines, each at most
    /// `maxBytes` UTF-8 bytes long unless a single paragraph (or fenced
    /// block) is longer. Joined, the parts are `text`.
    public static func parts(_ text: String, maxBytes: Int) -> [String] {
        guard text.utf8.count > maxBytes else { return [text] }
        let s = Array(text.unicodeScalars)
        var parts: [String] = []
        var start = 0, bytes = 0, lastCut = 0
        for cut in cuts(s) + [s.count] {
            let segment = s[lastCut..<cut].reduce(0) { $0 + UTF8.width($1) }
            if bytes > 0 && bytes + segment > maxBytes {
                parts.append(string(s[start..<lastCut]))
                start = lastCut
                bytes = 0
            }
            bytes += segment
            lastCut = cut
        }
        if start < s.count { parts.append(string(s[start...])) }
        return parts
    }

    /// The scalar offsets of the lines where a part may start (mirrors `blocks`).
    static func cuts(_ s: [Unicode.Scalar]) -> [Int] {
        var cuts: [Int] = []
        var open = false
        var fence: (marker: Unicode.Scalar, count: Int)?
        var lineStart = 0
        while lineStart < s.count {
            let lineEnd = s[lineStart...].firstIndex(of: "\n") ?? s.count
            let content = skipSpace(s, from: lineStart, to: lineEnd)
            if let f = fence {
                let run = fenceRun(s, at: content, to: lineEnd, marker: f.marker)
                if run >= f.count, skipSpace(s, from: content + run, to: lineEnd) == lineEnd { fence = nil }
            } else if let f = openingFence(s, at: content, to: lineEnd) {
                if lineStart > 0 { cuts.append(lineStart) }
                open = false
                fence = f
            } else if content == lineEnd {
                if lineStart > 0 { cuts.append(lineStart) }
                open = false
            } else {
                let start = skipMarkers(s, from: content, to: lineEnd)
                let last = lastNonSpace(s, from: start, to: lineEnd)
                let letters = !(start == lineEnd || last == nil || !hasLetter(s[start...last!]))
                // Only a line of letters without a marker continues the paragraph above it.
                if lineStart > 0 && !(open && letters && start == content) { cuts.append(lineStart) }
                open = letters
            }
            if lineEnd == s.count { break }
            lineStart = lineEnd + 1
        }
        return cuts
    }
}
