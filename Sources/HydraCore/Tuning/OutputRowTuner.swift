import COpenBLAS
import Foundation

/// Fits a head's output rows W (rows × width) to cached final hidden
/// states h with the body frozen:
///
///     minimise  mean CE(softmax(W·h), target) + λ ‖W − W₀‖²
///
/// a convex problem (shared METHODS "After initialisation"), by Adam over
/// shuffled minibatches; the products are two sgemm calls a step (logits,
/// then the rows' gradient). The L2 pull keeps the rows of tokens the
/// corpus rarely shows at their initial (built) values.
///
/// With `factored` (a head whose output the native head factors,
/// `FactoredOutput`) the native head's share is fixed and the rows learn
/// only the choice among the tokens that agree with it: `.firstToken`, the
/// softmax of each position runs over the group of its target only (the
/// tokens that begin with the target's first native token; still convex);
/// `.compatible`, the loss is −log Σ_n w_n softmax_{C(n)}(z)[target] over the
/// native tokens n compatible with the target, w the native head's
/// probabilities renormalised over them (`CompatibleScores`; no longer
/// convex: the rows learn which native token each of their tokens stands for).
///
/// With a `NativeTeacher` and `distill` W > 0 the loss adds W · the mean
/// KL divergence of the rows' group distribution from the native head's
/// (no longer convex: a group's probability is a sum of softmax terms).
///
/// Deterministic: epoch e visits the training rows in an order drawn from
/// (seed, e) alone and the learning rate is constant, so a run resumed
/// from a checkpoint after any step — or extended by more epochs — gives
/// the same rows, bit for bit, as one run straight through.
public final class OutputRowTuner {
    public struct Options: Sendable, Equatable {
        public var learningRate: Float = 5e-4
        /// λ of the L2 pull towards the initial rows.
        public var l2: Float = 1e-2
        public var batchSize = 256
        public var epochs = 1
        public var seed: UInt64 = 1
        /// Steps between checkpoints (and the end of every epoch).
        public var checkpointEvery = 100
        /// Every n-th sequence is held apart to report a validation loss (0: none).
        public var validationEvery = 50
        public var beta1: Float = 0.9
        public var beta2: Float = 0.999
        public var epsilon: Float = 1e-8
        /// Weight of the native head's distillation term (0: none; needs a teacher).
        public var distill: Float = 0
        /// Fit the rows of a factored output (`FactoredOutput`; needs the
        /// groups, or the compatibility and the native rows).
        public var factored: OutputFactoring?
        public init() {}

        /// What changes the trajectory (the epoch count does not: a longer run
        /// continues a shorter one).
        var identity: String {
            "lr \(learningRate) l2 \(l2) batch \(batchSize) seed \(seed) validation \(validationEvery) adam \(beta1) \(beta2) \(epsilon)"
                + (distill > 0 ? " distill \(distill)" : "") + (factored.map { $0 == .firstToken ? " factored" : " factored \($0.rawValue)" } ?? "")
        }
    }

    public enum Event: Sendable {
        /// After a step: steps done, of total; mean training loss (nats; with
        /// distillation CE + W · KL) of the steps since the previous event of
        /// this kind; rows trained in them.
        case step(done: Int, total: Int, loss: Double, rows: Int)
        /// Mean validation loss (nats/token) after `step` steps.
        case validation(step: Int, loss: Double)
        case checkpoint(step: Int)
    }

    public let rowCount: Int
    public let width: Int
    public let options: Options
    public private(set) var step = 0
    /// The rows being fitted, their initial values and Adam's moments.
    public private(set) var weights: [Float]
    let initial: [Float]
    private var m: [Float], v: [Float]
    private let softcap: Float?
    private let teacher: NativeTeacher?
    /// With `options.factored` first-token: each token's group (its first native token, -1: none),
    /// and the tokens of each group.
    private let group: [Int32]
    private let members: [Int32: [Int32]]
    /// With `options.factored` compatible: the pairs, the native rows, and
    /// the native logits at the cache's positions (made on first use).
    private let compatibility: NativeCompatibility?
    private let nativeRows: TokenEmbedding?
    private var scores: (cache: ObjectIdentifier, scores: CompatibleScores)?

