import CHydraKernels

/// Which positions of a pass produce a final hidden state.
public enum OutputRows: Sendable {
    /// None: the pass only fills the KV cache.
    case none
    /// The last position only (what generation needs).
    case last
    /// Every position (what perplexity needs).
    case all
}

/// A transformer body: the blocks and the final norm of a GGUF model,
/// viewed in place in the mapped file. It maps a batch of input embeddings
/// to final-normed hidden states; embedding lookup and the output
/// projection belong to heads, so one body can serve several heads.
public final class Body: @unchecked Sendable {
    public let file: GGUFFile
    public let config: ModelConfig
    public let weights: BodyWeights

    /// Reads and checks the configuration and every block tensor of `file`.
    public init(file: GGUFFile) throws {
        self.file = file
        config = try ModelConfig(file: file)
        weights = try BodyWeights(file: file, config: config)
    }

    /// Writes the inputs of `tokens` to `out` (count × embeddingLength):
    /// each token's row of `source`, scaled as the architecture scales token
    /// embeddings (sqrt(n_embd) for Gemma). Throws for an id outside `source`.
    public func embed(tokens: UnsafeBufferPointer<Int32>, from source: some EmbeddingSource,
                      into out: UnsafeMutablePointer<Float>) throws {
        let width = config.embeddingLength
        guard source.width == width else {
            throw HydraError.invalidInput("embedding rows have \(source.width) floats; the body takes \(width)")
        }
        for (t, id) in tokens.enumerated() {
            guard id >= 0, Int(id) < source.rowCount else {
                throw HydraError.invalidInput("token id \(id) is outside the embedding table (0..<\(source.rowCount))")
            }
            let row = out + t * width
            source.row(Int(id), into: row)
            if config.embeddingScale != 1 { hydra_scale(row, config.embeddingScale, Int64(width)) }
        }
    }

    /// Runs `count` input embeddings (count × embeddingLength floats) at
    /// positions startPosition..<startPosition+count through every block,
    /// adding their keys and values to `state`'s cache, and writes the
    /// final-normed hidden states of the `output` rows to `hidden` (one row
    /// of embeddingLength floats for `.last`, `count` rows for `.all`).
    ///
    /// `startPosition` may be at most `state.length` (earlier positions are
    /// kept, later ones overwritten); afterwards the state holds
    /// startPosition + count positions.
    public func forward(embeddings: UnsafePointer<Float>, count: Int, startPosition: Int,
                        state: BodyState, output: OutputRows, hidden: UnsafeMutablePointer<Float>?,
                        pool: ThreadPool?) throws {
        guard state.config == config else {
            throw HydraError.invalidInput("the state was made for another body")
        }
        guard count > 0 else { return }
        guard startPosition >= 0, startPosition <= state.length else {
            throw HydraError.invalidInput("start position \(startPosition) is past the \(state.length) cached positions")
        }
        guard startPosition + count <= state.contextLength else {
            throw HydraError.invalidInput(
                "\(startPosition + count) positions do not fit the context of \(state.contextLength)")
        }
        guard output == .none || hidden != nil else {
            throw HydraError.invalidInput("no buffer for the hidden states")
        }
        if let pool, pool.threads > state.threads {
            throw HydraError.invalidInput("the state was made for \(state.threads) threads, the pool has \(pool.threads)")
        }
        let width = config.embeddingLength
        var done = 0
        while done < count {
            let n = min(state.batchCapacity, count - done)
            let isLast = done + n == count
            let chunkOutput: OutputRows = output == .all ? .all : (isLast ? output : .none)
            let out = hidden.map { output == .all ? $0 + done * width : $0 }
            state.x.update(from: embeddings + done * width, count: n * width)
            pass(n: n, start: startPosition + done, state: state, output: chunkOutput, hidden: out, pool: pool)
            done += n
        }
        state.length = startPosition + count
    }

    /// One pass of n ≤ batchCapacity tokens whose inputs are in state.x.
    private func pass(n: Int, start: Int, state s: BodyState, output: OutputRows,
                      hidden: UnsafeMutablePointer<Float>?, pool: ThreadPool?) {
        let c = config
        let e = c.embeddingLength
        for (index, layer) in weights.layers.enumerated() {
            // In the last block only the output rows need the FFN (as
            // llama.cpp's inp_out_ids); every row still fills the cache.
            var rows = n
            var first = 0
            if index == c.layerCount - 1 {
                switch output {
                case .all: break
                case .last: rows = 1; first = n - 1
                case .none: rows = 0; first = n
                }
            }
            attentionBlock(layer: index, weights: layer, n: n, start: start, state: s, pool: pool)
            if rows > 0 {
                feedForwardBlock(weights: layer, x: s.x + first * e, attention: s.attention + first * c.queryLength,
                                 rows: rows, state: s, pool: pool)
            }
        }
        guard let hidden else { return }
        switch output {
        case .none: break
        case .last: hydra_rms_norm(s.x + (n - 1) * e, c_norm, hidden, 1, Int64(e), c.rmsEpsilon)
        case .all: hydra_rms_norm(s.x, c_norm, hidden, Int64(n), Int64(e), c.rmsEpsilon)
        }
    }

