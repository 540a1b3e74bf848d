/// Trains a SentencePiece-style BPE vocabulary (`tokenizer.ggml.model = llama`)
/// on plain text: characters covering most of the text, merges learned by
/// pair frequency, 256 byte-fallback tokens for everything else.
public enum TokenizerTrainer {
    public struct Options: Sendable {
        /// Total number of tokens, special and byte tokens included.
        public var vocabularySize: Int
        /// Share of character occurrences the character set must cover; rarer
        /// characters are spelled with byte tokens.
        public var characterCoverage: Double = 0.9995
        /// Keep every digit a token of its own (as Llama and Gemma do).
        public var splitDigits: Bool = true
        /// The longest piece, in characters ("▁" counts as one).
        public var maxPieceLength: Int = 16
        /// Stop merging once the best pair occurs fewer times than this.
        public var minPairCount: Int = 2
        /// Put "▁" before the first word of a text (`add_space_prefix`).
        public var addSpacePrefix: Bool = true
        /// Copy the special tokens (BOS, EOS, unknown, padding, end of turn, chat
        /// markers) of this vocabulary, with their kinds, in its id order.
        public var specialsFrom: Vocabulary?
        /// More tokens to copy from `specialsFrom` by text (or to add as control tokens without it).
        public var extraSpecialTokens: [String] = []

        public init(vocabularySize: Int, specialsFrom: Vocabulary? = nil) {
            self.vocabularySize = vocabularySize
            self.specialsFrom = specialsFrom
        }
    }

    /// Chat-template markers copied from a source vocabulary when it has them.
    static let chatTokens = ["<start_of_turn>", "<end_of_turn>", "<|im_start|>", "<|im_end|>", "<|endoftext|>",
                             "<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>",
                             "<|eot_id|>"]

    /// Trains on texts; each text is split into lines, and each line is one
    /// SentencePiece sentence.
    public static func train(corpus: [String], options: Options) throws -> TrainedVocabulary {
        var words = TrainingWords(splitDigits: options.splitDigits, addSpacePrefix: options.addSpacePrefix)
        for text in corpus {
            for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
                words.add(line: line)
            }
        }
        return try train(words: words, options: options)
    }

    static func train(words: TrainingWords, options: Options) throws -> TrainedVocabulary {
        let specials = specialTokens(options)
        let characters = coveredCharacters(words, coverage: options.characterCoverage)
        let budget = options.vocabularySize - specials.tokens.count - 256 - characters.count
        if budget < 0 {
            throw TokenizerError("vocabulary size \(options.vocabularySize) is smaller than the \(specials.tokens.count) special, 256 byte and \(characters.count) character tokens")
        }

        // Words as symbol ids; a character outside the set splits its word.
        let charID = Dictionary(uniqueKeysWithValues: characters.enumerated().map { ($1, Int32($0)) })
        var symbolWords: [[Int32]] = []
        var frequencies: [Int] = []
        for chunk in words.order {
            let n = words.counts[chunk]!
            var current: [Int32] = []
            for s in chunk.unicodeScalars {
                if let id = charID[s] {
                    current.append(id)
                } else {
                    if current.count > 1 { symbolWords.append(current); frequencies.append(n) }
                    current = []
                }
            }
            if current.count > 1 { symbolWords.append(current); frequencies.append(n) }
        }

        var merger = PairMerger(symbols: characters.map { String($0) }, words: symbolWords, frequencies: frequencies)
        var pieces: [String] = []
        var merges: [String] = []
        while pieces.count < budget,
              let m = merger.mergeNext(minCount: options.minPairCount, maxLength: options.maxPieceLength) {
            merges.append(merger.symbols[Int(m.left)] + " " + merger.symbols[Int(m.right)])
            if Int(m.result) == characters.count + pieces.count { pieces.append(merger.symbols[Int(m.result)]) }
        }

        // Layout: specials, bytes, pieces by merge rank, characters by frequency.
        var tokens = specials.tokens
        var types = specials.types
        var scores = [Float](repeating: 0, count: tokens.count)
        let hex = Array("0123456789ABCDEF")
        for b in 0..<256 {
            tokens.append("<0x\(hex[b >> 4])\(hex[b & 15])>")
            types.append(6)
            scores.append(0)
        }
        for (rank, piece) in pieces.enumerated() {
            tokens.append(piece)
            types.append(1)
            scores.append(-Float(rank))
        }
        for (k, c) in characters.enumerated() {
            tokens.append(String(c))
            types.append(1)
            scores.append(-Float(pieces.count + k))
        }
        var special = specials.ids
        if special.unk == nil { special.unk = 0 }
        return TrainedVocabulary(tokens: tokens, scores: scores, tokenTypes: types, special: special,
                                 addBOS: options.specialsFrom?.addBOS ?? true, addEOS: false,
                                 addSpacePrefix: options.addSpacePrefix, merges: merges)
    }

    /// The characters that cover `coverage` of all occurrences ("▁" always),
    /// most frequent first, ties by code point.
    static func coveredCharacters(_ words: TrainingWords, coverage: Double) -> [Unicode.Scalar] {
        var counts: [Unicode.Scalar: Int] = [:]
        for (chunk, n) in words.counts {
            for s in chunk.unicodeScalars { counts[s, default: 0] += n }
        }
        let sorted = counts.sorted { $0.value > $1.value || ($0.value == $1.value && $0.key.value < $1.key.value) }
        let total = sorted.reduce(0) { $0 + $1.value }
        var kept: [Unicode.Scalar] = []
        var covered = 0
        for (s, n) in sorted {
            if Double(covered) >= coverage * Double(total) && s != "▁" { continue }
            kept.append(s)
            covered += n
        }
        return kept
    }

    /// The special tokens that open the vocabulary, their GGUF types and roles.
    static func specialTokens(_ options: Options) -> (tokens: [String], types: [Int], ids: Vocabulary.SpecialIDs) {
        guard let source = options.specialsFrom else {
            var tokens = ["<unk>", "<s>", "</s>"]
            var types = [2, 3, 3]
            for t in options.extraSpecialTokens where !tokens.contains(t) {
                tokens.append(t)
                types.append(3)
            }
            return (tokens, types, Vocabulary.SpecialIDs(bos: 1, eos: 2, unk: 0))
        }
        var picked = Set<Int32>()
        for id in [source.pad, source.bos, source.eos, source.unk, source.eot, source.eom, source.sep] {
            if let id { picked.insert(id) }
        }
        for id in source.endOfGeneration where !source.attributes[Int(id)].contains(.unused) { picked.insert(id) }
        for text in chatTokens + options.extraSpecialTokens {
            if let id = source.id(of: text) { picked.insert(id) }
        }
        var tokens: [String] = []
        var types: [Int] = []
        var newID: [Int32: Int] = [:]
        if source.unk == nil {
            tokens.append("<unk>")
            types.append(2)
        }
        for id in picked.sorted() {
            newID[id] = tokens.count
            tokens.append(source.tokens[Int(id)])
            types.append(source.attributes[Int(id)].ggufTokenType)
        }
        for t in options.extraSpecialTokens where !tokens.contains(t) {
            tokens.append(t)
            types.append(3)
        }
        func map(_ id: Int32?) -> Int? { id.flatMap { newID[$0] } }
        let ids = Vocabulary.SpecialIDs(bos: map(source.bos), eos: map(source.eos), eot: map(source.eot),
                                        eom: map(source.eom), unk: map(source.unk) ?? 0, sep: map(source.sep),
                                        pad: map(source.pad))
        return (tokens, types, ids)
    }
}
