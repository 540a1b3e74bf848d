import Foundation

/// A set of token ids kept as bits: one test per logit costs a shift and a
/// mask, so the sampler can check every token of a 262k vocabulary.
public struct TokenMask: Sendable, Equatable {
    private var words: [UInt64] = []
    /// How many ids are in the set.
    public private(set) var count = 0

    public init() {}

    public init(_ ids: some Sequence<Int32>) {
        for id in ids { insert(id) }
    }

    public var isEmpty: Bool { count == 0 }

    public mutating func insert(_ id: Int32) {
        precondition(id >= 0, "token ids are not negative")
        let w = Int(id) >> 6
        if w >= words.count { words += [UInt64](repeating: 0, count: w + 1 - words.count) }
        let bit = UInt64(1) << UInt64(id & 63)
        if words[w] & bit == 0 {
            words[w] |= bit
            count += 1
        }
    }

    public mutating func remove(_ id: Int32) {
        guard contains(id) else { return }
        words[Int(id) >> 6] &= ~(UInt64(1) << UInt64(id & 63))
        count -= 1
    }

    public func contains(_ id: Int32) -> Bool {
        let w = Int(id) >> 6
        guard id >= 0, w < words.count else { return false }
        return words[w] & (UInt64(1) << UInt64(id & 63)) != 0
    }

    /// The ids in either set.
    public func union(_ other: TokenMask) -> TokenMask {
        var out = self
        if out.words.count < other.words.count {
            out.words += [UInt64](repeating: 0, count: other.words.count - out.words.count)
        }
        for (i, word) in other.words.enumerated() { out.words[i] |= word }
        out.count = out.words.reduce(0) { $0 + $1.nonzeroBitCount }
        return out
    }

    /// The ids in the set, in increasing order.
    public var ids: [Int32] {
        var out: [Int32] = []
        out.reserveCapacity(count)
        for (w, word) in words.enumerated() where word != 0 {
            for b in 0..<64 where word & (UInt64(1) << UInt64(b)) != 0 { out.append(Int32(w * 64 + b)) }
        }
        return out
    }
}

/// Token sets computed once per head and kept by name (a head's tokens of
/// other scripts, of placeholder marks, ...).
final class TokenMaskCache: @unchecked Sendable {
    private let lock = NSLock()
    private var masks: [String: TokenMask] = [:]

    func mask(_ key: String, compute: () -> TokenMask) -> TokenMask {
        if let m = lock.withLock({ masks[key] }) { return m }
        // Computed outside the lock; two threads at once compute the same mask.
        let m = compute()
        lock.withLock { masks[key] = m }
        return m
    }
}
