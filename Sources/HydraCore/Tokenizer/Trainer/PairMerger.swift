/// The BPE training loop over distinct words: count adjacent symbol pairs,
/// merge the most frequent one, update only the words that contain it.
struct PairMerger {
    /// One merge: `left` + `right` became `result`.
    struct Merge: Equatable {
        var left: Int32, right: Int32, result: Int32, count: Int
    }

    /// Symbol id → its text and length in characters.
    private(set) var symbols: [String]
    private var symbolLengths: [Int]
    private var symbolIDs: [String: Int32]

    private var words: [[Int32]]
    private let frequencies: [Int]
    private var pairCounts: [UInt64: Int] = [:]
    /// Pair → words that contained it at some point (checked again before use).
    private var pairWords: [UInt64: [Int32]] = [:]
    private var heap = PairHeap()
    /// The last merge that rewrote each word (so a word listed twice is visited once).
    private var wordStamp: [Int]
    private var mergeCounter = 0

    /// - Parameters:
    ///   - symbols: the initial (one-character) symbols.
    ///   - words: each word as symbol ids, with its frequency.
    init(symbols: [String], words: [[Int32]], frequencies: [Int]) {
        self.symbols = symbols
        symbolLengths = symbols.map { $0.unicodeScalars.count }
        symbolIDs = Dictionary(uniqueKeysWithValues: symbols.enumerated().map { ($1, Int32($0)) })
        self.words = words
        self.frequencies = frequencies
        wordStamp = Array(repeating: -1, count: words.count)
        for (w, word) in words.enumerated() where word.count > 1 {
            for k in 1..<word.count {
                let key = Self.key(word[k - 1], word[k])
                pairCounts[key, default: 0] += frequencies[w]
                pairWords[key, default: []].append(Int32(w))
            }
        }
        // Push in a fixed order so that equal counts always pop the same way.
        for key in pairCounts.keys.sorted() { heap.push(count: pairCounts[key]!, key: key) }
    }

    @inline(__always)
    static func key(_ a: Int32, _ b: Int32) -> UInt64 { UInt64(UInt32(a)) << 32 | UInt64(UInt32(b)) }

    /// Performs the best merge whose count is at least `minCount` and whose
    /// piece is at most `maxLength` characters; nil when none is left.
    mutating func mergeNext(minCount: Int, maxLength: Int) -> Merge? {
        while let top = heap.pop() {
            guard let current = pairCounts[top.key], current == top.count else { continue }  // stale
            if current < minCount { return nil }
            let a = Int32(truncatingIfNeeded: top.key >> 32), b = Int32(truncatingIfNeeded: top.key & 0xffff_ffff)
            if symbolLengths[Int(a)] + symbolLengths[Int(b)] > maxLength { continue }
            let text = symbols[Int(a)] + symbols[Int(b)]
            let c: Int32
            if let existing = symbolIDs[text] {
                c = existing  // the same string reached through another split
            } else {
                c = Int32(symbols.count)
                symbols.append(text)
                symbolLengths.append(symbolLengths[Int(a)] + symbolLengths[Int(b)])
                symbolIDs[text] = c
            }
            apply(a, b, c)
            return Merge(left: a, right: b, result: c, count: current)
        }
        return nil
    }

    /// Rewrites every word that contains (a, b) and updates the pair counts.
    private mutating func apply(_ a: Int32, _ b: Int32, _ c: Int32) {
        let key = Self.key(a, b)
        let candidates = pairWords.removeValue(forKey: key) ?? []
        var changed: [UInt64] = []
        var changedSet = Set<UInt64>()
        func note(_ k: UInt64) { if changedSet.insert(k).inserted { changed.append(k) } }
        mergeCounter &+= 1
        for w32 in candidates {
            let w = Int(w32)
            if wordStamp[w] == mergeCounter { continue }
            wordStamp[w] = mergeCounter
            let old = words[w]
            var hasPair = false
            for k in 1..<max(old.count, 1) where old[k - 1] == a && old[k] == b { hasPair = true; break }
            if !hasPair { continue }
            let f = frequencies[w]
            for k in 1..<old.count {
                let p = Self.key(old[k - 1], old[k])
                pairCounts[p, default: 0] -= f
                note(p)
            }
            var new: [Int32] = []
            new.reserveCapacity(old.count)
            var k = 0
            while k < old.count {
                if k + 1 < old.count && old[k] == a && old[k + 1] == b {
                    new.append(c)
                    k += 2
                } else {
                    new.append(old[k])
                    k += 1
                }
            }
            for k in 1..<max(new.count, 1) {
                let p = Self.key(new[k - 1], new[k])
                pairCounts[p, default: 0] += f
                note(p)
                if new[k - 1] == c || new[k] == c { pairWords[p, default: []].append(w32) }
            }
            words[w] = new
        }
        for p in changed {
            let n = pairCounts[p] ?? 0
            if n > 0 {
                heap.push(count: n, key: p)
            } else {
                pairCounts[p] = nil
                pairWords[p] = nil
            }
        }
    }
}

/// A max-heap of (count, pair); equal counts pop the smaller pair key first.
struct PairHeap {
    private var items: [(count: Int, key: UInt64)] = []

    @inline(__always)
    private func before(_ x: (count: Int, key: UInt64), _ y: (count: Int, key: UInt64)) -> Bool {
        x.count > y.count || (x.count == y.count && x.key < y.key)
    }

    mutating func push(count: Int, key: UInt64) {
        items.append((count, key))
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if !before(items[i], items[parent]) { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> (count: Int, key: UInt64)? {
        guard let top = items.first else { return nil }
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            let n = items.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < n && before(items[l], items[best]) { best = l }
                if r < n && before(items[r], items[best]) { best = r }
                if best == i { break }
                items.swapAt(i, best)
                i = best
            }
        }
        return top
    }
}
