import Foundation

/// A `llama-quantize` file type: the default tensor type and the mix rules
/// that give some tensors more bits (`Q4_K_M`: Q6_K for the output table
/// and for half of the attn_v and ffn_down matrices).
public enum QuantizationType: String, Sendable, CaseIterable {
    case f32, f16, bf16, q4_0, q4_1, q5_0, q5_1, q8_0, q4_k_s, q4_k_m, q5_k_s, q5_k_m, q6_k

    /// Parses a name as llama-quantize does, case-insensitively; `q4_k` and
    /// `q5_k` are llama-quantize's aliases of `q4_k_m` and `q5_k_m`.
    public init(name: String) throws {
        let n = name.lowercased()
        if let t = QuantizationType(rawValue: n) { self = t; return }
        switch n {
        case "q4_k": self = .q4_k_m
        case "q5_k": self = .q5_k_m
        default:
            throw HydraError.invalidInput("unknown quantization type '\(name)' (\(Self.allCases.map(\.rawValue).joined(separator: ", ")), q4_k, q5_k)")
        }
    }

    /// `general.file_type` (llama_ftype).
    public var fileType: UInt32 {
        switch self {
        case .f32: 0
        case .f16: 1
        case .q4_0: 2
        case .q4_1: 3
        case .q8_0: 7
        case .q5_0: 8
        case .q5_1: 9
        case .q4_k_s: 14
        case .q4_k_m: 15
        case .q5_k_s: 16
        case .q5_k_m: 17
        case .q6_k: 18
        case .bf16: 32
        }
    }

    /// The type of the tensors no rule picks another type for.
    public var defaultType: GGMLType {
        switch self {
        case .f32: .f32
        case .f16: .f16
        case .bf16: .bf16
        case .q4_0: .q4_0
        case .q4_1: .q4_1
        case .q5_0: .q5_0
        case .q5_1: .q5_1
        case .q8_0: .q8_0
        case .q4_k_s, .q4_k_m: .q4_K
        case .q5_k_s, .q5_k_m: .q5_K
        case .q6_k: .q6_K
        }
    }

    /// ggml_quantize_chunk's `GGML_QNT_VERSION`.
    public static let quantizationVersion: UInt32 = 2
}

/// One tensor as the mix rules see it: its name, type and shape, as a
/// streamed GGUF file plans it.
public typealias QuantizationInput = GGUFTensorPlan

/// llama.cpp's choice of per-tensor types (`llama_tensor_get_type` in
/// src/llama-quant.cpp) for the dense models hydra runs (no experts, not
/// Falcon, no importance matrix, no overrides), and llama-quantize's tensor
/// order (by layer number, then name).
public enum QuantizationMix {
    /// The tensors in llama-quantize's order: tensors outside the blocks
    /// first, then block by block, by name (bytes) within each.
    public static func ordered(_ tensors: [QuantizationInput]) -> [QuantizationInput] {
        tensors.sorted { a, b in
            let la = layer(of: a.name) ?? -1, lb = layer(of: b.name) ?? -1
            if la != lb { return la < lb }
            return Array(a.name.utf8).lexicographicallyPrecedes(Array(b.name.utf8))
        }
    }

    /// The number after "blk." (sscanf "blk.%d."), if the name starts so.
    static func layer(of name: String) -> Int? {
        guard name.hasPrefix("blk.") else { return nil }
        let digits = name.dropFirst(4).prefix { $0.isASCII && $0.isNumber }
        return Int(digits)
    }

    /// ggml_n_dims: the dimensions up to the last one above 1.
    static func dimensions(_ shape: [Int]) -> Int {
        var n = shape.count
        while n > 1 && shape[n - 1] == 1 { n -= 1 }
        return max(n, 1)
    }

    enum Category { case output, tokenEmbedding, attentionV, attentionK, attentionQ, attentionOutput, ffnUp, ffnGate, ffnDown, other }

