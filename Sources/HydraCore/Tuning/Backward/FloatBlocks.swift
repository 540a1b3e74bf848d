import CHydraKernels
import COpenBLAS
import Foundation

/// The first `depth` blocks of a body in floats, with the backward pass of
/// their input: what tuning input rows through the frozen body needs
/// (`TokenDistillation`). The weights stay frozen, so only the gradient
/// of the activations is computed, never of a weight.
///
/// One sequence at positions 0..<count, or several packed one after
/// another (`segments`: each at positions 0..<its length, attending only
/// to itself; one pass reads the weights once for all of them, which
/// short sequences need to keep the products fast). Weights are dequantized once
/// (ggml's dequantization) and multiplied in floats through OpenBLAS (norms,
/// RoPE and SwiGLU are the runtime's kernels), so
/// the pass is smooth in its input (the runtime quantizes activations
/// before its products, as llama.cpp does); it follows the runtime's
/// forward to float rounding (`FloatBlocksTests`). Llama and Qwen2 blocks:
/// RMS norms, Q/K/V with optional biases, RoPE, grouped-query causal
/// attention, output projection, SwiGLU feed-forward.
public final class FloatBlocks: @unchecked Sendable {
    public let config: ModelConfig
    public let depth: Int
    private let layers: [Layer]
    /// The final norm's weights (what the output rows read after the last block).
    private let outputNorm: [Float]

    struct Layer {
        let attentionNorm: [Float]
        let query, key, value, output: [Float]  // rows × cols, row-major (ggml's layout)
        let queryBias, keyBias, valueBias, outputBias: [Float]?
        let feedForwardNorm: [Float]
        let gate, up, down: [Float]
    }

    /// What one block's backward pass needs from its forward pass.
    struct Saved {
        var input: [Float]       // count × e
        var normed: [Float]      // attention norm output
        var q, k, v: [Float]     // after RoPE (q, k)
        var probabilities: [Float]  // heads × count × count (row i: weights over j ≤ i)
        var attention: [Float]   // count × queryLength
        var middle: [Float]      // input + attention output
        var normed2: [Float]     // feed-forward norm output
        var gate, up: [Float]    // count × feedForwardLength
    }

    /// A forward pass: its output after `depth` blocks (count × e, the
    /// residual stream, not normed) and what the backward pass needs.
    public struct Pass {
        public let count: Int
        public let output: [Float]
        let saved: [Saved]
        /// For each row, the first row of its segment.
        let starts: [Int]
    }

    /// Dequantizes the first `depth` blocks of `body`. Throws for blocks
    /// this pass does not handle (Gemma's extra norms, GeGLU, sliding
    /// windows, scaled queries).
    public init(body: Body, depth: Int) throws {
        let c = body.config
        guard c.architecture == .llama || c.architecture == .qwen2, c.activation == .swiglu, !c.hasQKNorm,
              !c.hasPostNorms, !c.scalesQueryFirst, !c.slidingLayers.contains(true) else {
            throw HydraError.invalidInput(
                "tuning through the body handles Llama and Qwen2 blocks; \(c.architecture.rawValue) is not supported yet")
        }
        guard depth >= 1, depth <= c.layerCount else {
            throw HydraError.invalidInput("the depth must be 1 to \(c.layerCount) blocks, not \(depth)")
        }
        config = c
        self.depth = depth
        func floats(_ m: QuantizedMatrix) -> [Float] {
            [Float](unsafeUninitializedCapacity: m.rows * m.cols) { b, n in
                for r in 0..<m.rows { m.dequantizeRow(r, into: b.baseAddress! + r * m.cols) }
                n = m.rows * m.cols
            }
        }
        func vector(_ v: WeightVector?) -> [Float]? { v.map { Array(UnsafeBufferPointer(start: $0.values, count: $0.count)) } }
        outputNorm = vector(body.weights.outputNorm)!
        layers = body.weights.layers.prefix(depth).map { w in
            Layer(attentionNorm: vector(w.attentionNorm)!, query: floats(w.query), key: floats(w.key),
                  value: floats(w.value), output: floats(w.attentionOutput), queryBias: vector(w.queryBias),
                  keyBias: vector(w.keyBias), valueBias: vector(w.valueBias), outputBias: vector(w.attentionOutputBias),
                  feedForwardNorm: vector(w.feedForwardNorm)!, gate: floats(w.gate), up: floats(w.up),
                  down: floats(w.down))
        }
    }

