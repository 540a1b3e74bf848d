/// One input position of a mixed sequence: a token id of a given head.
public struct HeadToken: Sendable {
    public let head: Head
    public let token: Int32

    public init(_ head: Head, _ token: Int32) {
        self.head = head
        self.token = token
    }
}

/// hydra's one model runtime: a body with its heads, one sequence's state
/// (KV cache, scratch) and a thread pool. Each input position is embedded
/// by its own head, logits come from the head the caller names, and all
/// positions share one KV cache, so a prompt written with one head can be
/// continued in another. A plain GGUF model is a Hydra model with only its
/// native head (the file's own embedding table and output matrix).
public final class HydraModel {
    public let file: GGUFFile
    public let body: Body
    public let heads: HeadSet
    public let state: BodyState
    public let pool: ThreadPool
    public var config: ModelConfig { body.config }
    public var native: Head { heads.native }
    /// The native head's output rows: the width of `forward`'s logits.
    public var vocabularySize: Int { native.output?.vocabularySize ?? 0 }

    // Preallocated: the last position's hidden state and logits (grown to
    // the largest output head used).
    private let lastHidden: UnsafeMutablePointer<Float>
    private var lastLogits: UnsafeMutablePointer<Float>
    private var logitsCapacity: Int

    /// Opens `file` with its native head, a context of `contextLength`
    /// positions, processing prompts in batches of up to `batchSize` tokens
    /// on `pool`.
    /// - Parameters:
    ///   - flashAttention: attention with the arithmetic of llama.cpp's flash
    ///     attention (its CPU default, `-fa auto`); false: its plain path
    ///     (`-fa off`, llama-cpp-python's default).
    ///   - nativeLanguage: the native head's language (default: the file's).
    ///   - tokenizer: the file's tokenizer, if already built.
    public init(file: GGUFFile, contextLength: Int = 4096, batchSize: Int = 512, pool: ThreadPool = ThreadPool(),
                flashAttention: Bool = true, nativeLanguage: String? = nil, tokenizer: Tokenizer? = nil) throws {
        guard contextLength > 0, batchSize > 0 else {
            throw HydraError.invalidInput("the context length and batch size must be positive")
        }
        self.file = file
        body = try Body(file: file)
        let native = try Head.native(of: body, language: nativeLanguage, tokenizer: tokenizer)
        heads = try HeadSet(body: body, native: native)
        state = BodyState(config: body.config, contextLength: contextLength, batchCapacity: batchSize,
                          threads: pool.threads,
                          attention: flashAttention ? .flash(contextLength: contextLength) : .plain)
        self.pool = pool
        lastHidden = .allocate(capacity: body.config.embeddingLength)
        logitsCapacity = native.output?.vocabularySize ?? 0
        lastLogits = .allocate(capacity: logitsCapacity)
    }

