/// A GGUF model run as it is: its body with its native head (the file's own
/// embedding table and output matrix), one sequence's state and a pool.
public final class LanguageModel {
    public let file: GGUFFile
    public let body: Body
    public let embedding: TokenEmbedding
    public let head: OutputHead
    public let state: BodyState
    public let pool: ThreadPool
    public var config: ModelConfig { body.config }

    // Preallocated for decoding: the last position's hidden state and logits.
    private let lastHidden: UnsafeMutablePointer<Float>
    private let lastLogits: UnsafeMutablePointer<Float>

    /// Opens `path` with a context of `contextLength` positions, processing
    /// prompts in batches of up to `batchSize` tokens on `pool`.
    public convenience init(path: String, contextLength: Int = 4096, batchSize: Int = 512,
                            pool: ThreadPool = ThreadPool()) throws {
        try self.init(file: GGUFFile(path: path), contextLength: contextLength, batchSize: batchSize, pool: pool)
    }

    public init(file: GGUFFile, contextLength: Int = 4096, batchSize: Int = 512, pool: ThreadPool = ThreadPool()) throws {
        guard contextLength > 0, batchSize > 0 else {
            throw HydraError.invalidInput("the context length and batch size must be positive")
        }
        self.file = file
        body = try Body(file: file)
        embedding = try TokenEmbedding(file: file, config: body.config)
        head = try OutputHead(file: file, config: body.config)
        state = BodyState(config: body.config, contextLength: contextLength, batchCapacity: batchSize,
                          threads: pool.threads)
        self.pool = pool
        lastHidden = .allocate(capacity: body.config.embeddingLength)
        lastLogits = .allocate(capacity: head.vocabularySize)
    }

    deinit {
        lastHidden.deallocate()
        lastLogits.deallocate()
    }

    /// Size of the vocabulary the logits cover.
    public var vocabularySize: Int { head.vocabularySize }

    /// Runs `tokens` at positions startPosition... and returns the logits of
    /// the last position (vocabularySize floats), or of every position
    /// (tokens.count × vocabularySize) when `allLogits`.
    public func forward(tokens: [Int32], startPosition: Int, allLogits: Bool = false) throws -> [Float] {
        if !allLogits {
            let logits = try forwardLast(tokens: tokens, startPosition: startPosition)
            return Array(logits)
        }
        let e = config.embeddingLength
        let inputs = try embed(tokens)
        var hidden = [Float](repeating: 0, count: tokens.count * e)
        try inputs.withUnsafeBufferPointer { inp in
            try hidden.withUnsafeMutableBufferPointer { h in
                try body.forward(embeddings: inp.baseAddress!, count: tokens.count, startPosition: startPosition,
                                 state: state, output: .all, hidden: h.baseAddress!, pool: pool)
            }
        }
        return head.logits(hidden: hidden, pool: pool)
    }

    /// Runs `tokens` and returns the last position's logits in a buffer
    /// owned by the model, valid until the next call. Allocates nothing when
    /// the tokens fit one batch.
    public func forwardLast(tokens: [Int32], startPosition: Int) throws -> UnsafeBufferPointer<Float> {
        guard !tokens.isEmpty else { throw HydraError.invalidInput("no tokens to run") }
        var done = 0
        // Embed and run batch by batch through the state's input buffer.
        while done < tokens.count {
            let n = min(state.batchCapacity, tokens.count - done)
            try tokens.withUnsafeBufferPointer { ids in
                try body.embed(tokens: UnsafeBufferPointer(rebasing: ids[done..<done + n]), from: embedding,
                               into: state.inputs)
            }
            let isLast = done + n == tokens.count
            try body.forward(embeddings: state.inputs, count: n, startPosition: startPosition + done, state: state,
                             output: isLast ? .last : .none, hidden: lastHidden, pool: pool)
            done += n
        }
        head.logits(hidden: lastHidden, count: 1, into: lastLogits, pool: pool)
        return UnsafeBufferPointer(start: lastLogits, count: head.vocabularySize)
    }

    /// The token embeddings of `tokens` (count × embeddingLength floats).
    public func embed(_ tokens: [Int32]) throws -> [Float] {
        let e = config.embeddingLength
        var out = [Float](repeating: 0, count: tokens.count * e)
        try tokens.withUnsafeBufferPointer { ids in
            try out.withUnsafeMutableBufferPointer { try body.embed(tokens: ids, from: embedding, into: $0.baseAddress!) }
        }
        return out
    }

    /// Greedy decoding: runs the prompt from an empty cache, then takes the
    /// highest-logit token (the lowest id among exact ties) until
    /// `maxTokens` are made or one in `stopAt` is (that one is included).
    public func generateGreedy(promptIds: [Int32], maxTokens: Int, stopAt: Set<Int32> = []) throws -> [Int32] {
        state.reset()
        var generated: [Int32] = []
        generated.reserveCapacity(maxTokens)
        guard maxTokens > 0 else { return [] }
        var logits = try forwardLast(tokens: promptIds, startPosition: 0)
        var position = promptIds.count
        var next: [Int32] = [0]
        while true {
            let token = Int32(Self.argmax(logits))
            generated.append(token)
            if generated.count >= maxTokens || stopAt.contains(token) { break }
            next[0] = token
            logits = try forwardLast(tokens: next, startPosition: position)
            position += 1
        }
        return generated
    }

    /// Index of the largest value (the first one among equals).
    public static func argmax(_ values: UnsafeBufferPointer<Float>) -> Int {
        var best = 0
        var bestValue = -Float.infinity
        for i in 0..<values.count where values[i] > bestValue {
            best = i
            bestValue = values[i]
        }
        return best
    }
}
