import Foundation

/// `hydra quantize` and `hydra heads quantize`: a GGUF file re-encoded
/// tensor by tensor, as `llama-quantize IN OUT TYPE` writes it (no
/// importance matrix): the same tensor types (the mix rules of
/// QuantizationMix), tensor order, metadata and alignment, and the same
/// bytes (WeightQuantizer is ggml's reference quantizers, bit for bit).
/// The output is streamed through GGUFStreamWriter (a temporary file,
/// renamed into place when complete).
public enum GGUFQuantizer {
    /// What a quantization wrote.
    public struct Result: Sendable {
        public let path: String
        public let tensorCount: Int
        /// Tensors written in a new type.
        public let quantized: Int
        public let inputBytes: Int
        public let outputBytes: Int
        /// Output type of each tensor, by name.
        public let types: [String: GGMLType]
    }

    /// Floats converted at a time (64 MB): big tensors are done in slabs of rows.
    static let slabFloats = 16 << 20

    /// Quantizes the model in `input` into `output` as `llama-quantize input
    /// output TYPE` does. A tensor already quantized is converted only with
    /// `allowRequantize` (llama-quantize's `--allow-requantize`).
    public static func quantizeModel(input: String, output: String, type: QuantizationType, allowRequantize: Bool = false,
                                     pool: ThreadPool? = nil, progress: (Int, Int) -> Void = { _, _ in }) throws -> Result {
        let file = try GGUFFile(path: input)
        let plan = try modelPlan(file, type: type)
        return try write(file: file, output: output, plan: plan, allowRequantize: allowRequantize, pool: pool,
                         progress: progress)
    }

    /// What a quantized file holds: its metadata, and each input tensor with
    /// its output type and shape, in output order.
    struct Plan {
        let metadata: [(key: String, value: GGUFValue)]
        let tensors: [GGUFTensor]
        let plans: [GGUFTensorPlan]

        init(metadata: [(key: String, value: GGUFValue)], tensors: [GGUFTensor], types: [String: GGMLType]) {
            self.metadata = metadata
            self.tensors = tensors
            plans = tensors.map { t in
                GGUFTensorPlan(name: t.name, type: types[t.name] ?? t.type,
                               shape: Array(t.shape.prefix(QuantizationMix.dimensions(t.shape))))
            }
        }
    }

    /// llama-quantize's output for a model: its metadata less the split keys,
    /// with general.quantization_version and general.file_type moved to the
    /// end (gguf_set_val removes a key and appends it); tensors in
    /// QuantizationMix's order and types.
    static func modelPlan(_ file: GGUFFile, type: QuantizationType) throws -> Plan {
        guard !HeadFile.isHead(file) else {
            throw HydraError.invalidInput("\(file.path) is a head file: quantize it with `hydra heads quantize`")
        }
        guard let arch = file.architecture else { throw HydraError.invalidModel("\(file.path): general.architecture is missing") }
        guard let layers = file.int("\(arch).block_count") else {
            throw HydraError.invalidModel("\(file.path): \(arch).block_count is missing")
        }
        let dropped: Set<String> = ["general.quantization_version", "general.file_type", "split.no", "split.count",
                                    "split.tensors.count"]
        var meta: [(key: String, value: GGUFValue)] = file.metadataKeys.filter { !dropped.contains($0) }.map { ($0, file.metadata[$0]!) }
        meta.append(("general.quantization_version", .uint32(QuantizationType.quantizationVersion)))
        meta.append(("general.file_type", .uint32(type.fileType)))
        let inputs = file.tensors.map { QuantizationInput(name: $0.name, type: $0.type, shape: $0.shape) }
        let types = QuantizationMix.types(for: inputs, type: type, layers: layers)
        let order = QuantizationMix.ordered(inputs).map { file.tensor(named: $0.name)! }
        return Plan(metadata: meta, tensors: order, types: types)
    }

    /// Quantizes a head file's tables (`token_embd.weight`, `output.weight`;
    /// a recipe head's stored output table) with the mix rules of `type`,
    /// keeping its metadata and every other tensor as they are. Heads are
    /// re-quantized freely: their tables may be stored in any type.
    public static func quantizeHead(input: String, output: String, type: QuantizationType, pool: ThreadPool? = nil,
                                    progress: (Int, Int) -> Void = { _, _ in }) throws -> Result {
        let file = try GGUFFile(path: input)
        guard HeadFile.isHead(file) else {
            throw HydraError.invalidInput("\(input) is not a head file (no \(HeadKeys.formatVersion)): quantize a model with `hydra quantize`")
        }
        let meta: [(key: String, value: GGUFValue)] = file.metadataKeys.map { ($0, file.metadata[$0]!) }
        let inputs = file.tensors.map { QuantizationInput(name: $0.name, type: $0.type, shape: $0.shape) }
        var types = QuantizationMix.types(for: inputs, type: type, layers: 0)
        for t in file.tensors where t.name != "token_embd.weight" && t.name != "output.weight" { types[t.name] = t.type }
        return try write(file: file, output: output, plan: Plan(metadata: meta, tensors: file.tensors, types: types),
                         allowRequantize: true, pool: pool, progress: progress)
    }

