/// Trans-tokenization (Remy, Delobelle et al., 2024): align a parallel corpus
/// word by word, spread the word-pair counts over token pairs, add evidence
/// from shared strings, smooth tokens never seen, and map each target token
/// to p(source token | target token).
public enum TransTokenization {
    public struct Options: Sendable {
        public var aligner = WordAligner.Options()
        /// Word pairs whose expected count is below this are dropped (the paper: 10 for Tatar on a large corpus).
        public var minCount: Double = 1
        /// Count given to a source token spelled like the target token ("▁дом" ↔ "▁дом"); half
        /// of it when they differ only by the leading space.
        public var identicalCount: Double = 1
        /// Count given to a source token spelled like a target number token.
        public var numberCount: Double = 10
        /// Entries kept per target token, and the smallest share kept.
        public var maxEntries: Int = 32
        public var minWeight: Float = 1e-3
        /// Pairs with more words on a side are skipped.
        public var maxWords: Int = 100
        /// Longer tokens whose mappings an unseen token borrows, at most.
        public var maxPrefixDonors: Int = 64
        public init() {}
    }

    /// Where each target token's row came from.
    public struct Statistics: Sendable, Equatable {
        public var sentencePairs = 0
        public var wordPairs = 0
        /// Target tokens with alignment counts or shared-string evidence.
        public var counted = 0
        /// Target tokens that borrowed the mappings of longer tokens or substrings.
        public var smoothed = 0
        /// Target tokens that fell back to zip-tie (byte tokens included).
        public var zipTie = 0
        public var special = 0
    }

    /// Builds the map target id → [(source id, p(i | j))].
    /// - Parameters:
    ///   - pairs: (source text, target text) sentence pairs, or dictionary word pairs.
    ///   - progress: called with a stage name and the fraction done.
    public static func build(pairs: [(source: String, target: String)], source: Tokenizer, target: Tokenizer,
                             options: Options = Options(),
                             progress: (String, Double) -> Void = { _, _ in }) -> (map: SparseMap, statistics: Statistics) {
        progress("tokenizing", 0)
        let corpus = AlignmentCorpus(pairs: pairs, source: source, target: target, maxWords: options.maxWords)
        progress("aligning", 0.2)
        let words = WordAligner.align(corpus, options: options.aligner)
        progress("counting", 0.8)
        var statistics = Statistics()
        statistics.sentencePairs = corpus.sentences.count

        // Steps 2–3: word pairs above the minimum count, spread over token pairs.
        var counts = TokenPairCounts()
        for k in words.counts.indices where words.counts[k] >= options.minCount {
            statistics.wordPairs += 1
            counts.distribute(words.counts[k], sourceTokens: corpus.sourceWords[Int(words.source[k])],
                              targetTokens: corpus.targetWords[Int(words.target[k])])
        }
        let map = mapFromCounts(counts, source: source, target: target, options: options, statistics: &statistics)
        progress("done", 1)
        return (map, statistics)
    }

