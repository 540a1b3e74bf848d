import Foundation

/// A head's output factored by the model's own head (`hydra.head.output.factored`,
/// `hydra heads tune --factored`): the native head says which native token
/// the text goes on with, the head's rows only which of its tokens that
/// begin with that native token it is. With g(t) the first native token of
/// token t's text (`NativeGroups`) and G the native tokens that begin some
/// token of the head,
///
///     P(t | h) = P_native(g(t) | h) / Σ_{g ∈ G} P_native(g | h)
///              × exp(z_t) / Σ_{u : g(u) = g(t)} exp(z_u)
///
/// where z are the head's own logits: a distribution over the head's
/// tokens (the logits it gives are its logarithm), so sampling, beams and
/// bits per character read it as any head's. The body already writes the
/// language through its own head; a head whose tokens are longer than the
/// native ones keeps that choice and learns only how far each token reaches.
/// Costs the product of the native rows of G once more a step.
public final class FactoredOutput: @unchecked Sendable {
    /// The model's own output head, read only for the rows of `natives`
    /// (a slice of them, copied), unless it has a bias.
    let native: OutputHead
    private let rows: UnsafeMutableRawPointer?
    /// For each of the head's tokens: its native token, or -1 (never written).
    let group: [Int32]
    /// The native tokens that begin some token of the head.
    let natives: [Int32]

    public init(native: OutputHead, groups: NativeGroups) throws {
        let group = groups.first.map { $0 >= 0 && Int($0) < native.vocabularySize ? $0 : -1 }
        let natives = Array(Set(group.filter { $0 >= 0 })).sorted()
        guard !natives.isEmpty else { throw HeadError.invalid("no token of the head has a native spelling to factor it by") }
        self.group = group
        self.natives = natives
        let m = native.matrix
        guard native.bias == nil, native.tokens == nil else {
            (self.native, rows) = (native, nil)
            return
        }
        let rows = UnsafeMutableRawPointer.allocate(byteCount: natives.count * m.rowBytes, alignment: 64)
        for (i, g) in natives.enumerated() {
            (rows + i * m.rowBytes).copyMemory(from: m.data + Int(g) * m.rowBytes, byteCount: m.rowBytes)
        }
        self.rows = rows
        let slice = try QuantizedMatrix(type: m.type, rows: natives.count, cols: m.cols, data: rows).repackedForProducts()
        self.native = try OutputHead(matrix: slice, tokens: natives, vocabularySize: native.vocabularySize,
                                     softcap: native.softcap)
    }

    deinit { rows?.deallocate() }

    /// Turns `count` rows of the head's logits (each `vocabularySize`) for
    /// the hidden rows `hidden` into the factored log-probabilities.
    func apply(hidden: UnsafePointer<Float>, count: Int, logits: UnsafeMutablePointer<Float>, vocabularySize: Int,
               pool: ThreadPool?, eachAsOne: Bool) {
        let nv = native.vocabularySize
        let nativeLogits = UnsafeMutablePointer<Float>.allocate(capacity: count * nv)
        defer { nativeLogits.deallocate() }
        native.logits(hidden: hidden, count: count, into: nativeLogits, pool: pool, eachAsOne: eachAsOne)
        // Per native token: the largest head logit of its group, then the group's log-sum-exp.
        var groupTop = [Float](repeating: -.infinity, count: nv), groupLSE = [Float](repeating: 0, count: nv)
        let tokens = min(vocabularySize, group.count)
        for r in 0..<count {
            let z = logits + r * vocabularySize, n = nativeLogits + r * nv
            var top = -Float.infinity
            for g in natives { top = max(top, n[Int(g)]) }
            var sum: Float = 0
            for g in natives { sum += expf(n[Int(g)] - top) }
            let nativeLSE = top + logf(sum)
            for g in natives { groupTop[Int(g)] = -.infinity; groupLSE[Int(g)] = 0 }
            for t in 0..<tokens where group[t] >= 0 { groupTop[Int(group[t])] = max(groupTop[Int(group[t])], z[t]) }
            for t in 0..<tokens where group[t] >= 0 { groupLSE[Int(group[t])] += expf(z[t] - groupTop[Int(group[t])]) }
            for g in natives { groupLSE[Int(g)] = groupTop[Int(g)] + logf(groupLSE[Int(g)]) }
            for t in 0..<vocabularySize {
                guard t < tokens, group[t] >= 0 else {
                    z[t] = OutputHead.excludedLogit
                    continue
                }
                let g = Int(group[t])
                z[t] = (n[g] - nativeLSE) + (z[t] - groupLSE[g])
            }
        }
    }
}
