import CHydraKernels
import Foundation
import Testing
@testable import HydraCore

/// The SIMD kernels against the portable C ones, and the products against
/// dequantize-then-dot.
@Suite struct QuantKernelTests {
    @Test(arguments: kernelTypes)
    func simdKernelsEqualPortable(type: GGMLType) throws {
        var rng = TestRandom(seed: 0x5eed + UInt64(type.rawValue))
        // An odd number of 32-element blocks reaches the kernels' one-block tails.
        let rows = 45, cols = type.blockElements == 32 ? 1056 : 1024
        let bytes = randomMatrixBytes(type, rows: rows, cols: cols, rng: &rng)
        let pool = ThreadPool(threads: 2)
        try bytes.withUnsafeBytes { raw in
            let m = try QuantizedMatrix(type: type, rows: rows, cols: cols, data: raw.baseAddress!)
            for tokens in [1, 3, 5, 11, 20] {
                let x = rng.activations(tokens * cols, scale: 4)
                let portable = m.multiply(x, tokens: tokens, pool: nil, kernels: .portable)
                let best = m.multiply(x, tokens: tokens, pool: pool, kernels: .best)
                let bitsP = portable.map(\.bitPattern), bitsB = best.map(\.bitPattern)
                #expect(bitsP == bitsB, "\(type.name) tokens=\(tokens)")
                let finite = portable.allSatisfy { $0.isFinite }
                #expect(finite)
            }
        }
    }

