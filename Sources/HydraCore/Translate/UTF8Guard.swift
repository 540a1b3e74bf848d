import Foundation

/// Keeps generated text valid UTF-8. Byte tokens (SentencePiece's
/// `<0xNN>`, byte-level pieces that cut a character) can write bytes that
/// no character completes — shown as U+FFFD ("ВЫ����"). While a character
/// waits for its last bytes, only a token that supplies exactly them (or
/// some of them, and nothing else) may come next; otherwise no token may
/// begin with a stray continuation byte, and bytes UTF-8 never uses
/// (C0, C1, F5–FF) are never written. End tokens stay allowed.
public struct UTF8Guard: Sendable {
    /// How each token's piece begins, from `Tokenizer.piece`.
    final class Shapes: @unchecked Sendable {
        /// Leading continuation bytes (10xxxxxx) of each piece, at most 255.
        let leading: [UInt8]
        /// Pieces that are nothing but continuation bytes.
        let onlyContinuation: [Bool]
        /// Pieces with a byte no UTF-8 text has.
        let invalid: [Bool]

        init(_ tokenizer: Tokenizer) {
            let n = tokenizer.vocabulary.count
            var leading = [UInt8](repeating: 0, count: n)
            var only = [Bool](repeating: false, count: n)
            var invalid = [Bool](repeating: false, count: n)
            for id in 0..<n {
                let bytes = tokenizer.piece(Int32(id))
                var k = 0
                while k < bytes.count && bytes[k] & 0xC0 == 0x80 { k += 1 }
                leading[id] = UInt8(min(k, 255))
                only[id] = !bytes.isEmpty && k == bytes.count
                invalid[id] = bytes.contains { $0 == 0xC0 || $0 == 0xC1 || $0 >= 0xF5 }
            }
            self.leading = leading
            onlyContinuation = only
            self.invalid = invalid
        }
    }

    private let shapes: Shapes
    private let vocabulary: Vocabulary

    public init(tokenizer: Tokenizer) {
        shapes = tokenizer.utf8Shapes
        vocabulary = tokenizer.vocabulary
    }

    /// The continuation bytes the character that `bytes` end inside still
    /// needs (0: they end between characters).
    public static func need<S: Sequence>(after bytes: S) -> Int where S.Element == UInt8 {
        var need = 0
        for b in bytes {
            if b & 0xC0 == 0x80 {
                need = max(need - 1, 0)
            } else {
                need = b >= 0xF0 ? 3 : b >= 0xE0 ? 2 : b >= 0xC0 ? 1 : 0
            }
        }
        return need
    }

    /// Whether `token` may come next when the character being written
    /// still needs `need` continuation bytes (0: between characters).
    public func allows(_ token: Int32, need: Int) -> Bool {
        let t = Int(token)
        guard t >= 0, t < shapes.leading.count else { return false }
        let lead = Int(shapes.leading[t])
        let fits = need == 0 ? lead == 0 : lead == need || (shapes.onlyContinuation[t] && lead < need)
        return (fits && !shapes.invalid[t]) || vocabulary.isEndOfGeneration(token)
    }
}

/// A value made on first use, once, under a lock.
final class OnceBox<Value>: @unchecked Sendable {
    private let lock = NSLock()
    private var value: Value?

    func get(_ make: () -> Value) -> Value {
        lock.lock()
        defer { lock.unlock() }
        if let value { return value }
        let made = make()
        value = made
        return made
    }
}

extension Tokenizer {
    /// The UTF-8 shape of every token's piece, computed on first use.
    var utf8Shapes: UTF8Guard.Shapes { shapeBox.get { UTF8Guard.Shapes(self) } }
}