    public init(initial: [Float], rows: Int, width: Int, softcap: Float?, options: Options,
                teacher: NativeTeacher? = nil, groups: NativeGroups? = nil,
                compatibility: NativeCompatibility? = nil, nativeRows: TokenEmbedding? = nil) {
        precondition(initial.count == rows * width)
        precondition(options.distill == 0 || teacher?.group.count == rows, "distillation needs a teacher for these rows")
        precondition(options.factored != .firstToken || groups?.first.count == rows, "a factored output needs its groups")
        precondition(options.factored != .compatible || (compatibility?.headCount == rows && nativeRows != nil),
                     "a factored output over compatible tokens needs the pairs and the native rows")
        precondition(!(options.factored != nil && options.distill > 0), "a factored output is not distilled")
        self.compatibility = options.factored == .compatible ? compatibility : nil
        self.nativeRows = options.factored == .compatible ? nativeRows : nil
        let group = options.factored == .firstToken ? groups!.first : []
        self.group = group
        members = Dictionary(grouping: group.indices.filter { group[$0] >= 0 }.map(Int32.init), by: { group[Int($0)] })
        rowCount = rows
        self.width = width
        self.options = options
        self.softcap = softcap
        self.teacher = options.distill > 0 ? teacher : nil
        weights = initial
        self.initial = initial
        m = [Float](repeating: 0, count: initial.count)
        v = [Float](repeating: 0, count: initial.count)
    }

    // MARK: - Checkpoints

    private static let magic: UInt64 = 0x4859_4452_4154_554E  // "HYDRATUN"

    /// Writes step, rows and moments to `path` (atomically: a crash leaves the previous one).
    public func save(to path: String) throws {
        var data = Data()
        func put<T>(_ x: T) { withUnsafeBytes(of: x) { data.append(contentsOf: $0) } }
        put(Self.magic); put(UInt64(step)); put(UInt64(rowCount)); put(UInt64(width))
        for a in [weights, m, v] { a.withUnsafeBytes { data.append(contentsOf: $0) } }
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }

    /// Takes up a checkpoint written by `save` for the same shape.
    public func restore(from path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else { return }
        let n = rowCount * width
        guard data.count == 32 + 3 * n * 4 else {
            throw HydraError.invalidInput("\(path) is not a checkpoint of \(rowCount) × \(width) rows: remove it")
        }
        try data.withUnsafeBytes { raw in
            let header = raw.bindMemory(to: UInt64.self)
            guard header[0] == Self.magic, header[2] == UInt64(rowCount), header[3] == UInt64(width) else {
                throw HydraError.invalidInput("\(path) is not a checkpoint of \(rowCount) × \(width) rows: remove it")
            }
            step = Int(header[1])
            let f = UnsafeRawBufferPointer(rebasing: raw[32...]).bindMemory(to: Float.self)
            weights = Array(f[0..<n]); m = Array(f[n..<2 * n]); v = Array(f[2 * n..<3 * n])
        }
    }

    // MARK: - Training

    /// Splits the cache's rows into training and validation rows (by sequence).
    public func split(_ cache: HiddenStateCache) -> (train: [Int32], validation: [Int32]) {
        var train: [Int32] = [], validation: [Int32] = []
        let every = options.validationEvery
        for r in 0..<cache.rows {
            if every > 0 && Int(cache.sequence[r]) % every == every - 1 {
                validation.append(Int32(r))
            } else {
                train.append(Int32(r))
            }
        }
        return (train, validation)
    }

    public func stepsPerEpoch(trainRows: Int) -> Int { (trainRows + options.batchSize - 1) / options.batchSize }

