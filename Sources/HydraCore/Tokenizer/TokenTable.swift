#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A map from byte strings to ids: every string lives in one byte blob and an
/// open-addressing hash table finds it without allocating, so tokenizers can
/// look up any slice of their input directly.
struct TokenTable: Sendable {
    /// All strings, back to back; string `i` is `blob[starts[i] ..< starts[i + 1]]`.
    private(set) var blob: [UInt8] = []
    private(set) var starts: [Int] = [0]
    /// Slot → string index + 1 (0 marks an empty slot).
    private var slots: [Int32]
    private var slotHashes: [UInt64]
    private var mask: Int

    /// The number of strings stored (including shadowed duplicates).
    var count: Int { starts.count - 1 }

    init(capacity: Int = 16) {
        var size = 16
        while size < capacity * 2 { size <<= 1 }
        slots = Array(repeating: 0, count: size)
        slotHashes = Array(repeating: 0, count: size)
        mask = size - 1
    }

    /// FNV-1a over the bytes, with a final mix so that low bits spread well.
    @inline(__always)
    static func hash(_ p: UnsafePointer<UInt8>?, _ n: Int) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for i in 0..<n {
            h = (h ^ UInt64(p![i])) &* 0x100_0000_01b3
        }
        h ^= h >> 29
        h = h &* 0xbf58_476d_1ce4_e5b9
        h ^= h >> 32
        return h
    }

    /// Appends a string and returns its index. An equal string added earlier is
    /// shadowed: lookups find the newest one, as llama.cpp's token_to_id does.
    @discardableResult
    mutating func append(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
        if (count + 1) * 2 > slots.count { grow() }
        let index = Int32(count)
        blob.append(contentsOf: bytes)
        starts.append(blob.count)
        let h = Self.hash(bytes.baseAddress, bytes.count)
        place(index: index, hash: h, replacingEqual: true)
        return index
    }

    mutating func append(_ bytes: [UInt8]) -> Int32 {
        bytes.withUnsafeBufferPointer { append($0) }
    }

    /// The index of the newest string equal to `p[0..<n]`, or nil.
    @inline(__always)
    func find(_ p: UnsafePointer<UInt8>?, _ n: Int) -> Int32? {
        let h = Self.hash(p, n)
        return slots.withUnsafeBufferPointer { slots in
            slotHashes.withUnsafeBufferPointer { hashes in
                blob.withUnsafeBufferPointer { blob in
                    starts.withUnsafeBufferPointer { starts in
                        var i = Int(truncatingIfNeeded: h) & mask
                        while true {
                            let s = slots[i]
                            if s == 0 { return nil }
                            if hashes[i] == h {
                                let k = Int(s - 1)
                                let a = starts[k], b = starts[k + 1]
                                if b - a == n && (n == 0 || memcmp(blob.baseAddress! + a, p!, n) == 0) {
                                    return Int32(k)
                                }
                            }
                            i = (i + 1) & mask
                        }
                    }
                }
            }
        }
    }

    func find(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32? {
        find(bytes.baseAddress, bytes.count)
    }

    func find(_ bytes: [UInt8]) -> Int32? {
        bytes.withUnsafeBufferPointer { find($0) }
    }

    /// The bytes of string `index`.
    func bytes(_ index: Int32) -> ArraySlice<UInt8> {
        blob[starts[Int(index)] ..< starts[Int(index) + 1]]
    }

    private mutating func place(index: Int32, hash h: UInt64, replacingEqual: Bool) {
        let (a, b) = (starts[Int(index)], starts[Int(index) + 1])
        var i = Int(truncatingIfNeeded: h) & mask
        while slots[i] != 0 {
            if replacingEqual && slotHashes[i] == h {
                let k = Int(slots[i] - 1)
                if blob[starts[k] ..< starts[k + 1]] == blob[a ..< b] {
                    slots[i] = index + 1
                    return
                }
            }
            i = (i + 1) & mask
        }
        slots[i] = index + 1
        slotHashes[i] = h
    }

    private mutating func grow() {
        let oldSlots = slots, oldHashes = slotHashes
        slots = Array(repeating: 0, count: oldSlots.count * 2)
        slotHashes = Array(repeating: 0, count: oldSlots.count * 2)
        mask = slots.count - 1
        for (s, h) in zip(oldSlots, oldHashes) where s != 0 {
            place(index: s - 1, hash: h, replacingEqual: false)
        }
    }
}

