/// A vector of F32 weights (a norm or a bias), viewed in the mapped file.
public struct WeightVector: @unchecked Sendable {
    public let values: UnsafePointer<Float>
    public let count: Int
}

/// One transformer block's weights, as views into the GGUF mapping.
public struct LayerWeights: @unchecked Sendable {
    public let attentionNorm: WeightVector
    public let query, key, value, attentionOutput: QuantizedMatrix
    public let queryBias, keyBias, valueBias, attentionOutputBias: WeightVector?
    /// Per-head RMS norms of Q and K (Gemma 3).
    public let queryNorm, keyNorm: WeightVector?
    /// Norm of the attention output before the residual add (Gemma 3).
    public let postAttentionNorm: WeightVector?
    public let feedForwardNorm: WeightVector
    public let gate, up, down: QuantizedMatrix
    /// Norm of the FFN output before the residual add (Gemma 3).
    public let postFeedForwardNorm: WeightVector?
}

/// The body's weights: every block plus the final norm. The embedding table
/// and the output matrix belong to a head (see `TokenEmbedding`, `OutputHead`).
public struct BodyWeights: @unchecked Sendable {
    public let layers: [LayerWeights]
    public let outputNorm: WeightVector

    /// Finds and checks every tensor the configuration calls for: presence,
    /// type and shape. A missing or mis-shaped tensor is a thrown error.
    public init(file: GGUFFile, config c: ModelConfig) throws {
        let t = TensorLookup(file: file)
        var layers: [LayerWeights] = []
        layers.reserveCapacity(c.layerCount)
        for i in 0..<c.layerCount {
            let p = "blk.\(i)."
            let hasBiases = c.architecture == .qwen2
            layers.append(LayerWeights(
                attentionNorm: try t.vector(p + "attn_norm.weight", c.embeddingLength),
                query: try t.productMatrix(p + "attn_q.weight", rows: c.queryLength, cols: c.embeddingLength),
                key: try t.productMatrix(p + "attn_k.weight", rows: c.kvLength, cols: c.embeddingLength),
                value: try t.productMatrix(p + "attn_v.weight", rows: c.kvLength, cols: c.embeddingLength),
                attentionOutput: try t.productMatrix(p + "attn_output.weight", rows: c.embeddingLength, cols: c.queryLength),
                queryBias: hasBiases ? try t.vector(p + "attn_q.bias", c.queryLength)
                    : try t.optionalVector(p + "attn_q.bias", c.queryLength),
                keyBias: hasBiases ? try t.vector(p + "attn_k.bias", c.kvLength)
                    : try t.optionalVector(p + "attn_k.bias", c.kvLength),
                valueBias: hasBiases ? try t.vector(p + "attn_v.bias", c.kvLength)
                    : try t.optionalVector(p + "attn_v.bias", c.kvLength),
                attentionOutputBias: try t.optionalVector(p + "attn_output.bias", c.embeddingLength),
                queryNorm: c.hasQKNorm ? try t.vector(p + "attn_q_norm.weight", c.headDimension) : nil,
                keyNorm: c.hasQKNorm ? try t.vector(p + "attn_k_norm.weight", c.headDimension) : nil,
                postAttentionNorm: c.hasPostNorms ? try t.vector(p + "post_attention_norm.weight", c.embeddingLength) : nil,
                feedForwardNorm: try t.vector(p + "ffn_norm.weight", c.embeddingLength),
                gate: try t.productMatrix(p + "ffn_gate.weight", rows: c.feedForwardLength, cols: c.embeddingLength),
                up: try t.productMatrix(p + "ffn_up.weight", rows: c.feedForwardLength, cols: c.embeddingLength),
                down: try t.productMatrix(p + "ffn_down.weight", rows: c.embeddingLength, cols: c.feedForwardLength),
                postFeedForwardNorm: c.hasPostNorms ? try t.vector(p + "post_ffw_norm.weight", c.embeddingLength) : nil))
        }
        self.layers = layers
        outputNorm = try t.vector("output_norm.weight", c.embeddingLength)
    }
}

/// Looks tensors up by name and checks them, with errors that name the
/// file, the tensor and what was expected.
struct TensorLookup {
    let file: GGUFFile

    func required(_ name: String) throws -> GGUFTensor {
        guard let tensor = file.tensor(named: name) else {
            throw HydraError.invalidModel("\(file.path): tensor \(name) is missing")
        }
        return tensor
    }

    /// A weight matrix of `rows` × `cols` (ggml shape [cols, rows]).
    func matrix(_ name: String, rows: Int, cols: Int) throws -> QuantizedMatrix {
        try matrix(required(name), rows: rows, cols: cols)
    }

    func matrix(_ tensor: GGUFTensor, rows: Int, cols: Int) throws -> QuantizedMatrix {
        guard tensor.shape == [cols, rows] else {
            throw HydraError.invalidModel(
                "\(file.path): tensor \(tensor.name) has shape \(tensor.shape), expected [\(cols), \(rows)]")
        }
        guard QuantizedMatrix.supports(tensor.type) else {
            throw HydraError.invalidModel("\(file.path): tensor \(tensor.name) has type \(tensor.type.name), which hydra cannot multiply")
        }
        return try QuantizedMatrix(tensor)
    }

    /// A matrix the model multiplies by, kept repacked where its type has a
    /// faster layout on this CPU (`QuantizedMatrix.repackedForProducts`).
    /// The products then read only the copy, so the mapped rows leave memory
    /// until something else (an embedding lookup, a head builder) reads them.
    func productMatrix(_ tensor: GGUFTensor, rows: Int, cols: Int) throws -> QuantizedMatrix {
        let matrix = try matrix(tensor, rows: rows, cols: cols).repackedForProducts()
        if matrix.repacked != nil { file.release(tensor) }
        return matrix
    }

    func productMatrix(_ name: String, rows: Int, cols: Int) throws -> QuantizedMatrix {
        try productMatrix(required(name), rows: rows, cols: cols)
    }

    /// An F32 vector of `count` elements.
    func vector(_ name: String, _ count: Int) throws -> WeightVector {
        try vector(required(name), count)
    }

    func optionalVector(_ name: String, _ count: Int) throws -> WeightVector? {
        guard let tensor = file.tensor(named: name) else { return nil }
        return try vector(tensor, count)
    }

    private func vector(_ tensor: GGUFTensor, _ count: Int) throws -> WeightVector {
        guard tensor.shape == [count] else {
            throw HydraError.invalidModel(
                "\(file.path): tensor \(tensor.name) has shape \(tensor.shape), expected [\(count)]")
        }
        guard tensor.type == .f32 else {
            throw HydraError.invalidModel("\(file.path): tensor \(tensor.name) has type \(tensor.type.name), expected F32")
        }
        guard tensor.byteCount >= count * 4, Int(bitPattern: tensor.data) % 4 == 0 else {
            throw HydraError.invalidModel("\(file.path): tensor \(tensor.name) is truncated or misaligned")
        }
        return WeightVector(values: tensor.data.assumingMemoryBound(to: Float.self), count: count)
    }
}
