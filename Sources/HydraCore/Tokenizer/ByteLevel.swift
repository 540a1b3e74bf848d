/// GPT-2's reversible map between bytes and printable code points: byte-level
/// BPE vocabularies spell every byte as one of these characters (a space is
/// "Ġ", a newline "Ċ").
enum ByteLevel {
    /// Byte → code point. Printable Latin-1 bytes map to themselves; the other
    /// 68 bytes take the code points from U+0100 on, in byte order.
    static let codepointOfByte: [UInt32] = {
        var map = [UInt32](repeating: 0, count: 256)
        var assigned = [Bool](repeating: false, count: 256)
        for range in [0x21...0x7E, 0xA1...0xAC, 0xAE...0xFF] {
            for b in range {
                map[b] = UInt32(b)
                assigned[b] = true
            }
        }
        var next: UInt32 = 256
        for b in 0..<256 where !assigned[b] {
            map[b] = next
            next += 1
        }
        return map
    }()

    /// Byte → the UTF-8 of its code point.
    static let utf8OfByte: [[UInt8]] = codepointOfByte.map { cp in
        var out: [UInt8] = []
        UTF8Text.append(cp, to: &out)
        return out
    }

    /// Code point → byte, for code points below 0x144 (the largest used).
    static let byteOfCodepoint: [Int16] = {
        var map = [Int16](repeating: -1, count: 0x144)
        for (b, cp) in codepointOfByte.enumerated() { map[Int(cp)] = Int16(b) }
        return map
    }()

    /// The raw bytes a byte-level token text stands for. A character outside
    /// the map is written as llama.cpp does: "[UNK_BYTE_0x<hex>" + text + "]".
    static func decode(_ text: String) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            let cp = scalar.value
            if cp < UInt32(byteOfCodepoint.count), byteOfCodepoint[Int(cp)] >= 0 {
                out.append(UInt8(byteOfCodepoint[Int(cp)]))
            } else {
                var utf8: [UInt8] = []
                UTF8Text.append(cp, to: &utf8)
                out.append(contentsOf: Array("[UNK_BYTE_0x".utf8))
                for b in utf8 {
                    let hex = Array("0123456789abcdef".utf8)
                    out.append(hex[Int(b >> 4)])
                    out.append(hex[Int(b & 15)])
                }
                out.append(contentsOf: Array(text.utf8))
                out.append(UInt8(ascii: "]"))
            }
        }
        return out
    }
}
