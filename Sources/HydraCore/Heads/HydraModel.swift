/// One input position of a mixed sequence: a token id of a given head.
public struct HeadToken: Sendable {
    public let head: Head
    public let token: Int32

    public init(_ head: Head, _ token: Int32) {
        self.head = head
        self.token = token
    }
}

/// A body with several heads, running one sequence: each position is
/// embedded by its own head, logits come from the head the caller names,
/// and all positions share one KV cache. A prompt written with one head
/// can be continued in another.
public final class HydraModel {
    /// The body's runtime (state, pool) with its native tables.
    public let model: LanguageModel
    public let heads: HeadSet
    public var body: Body { model.body }
    public var state: BodyState { model.state }
    public var pool: ThreadPool { model.pool }
    public var native: Head { heads.native }

    // Preallocated: the last position's hidden state and logits (grown to
    // the largest output head used).
    private let lastHidden: UnsafeMutablePointer<Float>
    private var lastLogits: UnsafeMutablePointer<Float>
    private var logitsCapacity: Int

    /// Runs `model`'s body with `heads` (default: a set holding the model's
    /// native head, over the tables the model already viewed).
    /// - Parameters:
    ///   - nativeLanguage: the native head's language when a set is made here.
    ///   - tokenizer: the model file's tokenizer, if already built.
    public init(model: LanguageModel, heads: HeadSet? = nil, nativeLanguage: String? = nil,
                tokenizer: Tokenizer? = nil) throws {
        self.model = model
        if let heads {
            guard heads.body === model.body || BodyFingerprint(body: model.body) == heads.fingerprint else {
                throw HeadError.mismatch("the heads were loaded over another body than the model's")
            }
            self.heads = heads
        } else {
            let native = try Head.native(of: model.body, embedding: model.embedding, output: model.head,
                                         language: nativeLanguage, tokenizer: tokenizer)
            self.heads = try HeadSet(body: model.body, native: native)
        }
        lastHidden = .allocate(capacity: model.config.embeddingLength)
        logitsCapacity = model.vocabularySize
        lastLogits = .allocate(capacity: logitsCapacity)
    }

    /// Opens a model file with its native head.
    public convenience init(path: String, contextLength: Int = 4096, batchSize: Int = 512,
                            pool: ThreadPool = ThreadPool(), nativeLanguage: String? = nil) throws {
        try self.init(model: LanguageModel(path: path, contextLength: contextLength, batchSize: batchSize, pool: pool),
                      nativeLanguage: nativeLanguage)
    }

    deinit {
        lastHidden.deallocate()
        lastLogits.deallocate()
    }

    /// Runs `inputs` at positions startPosition... and returns the last
    /// position's logits over `logitsFrom`'s vocabulary, in a buffer owned
    /// by the model, valid until the next call.
    public func forwardLast(_ inputs: [HeadToken], startPosition: Int,
                            logitsFrom target: Head) throws -> UnsafeBufferPointer<Float> {
        guard !inputs.isEmpty else { throw HydraError.invalidInput("no tokens to run") }
        let output = try outputHead(target)
        var done = 0
        while done < inputs.count {
            let n = min(state.batchCapacity, inputs.count - done)
            try embed(inputs[done..<done + n], into: state.inputs)
            let isLast = done + n == inputs.count
            try body.forward(embeddings: state.inputs, count: n, startPosition: startPosition + done, state: state,
                             output: isLast ? .last : .none, hidden: lastHidden, pool: pool)
            done += n
        }
        return logits(output)
    }

    /// `forwardLast` for tokens of one head.
    public func forwardLast(tokens: [Int32], head: Head, startPosition: Int,
                            logitsFrom target: Head) throws -> UnsafeBufferPointer<Float> {
        try forwardLast(tokens.map { HeadToken(head, $0) }, startPosition: startPosition, logitsFrom: target)
    }

    /// Runs `inputs` and returns the logits of every position
    /// (inputs.count × the vocabulary of `logitsFrom`), as perplexity needs.
    public func forwardAll(_ inputs: [HeadToken], startPosition: Int, logitsFrom target: Head) throws -> [Float] {
        let output = try outputHead(target)
        let e = body.config.embeddingLength
        var embedded = [Float](repeating: 0, count: inputs.count * e)
        var hidden = [Float](repeating: 0, count: inputs.count * e)
        try embedded.withUnsafeMutableBufferPointer { try embed(inputs[...], into: $0.baseAddress!) }
        try embedded.withUnsafeBufferPointer { inp in
            try hidden.withUnsafeMutableBufferPointer { h in
                try body.forward(embeddings: inp.baseAddress!, count: inputs.count, startPosition: startPosition,
                                 state: state, output: .all, hidden: h.baseAddress!, pool: pool)
            }
        }
        return output.logits(hidden: hidden, pool: pool)
    }

    /// Runs a prompt from an empty cache, then generates with `target`:
    /// each picked token is handed to `onToken` and fed back through
    /// `target`'s embedding. Stops after `maxTokens`, or when `onToken`
    /// returns false.
    public func decode(prompt: [HeadToken], target: Head, maxTokens: Int, sampler: Sampler = Sampler(),
                       onToken: (Int32) throws -> Bool) throws {
        state.reset()
        guard maxTokens > 0 else { return }
        guard prompt.count + maxTokens <= state.contextLength + 1 else {
            throw HydraError.invalidInput(
                "the prompt (\(prompt.count) tokens) and \(maxTokens) new tokens do not fit the context of \(state.contextLength)")
        }
        var logits = try forwardLast(prompt, startPosition: 0, logitsFrom: target)
        var position = prompt.count
        var made = 0
        while true {
            let token = sampler.pick(logits)
            made += 1
            guard try onToken(token), made < maxTokens else { return }
            logits = try forwardLast([HeadToken(target, token)], startPosition: position, logitsFrom: target)
            position += 1
        }
    }

    /// Writes the (scaled) input rows of `inputs` to `out`, each by its own
    /// head; consecutive positions of one head are embedded together.
    private func embed(_ inputs: ArraySlice<HeadToken>, into out: UnsafeMutablePointer<Float>) throws {
        let width = body.config.embeddingLength
        var runStart = inputs.startIndex
        while runStart < inputs.endIndex {
            let head = inputs[runStart].head
            var runEnd = runStart + 1
            while runEnd < inputs.endIndex && inputs[runEnd].head === head { runEnd += 1 }
            let ids = inputs[runStart..<runEnd].map(\.token)
            try ids.withUnsafeBufferPointer {
                try body.embed(tokens: $0, from: head.embedding, into: out + (runStart - inputs.startIndex) * width)
            }
            runStart = runEnd
        }
    }

    private func outputHead(_ head: Head) throws -> OutputHead {
        guard let output = head.output else {
            throw HydraError.invalidInput("head '\(head.name)' is input-only: it has no output matrix to score tokens")
        }
        return output
    }

    /// The last hidden state's logits through `output`.
    private func logits(_ output: OutputHead) -> UnsafeBufferPointer<Float> {
        if output.vocabularySize > logitsCapacity {
            lastLogits.deallocate()
            logitsCapacity = output.vocabularySize
            lastLogits = .allocate(capacity: logitsCapacity)
        }
        output.logits(hidden: lastHidden, count: 1, into: lastLogits, pool: pool)
        return UnsafeBufferPointer(start: lastLogits, count: output.vocabularySize)
    }
}
