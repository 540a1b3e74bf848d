import Foundation

/// The transformer architectures hydra runs (GGUF `general.architecture`).
public enum Architecture: String, Sendable, CaseIterable {
    case llama
    case qwen2
    case gemma3
}

/// How RoPE pairs the dimensions of a head (ggml's rope modes).
public enum RopeStyle: Int32, Sendable {
    /// Neighbours (2i, 2i+1): llama.cpp's converter permutes llama Q/K for it.
    case normal = 0
    /// Halves (i, i + n/2): GPT-NeoX style, used by Qwen2 and Gemma 3.
    case neox = 2
}

/// The activation of the gated feed-forward network.
public enum FeedForwardActivation: Sendable {
    /// silu(gate) · up.
    case swiglu
    /// gelu_tanh(gate) · up.
    case geglu
}

/// A transformer's hyperparameters, read from GGUF metadata the way
/// llama.cpp reads them for each architecture.
public struct ModelConfig: Sendable, Equatable {
    public let architecture: Architecture
    public let vocabularySize: Int
    public let embeddingLength: Int
    public let layerCount: Int
    public let headCount: Int
    public let kvHeadCount: Int
    /// Elements of one query/key head (also of a value head: hydra requires equal sizes).
    public let headDimension: Int
    public let feedForwardLength: Int
    /// The context length the model was trained with.
    public let trainedContextLength: Int
    public let rmsEpsilon: Float
    /// Dimensions of each head that RoPE rotates.
    public let ropeDimensions: Int
    public let ropeStyle: RopeStyle
    /// RoPE base of the global (full attention) layers.
    public let ropeBase: Float
    /// RoPE base of the sliding-window layers.
    public let ropeBaseSliding: Float
    /// The sliding window (positions a query sees, itself included), or 0.
    public let slidingWindow: Int
    /// Per layer: whether it attends over the sliding window only.
    public let slidingLayers: [Bool]
    /// Multiplies the query-key scores (applied to Q before the f16 product
    /// when `scalesQueryFirst`, as Gemma 3 does, else in the softmax).
    public let attentionScale: Float
    public let scalesQueryFirst: Bool
    /// Multiplies the token embeddings (sqrt(n_embd) for Gemma, else 1).
    public let embeddingScale: Float
    /// Final logit soft-capping (cap · tanh(logit / cap)), or nil.
    public let finalLogitSoftcap: Float?
    public let activation: FeedForwardActivation
    /// Q and K RMS norms per head (Gemma 3).
    public let hasQKNorm: Bool
    /// RMS norms after attention and after the FFN (Gemma 3).
    public let hasPostNorms: Bool

    /// Dimensions of all query heads together.
    public var queryLength: Int { headCount * headDimension }
    /// Dimensions of all key (or value) heads together.
    public var kvLength: Int { kvHeadCount * headDimension }

