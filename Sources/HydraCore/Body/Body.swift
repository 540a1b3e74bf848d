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

/// Rows of a pass that belong to one sequence: the pass's rows `rows` are
/// its positions position, position + 1, ... in `cache`.
struct SequenceRows {
    let cache: KVCache
    let position: Int
    let rows: Range<Int>
}

/// A transformer body: the blocks and the final norm of a GGUF model,
/// viewed in place in the mapped file. It maps a batch of input embeddings
/// to final-normed hidden states; embedding lookup and the output
/// projection belong to heads, so one body can serve several heads.
public final class Body: @unchecked Sendable {
    public let file: GGUFFile
    public let config: ModelConfig
    public let weights: BodyWeights

    /// For debugging against llama.cpp: called with llama.cpp's tensor name,
    /// the layer and the values after each step of a pass.
    nonisolated(unsafe) var trace: ((String, Int, UnsafeBufferPointer<Float>) -> Void)?

    private func record(_ name: String, _ layer: Int, _ p: UnsafePointer<Float>, _ count: Int) {
        trace?(name, layer, UnsafeBufferPointer(start: p, count: count))
    }

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
            let rows = SequenceRows(cache: state.cache, position: startPosition + done, rows: 0..<n)
            pass(CollectionOfOne(rows), rows: n, state: state, output: chunkOutput, hidden: out, pool: pool)
            done += n
        }
        state.length = startPosition + count
    }

    /// One pass through every block of the n ≤ batchCapacity rows in s.x,
    /// each row one position of one sequence: a prompt is one sequence of
    /// many rows, batched decoding one row of each of several sequences.
    /// `s` lends its work buffers; keys and values go to each sequence's
    /// cache. Writes the final-normed `output` rows to `hidden`.
    /// `exact`: rows of different sequences each get the one-token
    /// arithmetic, so every sequence gets the bits it would get decoded
    /// alone; otherwise all rows go through the prompt's matrix products
    /// (several prompts at once, where only the throughput matters).
    func pass(_ sequences: some Collection<SequenceRows>, rows n: Int, state s: BodyState, output: OutputRows,
              hidden: UnsafeMutablePointer<Float>?, pool: ThreadPool?, exact: Bool = true) {
        let c = config
        let e = c.embeddingLength
        let eachAsOne = exact && sequences.count > 1
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
            attention(layer: index, weights: layer, sequences: sequences, rows: n, state: s, pool: pool,
                      eachAsOne: eachAsOne)
            if rows > 0 {
                outputAndFeedForward(layer: index, weights: layer, x: s.x + first * e,
                                     attention: s.attention + first * c.queryLength, rows: rows, state: s,
                                     pool: pool, eachAsOne: eachAsOne)
            }
        }
        guard let hidden else { return }
        switch output {
        case .none: break
        case .last: hydra_rms_norm(s.x + (n - 1) * e, outputNormWeights, hidden, 1, Int64(e), c.rmsEpsilon)
        case .all: hydra_rms_norm(s.x, outputNormWeights, hidden, Int64(n), Int64(e), c.rmsEpsilon)
        }
    }

    private var outputNormWeights: UnsafePointer<Float> { weights.outputNorm.values }

    // Attention runs for every row even when only the last is output:
    // llama.cpp drops rows after attention, and its products round
    // differently for one row than for several.

    /// Norm, Q/K/V, RoPE, cache write and attention of the n rows in s.x,
    /// each at its sequence's position in its sequence's cache: leaves the
    /// attention of every row (before the output projection) in
    /// s.attention. The rows of one sequence are attended in one call.
    private func attention(layer il: Int, weights w: LayerWeights, sequences: some Collection<SequenceRows>,
                           rows n: Int, state s: BodyState, pool: ThreadPool?, eachAsOne: Bool) {
        let c = config
        let d = Int64(c.headDimension)
        let ql = c.queryLength
        let kv = c.kvLength
        hydra_rms_norm(s.x, w.attentionNorm.values, s.normed, Int64(n), Int64(c.embeddingLength), c.rmsEpsilon)
        record("attn_norm", il, s.normed, n * c.embeddingLength)

        queryKeyValue(weights: w, rows: n, state: s, pool: pool, eachAsOne: eachAsOne)
        let sliding = c.slidingLayers[il]
        let base = sliding ? c.ropeBaseSliding : c.ropeBase
        for seq in sequences {
            let first = seq.rows.lowerBound, count = Int64(seq.rows.count), position = Int64(seq.position)
            hydra_rope(s.q + first * ql, count, Int64(c.headCount), d, Int64(c.ropeDimensions), position, base,
                       c.ropeStyle.rawValue, s.ropeScratch)
            hydra_rope(s.k + first * kv, count, Int64(c.kvHeadCount), d, Int64(c.ropeDimensions), position, base,
                       c.ropeStyle.rawValue, s.ropeScratch)
        }
        record("Qcur", il, s.q, n * ql)
        record("Kcur", il, s.k, n * kv)
        record("Vcur", il, s.v, n * kv)
        // The query scaled before attention (Gemma), or the scale applied inside it.
        var scale = c.attentionScale
        if c.scalesQueryFirst {
            hydra_scale(s.q, scale, Int64(n * ql))
            scale = 1
        }

        let window = Int64(sliding ? c.slidingWindow : 0)
        for seq in sequences {
            let first = seq.rows.lowerBound, count = seq.rows.count
            let keys = seq.cache.keys[il], values = seq.cache.values[il]
            hydra_to_half(s.k + first * kv, keys + seq.position * kv, Int64(count * kv))
            hydra_to_half(s.v + first * kv, values + seq.position * kv, Int64(count * kv))
            if s.attentionKind == .plain {
                hydra_attention(pool?.raw, s.q + first * ql, keys, values, Int64(count), Int64(c.headCount),
                                Int64(c.kvHeadCount), d, Int64(seq.position), window, scale, s.attentionScratch,
                                s.attention + first * ql)
            } else {
                let cells = s.attentionKind.viewCells(end: seq.position + count, window: Int(window))
                hydra_flash_attention(pool?.raw, s.q + first * ql, keys, values, Int64(count), Int64(c.headCount),
                                      Int64(c.kvHeadCount), d, Int64(seq.position), window, Int64(cells), scale,
                                      s.attentionScratch, s.attention + first * ql)
            }
        }
        record("kqv_out", il, s.attention, n * ql)
    }

    /// Q, K and V of the `rows` normed rows in s.normed, into s.q, s.k and
    /// s.v, with their biases and the per-head Q/K norms. `eachAsOne`:
    /// every row with the one-token arithmetic (rows of different sequences
    /// decoded together).
    func queryKeyValue(weights w: LayerWeights, rows: Int, state s: BodyState, pool: ThreadPool?,
                       eachAsOne: Bool = false) {
        let c = config
        let d = Int64(c.headDimension)
        if eachAsOne || rows == 1 {
            multiplyGroup(x: s.normed, rows: rows, pool: pool, (w.query, s.q), (w.key, s.k), (w.value, s.v))
        } else {
            w.query.multiply(s.normed, tokens: rows, into: s.q, pool: pool)
            w.key.multiply(s.normed, tokens: rows, into: s.k, pool: pool)
            w.value.multiply(s.normed, tokens: rows, into: s.v, pool: pool)
        }
        addBias(w.queryBias, to: s.q, rows: rows)
        addBias(w.keyBias, to: s.k, rows: rows)
        addBias(w.valueBias, to: s.v, rows: rows)
        if let qn = w.queryNorm, let kn = w.keyNorm {
            hydra_rms_norm(s.q, qn.values, s.q, Int64(rows * c.headCount), d, c.rmsEpsilon)
            hydra_rms_norm(s.k, kn.values, s.k, Int64(rows * c.kvHeadCount), d, c.rmsEpsilon)
        }
    }

    /// Output projection, residual, norm, gated FFN, residual for `rows`
    /// rows starting at `x` (their attention at `attention`). `eachAsOne`:
    /// every row with the one-token arithmetic (rows of different
    /// sequences decoded together).
    func outputAndFeedForward(layer: Int, weights w: LayerWeights, x: UnsafeMutablePointer<Float>,
                              attention: UnsafeMutablePointer<Float>, rows: Int,
                              state s: BodyState, pool: ThreadPool?, eachAsOne: Bool = false) {
        let c = config
        let e = Int64(c.embeddingLength)
        let count = Int64(rows * c.embeddingLength)
        func product(_ m: QuantizedMatrix, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>) {
            if eachAsOne {
                m.multiplyEach(x, tokens: rows, into: y, pool: pool)
            } else {
                m.multiply(x, tokens: rows, into: y, pool: pool)
            }
        }

        product(w.attentionOutput, attention, s.projected)
        addBias(w.attentionOutputBias, to: s.projected, rows: rows)
        if let post = w.postAttentionNorm {
            hydra_rms_norm(s.projected, post.values, s.projected, Int64(rows), e, c.rmsEpsilon)
        }
        record("attn_out", layer, s.projected, rows * c.embeddingLength)
        hydra_add(x, s.projected, count)
        record("ffn_inp", layer, x, rows * c.embeddingLength)

        hydra_rms_norm(x, w.feedForwardNorm.values, s.normed, Int64(rows), e, c.rmsEpsilon)
        if eachAsOne || rows == 1 {
            multiplyGroup(x: s.normed, rows: rows, pool: pool, (w.gate, s.gate), (w.up, s.up))
        } else {
            product(w.gate, s.normed, s.gate)
            product(w.up, s.normed, s.up)
        }
        let f = Int64(rows * c.feedForwardLength)
        switch c.activation {
        case .swiglu: hydra_swiglu(s.gate, s.up, s.gate, Int64(rows), Int64(c.feedForwardLength))
        case .geglu: hydra_geglu(s.gate, s.up, s.gate, f)
        }
        record("ffn_swiglu", layer, s.gate, rows * c.feedForwardLength)
        product(w.down, s.gate, s.projected)
        if let post = w.postFeedForwardNorm {
            hydra_rms_norm(s.projected, post.values, s.projected, Int64(rows), e, c.rmsEpsilon)
        }
        record("ffn_out", layer, s.projected, rows * c.embeddingLength)
        hydra_add(x, s.projected, count)
        record("l_out", layer, x, rows * c.embeddingLength)
    }

    /// Products of the same `rows` rows of x (one token, or rows of
    /// different sequences, each with the one-token arithmetic) with
    /// matrices of the same width, in one run of the pool (decoding waits
    /// on threads less, and x is quantized once).
    /// (Two or three matrices; fixed arguments, so nothing is allocated.)
    private func multiplyGroup(x: UnsafePointer<Float>, rows: Int, pool: ThreadPool?,
                               _ a: (QuantizedMatrix, UnsafeMutablePointer<Float>),
                               _ b: (QuantizedMatrix, UnsafeMutablePointer<Float>),
                               _ c: (QuantizedMatrix, UnsafeMutablePointer<Float>)? = nil) {
        func part(_ p: (QuantizedMatrix, UnsafeMutablePointer<Float>)) -> hydra_matmul_part {
            hydra_matmul_part(type: Int32(p.0.type.rawValue), w: p.0.data, repacked: p.0.repacked?.bytes,
                              rows: Int64(p.0.rows), y: p.1)
        }
        var parts = (part(a), part(b), part(c ?? b))
        let count: Int32 = c == nil ? 2 : 3
        let rc = withUnsafePointer(to: &parts) {
            $0.withMemoryRebound(to: hydra_matmul_part.self, capacity: 3) {
                rows == 1
                    ? hydra_matmul_group(pool?.raw, $0, count, Int64(a.0.cols), x)
                    : hydra_matmul_each_group(pool?.raw, $0, count, Int64(a.0.cols), x, Int64(rows), hydra_kernel_mode())
            }
        }
        precondition(rc == 0, "grouped matrix product failed")
    }

    func addBias(_ bias: WeightVector?, to y: UnsafeMutablePointer<Float>, rows: Int) {
        guard let bias else { return }
        for r in 0..<rows { hydra_add(y + r * bias.count, bias.values, Int64(bias.count)) }
    }
}
