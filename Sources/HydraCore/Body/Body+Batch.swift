import CHydraKernels

// Decoding several sequences at once. Generation reads every weight once
// per token and is bound by memory bandwidth; with B sequences stepping
// together, each weight row is read once for all B tokens. The products
// use the one-token arithmetic for each row (`multiplyEach`), and
// attention runs per sequence against its own cache, so every sequence
// gets exactly the bits it would get decoded alone.

extension BodyState {
    /// Copies the cached keys and values of positions 0..<count from
    /// `other` (a state of the same body) and holds those positions.
    public func copyCache(from other: BodyState, count: Int) throws {
        guard other.config == config else { throw HydraError.invalidInput("the states belong to different bodies") }
        guard count >= 0, count <= other.length, count <= contextLength else {
            throw HydraError.invalidInput("cannot copy \(count) positions (\(other.length) cached, room for \(contextLength))")
        }
        let halves = count * config.kvLength
        for layer in 0..<config.layerCount {
            cache.keys[layer].update(from: other.cache.keys[layer], count: halves)
            cache.values[layer].update(from: other.cache.values[layer], count: halves)
        }
        length = count
    }
}

extension Body {
    /// One decoding step for `states.count` sequences: row i of
    /// `embeddings` is the input of sequence i at position states[i].length,
    /// in its own cache. Writes each row's final-normed hidden state to
    /// `hidden` (states.count × embeddingLength) and advances every state
    /// by one position. `scratch` lends its work buffers (its cache is not
    /// touched); it must hold states.count rows and the longest context.
    public func decodeStep(embeddings: UnsafePointer<Float>, states: [BodyState], scratch: BodyState,
                           hidden: UnsafeMutablePointer<Float>, pool: ThreadPool?) throws {
        let b = states.count
        guard b > 0 else { return }
        guard b <= scratch.batchCapacity else {
            throw HydraError.invalidInput("\(b) sequences exceed the \(scratch.batchCapacity) rows of the scratch")
        }
        guard scratch.config == config, states.allSatisfy({ $0.config == config }) else {
            throw HydraError.invalidInput("the state was made for another body")
        }
        for s in states where s.length >= s.contextLength || s.length >= scratch.contextLength {
            throw HydraError.invalidInput("\(s.length + 1) positions do not fit the context of \(s.contextLength)")
        }
        if let pool, pool.threads > scratch.threads {
            throw HydraError.invalidInput("the state was made for \(scratch.threads) threads, the pool has \(pool.threads)")
        }
        let c = config
        let e = c.embeddingLength
        let s = scratch
        s.x.update(from: embeddings, count: b * e)
        for (index, layer) in weights.layers.enumerated() {
            batchAttention(layer: index, weights: layer, states: states, scratch: s, pool: pool)
            outputAndFeedForward(layer: index, weights: layer, x: s.x, attention: s.attention, rows: b,
                                 state: s, pool: pool, eachAsOne: true)
        }
        hydra_rms_norm(s.x, weights.outputNorm.values, hidden, Int64(b), Int64(e), c.rmsEpsilon)
        for state in states { state.length += 1 }
    }

    /// Norm, Q/K/V, RoPE at each sequence's position, cache write and
    /// attention per sequence; leaves the attention rows in s.attention.
    private func batchAttention(layer il: Int, weights w: LayerWeights, states: [BodyState], scratch s: BodyState,
                                pool: ThreadPool?) {
        let c = config
        let b = states.count
        let d = Int64(c.headDimension)
        hydra_rms_norm(s.x, w.attentionNorm.values, s.normed, Int64(b), Int64(c.embeddingLength), c.rmsEpsilon)
        queryKeyValue(weights: w, rows: b, state: s, pool: pool, eachAsOne: true)
        let sliding = c.slidingLayers[il]
        let base = sliding ? c.ropeBaseSliding : c.ropeBase
        // As the one-token pass: the query scaled before attention, or
        // the scale applied inside it.
        let scale = c.scalesQueryFirst ? 1 : c.attentionScale
        let ql = c.queryLength
        let kv = c.kvLength
        for (i, state) in states.enumerated() {
            let position = state.length
            let q = s.q + i * ql
            let k = s.k + i * kv
            hydra_rope(q, 1, Int64(c.headCount), d, Int64(c.ropeDimensions), Int64(position), base,
                       c.ropeStyle.rawValue, s.ropeScratch)
            hydra_rope(k, 1, Int64(c.kvHeadCount), d, Int64(c.ropeDimensions), Int64(position), base,
                       c.ropeStyle.rawValue, s.ropeScratch)
            if c.scalesQueryFirst { hydra_scale(q, c.attentionScale, Int64(ql)) }
            hydra_to_half(k, state.cache.keys[il] + position * kv, Int64(kv))
            hydra_to_half(s.v + i * kv, state.cache.values[il] + position * kv, Int64(kv))
            hydra_attention(pool?.raw, q, state.cache.keys[il], state.cache.values[il], 1, Int64(c.headCount),
                            Int64(c.kvHeadCount), d, Int64(position), Int64(sliding ? c.slidingWindow : 0), scale,
                            s.attentionScratch, s.attention + i * ql)
        }
    }
}