    private var c_norm: UnsafePointer<Float> { weights.outputNorm.values }

    /// Norm, Q/K/V, RoPE, cache write and attention: leaves the attention
    /// of all n rows (before the output projection) in state.attention.
    private func attentionBlock(layer il: Int, weights w: LayerWeights, n: Int, start: Int,
                                state s: BodyState, pool: ThreadPool?) {
        let c = config
        let e = Int64(c.embeddingLength)
        let d = Int64(c.headDimension)
        hydra_rms_norm(s.x, w.attentionNorm.values, s.normed, Int64(n), e, c.rmsEpsilon)

        w.query.multiply(s.normed, tokens: n, into: s.q, pool: pool)
        w.key.multiply(s.normed, tokens: n, into: s.k, pool: pool)
        w.value.multiply(s.normed, tokens: n, into: s.v, pool: pool)
        addBias(w.queryBias, to: s.q, rows: n)
        addBias(w.keyBias, to: s.k, rows: n)
        addBias(w.valueBias, to: s.v, rows: n)

        if let qn = w.queryNorm, let kn = w.keyNorm {
            hydra_rms_norm(s.q, qn.values, s.q, Int64(n * c.headCount), d, c.rmsEpsilon)
            hydra_rms_norm(s.k, kn.values, s.k, Int64(n * c.kvHeadCount), d, c.rmsEpsilon)
        }
        let sliding = c.slidingLayers[il]
        let base = sliding ? c.ropeBaseSliding : c.ropeBase
        hydra_rope(s.q, Int64(n), Int64(c.headCount), d, Int64(c.ropeDimensions), Int64(start), base,
                   c.ropeStyle.rawValue, s.ropeScratch)
        hydra_rope(s.k, Int64(n), Int64(c.kvHeadCount), d, Int64(c.ropeDimensions), Int64(start), base,
                   c.ropeStyle.rawValue, s.ropeScratch)
        var scale = c.attentionScale
        if c.scalesQueryFirst {
            hydra_scale(s.q, scale, Int64(n * c.queryLength))
            scale = 1
        }

        let kv = c.kvLength
        hydra_to_half(s.k, s.cache.keys[il] + start * kv, Int64(n * kv))
        hydra_to_half(s.v, s.cache.values[il] + start * kv, Int64(n * kv))

        hydra_attention(pool?.raw, s.q, s.cache.keys[il], s.cache.values[il], Int64(n), Int64(c.headCount),
                        Int64(c.kvHeadCount), d, Int64(start), Int64(sliding ? c.slidingWindow : 0), scale,
                        s.attentionScratch, s.attention)
    }

    /// Output projection, residual, norm, gated FFN, residual for `rows`
    /// rows starting at `x` (their attention at `attention`).
    private func feedForwardBlock(weights w: LayerWeights, x: UnsafeMutablePointer<Float>,
                                  attention: UnsafeMutablePointer<Float>, rows: Int,
                                  state s: BodyState, pool: ThreadPool?) {
        let c = config
        let e = Int64(c.embeddingLength)
        let count = Int64(rows * c.embeddingLength)

        w.attentionOutput.multiply(attention, tokens: rows, into: s.projected, pool: pool)
        addBias(w.attentionOutputBias, to: s.projected, rows: rows)
        if let post = w.postAttentionNorm {
            hydra_rms_norm(s.projected, post.values, s.projected, Int64(rows), e, c.rmsEpsilon)
        }
        hydra_add(x, s.projected, count)

        hydra_rms_norm(x, w.feedForwardNorm.values, s.normed, Int64(rows), e, c.rmsEpsilon)
        w.gate.multiply(s.normed, tokens: rows, into: s.gate, pool: pool)
        w.up.multiply(s.normed, tokens: rows, into: s.up, pool: pool)
        let f = Int64(rows * c.feedForwardLength)
        switch c.activation {
        case .swiglu: hydra_swiglu(s.gate, s.up, s.gate, f)
        case .geglu: hydra_geglu(s.gate, s.up, s.gate, f)
        }
        w.down.multiply(s.gate, tokens: rows, into: s.projected, pool: pool)
        if let post = w.postFeedForwardNorm {
            hydra_rms_norm(s.projected, post.values, s.projected, Int64(rows), e, c.rmsEpsilon)
        }
        hydra_add(x, s.projected, count)
    }

    private func addBias(_ bias: WeightVector?, to y: UnsafeMutablePointer<Float>, rows: Int) {
        guard let bias else { return }
        for r in 0..<rows { hydra_add(y + r * bias.count, bias.values, Int64(bias.count)) }
    }
}