    /// Runs `count` input rows (count × e) through the blocks: one
    /// sequence, or `segments` (lengths summing to `count`) side by side.
    public func forward(_ input: [Float], count: Int, segments: [Int]? = nil) -> Pass {
        precondition(count >= 1 && input.count == count * config.embeddingLength)
        let segments = segments ?? [count]
        precondition(segments.allSatisfy { $0 >= 1 } && segments.reduce(0, +) == count)
        var starts: [Int] = []
        starts.reserveCapacity(count)
        for length in segments { starts += repeatElement(starts.count, count: length) }
        var x = input
        var saved: [Saved] = []
        saved.reserveCapacity(depth)
        for layer in layers {
            let s = block(layer, x, starts)
            x = s.out
            saved.append(s.saved)
        }
        return Pass(count: count, output: x, saved: saved, starts: starts)
    }

    /// The gradient of a loss with respect to the pass's input rows, given
    /// its gradient with respect to the output (count × e).
    public func backward(_ pass: Pass, outputGradient: [Float]) -> [Float] {
        precondition(outputGradient.count == pass.output.count)
        var d = outputGradient
        for (layer, saved) in zip(layers, pass.saved).reversed() {
            d = blockBackward(layer, saved, d, pass.starts)
        }
        return d
    }

    /// The final norm of `count` states (count × e): what the output rows
    /// read after the last block.
    public func finalNorm(_ x: [Float], count: Int) -> [Float] {
        rmsNorm(x, outputNorm, count, config.embeddingLength)
    }

    /// The gradient of the states `x` given the gradient of their final norm.
    public func finalNormBack(_ x: [Float], _ dy: [Float], count: Int) -> [Float] {
        var dx = [Float](repeating: 0, count: x.count)
        rmsNormBack(x, outputNorm, dy, count, into: &dx)
        return dx
    }

    // MARK: one block

    private func block(_ w: Layer, _ x: [Float], _ starts: [Int]) -> (out: [Float], saved: Saved) {
        let c = config, n = starts.count
        let e = c.embeddingLength, ql = c.queryLength, kv = c.kvLength, f = c.feedForwardLength
        let normed = rmsNorm(x, w.attentionNorm, n, e)
        var q = product(normed, w.query, n, ql, e, bias: w.queryBias)
        var k = product(normed, w.key, n, kv, e, bias: w.keyBias)
        let v = product(normed, w.value, n, kv, e, bias: w.valueBias)
        rope(&q, starts, c.headCount, inverse: false)
        rope(&k, starts, c.kvHeadCount, inverse: false)
        let (attention, probabilities) = attend(q, k, v, starts)
        var middle = product(attention, w.output, n, e, ql, bias: w.outputBias)
        for i in 0..<middle.count { middle[i] += x[i] }
        let normed2 = rmsNorm(middle, w.feedForwardNorm, n, e)
        let gate = product(normed2, w.gate, n, f, e, bias: nil)
        let up = product(normed2, w.up, n, f, e, bias: nil)
        var act = [Float](repeating: 0, count: n * f)
        hydra_swiglu(gate, up, &act, Int64(n), Int64(f))
        var out = product(act, w.down, n, e, f, bias: nil)
        for i in 0..<out.count { out[i] += middle[i] }
        return (out, Saved(input: x, normed: normed, q: q, k: k, v: v, probabilities: probabilities,
                           attention: attention, middle: middle, normed2: normed2, gate: gate, up: up))
    }

    private func blockBackward(_ w: Layer, _ s: Saved, _ dOut: [Float], _ starts: [Int]) -> [Float] {
        let c = config, n = starts.count
        let e = c.embeddingLength, ql = c.queryLength, kv = c.kvLength, f = c.feedForwardLength
        // Feed-forward: out = middle + down(silu(gate) · up).
        let dAct = productBack(dOut, w.down, n, e, f)
        var dGate = [Float](repeating: 0, count: n * f)
        var dUp = [Float](repeating: 0, count: n * f)
        for i in 0..<dAct.count {
            let g = s.gate[i]
            let sigma = 1 / (1 + expf(-g))
            dUp[i] = dAct[i] * g * sigma
            dGate[i] = dAct[i] * s.up[i] * sigma * (1 + g * (1 - sigma))
        }
        var dNormed2 = productBack(dGate, w.gate, n, f, e)
        productBack(dUp, w.up, n, f, e, into: &dNormed2, accumulate: true)
        var dMiddle = dOut
        rmsNormBack(s.middle, w.feedForwardNorm, dNormed2, n, into: &dMiddle)
        // Attention: middle = input + output(attend(rope(q), rope(k), v)).
        let dAttention = productBack(dMiddle, w.output, n, e, ql)
        var (dq, dk, dv) = attendBack(s, dAttention, starts)
        rope(&dq, starts, c.headCount, inverse: true)
        rope(&dk, starts, c.kvHeadCount, inverse: true)
        var dNormed = productBack(dq, w.query, n, ql, e)
        productBack(dk, w.key, n, kv, e, into: &dNormed, accumulate: true)
        productBack(dv, w.value, n, kv, e, into: &dNormed, accumulate: true)
        var dInput = dMiddle
        rmsNormBack(s.input, w.attentionNorm, dNormed, n, into: &dInput)
        return dInput
    }

