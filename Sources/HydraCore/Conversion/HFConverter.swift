import Foundation

/// `hydra convert`: a Hugging Face safetensors checkpoint to GGUF, written
/// as llama.cpp's `convert_hf_to_gguf.py` writes it (tensor names, the
/// llama Q/K permutation, Gemma's norm + 1, F32 norms and 1-D tensors,
/// metadata and tokenizer keys), one tensor in memory at a time.
///
/// Architectures: LlamaForCausalLM, MistralForCausalLM, Qwen2ForCausalLM,
/// Gemma3ForCausalLM (text only), and LlamaHydraForCausalLM (METHODS.md):
/// its source-side rows and `source_tokenizer/` become the body's native
/// head (so llama.cpp opens `model.gguf`), its new-language rows a head
/// file in `heads/` beside it.
public enum HFConverter {
    /// The tensor type of the converted matrices (`--type`).
    public enum OutputType: String, Sendable, CaseIterable {
        case f32, f16, bf16, q8_0
        /// llama-quantize's types: the F32 conversion quantized as
        /// `llama-quantize` would quantize it (GGUFQuantizer's mix rules and
        /// quantizers).
        case q4_0, q4_1, q5_0, q5_1, q4_k_s, q4_k_m, q5_k_s, q5_k_m, q6_k

        /// Parses a type name (q4_k and q5_k: q4_k_m and q5_k_m, as llama-quantize).
        public init?(name: String) {
            let n = name.lowercased()
            switch n {
            case "q4_k": self = .q4_k_m
            case "q5_k": self = .q5_k_m
            default: self.init(rawValue: n)
            }
        }

        /// The llama-quantize type whose mix rules pick the tensor types, or
        /// nil for the plain types (every matrix in one type, as gguf-py writes).
        var mix: QuantizationType? {
            switch self {
            case .f32, .f16, .bf16, .q8_0: nil
            default: QuantizationType(rawValue: rawValue)
            }
        }

        var ggml: GGMLType {
            switch self {
            case .f32: .f32
            case .f16: .f16
            case .bf16: .bf16
            case .q8_0: .q8_0
            default: .f32
            }
        }

        /// `general.file_type` (llama_ftype).
        var fileType: UInt32 {
            switch self {
            case .f32: 0
            case .f16: 1
            case .q8_0: 7
            case .bf16: 32
            default: mix!.fileType
            }
        }
    }

    public static let supportedArchitectures = ["LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM",
                                                "Gemma3ForCausalLM", "LlamaHydraForCausalLM"]

    /// What a conversion wrote.
    public struct Result: Sendable {
        public let modelPath: String
        public let headPath: String?
        public let tensorCount: Int
        public let bytes: Int
    }

    /// One output tensor: where its floats come from and how they change.
    struct Source {
        var plan: GGUFTensorPlan
        let tensor: SafetensorsTensor
        /// First row and row count taken from the tensor (whole tensor by default).
        var rows: Range<Int>? = nil
        var permuteHeads: Int? = nil
        var addOne = false
    }

    /// Converts the checkpoint in `directory` into `outputDirectory/model.gguf`.
    /// - Parameters:
    ///   - language: the new-language head's BCP-47 code (LlamaHydraForCausalLM only).
    ///   - progress: bytes written so far and the total, after each piece.
    public static func convert(directory: String, outputDirectory: String, type: OutputType = .f16,
                               language: String? = nil,
                               progress: (Int, Int) -> Void = { _, _ in }) throws -> Result {
        let ckpt = try SafetensorsCheckpoint(directory: directory)
        let config = ckpt.config
        guard let arch = (config["architectures"] as? [String])?.first else {
            throw CheckpointError("\(directory)/config.json: no architectures entry")
        }
        guard supportedArchitectures.contains(arch) else {
            throw CheckpointError("\(directory): architecture \(arch) is not supported (hydra converts \(supportedArchitectures.joined(separator: ", ")))")
        }
        let hydra = arch == "LlamaHydraForCausalLM"
        if hydra {
            guard let language, !language.isEmpty else {
                throw CheckpointError("\(arch): give the new-language head's language with --language (e.g. tt)")
            }
        }
        let ggufArch: String = switch arch {
        case "Qwen2ForCausalLM": "qwen2"
        case "Gemma3ForCausalLM": "gemma3"
        default: "llama"
        }
        let fm = FileManager.default
        try? fm.createDirectory(atPath: outputDirectory, withIntermediateDirectories: true)
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: outputDirectory, isDirectory: &isDir), isDir.boolValue else {
            throw CheckpointError("\(outputDirectory): cannot create the output directory")
        }

