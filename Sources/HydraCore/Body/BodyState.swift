import CHydraKernels

/// Which of ggml's attention paths a body reproduces: the plain one (the
/// full score matrix, llama.cpp with `-fa off`) or flash attention
/// (llama.cpp's CPU default, `-fa auto`). Flash attention's split of long
/// decodes depends on how many KV cells llama.cpp's context has, its n_ctx
/// rounded up to 256: `cells`.
public enum AttentionKind: Equatable, Sendable {
    case plain
    case flash(cells: Int)

    /// Flash attention as llama.cpp runs it for a context of `contextLength`.
    public static func flash(contextLength: Int) -> AttentionKind {
        .flash(cells: (contextLength + 255) / 256 * 256)
    }

    /// The cells of ggml's view of the cache when positions 0..<end are in
    /// use: llama.cpp pads the count to 256 (at least 256) within the
    /// cache's cells; a sliding-window layer's cache has window + 512 cells
    /// (the window and one batch) when that is fewer.
    func viewCells(end: Int, window: Int) -> Int {
        guard case .flash(let cells) = self else { return end }
        let cacheCells = window > 0 ? min(cells, window + 512) : cells
        return max(end, min(cacheCells, max(256, (end + 255) / 256 * 256)))
    }
}

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
    /// Which of ggml's two attention paths this state reproduces.
    public let attentionKind: AttentionKind
    private var allocations: [UnsafeMutablePointer<Float>] = []

    /// A state for `contextLength` positions, processing up to
    /// `batchCapacity` tokens per pass, for a pool of `threads` threads,
    /// with the arithmetic of ggml's attention path `kind`.
    public init(config: ModelConfig, contextLength: Int, batchCapacity: Int = 512, threads: Int,
                attention kind: AttentionKind) {
        precondition(contextLength > 0 && batchCapacity > 0)
        self.config = config
        cache = KVCache(config: config, capacity: contextLength)
        let n = min(batchCapacity, contextLength)
        self.batchCapacity = n
        self.threads = max(1, threads)
        attentionKind = kind
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
        attentionScratch = buffer(Int(kind != .plain
            ? hydra_flash_attention_scratch_floats(Int32(self.threads), Int64(config.headCount),
                                                   Int64(config.headDimension))
            : hydra_attention_scratch_floats(Int32(self.threads), Int64(contextLength),
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
