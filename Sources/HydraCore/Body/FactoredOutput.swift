import Foundation

/// How the model's own head factors a head's output (`FactoredOutput`,
/// `hydra.head.output.factored`).
public enum OutputFactoring: String, Sendable, CaseIterable {
    /// The native head picks the first native token of the next token's
    /// text (`NativeGroups`), the rows which token of that group.
    case firstToken = "first-token"
    /// Every native token passes its probability to the head's tokens
    /// compatible with it (`NativeCompatibility`), shared by the rows.
    case compatible
}

/// A head's output factored by the model's own head (`hydra.head.output.factored`,
/// `hydra heads tune --factored`): the native head says how the text goes
/// on, one native token at a time, the head's rows only which of the head's
/// tokens that agree with it comes. With z the head's own logits and
/// softmax_S(z) the softmax of z over the tokens S,
///
/// - `.firstToken`: with g(t) the first native token of token t's text
///   alone and G the native tokens that begin some token of the head,
///
///       P(t | h) = P_native(g(t) | h) / Σ_{g ∈ G} P_native(g | h) × softmax_{u : g(u) = g(t)}(z)[t]
///
/// - `.compatible`: with C(n) the head's tokens compatible with native
///   token n (one text begins with the other) and N those with any,
///
///       P(t | h) = Σ_{n : t ∈ C(n)} P_native(n | h) / Σ_{m ∈ N} P_native(m | h) × softmax_{C(n)}(z)[t]
///
///   so that " координ", which Qwen writes where this head spells " коорд"
///   + "инаты", gives its probability to " коорд" too, where the first
///   form gives " коорд" only the probability of " ко".
///
/// Either is a distribution over the head's tokens (the logits it gives are
/// its logarithm), so sampling, beams and bits per character read it as any
/// head's. The body already writes the language through its own head; a
/// head whose tokens are longer than the native ones keeps that choice and
/// learns only how far each token reaches. Costs the product of the native
/// rows once more a step.
public final class FactoredOutput: @unchecked Sendable {
    public let factoring: OutputFactoring
    /// The model's own output head, read only for the rows of `natives`
    /// (a slice of them, copied) where they are fewer than half its rows
    /// and it has no bias.
    let native: OutputHead
    private let rows: UnsafeMutableRawPointer?
    /// `.firstToken`: for each of the head's tokens its native token, or -1 (never written).
    let group: [Int32]
    /// `.compatible`: the pairs of native and head tokens.
    let compatibility: NativeCompatibility?
    /// The native tokens the head's tokens are factored by.
    let natives: [Int32]

    /// The first-token factoring.
    public convenience init(native: OutputHead, groups: NativeGroups) throws {
        let group = groups.first.map { $0 >= 0 && Int($0) < native.vocabularySize ? $0 : -1 }
        try self.init(native: native, factoring: .firstToken, group: group, compatibility: nil,
                      natives: Array(Set(group.filter { $0 >= 0 })).sorted())
    }

    /// The factoring over compatible tokens.
    public convenience init(native: OutputHead, compatibility: NativeCompatibility) throws {
        guard compatibility.nativeCount <= native.vocabularySize else {
            throw HeadError.invalid("the native head scores \(native.vocabularySize) tokens, not \(compatibility.nativeCount)")
        }
        try self.init(native: native, factoring: .compatible, group: [], compatibility: compatibility,
                      natives: compatibility.natives)
    }

    private init(native: OutputHead, factoring: OutputFactoring, group: [Int32], compatibility: NativeCompatibility?,
                 natives: [Int32]) throws {
        guard !natives.isEmpty else { throw HeadError.invalid("no token of the head has a native spelling to factor it by") }
        self.factoring = factoring
        self.group = group
        self.compatibility = compatibility
        self.natives = natives
        let m = native.matrix
        guard native.bias == nil, native.tokens == nil, natives.count * 2 < m.rows else {
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
        let perNative = compatibility == nil ? nv : 0
        var top = [Float](repeating: -.infinity, count: perNative), lse = [Float](repeating: 0, count: perNative)
        var share = [Double](repeating: 0, count: compatibility?.headCount ?? 0)
        for r in 0..<count {
            let z = logits + r * vocabularySize, n = nativeLogits + r * nv
            let nativeLSE = Self.logSumExp(natives.lazy.map { n[Int($0)] })
            if let compatibility {
                apply(compatibility, z: z, native: n, nativeLSE: nativeLSE, vocabularySize: vocabularySize, share: &share)
            } else {
                apply(group, z: z, native: n, nativeLSE: nativeLSE, vocabularySize: vocabularySize, top: &top, lse: &lse)
            }
        }
    }

    private func apply(_ group: [Int32], z: UnsafeMutablePointer<Float>, native n: UnsafeMutablePointer<Float>,
                       nativeLSE: Float, vocabularySize: Int, top groupTop: inout [Float], lse groupLSE: inout [Float]) {
        // Per native token: the largest head logit of its group, then the group's log-sum-exp.
        let tokens = min(vocabularySize, group.count)
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

    /// The natives within e^-`Self.reach` of all the native probability
    /// pass theirs on; a token no such native is compatible with gets e^`Self.floor`.
    static let reach: Float = 30, floor: Float = -50

    private func apply(_ c: NativeCompatibility, z: UnsafeMutablePointer<Float>, native n: UnsafeMutablePointer<Float>,
                       nativeLSE: Float, vocabularySize: Int, share: inout [Double]) {
        let tokens = min(vocabularySize, c.headCount)
        var zTop = -Float.infinity
        for t in 0..<tokens where z[t] > zTop { zTop = z[t] }
        for t in 0..<tokens { share[t] = 0 }
        // share[t] = Σ_{n : t ∈ C(n)} P_native(n) / Σ_{C(n)} exp(z − zTop), from the natives that count.
        for m in natives where n[Int(m)] > nativeLSE - Self.reach {
            let heads = c.heads(of: Int(m))
            let lse = Self.logSumExp(heads.lazy.map { z[Int($0)] - zTop })
            let w = Foundation.exp(Double(n[Int(m)] - nativeLSE - lse))
            for t in heads { share[Int(t)] += w }
        }
        for t in 0..<vocabularySize {
            guard t < tokens, c.nativeStart[t + 1] > c.nativeStart[t] else {
                z[t] = OutputHead.excludedLogit
                continue
            }
            z[t] = share[t] > 0 ? z[t] - zTop + Float(Foundation.log(share[t])) : Self.floor
        }
    }

    /// log Σ exp x, without overflow (−∞ for none).
    static func logSumExp<S: Sequence>(_ x: S) -> Float where S.Element == Float {
        var top = -Float.infinity
        for v in x where v > top { top = v }
        guard top > -.infinity else { return top }
        var sum: Float = 0
        for v in x { sum += expf(v - top) }
        return top + logf(sum)
    }
}
