import CHydraKernels

/// Everything one sequence needs to run through a body: its KV cache, how
/// many positions it holds, and scratch buffers for a batch of up to
/// `batchCapacity` tokens, allocated once so decoding allocates nothing.
public final class BodyState {
    public let config: ModelConfig
    public let cache: KVCache
    /// Positions 0..<length are in the cache.
    public internal(set) var length = 0
    /// Tokens one pass processes at most (longer inputs are split).
    public let batchCapacity: Int
    public var contextLength: Int { cache.capacity }

    // Scratch, each sized for batchCapacity tokens.
    let x: UnsafeMutablePointer<Float>        // residual stream, n × embd
    let normed: UnsafeMutablePointer<Float>   // n × embd
    let q: UnsafeMutablePointer<Float>        // n × heads × headDim
    let k: UnsafeMutablePointer<Float>        // n × kvLength
    let v: UnsafeMutablePointer<Float>        // n × kvLength
    let attention: UnsafeMutablePointer<Float> // n × heads × headDim
    let projected: UnsafeMutablePointer<Float> // n × embd
    let gate: UnsafeMutablePointer<Float>     // n × ffn
    let up: UnsafeMutablePointer<Float>       // n × ffn
    let inputs: UnsafeMutablePointer<Float>   // n × embd (token embeddings)
    let attentionScratch: UnsafeMutablePointer<Float>
    let ropeScratch: UnsafeMutablePointer<Float>
    let threads: Int
    private var allocations: [UnsafeMutablePointer<Float>] = []

    /// A state for `contextLength` positions, processing up to
    /// `batchCapacity` tokens per pass, for a pool of `threads` threads.
    public init(config: ModelConfig, contextLength: Int, batchCapacity: Int = 512, threads: Int) {
        precondition(contextLength > 0 && batchCapacity > 0)
        self.config = config
        cache = KVCache(config: config, capacity: contextLength)
        let n = min(batchCapacity, contextLength)
        self.batchCapacity = n
        self.threads = max(1, threads)
        var list: [UnsafeMutablePointer<Float>] = []
        func buffer(_ count: Int) -> UnsafeMutablePointer<Float> {
            let p = UnsafeMutablePointer<Float>.allocate(capacity: max(count, 1))
            p.initialize(repeating: 0, count: max(count, 1))
            list.append(p)
            return p
        }
        x = buffer(n * config.embeddingLength)
        normed = buffer(n * config.embeddingLength)
        q = buffer(n * config.queryLength)
        k = buffer(n * config.kvLength)
        v = buffer(n * config.kvLength)
        attention = buffer(n * config.queryLength)
        projected = buffer(n * config.embeddingLength)
        gate = buffer(n * config.feedForwardLength)
        up = buffer(n * config.feedForwardLength)
        inputs = buffer(n * config.embeddingLength)
        attentionScratch = buffer(Int(hydra_attention_scratch_floats(Int32(self.threads), Int64(contextLength),
                                                                     Int64(config.headDimension))))
        ropeScratch = buffer(config.headDimension)
        allocations = list
    }

    deinit { for p in allocations { p.deallocate() } }

    /// Forgets every position (the next pass starts at position 0).
    public func reset() { length = 0 }

    /// Keeps positions 0..<newLength and forgets the rest.
    public func truncate(to newLength: Int) {
        precondition(newLength >= 0 && newLength <= length)
        length = newLength
    }
}