    /// Trains from the current step to the end of `options.epochs`,
    /// checkpointing to `checkpoint` (if given). `stopAfter` ends early after
    /// that many steps in total (tests use it to interrupt a run).
    public func train(_ cache: HiddenStateCache, checkpoint: String?, stopAfter: Int? = nil,
                      events: (Event) -> Void = { _ in }) throws {
        let (trainRows, validationRows) = split(cache)
        guard !trainRows.isEmpty else { throw HydraError.invalidInput("the corpus gave no positions to train on") }
        guard cache.targets.allSatisfy({ $0 >= 0 && Int($0) < rowCount }) else {
            throw HydraError.invalidInput("a target token lies outside the head's \(rowCount) output rows")
        }
        let perEpoch = stepsPerEpoch(trainRows: trainRows.count)
        let total = perEpoch * options.epochs
        let last = min(total, stopAfter ?? total)
        let b = options.batchSize
        var scratch = Scratch(batch: b, rows: rowCount, width: width, groups: teacher?.groups ?? 0)
        var order: [Int32] = []
        var orderEpoch = -1
        var lossSum = 0.0, lossRows = 0
        if step == 0, !validationRows.isEmpty {
            events(.validation(step: 0, loss: validationLoss(cache, rows: validationRows, scratch: &scratch)))
        }
        while step < last {
            let epoch = step / perEpoch, k = step % perEpoch
            if epoch != orderEpoch {
                order = Self.shuffled(trainRows, seed: options.seed, epoch: epoch)
                orderEpoch = epoch
            }
            let batch = Array(order[(k * b)..<min((k + 1) * b, order.count)])
            let loss = lossAndGradient(cache, rows: batch, scratch: &scratch, gradient: true, teacherTerm: true)
            lossSum += loss.ce + Double(options.distill) * loss.kl
            lossRows += batch.count
            adam(gradient: scratch.gradient)
            step += 1
            events(.step(done: step, total: total, loss: lossSum / Double(lossRows), rows: lossRows))
            lossSum = 0; lossRows = 0
            let epochEnd = step % perEpoch == 0
            if epochEnd, !validationRows.isEmpty {
                events(.validation(step: step, loss: validationLoss(cache, rows: validationRows, scratch: &scratch)))
            }
            if let checkpoint, epochEnd || step % options.checkpointEvery == 0 || step == last {
                try save(to: checkpoint)
                events(.checkpoint(step: step))
            }
        }
    }

    /// One Adam step (with the L2 pull) on a gradient of the mean loss
    /// computed elsewhere (`JointTuning`: through the body).
    public func apply(gradient: [Float]) {
        precondition(gradient.count == weights.count)
        adam(gradient: gradient)
        step += 1
    }

    /// The order of the training rows in `epoch`: Fisher–Yates from (seed, epoch).
    static func shuffled(_ rows: [Int32], seed: UInt64, epoch: Int) -> [Int32] {
        var g = SeededGenerator(seed: seed &* 0x9E37_79B9_7F4A_7C15 &+ UInt64(epoch))
        var a = rows
        var i = a.count - 1
        while i > 0 {
            let j = Int(g.next() % UInt64(i + 1))
            a.swapAt(i, j)
            i -= 1
        }
        return a
    }

    /// Mean cross-entropy (nats/token) of `rows` under the current weights.
    public func validationLoss(_ cache: HiddenStateCache, rows: [Int32]) -> Double {
        var scratch = Scratch(batch: options.batchSize, rows: rowCount, width: width, groups: teacher?.groups ?? 0)
        return validationLoss(cache, rows: rows, scratch: &scratch)
    }

    /// Mean KL divergence (nats) of the rows' group distribution from the
    /// teacher's over `rows`, under the current weights; nil without a teacher.
    public func teacherDivergence(_ cache: HiddenStateCache, rows: [Int32]) -> Double? {
        guard teacher != nil, !rows.isEmpty else { return nil }
        var scratch = Scratch(batch: options.batchSize, rows: rowCount, width: width, groups: teacher?.groups ?? 0)
        var sum = 0.0
        var a = 0
        while a < rows.count {
            let part = Array(rows[a..<min(a + options.batchSize, rows.count)])
            sum += lossAndGradient(cache, rows: part, scratch: &scratch, gradient: false, teacherTerm: true).kl
            a += part.count
        }
        return sum / Double(rows.count)
    }