    /// Reads the configuration of `file`; throws for an unknown architecture
    /// or missing/inconsistent hyperparameters.
    public init(file: GGUFFile) throws {
        guard let archName = file.architecture else {
            throw HydraError.invalidModel("\(file.path): no general.architecture in the metadata")
        }
        guard let arch = Architecture(rawValue: archName) else {
            let known = Architecture.allCases.map(\.rawValue).joined(separator: ", ")
            throw HydraError.invalidModel("\(file.path): architecture '\(archName)' is not supported (hydra runs \(known))")
        }
        func required(_ key: String) throws -> Int {
            guard let v = file.int("\(archName).\(key)") else {
                throw HydraError.invalidModel("\(file.path): metadata \(archName).\(key) is missing")
            }
            guard v > 0 else { throw HydraError.invalidModel("\(file.path): \(archName).\(key) = \(v) must be positive") }
            return v
        }
        func optionalFloat(_ key: String) -> Float? { file.float("\(archName).\(key)") }

        architecture = arch
        embeddingLength = try required("embedding_length")
        layerCount = try required("block_count")
        headCount = try required("attention.head_count")
        kvHeadCount = file.int("\(archName).attention.head_count_kv") ?? headCount
        feedForwardLength = try required("feed_forward_length")
        trainedContextLength = file.int("\(archName).context_length") ?? 2048
        guard let eps = optionalFloat("attention.layer_norm_rms_epsilon") else {
            throw HydraError.invalidModel("\(file.path): metadata \(archName).attention.layer_norm_rms_epsilon is missing")
        }
        rmsEpsilon = eps

        guard embeddingLength % headCount == 0 || file.int("\(archName).attention.key_length") != nil else {
            throw HydraError.invalidModel("\(file.path): embedding length \(embeddingLength) is not a multiple of \(headCount) heads")
        }
        let keyLength = file.int("\(archName).attention.key_length") ?? embeddingLength / headCount
        let valueLength = file.int("\(archName).attention.value_length") ?? embeddingLength / headCount
        guard keyLength == valueLength, keyLength > 0 else {
            throw HydraError.invalidModel("\(file.path): key length \(keyLength) ≠ value length \(valueLength) is not supported")
        }
        guard kvHeadCount > 0, headCount % kvHeadCount == 0 else {
            throw HydraError.invalidModel("\(file.path): \(headCount) heads cannot share \(kvHeadCount) KV heads")
        }
        headDimension = keyLength
        ropeDimensions = file.int("\(archName).rope.dimension_count") ?? keyLength
        guard ropeDimensions > 0, ropeDimensions <= keyLength, ropeDimensions % 2 == 0 else {
            throw HydraError.invalidModel("\(file.path): RoPE over \(ropeDimensions) of \(keyLength) dimensions is not supported")
        }
        ropeBase = optionalFloat("rope.freq_base") ?? 10000
        finalLogitSoftcap = optionalFloat("final_logit_softcapping").flatMap { $0 > 0 ? $0 : nil }

        if let vocab = file.int("\(archName).vocab_size") {
            vocabularySize = vocab
        } else if let tokens = file.metadata["tokenizer.ggml.tokens"], case .array(let a) = tokens {
            vocabularySize = a.values.count
        } else {
            vocabularySize = file.tensor(named: "token_embd.weight")?.rows ?? 0
        }

        switch arch {
        case .llama, .qwen2:
            ropeStyle = arch == .llama ? .normal : .neox
            ropeBaseSliding = ropeBase
            slidingWindow = 0
            slidingLayers = Array(repeating: false, count: layerCount)
            attentionScale = optionalFloat("attention.scale").flatMap { $0 != 0 ? $0 : nil }
                ?? 1 / Float(headDimension).squareRoot()
            scalesQueryFirst = false
            embeddingScale = 1
            activation = .swiglu
            hasQKNorm = false
            hasPostNorms = false
        case .gemma3:
            ropeStyle = .neox
            let window = file.int("gemma3.attention.sliding_window") ?? 0
            slidingWindow = max(0, window)
            ropeBaseSliding = optionalFloat("rope.freq_base_swa") ?? 10000
            if window > 0 {
                // llama.cpp: an explicit per-layer array, else a period
                // (default 6) whose last layer is global.
                if let flags = file.metadata["gemma3.attention.sliding_window_pattern"].flatMap(Self.boolArray) {
                    guard flags.count >= layerCount else {
                        throw HydraError.invalidModel("\(file.path): sliding_window_pattern has \(flags.count) entries for \(layerCount) layers")
                    }
                    slidingLayers = Array(flags.prefix(layerCount))
                } else {
                    let period = file.int("gemma3.attention.sliding_window_pattern") ?? 6
                    slidingLayers = (0..<layerCount).map { period == 0 || $0 % period < period - 1 }
                }
            } else {
                slidingLayers = Array(repeating: false, count: layerCount)
            }
            // llama.cpp (gemma_pytorch): 1/sqrt(head dim), except the 27B
            // (62 layers), which uses 1/sqrt(n_embd / n_head).
            attentionScale = layerCount == 62
                ? 1 / Float(embeddingLength / headCount).squareRoot()
                : 1 / Float(headDimension).squareRoot()
            scalesQueryFirst = true
            embeddingScale = Float(embeddingLength).squareRoot()
            activation = .geglu
            hasQKNorm = true
            hasPostNorms = true
        }
        guard vocabularySize > 0 else {
            throw HydraError.invalidModel("\(file.path): the vocabulary size is unknown")
        }
    }

    private static func boolArray(_ value: GGUFValue) -> [Bool]? {
        guard case .array(let a) = value else { return nil }
        return a.values.map { v -> Bool in
            if case .bool(let b) = v { return b }
            return (v.intValue ?? 0) != 0
        }
    }
}
