#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The baseline head: random rows with the mean and per-dimension spread of a
/// real table, each scaled to the table's mean row norm.
public enum RandomRows {
    /// `count` rows × `source.cols`, reproducible from `seed`.
    public static func matched(to source: FloatMatrix, count: Int, seed: UInt64 = 1) -> FloatMatrix {
        let d = source.cols, n = max(source.rows, 1)
        var mean = [Double](repeating: 0, count: d)
        var meanNorm = 0.0
        for r in 0..<source.rows {
            var norm = 0.0
            for c in 0..<d {
                let v = Double(source.values[r * d + c])
                mean[c] += v
                norm += v * v
            }
            meanNorm += norm.squareRoot()
        }
        for c in 0..<d { mean[c] /= Double(n) }
        meanNorm /= Double(n)
        var spread = [Double](repeating: 0, count: d)
        for r in 0..<source.rows {
            for c in 0..<d {
                let v = Double(source.values[r * d + c]) - mean[c]
                spread[c] += v * v
            }
        }
        for c in 0..<d { spread[c] = (spread[c] / Double(n)).squareRoot() }

        var rng = SeededGenerator(seed: seed)
        var out = [Float](repeating: 0, count: count * d)
        var row = [Double](repeating: 0, count: d)
        for r in 0..<count {
            var norm = 0.0
            for c in 0..<d {
                row[c] = mean[c] + spread[c] * rng.nextGaussian()
                norm += row[c] * row[c]
            }
            let scale = norm > 0 ? meanNorm / norm.squareRoot() : 0
            for c in 0..<d { out[r * d + c] = Float(row[c] * scale) }
        }
        return FloatMatrix(rows: count, cols: d, values: out)
    }
}
