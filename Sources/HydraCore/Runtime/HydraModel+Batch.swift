/// One sequence being generated beside others: its own KV cache, the head
/// it generates with, and the logits of its latest position.
public final class HydraSequence {
    public let state: BodyState
    /// The head whose output scores the next token and whose embedding
    /// reads it back.
    public let target: Head
    let output: OutputHead
    /// Logits of the latest position over the target head's vocabulary.
    public internal(set) var logits: [Float]

    init(state: BodyState, target: Head, output: OutputHead, logits: [Float]) {
        self.state = state
        self.target = target
        self.output = output
        self.logits = logits
    }

    /// Positions in the cache (the prompt and the tokens fed back so far).
    public var length: Int { state.length }

    /// A new sequence with room for as many positions, holding a copy of
    /// this one's cache and logits.
    public func clone() throws -> HydraSequence {
        let copy = HydraSequence(state: BodyState(config: state.config, contextLength: state.contextLength,
                                                  batchCapacity: 1, threads: state.threads,
                                                  attention: state.attentionKind),
                                 target: target, output: output, logits: logits)
        try copy.state.copyCache(from: state, count: state.length)
        return copy
    }

    /// Makes row `row` of `rows` (rows of the target head's vocabulary)
    /// the latest logits, in place.
    func setLogits(_ rows: [Float], row: Int) {
        let vocabulary = output.vocabularySize
        if logits.count != vocabulary { logits = [Float](repeating: 0, count: vocabulary) }
        logits.withUnsafeMutableBufferPointer { dst in
            rows.withUnsafeBufferPointer { dst.baseAddress!.update(from: $0.baseAddress! + row * vocabulary, count: vocabulary) }
        }
    }

    /// Makes this sequence a copy of `other` (cache and logits).
    public func copy(from other: HydraSequence) throws {
        try state.copyCache(from: other.state, count: other.state.length)
        logits = other.logits
    }
}

extension HydraModel {
    /// Runs `prompt` from an empty cache, exactly as `decode` does (in the
    /// model's own state), and returns a sequence holding a copy of its
    /// cache, with room to generate `maxTokens` tokens with `target`.
    public func startSequence(prompt: [HeadToken], target: Head, maxTokens: Int) throws -> HydraSequence {
        guard let output = target.output else {
            throw HydraError.invalidInput("head '\(target.name)' is input-only: it has no output matrix to score tokens")
        }
        guard maxTokens > 0 else { throw HydraError.invalidInput("a sequence needs room for at least one token") }
        guard prompt.count + maxTokens <= state.contextLength + 1 else {
            throw HydraError.invalidInput(
                "the prompt (\(prompt.count) tokens) and \(maxTokens) new tokens do not fit the context of \(state.contextLength)")
        }
        state.reset()
        let logits = Array(try forwardLast(prompt, startPosition: 0, logitsFrom: target))
        // The last generated token is never fed back: prompt + maxTokens - 1 positions.
        let own = BodyState(config: body.config, contextLength: prompt.count + maxTokens - 1, batchCapacity: 1,
                            threads: pool.threads, attention: state.attentionKind)
        try own.copyCache(from: state, count: prompt.count)
        return HydraSequence(state: own, target: target, output: output, logits: logits)
    }
}

/// Steps several sequences of one model together: one token each, one
/// pass through the body (weights read once), logits from each sequence's
/// own head. When `exact`, each sequence gets the same logits as decoding
/// it alone; otherwise (throughput mode) the products run over all the
/// sequences' rows at once, which is faster with many sequences and rounds
/// differently (`Body.decodeStep`).
public final class SequenceBatch {
    public let model: HydraModel
    public let exact: Bool
    /// The most sequences one step takes.
    public var capacity: Int { model.state.batchCapacity }
    private var inputs: [Float] = []
    private var hidden: [Float] = []
    private var rows: [Float] = []
    private var logits: [Float] = []

    public init(model: HydraModel, exact: Bool = true) {
        self.model = model
        self.exact = exact
    }

