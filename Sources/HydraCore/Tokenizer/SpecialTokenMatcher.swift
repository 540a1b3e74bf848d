/// Finds special tokens written in text, as llama.cpp's
/// `tokenizer_st_partition`: the longest special tokens first, each one
/// splitting every stretch of plain text at all its occurrences.
struct SpecialTokenMatcher: Sendable {
    /// A piece of the input: plain text (a byte range) or a token found in it.
    enum Fragment: Equatable {
        case text(Range<Int>)
        case token(Int32)
    }

    /// Control, user-defined and unknown tokens, longest text first.
    private let specials: [Int32]
    /// Their texts, by position in `specials`.
    private let texts: [[UInt8]]
    private let attributes: [TokenAttributes]
    /// Specials of two or more bytes by their first two bytes (CSR layout), and
    /// one-byte specials by their byte: a quick way to see which specials occur.
    private let pairStart: [Int32]
    private let pairItems: [Int32]
    private let singleByte: [[Int32]]

    init(vocabulary: Vocabulary) {
        let kinds: TokenAttributes = [.control, .userDefined, .unknown]
        var ids = (0..<Int32(vocabulary.count)).filter { !vocabulary.attributes[Int($0)].isDisjoint(with: kinds) }
        let lengths = vocabulary.tokens.map { $0.utf8.count }
        ids.sort { lengths[Int($0)] != lengths[Int($1)] ? lengths[Int($0)] > lengths[Int($1)] : $0 < $1 }
        specials = ids
        texts = ids.map { Array(vocabulary.tokens[Int($0)].utf8) }
        attributes = ids.map { vocabulary.attributes[Int($0)] }

        var counts = [Int32](repeating: 0, count: 65537)
        var single = [[Int32]](repeating: [], count: 256)
        for (k, t) in texts.enumerated() {
            if t.count >= 2 { counts[Int(t[0]) | Int(t[1]) << 8 + 1] += 1 } else if t.count == 1 { single[Int(t[0])].append(Int32(k)) }
        }
        for i in 1..<counts.count { counts[i] += counts[i - 1] }
        var items = [Int32](repeating: 0, count: Int(counts[65536]))
        var fill = counts
        for (k, t) in texts.enumerated() where t.count >= 2 {
            let key = Int(t[0]) | Int(t[1]) << 8
            items[Int(fill[key])] = Int32(k)
            fill[key] += 1
        }
        pairStart = counts
        pairItems = items
        singleByte = single
    }

    /// Splits `text` into plain-text fragments and special tokens. Without
    /// `parseSpecial` only user-defined tokens are recognised.
    func partition(_ text: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Fragment] {
        if text.isEmpty { return [] }
        var fragments: [Fragment] = [.text(0..<text.count)]
        for k in occurring(in: text, parseSpecial: parseSpecial) {
            let needle = texts[k]
            let attr = attributes[k]
            var next: [Fragment] = []
            next.reserveCapacity(fragments.count + 2)
            for fragment in fragments {
                guard case .text(var range) = fragment else { next.append(fragment); continue }
                while let match = Self.find(needle, in: text, range: range) {
                    var left = range.lowerBound..<match
                    if attr.contains(.lstrip) {
                        while !left.isEmpty && Self.isSpace(text[left.upperBound - 1]) { left = left.lowerBound..<(left.upperBound - 1) }
                    }
                    if !left.isEmpty { next.append(.text(left)) }
                    next.append(.token(specials[k]))
                    var right = (match + needle.count)..<range.upperBound
                    if attr.contains(.rstrip) {
                        while !right.isEmpty && Self.isSpace(text[right.lowerBound]) { right = (right.lowerBound + 1)..<right.upperBound }
                    }
                    range = right
                    if range.isEmpty { break }
                }
                if !range.isEmpty { next.append(.text(range)) }
            }
            fragments = next
        }
        return fragments
    }

    /// The specials (indices into `specials`, in processing order) that occur
    /// anywhere in the text; the others cannot split it.
    private func occurring(in text: UnsafeBufferPointer<UInt8>, parseSpecial: Bool) -> [Int] {
        var found = Set<Int>()
        let n = text.count
        pairStart.withUnsafeBufferPointer { starts in
            pairItems.withUnsafeBufferPointer { items in
                for i in 0..<n {
                    for k in singleByte[Int(text[i])] { found.insert(Int(k)) }
                    if i + 1 >= n { break }
                    let key = Int(text[i]) | Int(text[i + 1]) << 8
                    var j = Int(starts[key])
                    let end = Int(starts[key + 1])
                    while j < end {
                        let k = Int(items[j])
                        let t = texts[k]
                        if t.count <= n - i && !found.contains(k) {
                            var equal = true
                            for q in 2..<t.count where text[i + q] != t[q] { equal = false; break }
                            if equal { found.insert(k) }
                        }
                        j += 1
                    }
                }
            }
        }
        let skipped: TokenAttributes = [.control, .unknown]
        return found.sorted().filter { parseSpecial || attributes[$0].isDisjoint(with: skipped) }
    }

    /// The first occurrence of `needle` inside `range` of `text`.
    private static func find(_ needle: [UInt8], in text: UnsafeBufferPointer<UInt8>, range: Range<Int>) -> Int? {
        let m = needle.count
        if m == 0 || range.count < m { return nil }
        let first = needle[0]
        var i = range.lowerBound
        let last = range.upperBound - m
        while i <= last {
            if text[i] == first {
                var q = 1
                while q < m && text[i + q] == needle[q] { q += 1 }
                if q == m { return i }
            }
            i += 1
        }
        return nil
    }

    /// C's isspace in the "C" locale.
    private static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (b >= 0x09 && b <= 0x0D) }
}
