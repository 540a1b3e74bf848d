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

/// SplitMix64 with Box–Muller normals: the same numbers on every platform.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64
    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A uniform double in (0, 1].
    mutating func nextUnit() -> Double { (Double(next() >> 11) + 1) / 9_007_199_254_740_992 }

    /// A standard normal number.
    mutating func nextGaussian() -> Double {
        let u = nextUnit(), v = nextUnit()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}