    /// Feeds `tokens[i]` (in sequences[i]'s target head) to sequences[i] and
    /// leaves each one's next logits in its `logits`. Uses the model's own
    /// state as scratch (its cache is untouched but `startSequence` resets it).
    public func step(_ sequences: [HydraSequence], tokens: [Int32]) throws {
        precondition(sequences.count == tokens.count, "one token per sequence")
        let b = sequences.count
        guard b > 0 else { return }
        let body = model.body
        let e = body.config.embeddingLength
        reserve(rows: b)
        try inputs.withUnsafeMutableBufferPointer { inp in
            for (i, (sequence, token)) in zip(sequences, tokens).enumerated() {
                try [token].withUnsafeBufferPointer {
                    try body.embed(tokens: $0, from: sequence.target.embedding, into: inp.baseAddress! + i * e)
                }
            }
        }
        try inputs.withUnsafeBufferPointer { inp in
            try hidden.withUnsafeMutableBufferPointer { h in
                try body.decodeStep(embeddings: inp.baseAddress!, states: sequences.map(\.state), scratch: model.state,
                                    hidden: h.baseAddress!, pool: model.pool, exact: exact)
            }
        }
        // The output projection once per head, over the rows of its sequences.
        var groups: [ObjectIdentifier: [Int]] = [:]
        var order: [ObjectIdentifier] = []
        for (i, sequence) in sequences.enumerated() {
            let key = ObjectIdentifier(sequence.target)
            if groups[key] == nil { order.append(key) }
            groups[key, default: []].append(i)
        }
        for key in order {
            let members = groups[key]!
            let output = sequences[members[0]].output
            let vocabulary = output.vocabularySize
            if rows.count < members.count * e { rows = [Float](repeating: 0, count: members.count * e) }
            if logits.count < members.count * vocabulary {
                logits = [Float](repeating: 0, count: members.count * vocabulary)
            }
            for (j, i) in members.enumerated() {
                for k in 0..<e { rows[j * e + k] = hidden[i * e + k] }
            }
            rows.withUnsafeBufferPointer { r in
                logits.withUnsafeMutableBufferPointer { l in
                    output.logits(hidden: r.baseAddress!, count: members.count, into: l.baseAddress!, pool: model.pool,
                                  eachAsOne: exact)
                }
            }
            for (j, i) in members.enumerated() { sequences[i].setLogits(logits, row: j) }
        }
    }

    /// Grows the input and hidden-state buffers to `rows` rows.
    private func reserve(rows: Int) {
        let size = rows * model.body.config.embeddingLength
        if inputs.count < size {
            inputs = [Float](repeating: 0, count: size)
            hidden = [Float](repeating: 0, count: size)
        }
    }

    /// Feeds `tokens` (in the sequence's target head) to `sequence` one
    /// position after another, in one pass through the body, and returns
    /// the logits after each: tokens.count rows of the head's vocabulary,
    /// row j after tokens[j], the bits that feeding them one step at a time
    /// gives (`Body.decodeRun`). The sequence's `logits` become the last row.
    /// For checking drafted tokens: the caller may take back the positions
    /// it does not keep by setting `sequence.state.length`.
    public func run(_ sequence: HydraSequence, tokens: [Int32]) throws -> [Float] {
        let n = tokens.count
        guard n > 0 else { return [] }
        let body = model.body
        reserve(rows: n)
        try inputs.withUnsafeMutableBufferPointer { inp in
            try tokens.withUnsafeBufferPointer {
                try body.embed(tokens: $0, from: sequence.target.embedding, into: inp.baseAddress!)
            }
        }
        try inputs.withUnsafeBufferPointer { inp in
            try hidden.withUnsafeMutableBufferPointer { h in
                try body.decodeRun(embeddings: inp.baseAddress!, count: n, state: sequence.state, scratch: model.state,
                                   hidden: h.baseAddress!, pool: model.pool)
            }
        }
        let vocabulary = sequence.output.vocabularySize
        var all = [Float](repeating: 0, count: n * vocabulary)
        hidden.withUnsafeBufferPointer { h in
            all.withUnsafeMutableBufferPointer { l in
                sequence.output.logits(hidden: h.baseAddress!, count: n, into: l.baseAddress!, pool: model.pool,
                                       eachAsOne: true)
            }
        }
        sequence.setLogits(all, row: n - 1)
        return all
    }
}