        // Hyperparameters.
        func int(_ keys: String...) -> Int? {
            for k in keys { if let v = (config[k] as? NSNumber)?.intValue { return v } }
            return nil
        }
        func double(_ k: String) -> Double? { (config[k] as? NSNumber)?.doubleValue }
        func need(_ k: String) throws -> Int {
            guard let v = int(k), v > 0 else { throw CheckpointError("\(directory)/config.json: \(k) is missing") }
            return v
        }
        let layers = try need("num_hidden_layers")
        let hidden = try need("hidden_size")
        let heads = try need("num_attention_heads")
        let kvHeads = int("num_key_value_heads") ?? heads
        let ropeParams = config["rope_parameters"] as? [String: Any]
        let fullRope = (ropeParams?["full_attention"] as? [String: Any]) ?? ropeParams
        let ropeTheta = (fullRope?["rope_theta"] as? NSNumber)?.doubleValue ?? double("rope_theta")

        // Tokenizer (the source side for a Hydra checkpoint).
        let tokenizerDir = hydra ? directory + "/source_tokenizer" : directory
        let outputVocab = int("output_vocab_size")
        let inputVocab = int("input_vocab_size")
        var sourceVocab: Int? = int("vocab_size")
        if hydra {
            guard let inputVocab, let outputVocab, inputVocab > outputVocab else {
                throw CheckpointError("\(directory)/config.json: LlamaHydraForCausalLM needs input_vocab_size > output_vocab_size")
            }
            sourceVocab = inputVocab - outputVocab
        }
        let tokenizer = try tokenizerMetadata(directory: tokenizerDir, architecture: arch, vocabularySize: sourceVocab,
                                              config: config)
        let tokenCount = tokenizer["tokenizer.ggml.tokens"]?.arrayValue?.values.count ?? 0

        // Metadata.
        var meta: [(key: String, value: GGUFValue)] = [
            ("general.architecture", .string(ggufArch)),
            ("general.type", .string("model")),
            ("general.name", .string((directory as NSString).lastPathComponent)),
        ]
        func u32(_ k: String, _ v: Int?) { if let v { meta.append(("\(ggufArch).\(k)", .uint32(UInt32(v)))) } }
        func f32(_ k: String, _ v: Double?) { if let v { meta.append(("\(ggufArch).\(k)", .float32(Float(v)))) } }
        u32("block_count", layers)
        if ggufArch == "gemma3" {
            u32("context_length", int("max_position_embeddings") ?? 131072)
        } else {
            u32("context_length", int("max_position_embeddings"))
        }
        u32("embedding_length", hidden)
        u32("feed_forward_length", int("intermediate_size"))
        u32("attention.head_count", heads)
        u32("attention.head_count_kv", kvHeads)
        if ggufArch == "gemma3" {
            f32("rope.freq_base", ropeTheta ?? 1_000_000)
            let swa = ((ropeParams?["sliding_attention"] as? [String: Any])?["rope_theta"] as? NSNumber)?.doubleValue
                ?? double("rope_local_base_freq")
            f32("rope.freq_base_swa", swa)
            f32("attention.layer_norm_rms_epsilon", double("rms_norm_eps") ?? 1e-6)
            u32("attention.key_length", int("head_dim") ?? 256)
            u32("attention.value_length", int("head_dim") ?? 256)
            if let cap = double("final_logit_softcapping"), cap != 0 { f32("final_logit_softcapping", cap) }
            if int("sliding_window_pattern") != 1 { u32("attention.sliding_window", int("sliding_window")) }
        } else {
            f32("rope.freq_base", ropeTheta)
            f32("attention.layer_norm_rms_epsilon", double("rms_norm_eps"))
            u32("attention.key_length", int("head_dim"))
            u32("attention.value_length", int("head_dim"))
        }
        if let rt = fullRope?["rope_type"] as? String, rt == "linear", let f = (fullRope?["factor"] as? NSNumber)?.doubleValue {
            meta.append(("\(ggufArch).rope.scaling.type", .string("linear")))
            f32("rope.scaling.factor", f)
        } else if let rt = fullRope?["rope_type"] as? String, rt != "default" {
            throw CheckpointError("\(directory)/config.json: RoPE scaling '\(rt)' is not supported")
        }
        meta.append(("general.file_type", .uint32(type.fileType)))
        if ggufArch == "llama" {
            u32("vocab_size", hydra ? sourceVocab : int("vocab_size"))
            u32("rope.dimension_count", int("head_dim") ?? hidden / heads)
        }
        meta.append(("general.quantization_version", .uint32(2)))
        meta += tokenizer.entries