    /// Steps 4–6 on token-pair counts: shared-string evidence, special tokens,
    /// smoothing with zip-tie as the last resort, normalization and pruning.
    static func mapFromCounts(_ alignmentCounts: TokenPairCounts, source: Tokenizer, target: Tokenizer,
                              options: Options, statistics: inout Statistics) -> SparseMap {
        let tv = target.vocabulary, sv = source.vocabulary
        var counts = alignmentCounts
        let targetBytes: [[UInt8]] = (0..<tv.count).map { target.piece(Int32($0), special: true) }

        // Step 4: numbers and identical strings.
        var sourceByBytes: [[UInt8]: Int32] = [:]
        for i in 0..<sv.count where !TokenCorrespondence.isSpecial(sv, i) && !sv.attributes[i].contains(.byte) {
            let b = source.piece(Int32(i), special: true)
            if !b.isEmpty && sourceByBytes[b] == nil { sourceByBytes[b] = Int32(i) }
        }
        for j in 0..<tv.count where tv.attributes[j].contains(.normal) {
            let b = targetBytes[j]
            let stripped = Array(b.drop(while: { $0 == 0x20 }))
            let isNumber = !stripped.isEmpty && stripped.allSatisfy { $0 >= 0x30 && $0 <= 0x39 }
            let weight = isNumber ? options.numberCount : options.identicalCount
            if let i = sourceByBytes[b] {
                counts.add(source: i, target: Int32(j), weight)
            } else if stripped.count < b.count, !stripped.isEmpty, let i = sourceByBytes[stripped] {
                counts.add(source: i, target: Int32(j), weight / 2)
            }
        }
        let rows = counts.rows(targetCount: tv.count)

        // Step 5: smoothing from counted tokens, by their normalized rows.
        var counted: [[UInt8]: Int] = [:]
        var countedSorted: [(bytes: [UInt8], id: Int)] = []
        for j in 0..<tv.count where !rows[j].isEmpty && tv.attributes[j].contains(.normal) {
            counted[targetBytes[j]] = j
            countedSorted.append((targetBytes[j], j))
        }
        countedSorted.sort { $0.bytes.lexicographicallyPrecedes($1.bytes) }
        let totals = rows.map { $0.reduce(0) { $0 + $1.1 } }
        func probabilities(_ j: Int) -> [(Int32, Double)] { rows[j].map { ($0.0, $0.1 / totals[j]) } }

        let specials = TokenCorrespondence.specialCounterparts(target: tv, source: sv)
        let bare = TokenCorrespondence.bareTokenizer(source)
        var map = SparseMap(repeating: [], count: tv.count)
        for j in 0..<tv.count {
            if let i = specials[j] {
                map[j] = [(i, 1)]
                statistics.special += 1
                continue
            }
            if TokenCorrespondence.isSpecial(tv, j) { continue }
            // A byte token stands for its byte, whatever words it was seen in.
            if tv.attributes[j].contains(.byte) {
                map[j] = ZipTie.decompose(targetBytes[j], source: bare)
                statistics.zipTie += 1
                continue
            }
            if !rows[j].isEmpty {
                map[j] = SparseMaps.pruned(rows[j].map { ($0.0, Float($0.1 / totals[j])) },
                                           maxEntries: options.maxEntries, minWeight: options.minWeight)
                statistics.counted += 1
                continue
            }
            var borrowed: [Int32: Double] = [:]
            if tv.attributes[j].contains(.normal) {
                let donors = prefixDonors(of: targetBytes[j], in: countedSorted, totals: totals, limit: options.maxPrefixDonors)
                for k in donors { for (i, p) in probabilities(k) { borrowed[i, default: 0] += p / Double(donors.count) } }
                let parts = substringDonors(of: targetBytes[j], counted: counted)
                for k in parts { for (i, p) in probabilities(k) { borrowed[i, default: 0] += p / Double(parts.count) } }
            }
            if !borrowed.isEmpty {
                let row = borrowed.keys.sorted().map { ($0, Float(borrowed[$0]!)) }
                map[j] = SparseMaps.pruned(row, maxEntries: options.maxEntries, minWeight: options.minWeight)
                statistics.smoothed += 1
            } else {
                map[j] = ZipTie.decompose(targetBytes[j], source: bare)
                statistics.zipTie += 1
            }
        }
        return map
    }

    /// Counted tokens that start with `bytes` and are longer, the most counted first.
    static func prefixDonors(of bytes: [UInt8], in sorted: [(bytes: [UInt8], id: Int)], totals: [Double], limit: Int) -> [Int] {
        guard !bytes.isEmpty else { return [] }
        // First entry not before `bytes`.
        var lo = 0, hi = sorted.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if sorted[mid].bytes.lexicographicallyPrecedes(bytes) { lo = mid + 1 } else { hi = mid }
        }
        var donors: [Int] = []
        var k = lo
        while k < sorted.count, sorted[k].bytes.starts(with: bytes) {
            if sorted[k].bytes.count > bytes.count { donors.append(sorted[k].id) }
            k += 1
        }
        donors.sort { totals[$0] > totals[$1] || (totals[$0] == totals[$1] && $0 < $1) }
        return Array(donors.prefix(limit))
    }

    /// The longest non-overlapping substrings of `bytes` that are counted
    /// tokens, found greedily (longest first, leftmost on ties).
    static func substringDonors(of bytes: [UInt8], counted: [[UInt8]: Int]) -> [Int] {
        var free = [Bool](repeating: true, count: bytes.count)
        var found: [(start: Int, id: Int)] = []
        while true {
            var best: (start: Int, length: Int, id: Int)? = nil
            var length = bytes.count - 1
            while length >= 1 && best == nil {
                for start in 0...(bytes.count - length) where free[start..<start + length].allSatisfy({ $0 }) {
                    if let id = counted[Array(bytes[start..<start + length])] {
                        best = (start, length, id)
                        break
                    }
                }
                length -= 1
            }
            guard let b = best else { break }
            for k in b.start..<b.start + b.length { free[k] = false }
            found.append((b.start, b.id))
        }
        return found.sorted { $0.start < $1.start }.map { $0.id }
    }
}
