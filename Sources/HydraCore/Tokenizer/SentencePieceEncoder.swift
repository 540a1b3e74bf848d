/// llama.cpp's SentencePiece (`llama`) tokenizer: split into UTF-8
/// characters, repeatedly merge the adjacent pair whose concatenation is the
/// highest-scoring token, then spell characters that are no token as
/// `<0xNN>` byte tokens.
struct SentencePieceEncoder: Sendable {
    let vocabulary: Vocabulary
    /// Byte → its `<0xNN>` token (or the one-byte token), -1 when neither exists.
    let byteTokens: [Int32]

    init(vocabulary: Vocabulary) {
        self.vocabulary = vocabulary
        let hex = Array("0123456789ABCDEF".utf8)
        byteTokens = (0..<256).map { b in
            let name: [UInt8] = Array("<0x".utf8) + [hex[b >> 4], hex[b & 15], UInt8(ascii: ">")]
            if let id = vocabulary.table.find(name) { return id }
            return vocabulary.table.find([UInt8(b)]) ?? -1
        }
    }

    /// Tokenizes `text` (already escaped: spaces are "▁") and appends the ids.
    func encode(_ text: [UInt8], into output: inout [Int32]) {
        if text.isEmpty { return }
        text.withUnsafeBufferPointer { buf in
            let base = buf.baseAddress!
            let n = buf.count
            var symbols: [MergeSymbol] = []
            symbols.reserveCapacity(n)
            var offset = 0
            while offset < n {
                let len = min(UTF8Text.sequenceLength(buf[offset]), n - offset)
                let index = Int32(symbols.count)
                symbols.append(MergeSymbol(start: Int32(offset), length: Int32(len), prev: index - 1,
                                           next: offset + len == n ? -1 : index + 1, id: -1))
                offset += len
            }

            let table = vocabulary.table
            let scores = vocabulary.scores
            let vocabSize = Int32(vocabulary.count)
            var queue = MergeQueue()
            func tryAdd(_ left: Int32, _ right: Int32) {
                if left < 0 || right < 0 { return }
                let l = symbols[Int(left)], r = symbols[Int(right)]
                let size = Int(l.length + r.length)
                guard let token = table.find(base + Int(l.start), size), token < vocabSize else { return }
                queue.push(MergeCandidate(priority: -scores[Int(token)], left: left, right: right,
                                          result: Int32(size), rightID: 0))
            }
            for i in 1..<max(symbols.count, 1) { tryAdd(Int32(i - 1), Int32(i)) }

            while !queue.isEmpty {
                let m = queue.pop()
                let l = symbols[Int(m.left)], r = symbols[Int(m.right)]
                // Skip pairs whose symbols have changed since they were queued.
                if l.length == 0 || r.length == 0 || l.length + r.length != m.result { continue }
                symbols[Int(m.left)].length += r.length
                symbols[Int(m.right)].length = 0
                symbols[Int(m.left)].next = r.next
                if r.next >= 0 { symbols[Int(r.next)].prev = m.left }
                tryAdd(l.prev, m.left)
                tryAdd(m.left, r.next)
            }

            var i: Int32 = symbols.isEmpty ? -1 : 0
            while i != -1 {
                let s = symbols[Int(i)]
                if let token = table.find(base + Int(s.start), Int(s.length)), token < vocabSize {
                    output.append(token)
                } else {
                    for k in 0..<Int(s.length) {
                        let t = byteTokens[Int(buf[Int(s.start) + k])]
                        if t >= 0 {
                            output.append(t)
                        } else if let unk = vocabulary.unk {
                            output.append(unk)
                        }
                    }
                }
                i = s.next
            }
        }
    }
}
