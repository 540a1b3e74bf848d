/// Small UTF-8 helpers shared by the tokenizers and detokenizers.
enum UTF8Text {
    /// The length of the UTF-8 sequence that starts with `byte`, read from its
    /// high bits as llama.cpp does (a stray continuation byte counts as 1).
    @inline(__always)
    static func sequenceLength(_ byte: UInt8) -> Int {
        switch byte >> 4 {
        case 0xC, 0xD: return 2
        case 0xE: return 3
        case 0xF: return 4
        default: return 1
        }
    }

    /// The code points of valid UTF-8 bytes.
    static func codepoints(_ bytes: UnsafeBufferPointer<UInt8>) -> [UInt32] {
        var out: [UInt32] = []
        out.reserveCapacity(bytes.count)
        var i = 0
        let n = bytes.count
        while i < n {
            let b0 = UInt32(bytes[i])
            let len = min(sequenceLength(bytes[i]), n - i)
            var cp: UInt32
            switch len {
            case 2: cp = (b0 & 0x1F) << 6 | UInt32(bytes[i + 1] & 0x3F)
            case 3: cp = (b0 & 0x0F) << 12 | UInt32(bytes[i + 1] & 0x3F) << 6 | UInt32(bytes[i + 2] & 0x3F)
            case 4:
                cp = (b0 & 0x07) << 18 | UInt32(bytes[i + 1] & 0x3F) << 12
                    | UInt32(bytes[i + 2] & 0x3F) << 6 | UInt32(bytes[i + 3] & 0x3F)
            default: cp = b0
            }
            out.append(cp)
            i += max(len, 1)
        }
        return out
    }

    /// Appends the UTF-8 encoding of a code point.
    @inline(__always)
    static func append(_ cp: UInt32, to out: inout [UInt8]) {
        if cp < 0x80 {
            out.append(UInt8(cp))
        } else if cp < 0x800 {
            out.append(UInt8(0xC0 | (cp >> 6)))
            out.append(UInt8(0x80 | (cp & 0x3F)))
        } else if cp < 0x10000 {
            out.append(UInt8(0xE0 | (cp >> 12)))
            out.append(UInt8(0x80 | ((cp >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (cp & 0x3F)))
        } else {
            out.append(UInt8(0xF0 | (cp >> 18)))
            out.append(UInt8(0x80 | ((cp >> 12) & 0x3F)))
            out.append(UInt8(0x80 | ((cp >> 6) & 0x3F)))
            out.append(UInt8(0x80 | (cp & 0x3F)))
        }
    }

    /// How many bytes at the start of `bytes` form complete UTF-8 sequences:
    /// the rest is a sequence that more bytes could still complete (at most 3
    /// bytes). Invalid bytes count as complete (they decode to U+FFFD).
    static func completePrefixLength(_ bytes: ArraySlice<UInt8>) -> Int {
        var i = bytes.startIndex
        let end = bytes.endIndex
        while i < end {
            let b = bytes[i]
            let need: Int
            switch b {
            case 0xC2...0xDF: need = 2
            case 0xE0...0xEF: need = 3
            case 0xF0...0xF4: need = 4
            default: i += 1; continue  // ASCII or a byte no sequence can start with
            }
            var j = i + 1
            while j < end && j < i + need && bytes[j] & 0xC0 == 0x80 { j += 1 }
            if j == i + need { i = j; continue }
            if j == end { return i - bytes.startIndex }  // may still complete
            i = j  // broken sequence: it will decode to U+FFFD
        }
        return end - bytes.startIndex
    }
}
