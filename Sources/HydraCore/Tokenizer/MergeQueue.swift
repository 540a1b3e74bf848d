/// A candidate merge of two adjacent symbols, ordered as llama.cpp's queues
/// order them: best `priority` first, then the leftmost.
struct MergeCandidate {
    /// Lower is better (BPE rank, or the negated SentencePiece score).
    var priority: Float
    var left: Int32
    var right: Int32
    /// BPE: the merged symbol id. SentencePiece: the merged byte length.
    var result: Int32
    /// BPE: the right symbol's id when the candidate was made (to spot stale ones).
    var rightID: Int32

    @inline(__always)
    func comesBefore(_ other: MergeCandidate) -> Bool {
        priority < other.priority || (priority == other.priority && left < other.left)
    }
}

/// A binary min-heap of merge candidates.
struct MergeQueue {
    private var items: [MergeCandidate] = []

    var isEmpty: Bool { items.isEmpty }

    mutating func removeAll() { items.removeAll(keepingCapacity: true) }

    mutating func push(_ item: MergeCandidate) {
        items.append(item)
        var i = items.count - 1
        while i > 0 {
            let parent = (i - 1) / 2
            if !items[i].comesBefore(items[parent]) { break }
            items.swapAt(i, parent)
            i = parent
        }
    }

    mutating func pop() -> MergeCandidate {
        let top = items[0]
        let last = items.removeLast()
        if !items.isEmpty {
            items[0] = last
            var i = 0
            let n = items.count
            while true {
                let l = 2 * i + 1, r = l + 1
                var best = i
                if l < n && items[l].comesBefore(items[best]) { best = l }
                if r < n && items[r].comesBefore(items[best]) { best = r }
                if best == i { break }
                items.swapAt(i, best)
                i = best
            }
        }
        return top
    }
}

/// One symbol of a word being merged: a byte range plus links to its neighbours.
struct MergeSymbol {
    var start: Int32
    var length: Int32   // 0 once merged into its left neighbour
    var prev: Int32
    var next: Int32
    var id: Int32       // BPE: the symbol's string id (-1: unknown); unused by SentencePiece
}