    static func category(_ name: String) -> Category {
        if name == "output.weight" { return .output }
        if name == "token_embd.weight" || name == "per_layer_token_embd.weight" { return .tokenEmbedding }
        if name.contains("attn_qkv.weight") || name.contains("attn_kv_b.weight") || name.contains("attn_v.weight") { return .attentionV }
        if name.contains("attn_k.weight") { return .attentionK }
        if name.contains("attn_q.weight") { return .attentionQ }
        if name.contains("attn_output.weight") { return .attentionOutput }
        if name.contains("ffn_up") { return .ffnUp }
        if name.contains("ffn_gate") { return .ffnGate }
        if name.contains("ffn_down") { return .ffnDown }
        return .other
    }

    /// tensor_allows_quantization: matrices named `*weight`, not norms,
    /// gates of experts or the small tables llama.cpp keeps as they are.
    static func allowsQuantization(_ t: QuantizationInput) -> Bool {
        guard dimensions(t.shape) >= 2, t.name.hasSuffix("weight") else { return false }
        let kept = ["_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel", "per_layer_model_proj",
                    "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight", "indexer.q_proj.weight",
                    "time_mix_first.weight", "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight",
                    "time_mix_v0.weight", "time_mix_v1.weight", "time_mix_v2.weight", "time_mix_a0.weight",
                    "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight", "time_mix_g2.weight",
                    "time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight",
                    "attn_rel_b.weight", ".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_", ".rel_pos",
                    ".patch_embd", ".patch_merger", "a.rvq.codebook", "mm.a.code_embd"]
        if kept.contains(where: { t.name.contains($0) }) { return false }
        return t.name != "position_embd.weight" && t.name != "token_types.weight"
    }

    /// The output type of each tensor (by name) for `type`, as llama-quantize
    /// picks them; `layers` is the model's block count (`*.block_count`).
    public static func types(for tensors: [QuantizationInput], type: QuantizationType, layers: Int) -> [String: GGMLType] {
        let ordered = ordered(tensors)
        let attentionV = ordered.filter { category($0.name) == .attentionV }.count
        let tied = !ordered.contains { category($0.name) == .output }
        var iAttentionV = 0, iFFNDown = 0
        func moreBits(_ i: Int, _ n: Int) -> Bool { i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2 }
        let base = type.defaultType
        let quantized = base.blockElements > 1
        var result: [String: GGMLType] = [:]
        for t in ordered {
            guard allowsQuantization(t) else { result[t.name] = t.type; continue }
            var new = base
            guard quantized else { result[t.name] = new; continue }
            let cat = category(t.name)
            if cat == .output || (tied && cat == .tokenEmbedding) {
                if t.shape[0] % base.blockElements != 0 {
                    new = .q8_0
                } else if new != .q8_0 {
                    new = .q6_K
                }
            } else if cat == .attentionV {
                if (type == .q4_k_m || type == .q5_k_m) && moreBits(iAttentionV, attentionV) {
                    new = .q6_K
                } else if type == .q4_k_s && iAttentionV < 4 {
                    new = .q5_K
                }
                iAttentionV += 1
            } else if cat == .ffnDown {
                let i = iFFNDown, n = layers
                if type == .q4_k_m || type == .q5_k_m {
                    if moreBits(i, n) { new = .q6_K }
                } else if type == .q4_k_s && i < n / 8 {
                    new = .q5_K
                }
                iFFNDown += 1
            }
            result[t.name] = fallback(new, rowLength: t.shape[0])
        }
        return result
    }

    /// tensor_type_fallback: a 256-block type for rows that are not whole
    /// blocks becomes a 32-block type, and F16 when even that does not fit.
    static func fallback(_ type: GGMLType, rowLength: Int) -> GGMLType {
        guard rowLength % type.blockElements != 0 else { return type }
        var r: GGMLType
        switch type {
        case .q4_K: r = .q5_0
        case .q5_K: r = .q5_1
        case .q6_K: r = .q8_0
        case .q2_K, .q3_K: r = .q4_0
        default: r = type
        }
        if rowLength % r.blockElements != 0 { r = .f16 }
        return r
    }
}
