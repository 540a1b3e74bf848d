import CHydraKernels

// Decoding several sequences at once. Generation reads every weight once
// per token and is bound by memory bandwidth; with B sequences stepping
// together, each weight row is read once for all B tokens. The step is the
// prompt's pass (Body.pass) with one row per sequence: the products use
// the one-token arithmetic for each row (`multiplyEach`), and attention
// runs per sequence against its own cache, so every sequence gets exactly
// the bits it would get decoded alone. In throughput mode (`exact: false`)
// the rows go through the prompt's matrix–matrix products instead: several
// times the tokens per second with many sequences, at the price of
// rounding that differs from decoding each sequence alone.

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
    /// `exact`: each row gets the bits of decoding its sequence alone;
    /// otherwise the products run over all rows at once (throughput mode).
    public func decodeStep(embeddings: UnsafePointer<Float>, states: [BodyState], scratch: BodyState,
                           hidden: UnsafeMutablePointer<Float>, pool: ThreadPool?, exact: Bool = true) throws {
        let b = states.count
        guard b > 0 else { return }
        for s in states { try check(s, adding: 1, rows: b, scratch: scratch, pool: pool) }
        // Row i is sequence i's next position, in its own cache.
        let sequences = states.indices.lazy.map { i in
            SequenceRows(cache: states[i].cache, position: states[i].length, rows: i..<i + 1)
        }
        scratch.x.update(from: embeddings, count: b * config.embeddingLength)
        pass(sequences, rows: b, state: scratch, output: .all, hidden: hidden, pool: pool, exact: exact)
        for state in states { state.length += 1 }
    }

    /// Feeds `count` positions of one sequence in one pass: row j of
    /// `embeddings` goes to position state.length + j. Each row gets the
    /// one-token arithmetic and attends after the rows before it are
    /// cached, so `hidden` holds the bits that feeding the rows one step
    /// at a time gives, while every weight is read once (drafted tokens
    /// checked together). Advances the state by `count` positions.
    public func decodeRun(embeddings: UnsafePointer<Float>, count: Int, state: BodyState, scratch: BodyState,
                          hidden: UnsafeMutablePointer<Float>, pool: ThreadPool?) throws {
        guard count > 0 else { return }
        try check(state, adding: count, rows: count, scratch: scratch, pool: pool)
        // One entry per row, in order: as many sequences sharing one cache.
        let rows = (0..<count).lazy.map { j in
            SequenceRows(cache: state.cache, position: state.length + j, rows: j..<j + 1)
        }
        scratch.x.update(from: embeddings, count: count * config.embeddingLength)
        pass(rows, rows: count, state: scratch, output: .all, hidden: hidden, pool: pool, exact: true)
        state.length += count
    }

    /// Refuses a pass of `rows` rows through `scratch` that would feed
    /// `state` `adding` more positions: more rows than the scratch holds,
    /// a state or scratch of another body, positions past either context,
    /// or a pool with more threads than the scratch was made for.
    private func check(_ state: BodyState, adding: Int, rows: Int, scratch: BodyState, pool: ThreadPool?) throws {
        guard rows <= scratch.batchCapacity else {
            throw HydraError.invalidInput("\(rows) rows exceed the \(scratch.batchCapacity) rows of the scratch")
        }
        guard scratch.config == config, state.config == config else {
            throw HydraError.invalidInput("the state was made for another body")
        }
        guard state.length + adding <= state.contextLength, state.length + adding <= scratch.contextLength else {
            throw HydraError.invalidInput("\(state.length + adding) positions do not fit the context of \(state.contextLength)")
        }
        if let pool, pool.threads > scratch.threads {
            throw HydraError.invalidInput("the state was made for \(scratch.threads) threads, the pool has \(pool.threads)")
        }
    }
}