    /// Opens a model file with its native head.
    public convenience init(path: String, contextLength: Int = 4096, batchSize: Int = 512,
                            pool: ThreadPool = ThreadPool(), flashAttention: Bool = true,
                            nativeLanguage: String? = nil) throws {
        try self.init(file: GGUFFile(path: path), contextLength: contextLength, batchSize: batchSize, pool: pool,
                      flashAttention: flashAttention, nativeLanguage: nativeLanguage)
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

    /// `forwardLast` for tokens of one head (default: the native head),
    /// scored by `logitsFrom` (default: the same head).
    public func forwardLast(tokens: [Int32], head: Head? = nil, startPosition: Int,
                            logitsFrom target: Head? = nil) throws -> UnsafeBufferPointer<Float> {
        let head = head ?? native
        return try forwardLast(tokens.map { HeadToken(head, $0) }, startPosition: startPosition,
                               logitsFrom: target ?? head)
    }

    /// Runs native tokens and returns the logits of the last position, or
    /// of every position (tokens.count × the vocabulary) when `allLogits`,
    /// as llama.cpp's `llama_decode` with `logits_all` does.
    public func forward(tokens: [Int32], startPosition: Int, allLogits: Bool = false) throws -> [Float] {
        if allLogits {
            return try forwardAll(tokens.map { HeadToken(native, $0) }, startPosition: startPosition, logitsFrom: native)
        }
        return Array(try forwardLast(tokens: tokens, startPosition: startPosition))
    }

    /// Runs `inputs` and returns the logits of every position
    /// (inputs.count × the vocabulary of `logitsFrom`), as perplexity needs.
    public func forwardAll(_ inputs: [HeadToken], startPosition: Int, logitsFrom target: Head) throws -> [Float] {
        let output = try outputHead(target)
        return output.logits(hidden: try hiddenStates(inputs[...], startPosition: startPosition), pool: pool)
    }

    /// Runs `inputs` at positions startPosition... and returns the final
    /// hidden state of every position (inputs.count × the embedding width).
    private func hiddenStates(_ inputs: ArraySlice<HeadToken>, startPosition: Int) throws -> [Float] {
        let e = body.config.embeddingLength
        var embedded = [Float](repeating: 0, count: inputs.count * e)
        var hidden = [Float](repeating: 0, count: inputs.count * e)
        try embedded.withUnsafeMutableBufferPointer { try embed(inputs, into: $0.baseAddress!) }
        try embedded.withUnsafeBufferPointer { inp in
            try hidden.withUnsafeMutableBufferPointer { h in
                try body.forward(embeddings: inp.baseAddress!, count: inputs.count, startPosition: startPosition,
                                 state: state, output: .all, hidden: h.baseAddress!, pool: pool)
            }
        }
        return hidden
    }

    /// The log-probability (natural log) that `head` writes `continuation`
    /// right after `context`, run in the model's own state. The first
    /// `cached` positions of `context` are taken from the state's cache
    /// (left there by an earlier call whose context began the same way)
    /// instead of being run again.
    public func logProbability(of continuation: [Int32], by head: Head, after context: [HeadToken],
                               cached: Int = 0) throws -> Double {
        guard !continuation.isEmpty else { return 0 }
        guard cached >= 0, cached < context.count, cached <= state.length else {
            throw HydraError.invalidInput("\(cached) cached positions do not begin a context of \(context.count)")
        }
        let output = try outputHead(head)
        let inputs = context[cached...] + continuation.dropLast().map { HeadToken(head, $0) }
        let hidden = try hiddenStates(inputs, startPosition: cached)
        // Only the rows that predict a token of the continuation are scored,
        // a few at a time (a row of logits is a whole vocabulary).
        let e = body.config.embeddingLength
        let v = output.vocabularySize
        let first = inputs.count - continuation.count
        let rowsAtOnce = 16
        var logits = [Float](repeating: 0, count: min(rowsAtOnce, continuation.count) * v)
        var total = 0.0
        for start in stride(from: 0, to: continuation.count, by: rowsAtOnce) {
            let n = min(rowsAtOnce, continuation.count - start)
            hidden.withUnsafeBufferPointer { h in
                logits.withUnsafeMutableBufferPointer {
                    output.logits(hidden: h.baseAddress! + (first + start) * e, count: n, into: $0.baseAddress!,
                                  pool: pool)
                }
            }
            logits.withUnsafeBufferPointer { rows in
                for r in 0..<n {
                    total += Perplexity.logSoftmax(UnsafeBufferPointer(rebasing: rows[r * v..<(r + 1) * v]),
                                                   at: Int(continuation[start + r]))
                }
            }
        }
        return total
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

    /// Greedy decoding through the native head, as llama.cpp's greedy
    /// sampler: the tokens made, until `maxTokens` or one in `stopAt` (that
    /// one included).
    public func generateGreedy(promptIds: [Int32], maxTokens: Int, stopAt: Set<Int32> = []) throws -> [Int32] {
        var generated: [Int32] = []
        try decode(prompt: promptIds.map { HeadToken(native, $0) }, target: native, maxTokens: maxTokens) { token in
            generated.append(token)
            return !stopAt.contains(token)
        }
        return generated
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
