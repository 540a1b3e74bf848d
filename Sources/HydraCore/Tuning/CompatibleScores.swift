import COpenBLAS
import Foundation

/// The native head's logits at each cached position for the native tokens
/// compatible with the position's target (`NativeCompatibility`): what a
/// factored output's loss over compatible tokens reads (`OutputRowTuner`).
/// The body and the native head are frozen, so they are computed once: for
/// each target, one product of its positions' hidden states by its native
/// tokens' rows.
struct CompatibleScores {
    /// Row r's logits, in the order of `natives(of: target)`: logits[start[r]..<start[r + 1]].
    private let start: [Int]
    private let values: [Float]

    init(cache: HiddenStateCache, compatibility c: NativeCompatibility, nativeRows: TokenEmbedding, softcap: Float?) {
        let d = cache.width, rows = cache.rows
        var start = [Int](repeating: 0, count: rows + 1)
        for r in 0..<rows {
            let t = Int(cache.targets[r])
            start[r + 1] = start[r] + (t >= 0 && t < c.headCount ? c.natives(of: t).count : 0)
        }
        var values = [Float](repeating: 0, count: start[rows])
        let byTarget = Dictionary(grouping: 0..<rows, by: { Int(cache.targets[$0]) })
        for (t, positions) in byTarget where t >= 0 && t < c.headCount {
            let natives = c.natives(of: t)
            guard !natives.isEmpty else { continue }
            var w = [Float](repeating: 0, count: natives.count * d)
            var h = [Float](repeating: 0, count: positions.count * d)
            var out = [Float](repeating: 0, count: positions.count * natives.count)
            w.withUnsafeMutableBufferPointer { w in
                for (k, n) in natives.enumerated() { nativeRows.row(Int(n), into: w.baseAddress! + k * d) }
            }
            cache.hidden.withUnsafeBufferPointer { hid in
                for (i, r) in positions.enumerated() {
                    for k in 0..<d { h[i * d + k] = HalfFloat.float(fromHalf: hid[r * d + k]) }
                }
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, Int32(positions.count), Int32(natives.count), Int32(d), 1,
                        h, Int32(d), w, Int32(d), 0, &out, Int32(natives.count))
            for (i, r) in positions.enumerated() {
                for k in 0..<natives.count {
                    var x = out[i * natives.count + k]
                    if let cap = softcap { x = tanhf(x / cap) * cap }
                    values[start[r] + k] = x
                }
            }
        }
        self.start = start
        self.values = values
    }

    /// The native logits at cache row `r`.
    func logits(of r: Int) -> ArraySlice<Float> { values[start[r]..<start[r + 1]] }
}