        // Tensors.
        var sources: [Source] = []
        var newInput: SafetensorsTensor?
        var newOutput: SafetensorsTensor?
        for t in ckpt.tensors {
            if t.name.hasSuffix(".rotary_emb.inv_freq") { continue }
            guard let gname = ggufName(t.name, architecture: ggufArch) else {
                throw CheckpointError("\(t.path): tensor '\(t.name)' is not part of a \(arch) (unexpected name)")
            }
            guard t.shape.count >= 1 else { throw CheckpointError("\(t.path): tensor '\(t.name)' is a scalar") }
            var rows: Range<Int>? = nil
            var shape = t.shape
            if hydra && gname == "token_embd.weight" {
                guard shape.count == 2, shape[0] == inputVocab!, shape[1] == hidden else {
                    throw CheckpointError("\(t.path): tensor '\(t.name)' has shape \(shape), expected [\(inputVocab!), \(hidden)]")
                }
                newInput = t
                rows = outputVocab!..<inputVocab!
                shape[0] = inputVocab! - outputVocab!
            } else if hydra && gname == "output.weight" {
                guard shape.count == 2, shape[0] == outputVocab!, shape[1] == hidden else {
                    throw CheckpointError("\(t.path): tensor '\(t.name)' has shape \(shape), expected [\(outputVocab!), \(hidden)]")
                }
                newOutput = t
                continue
            } else if ggufArch == "gemma3" && gname == "token_embd.weight" && shape[0] > tokenCount && tokenCount > 0 {
                rows = 0..<tokenCount  // the converter drops rows past the tokenizer
                shape[0] = tokenCount
            }
            try checkShape(gname, shape, hidden: hidden, heads: heads, kvHeads: kvHeads, config: config,
                           path: "\(t.path): tensor '\(t.name)'")
            let ne = Array(shape.reversed())
            var out: GGMLType = type.ggml
            if ne.count <= 1 || gname.hasSuffix("_norm.weight") || !gname.hasSuffix(".weight") {
                out = .f32
            } else if ne[0] % out.blockElements != 0 {
                out = .f16
            }
            var s = Source(plan: GGUFTensorPlan(name: gname, type: out, shape: ne), tensor: t, rows: rows)
            if ggufArch == "llama" {
                if t.name.hasSuffix("q_proj.weight") || t.name.hasSuffix("q_proj.bias") { s.permuteHeads = heads }
                if t.name.hasSuffix("k_proj.weight") || t.name.hasSuffix("k_proj.bias") { s.permuteHeads = kvHeads }
            }
            if ggufArch == "gemma3" && t.name.hasSuffix("norm.weight") { s.addOne = true }
            sources.append(s)
        }
        for required in ["token_embd.weight", "output_norm.weight"] where !sources.contains(where: { $0.plan.name == required }) {
            throw CheckpointError("\(directory): tensor \(required) (\(required == "token_embd.weight" ? "model.embed_tokens.weight" : "model.norm.weight")) is missing")
        }
        for l in 0..<layers {
            for part in ["attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down", "attn_norm"]
            where !sources.contains(where: { $0.plan.name == "blk.\(l).\(part).weight" }) {
                throw CheckpointError("\(directory): layer \(l) has no \(part) weight (a shard missing from the index?)")
            }
        }
        if hydra && (newInput == nil || newOutput == nil) {
            throw CheckpointError("\(directory): a LlamaHydraForCausalLM needs model.embed_tokens.weight and lm_head.weight")
        }

