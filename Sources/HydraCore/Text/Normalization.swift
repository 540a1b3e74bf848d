import CICUShim

/// Unicode text handling backed by ICU (through the CICUShim target).
public enum TextNormalization {
    /// The NFC form of `text`, as ICU computes it. Input from users is
    /// normalized before tokenizing so that "é" typed as e + U+0301 and as
    /// U+00E9 give the same tokens.
    public static func nfc(_ text: String) -> String {
        if text.isEmpty { return text }
        var utf8 = Array(text.utf8)
        let srcLen = Int64(utf8.count)
        var capacity = utf8.count * 3 + 16
        while true {
            var out = [CChar](repeating: 0, count: capacity)
            let n = utf8.withUnsafeMutableBufferPointer { src in
                src.withMemoryRebound(to: CChar.self) { s in
                    hydra_icu_nfc(s.baseAddress, srcLen, &out, Int64(capacity))
                }
            }
            if n < 0 { return text }  // ICU refused; the text is already valid Swift UTF-8
            if Int(n) <= capacity {
                return String(decoding: out[0..<Int(n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
            }
            capacity = Int(n) + 1
            utf8 = Array(text.utf8)
        }
    }
}

/// Decoding of untrusted bytes (standard input, files, sockets).
public enum UTF8Input {
    /// Why input bytes were refused.
    public struct InvalidUTF8: Error, CustomStringConvertible {
        /// Byte offset of the first invalid sequence.
        public let offset: Int
        public var description: String { "input is not valid UTF-8 (first bad byte at offset \(offset))" }
    }

    /// Decodes bytes that must be valid UTF-8; refuses anything else rather
    /// than silently replacing characters.
    public static func decode(_ bytes: [UInt8]) throws -> String {
        var offset = 0
        var iterator = bytes.makeIterator()
        var decoder = UTF8()
        var ok = true
        loop: while true {
            switch decoder.decode(&iterator) {
            case .scalarValue(let s):
                offset += UTF8.width(s)
            case .emptyInput:
                break loop
            case .error:
                ok = false
                break loop
            }
        }
        guard ok else { throw InvalidUTF8(offset: offset) }
        return String(decoding: bytes, as: UTF8.self)
    }
}