    static func write(file: GGUFFile, output: String, plan: Plan, allowRequantize: Bool, pool: ThreadPool?,
                      progress: (Int, Int) -> Void) throws -> Result {
        for (t, p) in zip(plan.tensors, plan.plans) where p.type != t.type {
            if t.type.blockElements > 1 && !allowRequantize {
                throw HydraError.invalidInput("\(file.path): tensor '\(t.name)' is \(t.type.name): requantizing is disabled (--allow-requantize)")
            }
            try checkConvertible(t, to: p.type)
        }
        let writer: GGUFStreamWriter
        do {
            writer = try GGUFStreamWriter(path: output, metadata: plan.metadata, tensors: plan.plans, alignment: file.alignment)
        } catch let e as GGUFError {
            throw HydraError.invalidInput(e.description)
        }
        let total = writer.totalBytes
        progress(writer.writtenBytes, total)
        var quantized = 0
        var buffers = Buffers()
        for (t, p) in zip(plan.tensors, plan.plans) {
            if p.type != t.type { quantized += 1 }
            try encode(t, as: p.type, pool: pool, buffers: &buffers) { bytes in
                try writer.write(bytes)
                progress(writer.writtenBytes, total)
            }
        }
        try writer.finish()
        return Result(path: output, tensorCount: plan.tensors.count, quantized: quantized, inputBytes: file.fileSize,
                      outputBytes: total, types: Dictionary(uniqueKeysWithValues: plan.plans.map { ($0.name, $0.type) }))
    }

    static func checkConvertible(_ t: GGUFTensor, to type: GGMLType) throws {
        guard type != t.type else { return }
        try WeightQuantizer.check(rowLength: t.shape[0], type: type)
        guard [.f32, .f16, .bf16, .q4_0, .q4_1, .q5_0, .q5_1, .q8_0, .q2_K, .q3_K, .q4_K, .q5_K, .q6_K].contains(t.type) else {
            throw HydraError.invalidInput("tensor '\(t.name)' is \(t.type.name), which hydra cannot read as floats")
        }
    }

    /// Reusable slab buffers.
    struct Buffers {
        var floats: [Float] = []
        var encoded: [UInt8] = []
    }

    /// Passes the bytes of `t` in `type` to `sink`, slab by slab (its own
    /// bytes when the type is unchanged).
    static func encode(_ t: GGUFTensor, as type: GGMLType, pool: ThreadPool?, buffers: inout Buffers,
                       sink: (UnsafeRawBufferPointer) throws -> Void) throws {
        if type == t.type {
            var done = 0
            let piece = 64 << 20
            while done < t.byteCount {
                let n = min(piece, t.byteCount - done)
                try sink(UnsafeRawBufferPointer(start: t.data + done, count: n))
                done += n
            }
            return
        }
        try checkConvertible(t, to: type)
        let rowLength = t.shape[0]
        let rows = t.rows
        let slabRows = max(1, min(rows, slabFloats / rowLength))
        let inRowBytes = t.type.byteCount(elements: rowLength)!
        let outRowBytes = type.byteCount(elements: rowLength)!
        if buffers.floats.count < slabRows * rowLength { buffers.floats = [Float](repeating: 0, count: slabRows * rowLength) }
        if buffers.encoded.count < slabRows * outRowBytes { buffers.encoded = [UInt8](repeating: 0, count: slabRows * outRowBytes) }
        var row = 0
        while row < rows {
            let n = min(slabRows, rows - row)
            let src = t.data + row * inRowBytes
            try buffers.floats.withUnsafeMutableBufferPointer { fb in
                try WeightQuantizer.dequantize(src, type: t.type, count: n * rowLength, into: fb.baseAddress!)
                try buffers.encoded.withUnsafeMutableBytes { eb in
                    let out = UnsafeMutableRawBufferPointer(rebasing: eb[0..<(n * outRowBytes)])
                    try WeightQuantizer.quantize(UnsafeBufferPointer(rebasing: fb[0..<(n * rowLength)]), rowLength: rowLength,
                                                 as: type, into: out, pool: pool)
                    try sink(UnsafeRawBufferPointer(out))
                }
            }
            row += n
        }
    }

    /// The bytes of `t` in `type`.
    static func encoded(_ t: GGUFTensor, as type: GGMLType, pool: ThreadPool?) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(type.byteCount(elements: t.elementCount) ?? 0)
        var buffers = Buffers()
        try encode(t, as: type, pool: pool, buffers: &buffers) { out.append(contentsOf: $0) }
        return out
    }
}