    // MARK: steps

    /// y = x·Wᵀ (+ bias): x is n × cols, W rows × cols, y n × rows.
    private func product(_ x: [Float], _ w: [Float], _ n: Int, _ rows: Int, _ cols: Int, bias: [Float]?) -> [Float] {
        var y = [Float](repeating: 0, count: n * rows)
        if let bias { for t in 0..<n { for r in 0..<rows { y[t * rows + r] = bias[r] } } }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(rows), Int32(cols), 1, x, Int32(cols),
                    w, Int32(cols), bias == nil ? 0 : 1, &y, Int32(rows))
        return y
    }

    /// dx = dy·W for y = x·Wᵀ: dy is n × rows, dx n × cols.
    private func productBack(_ dy: [Float], _ w: [Float], _ n: Int, _ rows: Int, _ cols: Int) -> [Float] {
        var dx = [Float](repeating: 0, count: n * cols)
        productBack(dy, w, n, rows, cols, into: &dx, accumulate: false)
        return dx
    }

    private func productBack(_ dy: [Float], _ w: [Float], _ n: Int, _ rows: Int, _ cols: Int, into dx: inout [Float],
                             accumulate: Bool) {
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, Int32(n), Int32(cols), Int32(rows), 1, dy, Int32(rows),
                    w, Int32(cols), accumulate ? 1 : 0, &dx, Int32(cols))
    }

    /// y = x / rms(x) · weight, row by row (the runtime's kernel).
    private func rmsNorm(_ x: [Float], _ weight: [Float], _ n: Int, _ e: Int) -> [Float] {
        var y = [Float](repeating: 0, count: x.count)
        hydra_rms_norm(x, weight, &y, Int64(n), Int64(e), config.rmsEpsilon)
        return y
    }

    /// Adds to dx the gradient through y = x·r·weight, r = 1/sqrt(mean(x²) + ε):
    /// dx_i = r·w_i·dy_i − x_i·r³/e · Σ_j w_j·dy_j·x_j.
    private func rmsNormBack(_ x: [Float], _ weight: [Float], _ dy: [Float], _ n: Int, into dx: inout [Float]) {
        let e = config.embeddingLength
        for t in 0..<n {
            let o = t * e
            let r = inverseRMS(x, o, e)
            var dot: Float = 0
            for i in 0..<e { dot += weight[i] * dy[o + i] * x[o + i] }
            let k = r * r * r * dot / Float(e)
            for i in 0..<e { dx[o + i] += r * weight[i] * dy[o + i] - x[o + i] * k }
        }
    }

    private func inverseRMS(_ x: [Float], _ offset: Int, _ e: Int) -> Float {
        var sum: Double = 0
        for i in 0..<e { sum += Double(x[offset + i] * x[offset + i]) }
        return 1 / (Float(sum / Double(e)) + config.rmsEpsilon).squareRoot()
    }

    /// Rotates each head's first ropeDimensions values by its position in
    /// its segment (row − `starts[row]`; the runtime's kernel); `inverse`:
    /// back, each position by the negated angles (the kernel's angles are
    /// odd in the position, so the rotation back is the transpose of the
    /// rotation).
    private func rope(_ x: inout [Float], _ starts: [Int], _ heads: Int, inverse: Bool) {
        let c = config, d = Int64(c.headDimension), rot = Int64(c.ropeDimensions)
        var scratch = [Float](repeating: 0, count: c.ropeDimensions)
        x.withUnsafeMutableBufferPointer { x in
            for t in starts.indices {
                let position = Int64(t - starts[t])
                hydra_rope(x.baseAddress! + t * heads * Int(d), 1, Int64(heads), d, rot, inverse ? -position : position,
                           c.ropeBase, c.ropeStyle.rawValue, &scratch)
            }
        }
    }

    /// Causal attention of every head within each segment: out_i = Σ_{starts[i] ≤ j ≤ i}
    /// softmax_j(q_i·k_j·scale) v_j, query head h reading key/value head h / (heads / kvHeads).
    private func attend(_ q: [Float], _ k: [Float], _ v: [Float], _ starts: [Int]) -> ([Float], [Float]) {
        let c = config, n = starts.count
        let d = c.headDimension, heads = c.headCount, group = c.headCount / c.kvHeadCount
        let ql = c.queryLength, kv = c.kvLength
        var out = [Float](repeating: 0, count: n * ql)
        var p = [Float](repeating: 0, count: heads * n * n)
        q.withUnsafeBufferPointer { q in k.withUnsafeBufferPointer { k in v.withUnsafeBufferPointer { v in
            out.withUnsafeMutableBufferPointer { out in p.withUnsafeMutableBufferPointer { p in
                for h in 0..<heads {
                    let g = h / group
                    for i in 0..<n {
                        let qi = q.baseAddress! + i * ql + h * d
                        let row = p.baseAddress! + (h * n + i) * n
                        var top = -Float.infinity
                        for j in starts[i]...i {
                            let kj = k.baseAddress! + j * kv + g * d
                            var s: Float = 0
                            for m in 0..<d { s += qi[m] * kj[m] }
                            row[j] = s * c.attentionScale
                            top = max(top, row[j])
                        }
                        var sum: Float = 0
                        for j in starts[i]...i { row[j] = expf(row[j] - top); sum += row[j] }
                        let oi = out.baseAddress! + i * ql + h * d
                        for j in starts[i]...i {
                            row[j] /= sum
                            let vj = v.baseAddress! + j * kv + g * d
                            for m in 0..<d { oi[m] += row[j] * vj[m] }
                        }
                    }
                }
            } }
        } } }
        return (out, p)
    }

    /// The gradients of q, k and v (after RoPE) through `attend`:
    /// dP_ij = dO_i·v_j, dS_ij = P_ij (dP_ij − Σ_j' P_ij' dP_ij'),
    /// dq_i = scale Σ_j dS_ij k_j, dk_j += scale dS_ij q_i, dv_j += P_ij dO_i.
    private func attendBack(_ s: Saved, _ dOut: [Float], _ starts: [Int]) -> ([Float], [Float], [Float]) {
        let c = config, n = starts.count
        let d = c.headDimension, heads = c.headCount, group = c.headCount / c.kvHeadCount
        let ql = c.queryLength, kv = c.kvLength
        var dq = [Float](repeating: 0, count: n * ql)
        var dk = [Float](repeating: 0, count: n * kv)
        var dv = [Float](repeating: 0, count: n * kv)
        var dp = [Float](repeating: 0, count: n)
        s.q.withUnsafeBufferPointer { q in s.k.withUnsafeBufferPointer { k in s.v.withUnsafeBufferPointer { v in
            s.probabilities.withUnsafeBufferPointer { p in dOut.withUnsafeBufferPointer { dO in
                dq.withUnsafeMutableBufferPointer { dq in dk.withUnsafeMutableBufferPointer { dk in
                    dv.withUnsafeMutableBufferPointer { dv in dp.withUnsafeMutableBufferPointer { dp in
                        for h in 0..<heads {
                            let g = h / group
                            for i in 0..<n {
                                let row = p.baseAddress! + (h * n + i) * n
                                let doi = dO.baseAddress! + i * ql + h * d
                                var weighted: Float = 0
                                for j in starts[i]...i {
                                    let vj = v.baseAddress! + j * kv + g * d
                                    var s: Float = 0
                                    for m in 0..<d { s += doi[m] * vj[m] }
                                    dp[j] = s
                                    weighted += row[j] * s
                                    let dvj = dv.baseAddress! + j * kv + g * d
                                    for m in 0..<d { dvj[m] += row[j] * doi[m] }
                                }
                                let qi = q.baseAddress! + i * ql + h * d
                                let dqi = dq.baseAddress! + i * ql + h * d
                                for j in starts[i]...i {
                                    let ds = row[j] * (dp[j] - weighted) * c.attentionScale
                                    let kj = k.baseAddress! + j * kv + g * d
                                    let dkj = dk.baseAddress! + j * kv + g * d
                                    for m in 0..<d {
                                        dqi[m] += ds * kj[m]
                                        dkj[m] += ds * qi[m]
                                    }
                                }
                            }
                        }
                    } }
                } }
            } }
        } } }
        return (dq, dk, dv)
    }
}
