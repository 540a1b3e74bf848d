import COpenBLAS
import Foundation

/// The native head as a teacher for a new head's output rows (`heads tune
/// --distill W`), for a language the native head already writes: a
/// simplified form of ALM's distillation over aligned character spans
/// (Minixhofer et al. 2025; shared METHODS).
///
/// At a cached position the native output rows, applied to the same final
/// hidden state, give a distribution over how the text goes on, one native
/// token at a time. Each new token is put in the group of the first native
/// token of its own text (`NativeGroups`), so the teacher's probability of
/// a native token is the probability that the next new token is one of its group. The loss asks
/// the new rows' probabilities, summed over each group, to match the
/// teacher's (a KL divergence over the groups, both sides renormalised over
/// the native tokens that start some new token): every row that starts
/// like a likely continuation gets a signal at every position, where the
/// cross-entropy of the token that came trains one row.
///
/// What the groups miss: tokens whose native spelling starts alike share
/// one teacher probability (the cross-entropy term splits it), and native
/// tokenization of a token's text alone can differ from its spelling in
/// running text.
public struct NativeTeacher {
    /// The native output rows of the native tokens that start some new token (groups × width).
    let rows: [Float]
    /// For each new token: its group (an index into `rows`), or -1 (no native spelling).
    public let group: [Int32]
    /// The native token of each group.
    public let nativeIds: [Int32]
    var groups: Int { nativeIds.count }

    /// Groups the new head's tokens by the first native token of their text.
    public init(model: HydraModel, head: Head) throws {
        guard let native = model.native.output else {
            throw HydraError.invalidInput("the native head has no output rows to teach with")
        }
        let width = model.body.config.embeddingLength
        var index: [Int32: Int32] = [:]
        var order: [Int32] = []
        let groups = NativeGroups(head: head, native: model.native, count: head.output?.vocabularySize ?? head.vocabulary.count)
        var group = [Int32](repeating: -1, count: groups.first.count)
        for (id, n) in groups.first.enumerated() where n >= 0 && Int(n) < native.vocabularySize {
            if let g = index[n] {
                group[id] = g
            } else {
                index[n] = Int32(order.count)
                group[id] = Int32(order.count)
                order.append(n)
            }
        }
        guard !order.isEmpty else {
            throw HydraError.invalidInput("no token of head '\(head.name)' is spelled by the native tokenizer")
        }
        var rows = [Float](repeating: 0, count: order.count * width)
        let source = TokenEmbedding(matrix: native.matrix)
        rows.withUnsafeMutableBufferPointer { r in
            for (g, n) in order.enumerated() { source.row(Int(n), into: r.baseAddress! + g * width) }
        }
        self.rows = rows
        self.group = group
        self.nativeIds = order
    }

    /// The teacher's group probabilities of `n` hidden states (n × width)
    /// into `q` (n × groups), through the same logit cap as the new rows.
    public func probabilities(_ h: UnsafePointer<Float>, count n: Int, width d: Int, softcap: Float?,
                       into q: UnsafeMutablePointer<Float>) {
        rows.withUnsafeBufferPointer { w in
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(groups), Int32(d), 1,
                        h, Int32(d), w.baseAddress!, Int32(d), 0, q, Int32(groups))
        }
        for i in 0..<n {
            let row = q + i * groups
            if let cap = softcap {
                for j in 0..<groups { row[j] = tanhf(row[j] / cap) * cap }
            }
            var top = -Float.infinity
            for j in 0..<groups where row[j] > top { top = row[j] }
            var sum: Float = 0
            for j in 0..<groups {
                row[j] = expf(row[j] - top)
                sum += row[j]
            }
            let inv = 1 / sum
            for j in 0..<groups { row[j] *= inv }
        }
    }

    /// For one position: the KL divergence (nats) of the new rows'
    /// probabilities `p` (over all new tokens; any positive multiple of
    /// them gives the same) from the teacher's `q`, both over the groups,
    /// and its gradient with respect to the new logits, times `scale`,
    /// added to `gradient`:
    ///
    ///     KL = Σ_g q_g log(q_g / (P_g / S)),  P_g = Σ_{v ∈ g} p_v,  S = Σ_g P_g
    ///     ∂KL/∂z_v = p_v (1/S − q_g(v) / P_g(v))   (0 for tokens in no group)
    public func divergence(p: UnsafePointer<Float>, q: UnsafePointer<Float>, mass: UnsafeMutablePointer<Float>,
                    scale: Float, gradient: UnsafeMutablePointer<Float>?) -> Double {
        for g in 0..<groups { mass[g] = 0 }
        for (v, g) in group.enumerated() where g >= 0 { mass[Int(g)] += p[v] }
        var s: Float = 0
        for g in 0..<groups { s += mass[g] }
        guard s > 0 else { return 0 }
        var kl = 0.0
        for g in 0..<groups where q[g] > 0 {
            kl += Double(q[g]) * (log(Double(q[g])) - log(max(Double(mass[g] / s), 1e-30)))
        }
        if let gradient {
            let invS = 1 / s
            for (v, g) in group.enumerated() where g >= 0 {
                let m = mass[Int(g)]
                guard m > 0 else { continue }
                gradient[v] += scale * p[v] * (invS - q[Int(g)] / m)
            }
        }
        return kl
    }
}