    /// Tokens each multiplied as one (several sequences decoded together):
    /// the SIMD kernels that unpack a row once for up to four tokens give
    /// every token the portable one-token bits, for every count of tokens
    /// (groups of four and their leftovers).
    @Test(arguments: kernelTypes)
    func eachTokenEqualsOneTokenProducts(type: GGMLType) throws {
        var rng = TestRandom(seed: 0xeac4 + UInt64(type.rawValue))
        let rows = 19, cols = type.blockElements == 32 ? 1056 : 1024
        let bytes = randomMatrixBytes(type, rows: rows, cols: cols, rng: &rng)
        let pool = ThreadPool(threads: 2)
        try bytes.withUnsafeBytes { raw in
            let m = try QuantizedMatrix(type: type, rows: rows, cols: cols, data: raw.baseAddress!)
            for tokens in 1...9 {
                let x = rng.activations(tokens * cols, scale: 4)
                var each = [Float](repeating: 0, count: tokens * rows)
                m.multiplyEach(x, tokens: tokens, into: &each, pool: pool, kernels: .best)
                for t in 0..<tokens {
                    let alone = m.multiply(Array(x[t * cols..<(t + 1) * cols]), tokens: 1, pool: nil, kernels: .portable)
                    #expect(Array(each[t * rows..<(t + 1) * rows]).map(\.bitPattern) == alone.map(\.bitPattern),
                            "\(type.name) tokens=\(tokens) token \(t)")
                }
            }
        }
    }

    /// Several matrices multiplied each-as-one in one run of the pool
    /// (`hydra_matmul_each_group`, Q/K/V and gate/up of sequences decoded
    /// together) give every part exactly its own `multiplyEach` bits: K
    /// types kept repacked with Q6_K (one activation quantization), and
    /// types of different activation types (each part on its own).
    @Test(arguments: [[GGMLType.q4_K, .q6_K, .q4_K], [.q5_0, .q8_0], [.q4_K, .q8_0, .q4_1]])
    func eachGroupEqualsEachProduct(types: [GGMLType]) throws {
        var rng = TestRandom(seed: 0x6e0)
        let cols = 1024, pool = ThreadPool(threads: 2)
        // Each matrix's blocks in memory of their own, kept until the end.
        var storage: [UnsafeMutableRawPointer] = []
        defer { storage.forEach { $0.deallocate() } }
        let matrices = try types.enumerated().map { i, type in
            let rows = 8 * (5 + 3 * i)
            let bytes = randomMatrixBytes(type, rows: rows, cols: cols, rng: &rng)
            let data = UnsafeMutableRawPointer.allocate(byteCount: bytes.count, alignment: 64)
            storage.append(data)
            data.copyMemory(from: bytes, byteCount: bytes.count)
            return try QuantizedMatrix(type: type, rows: rows, cols: cols, data: data).repackedForProducts()
        }
        for tokens in [2, 5, 9] {
            let x = rng.activations(tokens * cols, scale: 4)
            let outputs = matrices.map { UnsafeMutablePointer<Float>.allocate(capacity: tokens * $0.rows) }
            defer { outputs.forEach { $0.deallocate() } }
            let parts = zip(matrices, outputs).map { m, y in
                hydra_matmul_part(type: Int32(m.type.rawValue), w: m.data, repacked: m.repacked?.bytes,
                                  rows: Int64(m.rows), y: y)
            }
            #expect(hydra_matmul_each_group(pool.raw, parts, Int32(parts.count), Int64(cols), x, Int64(tokens),
                                            KernelMode.best.rawValue) == 0)
            for (m, y) in zip(matrices, outputs) {
                var alone = [Float](repeating: 0, count: tokens * m.rows)
                m.multiplyEach(x, tokens: tokens, into: &alone, pool: pool, kernels: .best)
                let grouped = Array(UnsafeBufferPointer(start: y, count: tokens * m.rows))
                #expect(grouped.map(\.bitPattern) == alone.map(\.bitPattern), "\(m.type.name), \(tokens) tokens")
            }
        }
    }

    /// Q4_K matrices whose row count is a multiple of 8 take ggml's repacked
    /// arithmetic (eight rows at a time for one token, four tokens at a time
    /// for a prompt). SIMD equals portable there too, for one token, a few
    /// tokens (decoding several sequences in throughput mode), a prompt
    /// (with leftover tokens), and tokens each multiplied as one
    /// (multiplyEach); with the rows as in the file, and kept repacked as a
    /// loaded model keeps them (`repackedForProducts`).
    @Test(arguments: [false, true])
    func repackedQ4KSIMDEqualsPortable(kept: Bool) throws {
        var rng = TestRandom(seed: 0x4b58)
        let type = GGMLType.q4_K, rows = 8 * 37, cols = 1536
        let bytes = randomMatrixBytes(type, rows: rows, cols: cols, rng: &rng)
        let pool = ThreadPool(threads: 2)
        try bytes.withUnsafeBytes { raw in
            let plain = try QuantizedMatrix(type: type, rows: rows, cols: cols, data: raw.baseAddress!)
            let m = kept ? plain.repackedForProducts() : plain
            #expect((m.repacked != nil) == (kept && hydra_has_simd_kernels() != 0))
            for tokens in [1, 2, 3, 4, 5, 6, 7, 9, 22] {
                let x = rng.activations(tokens * cols, scale: 4)
                let portable = plain.multiply(x, tokens: tokens, pool: nil, kernels: .portable)
                let best = m.multiply(x, tokens: tokens, pool: pool, kernels: .best)
                #expect(portable.map(\.bitPattern) == best.map(\.bitPattern), "tokens=\(tokens)")
                var each = [Float](repeating: 0, count: tokens * rows)
                m.multiplyEach(x, tokens: tokens, into: &each, pool: pool, kernels: .best)
                // Each token alone, with the one-token arithmetic.
                for t in 0..<tokens {
                    let alone = plain.multiply(Array(x[t * cols..<(t + 1) * cols]), tokens: 1, pool: nil, kernels: .portable)
                    #expect(Array(each[t * rows..<(t + 1) * rows]).map(\.bitPattern) == alone.map(\.bitPattern),
                            "each, token \(t)")
                }
            }
        }
    }

    /// A grouped product (several matrices on one token) whose first part,
    /// 12 rows with no repacked copy, shifts the second part's slices off
    /// its groups of eight: the kept copy still gives the portable bits.
    @Test func groupedSlicesOfKeptRepackedQ4K() throws {
        var rng = TestRandom(seed: 0x4b59)
        let type = GGMLType.q4_K, rows = 8 * 37, cols = 1536, headRows = 12
        let bytes = randomMatrixBytes(type, rows: rows, cols: cols, rng: &rng)
        let pool = ThreadPool(threads: 2)
        try bytes.withUnsafeBytes { raw in
            let plain = try QuantizedMatrix(type: type, rows: rows, cols: cols, data: raw.baseAddress!)
            let head = try QuantizedMatrix(type: type, rows: headRows, cols: cols, data: raw.baseAddress!)
            let m = plain.repackedForProducts()
            let x = rng.activations(cols, scale: 4)
            var first = [Float](repeating: 0, count: headRows), second = [Float](repeating: 0, count: rows)
            first.withUnsafeMutableBufferPointer { y1 in
                second.withUnsafeMutableBufferPointer { y2 in
                    var parts = [
                        hydra_matmul_part(type: Int32(type.rawValue), w: head.data, repacked: nil, rows: Int64(headRows),
                                          y: y1.baseAddress!),
                        hydra_matmul_part(type: Int32(type.rawValue), w: m.data, repacked: m.repacked?.bytes,
                                          rows: Int64(rows), y: y2.baseAddress!),
                    ]
                    #expect(hydra_matmul_group(pool.raw, &parts, 2, Int64(cols), x) == 0)
                }
            }
            #expect(first.map(\.bitPattern) == head.multiply(x, tokens: 1, pool: nil, kernels: .portable).map(\.bitPattern))
            #expect(second.map(\.bitPattern) == plain.multiply(x, tokens: 1, pool: nil, kernels: .portable).map(\.bitPattern))
        }
    }

    @Test(arguments: [GGMLType.q4_0, .q4_1, .q8_0, .q4_K])
    func activationQuantizationSIMDEqualsPortable(type: GGMLType) {
        var rng = TestRandom(seed: 77)
        let act = GGMLType(rawValue: UInt32(hydra_activation_type(Int32(type.rawValue))))!
        for scale: Float in [1e-3, 1, 300] {
            let x = rng.activations(4096, scale: scale)
            var a = [UInt8](repeating: 0, count: 4096 / act.blockElements * act.blockBytes), b = a
            _ = hydra_quantize_activation(Int32(type.rawValue), x, &a, 4096, KernelMode.portable.rawValue)
            _ = hydra_quantize_activation(Int32(type.rawValue), x, &b, 4096, KernelMode.best.rawValue)
            #expect(a == b, "\(act.name) at scale \(scale)")
        }
    }

    /// Q8_K takes its scale from the first value of largest magnitude, sign
    /// included, and rounds halves to even: ties of +a and −a in both
    /// orders, a zero block, products that fall on halves (scale ±1), and
    /// a block of random values give the portable bytes.
    @Test func q8KActivationsSIMDEqualPortableOnTiesAndHalves() {
        var rng = TestRandom(seed: 78)
        var blocks: [[Float]] = []
        var tie = [Float](repeating: 0.25, count: 256)
        tie[5] = -3; tie[200] = 3
        blocks.append(tie)
        tie[5] = 3; tie[200] = -3
        blocks.append(tie)
        blocks.append([Float](repeating: 0, count: 256))
        for top: Float in [-127, 127] {
            var halves = (0..<256).map { Float($0 % 16) - 7.5 }
            halves[3] = top
            blocks.append(halves)
        }
        blocks.append(rng.activations(256, scale: 1))
        let x = blocks.flatMap { $0 }
        let type = Int32(GGMLType.q4_K.rawValue)
        var a = [UInt8](repeating: 0, count: blocks.count * GGMLType.q8_K.blockBytes), b = a
        _ = hydra_quantize_activation(type, x, &a, Int64(x.count), KernelMode.portable.rawValue)
        _ = hydra_quantize_activation(type, x, &b, Int64(x.count), KernelMode.best.rawValue)
        #expect(a == b)
    }

    /// y must equal the float dot product of the dequantized weights with
    /// the (quantized, dequantized) activations up to float rounding.
    @Test(arguments: kernelTypes)
    func productMatchesDequantizedDot(type: GGMLType) throws {
        var rng = TestRandom(seed: 0xd07 + UInt64(type.rawValue))
        let rows = 33, cols = 768, tokens = 5
        let bytes = randomMatrixBytes(type, rows: rows, cols: cols, rng: &rng)
        try bytes.withUnsafeBytes { raw in
            let m = try QuantizedMatrix(type: type, rows: rows, cols: cols, data: raw.baseAddress!)
            try checkProduct(m, tokens: tokens, rng: &rng, label: type.name)
        }
    }

    @Test(.tags(.model), .modelsWanted, arguments: TestModels.keys)
    func productMatchesDequantizedDotOnModel(key: String) throws {
        let file = try TestModels.gguf(key)
        var rng = TestRandom(seed: 42)
        var seen = Set<GGMLType>()
        for tensor in file.tensors where tensor.shape.count == 2 && !seen.contains(tensor.type) {
            seen.insert(tensor.type)
            let full = try QuantizedMatrix(tensor)
            // A band of rows keeps the test quick on the large embedding tables.
            let rows = min(full.rows, 48)
            let band = try QuantizedMatrix(type: full.type, rows: rows, cols: full.cols, data: full.data + (full.rows - rows) * full.rowBytes)
            try checkProduct(band, tokens: 3, rng: &rng, label: "\(key) \(tensor.name) \(tensor.type.name)")
        }
        #expect(seen.count >= 2)
    }

    /// A whole prompt pass gives the same logits, bit for bit, with the SIMD
    /// kernels as with the portable ones. 21 tokens take the batched paths
    /// (repacked Q4_K, tiled Q6_K: four-token kernels and leftovers).
    @Test(.tags(.model), .modelsWanted, arguments: TestModels.keys)
    func promptLogitsSIMDEqualPortable(key: String) throws {
        let model = try HydraModel(file: TestModels.gguf(key), contextLength: 64, pool: ThreadPool(threads: 2))
        let ids = (0..<21).map { Int32(($0 * 7919 + 11) % 2000 + 10) }
        defer { hydra_set_kernel_mode(KernelMode.best.rawValue) }
        var logits: [[UInt32]] = []
        for mode in [KernelMode.portable, .best] {
            hydra_set_kernel_mode(mode.rawValue)
            model.state.reset()
            logits.append(try model.forward(tokens: ids, startPosition: 0).map(\.bitPattern))
        }
        #expect(logits[0] == logits[1], "\(key)")
    }

    /// Prompt attention: four keys at a time and the transposed values give
    /// the same bits as the plain per-position loops, with and without a
    /// sliding window, from the start of the cache and after earlier tokens
    /// (group edges that are not multiples of eight, a probability that
    /// rounds to zero in half precision).
    @Test(arguments: [(0, 0), (0, 40), (45, 0), (45, 40), (3, 7)])
    func promptAttentionFastEqualsPlain(startPos: Int, window: Int) {
        var rng = TestRandom(seed: 0xa77 + UInt64(startPos * 100 + window))
        let ntok = 37, heads = 4, kvHeads = 2, dim = 64, threads = 2
        let positions = startPos + ntok
        let q = rng.activations(ntok * heads * dim, scale: 3)
        let keys = rng.activations(positions * kvHeads * dim, scale: 2).map(HalfFloat.half(from:))
        let values = rng.activations(positions * kvHeads * dim, scale: 2).map(HalfFloat.half(from:))
        let pool = ThreadPool(threads: threads)
        defer { hydra_set_kernel_mode(KernelMode.best.rawValue) }
        var outputs: [[UInt32]] = []
        for mode in [KernelMode.portable, .best] {
            hydra_set_kernel_mode(mode.rawValue)
            var scratch = [Float](repeating: 0, count: Int(hydra_attention_scratch_floats(Int32(threads), Int64(positions), Int64(dim))))
            var out = [Float](repeating: .nan, count: ntok * heads * dim)
            hydra_attention(pool.raw, q, keys, values, Int64(ntok), Int64(heads), Int64(kvHeads), Int64(dim),
                            Int64(startPos), Int64(window), 0.125, &scratch, &out)
            outputs.append(out.map(\.bitPattern))
        }
        #expect(outputs[0] == outputs[1])
        #expect(!outputs[1].contains(Float.nan.bitPattern))
    }

    /// The vector exponential (softmax, SwiGLU; sixteen AVX-512 lanes or
    /// eight AVX2 ones) equals the one-lane emulation of ggml's, bit for
    /// bit, over the whole range including the slow lanes (|x| past about
    /// 87), infinities and NaN.
    @Test func vectorExpEqualsPortable() {
        var rng = TestRandom(seed: 0xe4)
        var x = rng.activations(4096, scale: 110)
        x += [0, -0.0, 1, -1, 88.7, -87.4, -103, -150, 200, .infinity, -.infinity, .nan, 1e-30, -1e-30, 5, 6]
        var portable = [Float](repeating: 0, count: x.count), simd = portable
        hydra_exp_lanes(x, &portable, Int64(x.count), KernelMode.portable.rawValue)
        hydra_exp_lanes(x, &simd, Int64(x.count), KernelMode.best.rawValue)
        #expect(portable.map(\.bitPattern) == simd.map(\.bitPattern))
        #expect(portable.prefix(4096).contains { $0 == 0 } && portable.prefix(4096).contains { $0 > 1e30 })
    }

    @Test func matrixRejectsPartialBlocksAndUnsupportedTypes() {
        let bytes = [UInt8](repeating: 0, count: 64)
        bytes.withUnsafeBytes { raw in
            #expect(throws: HydraError.self) { try QuantizedMatrix(type: .q4_0, rows: 1, cols: 48, data: raw.baseAddress!) }
            #expect(throws: HydraError.self) { try QuantizedMatrix(type: .i32, rows: 1, cols: 4, data: raw.baseAddress!) }
        }
        #expect(hydra_matmul(nil, Int32(GGMLType.q4_K.rawValue), bytes, 1, 128, [Float](repeating: 0, count: 128), 1, nil) == -1)
    }
}