        if let mix = type.mix {
            let inputs = sources.map(\.plan)
            let types = QuantizationMix.types(for: inputs, type: mix, layers: layers)
            sources = sources.map { s in
                var s = s
                s.plan = GGUFTensorPlan(name: s.plan.name, type: types[s.plan.name] ?? s.plan.type, shape: s.plan.shape)
                return s
            }
        }
        let modelPath = outputDirectory + "/model.gguf"
        let writer = try GGUFStreamWriter(path: modelPath, metadata: meta, tensors: sources.map(\.plan))
        var headFloats = 0
        if hydra { headFloats = 2 * outputVocab! * hidden * 4 }
        let total = writer.totalBytes + headFloats
        progress(writer.writtenBytes, total)
        let pool = type.mix != nil ? ThreadPool() : nil
        for s in sources {
            let bytes = try encoded(s, pool: pool)
            try bytes.withUnsafeBytes { try writer.write($0) }
            if !hydra || s.plan.name != "token_embd.weight" { ckpt.release(s.tensor) }
            progress(writer.writtenBytes, total)
        }
        var headPath: String? = nil
        if hydra, let newInput, let newOutput, let language {
            // The head is written before the body is renamed into place, but it
            // needs the body's fingerprint: read it from the finished temporary file.
            let embedding = rowsAsFloats(newInput, rows: 0..<outputVocab!)
            let output = newOutput.floats()
            let headsDir = outputDirectory + "/heads"
            try FileManager.default.createDirectory(atPath: headsDir, withIntermediateDirectories: true)
            let name = "\(language)-\((directory as NSString).lastPathComponent)"
            let path = headsDir + "/\(name).gguf"
            try writer.finish()
            do {
                let body = try Body(file: GGUFFile(path: modelPath))
                let newTokenizer = try tokenizerMetadata(directory: directory, architecture: arch, vocabularySize: outputVocab,
                                                         config: config)
                let info = HeadInfo(name: name, language: language, body: HeadInfo.BodyFit(body: body), output: .separate,
                                    provenance: HeadInfo.Provenance(method: "convert", source: directory,
                                                                    notes: "new-language rows of a LlamaHydraForCausalLM"))
                if let mix = type.mix {
                    // The head's tables by the same mix as the body's (F32 first).
                    let f32Path = headsDir + "/.\(name).f32.gguf"
                    defer { unlink(f32Path) }
                    try HeadFileWriter.writeDense(info: info, tokenizer: newTokenizer, embedding: embedding, output: output,
                                                  width: hidden, tableType: .f32, to: f32Path)
                    _ = try GGUFQuantizer.quantizeHead(input: f32Path, output: path, type: mix, pool: pool)
                } else {
                    let headType: GGMLType = type == .f32 ? .f32 : (type == .f16 || type == .bf16 ? .f16 : .q8_0)
                    try HeadFileWriter.writeDense(info: info, tokenizer: newTokenizer, embedding: embedding, output: output,
                                                  width: hidden, tableType: headType, to: path)
                }
            } catch {
                unlink(modelPath)
                throw error
            }
            headPath = path
            progress(total, total)
        } else {
            try writer.finish()
        }
        return Result(modelPath: modelPath, headPath: headPath, tensorCount: sources.count, bytes: writer.totalBytes)
    }

    /// The GGUF tokenizer keys of the tokenizer in `directory`.
    static func tokenizerMetadata(directory: String, architecture: String, vocabularySize: Int?,
                                  config: [String: Any]) throws -> TokenizerMetadata {
        let llamaFamily = ["LlamaForCausalLM", "MistralForCausalLM", "LlamaHydraForCausalLM"].contains(architecture)
        let gemma = architecture == "Gemma3ForCausalLM"
        // LlamaModel.set_vocab, Gemma3Model.set_vocab: a SentencePiece
        // tokenizer.model first, else tokenizer.json.
        let sentencePiece = (llamaFamily || gemma) && FileManager.default.fileExists(atPath: directory + "/tokenizer.model")
        var t = sentencePiece
            ? try SentencePieceImport.metadata(directory: directory, vocabularySize: vocabularySize, config: config)
            : try HFTokenizerImport.bytePair(directory: directory, vocabularySize: vocabularySize, config: config)
        // Gemma3Model.set_vocab: no space prefix with a SentencePiece model.
        if gemma && sentencePiece { t.entries.append(("tokenizer.ggml.add_space_prefix", .bool(false))) }
        // LlamaModel.set_vocab: tokenizer_config's add_prefix_space.
        if architecture != "Qwen2ForCausalLM",
           let data = FileManager.default.contents(atPath: directory + "/tokenizer_config.json"),
           let tc = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
           let flag = tc["add_prefix_space"] as? Bool, architecture != "Gemma3ForCausalLM" {
            t.entries.insert(("tokenizer.ggml.add_space_prefix", .bool(flag)), at: 0)
        }
        // LlamaModel.set_vocab: "granite small models" (a vocabulary of 49152) add no BOS.
        if llamaFamily, vocabularySize == 49152 {
            // gguf-py overwrites a key where it stands.
            if let i = t.entries.firstIndex(where: { $0.key == "tokenizer.ggml.add_bos_token" }) {
                t.entries[i].value = .bool(false)
            } else {
                t.entries.append(("tokenizer.ggml.add_bos_token", .bool(false)))
            }
        }
        return t
    }

    /// Hugging Face tensor name → llama.cpp's.
    static func ggufName(_ name: String, architecture: String) -> String? {
        switch name {
        case "model.embed_tokens.weight": return "token_embd.weight"
        case "model.norm.weight": return "output_norm.weight"
        case "lm_head.weight": return "output.weight"
        default: break
        }
        let parts = name.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 5, parts[0] == "model", parts[1] == "layers", let l = Int(parts[2]), l >= 0 else { return nil }
        let rest = parts[3...].joined(separator: ".")
        let gemma = architecture == "gemma3"
        let map: [String: String] = [
            "input_layernorm": "attn_norm",
            "post_attention_layernorm": gemma ? "post_attention_norm" : "ffn_norm",
            "pre_feedforward_layernorm": "ffn_norm",
            "post_feedforward_layernorm": "post_ffw_norm",
            "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k", "self_attn.v_proj": "attn_v",
            "self_attn.o_proj": "attn_output",
            "self_attn.q_norm": "attn_q_norm", "self_attn.k_norm": "attn_k_norm",
            "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
        ]
        for suffix in [".weight", ".bias"] where rest.hasSuffix(suffix) {
            let module = String(rest.dropLast(suffix.count))
            guard let g = map[module] else { return nil }
            if !gemma && ["pre_feedforward_layernorm", "post_feedforward_layernorm", "self_attn.q_norm", "self_attn.k_norm"].contains(module) {
                return nil
            }
            return "blk.\(l).\(g)\(suffix)"
        }
        return nil
    }

    /// Checks a tensor's shape (PyTorch order) against the config.
    static func checkShape(_ g: String, _ shape: [Int], hidden: Int, heads: Int, kvHeads: Int, config: [String: Any],
                           path: String) throws {
        let headDim = (config["head_dim"] as? NSNumber)?.intValue ?? hidden / heads
        let ff = (config["intermediate_size"] as? NSNumber)?.intValue
        var want: [Int]? = nil
        let part = g.split(separator: ".").dropFirst(g.hasPrefix("blk.") ? 2 : 0).joined(separator: ".")
        switch part {
        case "attn_q.weight": want = [heads * headDim, hidden]
        case "attn_k.weight", "attn_v.weight": want = [kvHeads * headDim, hidden]
        case "attn_output.weight": want = [hidden, heads * headDim]
        case "attn_q.bias": want = [heads * headDim]
        case "attn_k.bias", "attn_v.bias": want = [kvHeads * headDim]
        case "ffn_gate.weight", "ffn_up.weight": want = ff.map { [$0, hidden] }
        case "ffn_down.weight": want = ff.map { [hidden, $0] }
        case "attn_norm.weight", "ffn_norm.weight", "output_norm.weight", "post_attention_norm.weight",
             "post_ffw_norm.weight": want = [hidden]
        case "attn_q_norm.weight", "attn_k_norm.weight": want = [headDim]
        case "token_embd.weight", "output.weight":
            guard shape.count == 2, shape[1] == hidden else {
                throw CheckpointError("\(path) (\(g)) has shape \(shape); rows of \(hidden) expected")
            }
        default: break
        }
        if let want, want != shape {
            throw CheckpointError("\(path) (\(g)) has shape \(shape), config.json implies \(want)")
        }
    }

    static func rowsAsFloats(_ t: SafetensorsTensor, rows: Range<Int>) -> [Float] {
        let width = t.shape.dropFirst().reduce(1, *)
        let rowBytes = width * t.dtype.byteSize
        let view = SafetensorsTensor(name: t.name, dtype: t.dtype, shape: [rows.count] + Array(t.shape.dropFirst()),
                                     data: t.data + rows.lowerBound * rowBytes, byteCount: rows.count * rowBytes, path: t.path)
        return view.floats()
    }

    /// The encoded bytes of one output tensor.
    static func encoded(_ s: Source, pool: ThreadPool? = nil) throws -> [UInt8] {
        var x = s.rows.map { rowsAsFloats(s.tensor, rows: $0) } ?? s.tensor.floats()
        if let h = s.permuteHeads {
            let rows = s.tensor.shape[0]
            let width = s.tensor.shape.dropFirst().reduce(1, *)
            guard rows % (2 * h) == 0 else {
                throw CheckpointError("\(s.tensor.path): \(s.tensor.name): \(rows) rows are not \(h) heads of pairs")
            }
            let half = rows / h / 2
            var out = [Float](repeating: 0, count: x.count)
            x.withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { dst in
                    for head in 0..<h {
                        for i in 0..<half {
                            for j in 0..<2 {
                                let to = head * 2 * half + i * 2 + j
                                let from = head * 2 * half + j * half + i
                                (dst.baseAddress! + to * width).update(from: src.baseAddress! + from * width, count: width)
                            }
                        }
                    }
                }
            }
            x = out
        }
        if s.addOne { for i in x.indices { x[i] += 1 } }
        return try TensorEncoding.encode(x, as: s.plan.type, rowLength: s.plan.shape[0], pool: pool)
    }
}