    private func validationLoss(_ cache: HiddenStateCache, rows: [Int32], scratch: inout Scratch) -> Double {
        var sum = 0.0
        var a = 0
        while a < rows.count {
            let part = Array(rows[a..<min(a + options.batchSize, rows.count)])
            sum += lossAndGradient(cache, rows: part, scratch: &scratch, gradient: false, teacherTerm: false).ce
            a += part.count
        }
        return rows.isEmpty ? .nan : sum / Double(rows.count)
    }

    struct Scratch {
        var h: [Float], z: [Float], gradient: [Float]
        /// One row of logits, kept while the row becomes its gradient (compatible factoring).
        var copy: [Float] = []
        /// The teacher's group probabilities (batch × groups), group masses, one row's KL gradient.
        var q: [Float] = [], mass: [Float] = [], dz: [Float] = []
        init(batch: Int, rows: Int, width: Int, groups: Int = 0) {
            h = [Float](repeating: 0, count: batch * width)
            z = [Float](repeating: 0, count: batch * rows)
            gradient = [Float](repeating: 0, count: rows * width)
            if groups > 0 {
                q = [Float](repeating: 0, count: batch * groups)
                mass = [Float](repeating: 0, count: groups)
                dz = [Float](repeating: 0, count: rows)
            }
        }
    }