/// Checks m against double-precision dots of its dequantized rows with the
/// activations as the kernels quantize them, and (loosely) with the raw floats.
private func checkProduct(_ m: QuantizedMatrix, tokens: Int, rng: inout TestRandom, label: String) throws {
    let x = rng.activations(tokens * m.cols, scale: 2)
    let pool = ThreadPool(threads: 2)
    let y = m.multiply(x, tokens: tokens, pool: pool)
    let xq = quantizedActivations(x, type: m.type)
    // Q4_1/Q5_1 add min * (sum of the block's quants) through a half-precision sum.
    let sumTolerance: Double = (m.type == .q4_1 || m.type == .q5_1) ? 2e-3 : 2e-5
    var worstQ = 0.0, worstF = 0.0
    for r in 0..<m.rows {
        let w = m.dequantizeRow(r)
        for t in 0..<tokens {
            var exactQ = 0.0, exactF = 0.0, magnitude = 0.0
            for c in 0..<m.cols {
                exactQ += Double(w[c]) * Double(xq[t * m.cols + c])
                exactF += Double(w[c]) * Double(x[t * m.cols + c])
                magnitude += abs(Double(w[c]) * Double(x[t * m.cols + c]))
            }
            let got = Double(y[t * m.rows + r])
            worstQ = max(worstQ, abs(got - exactQ) / (magnitude + 1e-30))
            worstF = max(worstF, abs(got - exactF) / (magnitude + 1e-30))
        }
    }
    #expect(worstQ <= sumTolerance, "\(label): error vs quantized-activation dot \(worstQ)")
    #expect(worstF <= 1e-2, "\(label): error vs float dot \(worstF)")
}
