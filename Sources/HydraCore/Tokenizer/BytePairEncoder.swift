/// llama.cpp's byte-level BPE (`gpt2`) tokenizer for one pre-tokenized word:
/// spell the word's bytes as GPT-2 characters, repeatedly apply the
/// lowest-ranked merge among adjacent pairs, then look the pieces up.
struct BytePairEncoder: Sendable {
    let vocabulary: Vocabulary
    /// Every token text plus the merge halves that are no token, so that each
    /// symbol during merging is one integer. Ids below the vocabulary size are tokens.
    private let strings: TokenTable
    /// (left id << 32 | right id) → (rank << 32 | merged id), first rank kept.
    private let merges: [UInt64: UInt64]
    /// Raw byte → id of its GPT-2 character (-1 when it is not even a string we know).
    private let byteSymbols: [Int32]

    init(vocabulary: Vocabulary) {
        self.vocabulary = vocabulary
        var strings = vocabulary.table
        var merges: [UInt64: UInt64] = [:]
        merges.reserveCapacity(vocabulary.merges.count)
        func intern(_ bytes: UnsafeBufferPointer<UInt8>) -> Int32 {
            strings.find(bytes) ?? strings.append(bytes)
        }
        for (rank, merge) in vocabulary.merges.enumerated() {
            var merge = merge
            merge.withUTF8 { m in
                // Split at the first space after the first byte, as llama.cpp does;
                // a merge without one pairs two empty strings.
                var cut = -1
                if m.count > 1 {
                    for i in 1..<m.count where m[i] == 0x20 { cut = i; break }
                }
                let left = cut < 0 ? UnsafeBufferPointer(rebasing: m[0..<0]) : UnsafeBufferPointer(rebasing: m[0..<cut])
                let right = cut < 0 ? UnsafeBufferPointer(rebasing: m[0..<0]) : UnsafeBufferPointer(rebasing: m[(cut + 1)...])
                let l = intern(left), r = intern(right)
                let joined = Array(left) + Array(right)
                let j = joined.withUnsafeBufferPointer { intern($0) }
                let key = UInt64(UInt32(bitPattern: l)) << 32 | UInt64(UInt32(bitPattern: r))
                if merges[key] == nil {
                    merges[key] = UInt64(rank) << 32 | UInt64(UInt32(bitPattern: j))
                }
            }
        }
        self.byteSymbols = ByteLevel.utf8OfByte.map { strings.find($0) ?? -1 }
        self.strings = strings
        self.merges = merges
    }

    /// Tokenizes one word (its raw UTF-8 bytes) and appends the ids.
    func encode(word: UnsafeBufferPointer<UInt8>, into output: inout [Int32], queue: inout MergeQueue,
                symbols: inout [MergeSymbol]) {
        let vocabSize = Int32(vocabulary.count)
        // The GPT-2 spelling of the word; symbol i starts as the character of byte i.
        var encoded: [UInt8] = []
        encoded.reserveCapacity(word.count * 2)
        symbols.removeAll(keepingCapacity: true)
        for (i, b) in word.enumerated() {
            let start = encoded.count
            encoded.append(contentsOf: ByteLevel.utf8OfByte[Int(b)])
            symbols.append(MergeSymbol(start: Int32(start), length: Int32(encoded.count - start), prev: Int32(i) - 1,
                                       next: i + 1 == word.count ? -1 : Int32(i) + 1, id: byteSymbols[Int(b)]))
        }
        if vocabulary.ignoreMerges, let whole = strings.find(encoded), whole < vocabSize {
            output.append(whole)
            return
        }

        queue.removeAll()
        func tryAdd(_ left: Int32, _ right: Int32) {
            if left < 0 || right < 0 { return }
            let l = symbols[Int(left)].id, r = symbols[Int(right)].id
            if l < 0 || r < 0 { return }
            guard let m = merges[UInt64(UInt32(bitPattern: l)) << 32 | UInt64(UInt32(bitPattern: r))] else { return }
            queue.push(MergeCandidate(priority: Float(m >> 32), left: left, right: right,
                                      result: Int32(truncatingIfNeeded: m), rightID: r))
        }
        for i in 1..<max(symbols.count, 1) { tryAdd(Int32(i - 1), Int32(i)) }

        while !queue.isEmpty {
            let m = queue.pop()
            let l = symbols[Int(m.left)], r = symbols[Int(m.right)]
            // A pair is stale once either side has merged with something else.
            if l.length == 0 || r.length == 0 || r.id != m.rightID { continue }
            symbols[Int(m.left)].length += r.length
            symbols[Int(m.left)].id = m.result
            symbols[Int(m.right)].length = 0
            symbols[Int(m.left)].next = r.next
            if r.next >= 0 { symbols[Int(r.next)].prev = m.left }
            tryAdd(l.prev, m.left)
            tryAdd(m.left, r.next)
        }

        var i: Int32 = symbols.isEmpty ? -1 : 0
        while i != -1 {
            let s = symbols[Int(i)]
            if s.id >= 0 && s.id < vocabSize {
                output.append(s.id)
            } else {
                // Not a token: each byte of its spelling on its own, when that is a token.
                for k in 0..<Int(s.length) {
                    if let t = strings.find([encoded[Int(s.start) + k]]), t < vocabSize {
                        output.append(t)
                    }
                }
            }
            i = s.next
        }
    }
}