    /// Σ CE over `rows` (nats) and, with `teacherTerm` and a teacher, Σ KL
    /// from the teacher; with `gradient`, the gradient of the mean loss
    /// (CE, plus distill × KL where measured) with respect to W in scratch.gradient.
    private func lossAndGradient(_ cache: HiddenStateCache, rows: [Int32], scratch s: inout Scratch,
                                 gradient: Bool, teacherTerm: Bool) -> (ce: Double, kl: Double) {
        let n = rows.count, d = width, vocab = rowCount
        cache.hidden.withUnsafeBufferPointer { hid in
            s.h.withUnsafeMutableBufferPointer { h in
                for (i, r) in rows.enumerated() {
                    let src = hid.baseAddress! + Int(r) * d, dst = h.baseAddress! + i * d
                    for k in 0..<d { dst[k] = HalfFloat.float(fromHalf: src[k]) }
                }
            }
        }
        var loss = 0.0, divergence = 0.0
        let teacher = teacherTerm ? self.teacher : nil
        let compatible = compatibleScores(cache)
        if let teacher {
            s.h.withUnsafeBufferPointer { h in
                s.q.withUnsafeMutableBufferPointer { q in
                    teacher.probabilities(h.baseAddress!, count: n, width: d, softcap: softcap, into: q.baseAddress!)
                }
            }
        }
        let distill = options.distill
        // The teacher's buffers, held apart from `s` while s.z is written (swapped, not copied).
        var q: [Float] = [], mass: [Float] = [], dz: [Float] = []
        swap(&q, &s.q); swap(&mass, &s.mass); swap(&dz, &s.dz)
        defer { swap(&q, &s.q); swap(&mass, &s.mass); swap(&dz, &s.dz) }
        let keep = gradient || teacher != nil  // the exponentials stay in the row
        s.h.withUnsafeBufferPointer { h in
            weights.withUnsafeBufferPointer { w in
                s.z.withUnsafeMutableBufferPointer { z in
                    // Z (n × vocab) = H (n × d) · Wᵀ
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(vocab), Int32(d), 1,
                                h.baseAddress!, Int32(d), w.baseAddress!, Int32(d), 0, z.baseAddress!, Int32(vocab))
                    let scale = 1 / Float(n)
                    for i in 0..<n {
                        let row = z.baseAddress! + i * vocab
                        if let cap = softcap {
                            let inv = 1 / cap
                            for j in 0..<vocab { row[j] = tanhf(row[j] * inv) * cap }
                        }
                        let t = Int(cache.targets[Int(rows[i])])
                        if let compatible {
                            loss += compatibleLoss(row, target: t, native: compatible.logits(of: Int(rows[i])),
                                                   vocab: vocab, scale: scale, gradient: gradient, copy: &s.copy)
                            continue
                        }
                        if options.factored == .firstToken {
                            loss += groupLoss(row, target: t, vocab: vocab, scale: scale, gradient: gradient)
                            continue
                        }
                        var top = -Float.infinity
                        for j in 0..<vocab where row[j] > top { top = row[j] }
                        var sum: Float = 0
                        let zt = row[t]
                        for j in 0..<vocab {
                            let p = expf(row[j] - top)
                            sum += p
                            if keep { row[j] = p }
                        }
                        loss += Double(logf(sum) + top - zt)
                        if let teacher {
                            // row holds the softmax times `sum`: the KL and its gradient do not depend on that.
                            divergence += q.withUnsafeBufferPointer { q in
                                mass.withUnsafeMutableBufferPointer { mass in
                                    dz.withUnsafeMutableBufferPointer { dz in
                                        if gradient { for j in 0..<vocab { dz[j] = 0 } }
                                        return teacher.divergence(p: row, q: q.baseAddress! + i * teacher.groups,
                                                                  mass: mass.baseAddress!, scale: distill * scale,
                                                                  gradient: gradient ? dz.baseAddress! : nil)
                                    }
                                }
                            }
                        }
                        guard gradient else { continue }
                        // dCE/dlogit = softmax − one-hot, over n rows; through the cap: × (1 − (z/cap)²).
                        let k = scale / sum
                        if teacher != nil {
                            dz.withUnsafeBufferPointer { dz in
                                for j in 0..<vocab { row[j] = row[j] * k + dz[j] }
                            }
                        } else {
                            for j in 0..<vocab { row[j] *= k }
                        }
                        row[t] -= scale
                    }
                }
            }
        }
        guard gradient else { return (loss, divergence) }
        if let cap = softcap {
            // Recompute the capped logits for the chain rule (rare: Gemma 2 style caps).
            var raw = [Float](repeating: 0, count: n * vocab)
            s.h.withUnsafeBufferPointer { h in
                weights.withUnsafeBufferPointer { w in
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(n), Int32(vocab), Int32(d), 1,
                                h.baseAddress!, Int32(d), w.baseAddress!, Int32(d), 0, &raw, Int32(vocab))
                }
            }
            let inv = 1 / cap
            for i in 0..<(n * vocab) {
                let c = tanhf(raw[i] * inv)
                s.z[i] *= 1 - c * c
            }
        }
        s.z.withUnsafeBufferPointer { z in
            s.h.withUnsafeBufferPointer { h in
                s.gradient.withUnsafeMutableBufferPointer { g in
                    // G (vocab × d) = dZᵀ (vocab × n) · H (n × d)
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(vocab), Int32(d), Int32(n), 1,
                                z.baseAddress!, Int32(vocab), h.baseAddress!, Int32(d), 0, g.baseAddress!, Int32(d))
                }
            }
        }
        return (loss, divergence)
    }

    /// A factored output's loss at one position: the cross-entropy of
    /// `target` within its group; with `gradient`, `row` becomes the loss's
    /// gradient times `scale` (softmax − one-hot over the group, 0 elsewhere).
    /// A target in no group adds nothing.
    private func groupLoss(_ row: UnsafeMutablePointer<Float>, target t: Int, vocab: Int, scale: Float,
                           gradient: Bool) -> Double {
        let g = group[t]
        guard g >= 0, let tokens = members[g] else {
            if gradient { row.update(repeating: 0, count: vocab) }
            return 0
        }
        var top = -Float.infinity
        for j in tokens where row[Int(j)] > top { top = row[Int(j)] }
        var sum: Float = 0
        for j in tokens { sum += expf(row[Int(j)] - top) }
        let loss = Double(logf(sum) + top - row[t])
        guard gradient else { return loss }
        let k = scale / sum
        var p = [Float](repeating: 0, count: tokens.count)
        for (i, j) in tokens.enumerated() { p[i] = expf(row[Int(j)] - top) * k }
        row.update(repeating: 0, count: vocab)
        for (i, j) in tokens.enumerated() { row[Int(j)] = p[i] }
        row[t] -= scale
        return loss
    }

    /// The native logits at `cache`'s positions, made once per cache.
    private func compatibleScores(_ cache: HiddenStateCache) -> CompatibleScores? {
        guard let compatibility, let nativeRows else { return nil }
        if let scores, scores.cache == ObjectIdentifier(cache) { return scores.scores }
        let made = CompatibleScores(cache: cache, compatibility: compatibility, nativeRows: nativeRows, softcap: softcap)
        scores = (ObjectIdentifier(cache), made)
        return made
    }

    /// A factored output's loss at one position over compatible tokens:
    /// −log Σ_n w_n softmax_{C(n)}(z)[t] over the native tokens n compatible
    /// with `t` (their logits `native`, w their softmax); with `gradient`,
    /// `row` becomes the loss's gradient times `scale`:
    /// Σ_n r_n (softmax_{C(n)}(z) − one-hot(t)) with r the posterior share of each n.
    private func compatibleLoss(_ row: UnsafeMutablePointer<Float>, target t: Int, native a: ArraySlice<Float>,
                                vocab: Int, scale: Float, gradient: Bool, copy: inout [Float]) -> Double {
        let c = compatibility!
        let natives = c.natives(of: t)
        guard !natives.isEmpty else {
            if gradient { row.update(repeating: 0, count: vocab) }
            return 0
        }
        // s_n = a_n − log Σ_{C(n)} exp z: log of n's share before exp z_t.
        var s = [Float](repeating: 0, count: natives.count), lse = s
        for (k, n) in natives.enumerated() {
            lse[k] = FactoredOutput.logSumExp(c.heads(of: Int(n)).lazy.map { row[Int($0)] })
            s[k] = a[a.startIndex + k] - lse[k]
        }
        let loss = Double(FactoredOutput.logSumExp(a) - FactoredOutput.logSumExp(s) - row[t])
        guard gradient else { return loss }
        let total = FactoredOutput.logSumExp(s)
        if copy.count < vocab { copy = [Float](repeating: 0, count: vocab) }
        copy.withUnsafeMutableBufferPointer { z in
            z.baseAddress!.update(from: row, count: vocab)
            row.update(repeating: 0, count: vocab)
            for (k, n) in natives.enumerated() {
                let r = expf(s[k] - total) * scale
                guard r > 0 else { continue }
                for j in c.heads(of: Int(n)) { row[Int(j)] += r * expf(z[Int(j)] - lse[k]) }
            }
        }
        row[t] -= scale
        return loss
    }

    /// One Adam step on g + 2λ(W − W₀).
    private func adam(gradient: [Float]) {
        let t = Float(step + 1)
        let o = options
        let c1 = 1 - powf(o.beta1, t), c2 = 1 - powf(o.beta2, t)
        let lr = o.learningRate, twoL = 2 * o.l2, b1 = o.beta1, b2 = o.beta2, eps = o.epsilon
        let count = weights.count
        gradient.withUnsafeBufferPointer { g in
            initial.withUnsafeBufferPointer { w0 in
                weights.withUnsafeMutableBufferPointer { w in
                    m.withUnsafeMutableBufferPointer { m in
                        v.withUnsafeMutableBufferPointer { v in
                            for i in 0..<count {
                                let gi = g[i] + twoL * (w[i] - w0[i])
                                let mi = b1 * m[i] + (1 - b1) * gi
                                let vi = b2 * v[i] + (1 - b2) * gi * gi
                                m[i] = mi
                                v[i] = vi
                                w[i] -= lr * (mi / c1) / ((vi / c2).squareRoot() + eps)
                            }
                        }
                    }
                }
            }
        }
    }
}
