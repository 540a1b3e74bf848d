import COpenBLAS

/// Linear least squares in float64: P = argmin ‖A·P − B‖² + λ‖P‖², through the
/// normal equations (AᵀA + λI) P = AᵀB, a Cholesky factorization and two
/// triangular solves. OpenBLAS forms AᵀA and AᵀB.
public enum LeastSquares {
    /// - Parameters:
    ///   - a: n × k, row-major.
    ///   - b: n × m, row-major.
    ///   - ridge: λ relative to the mean diagonal of AᵀA (keeps rank-deficient fits finite).
    /// - Returns: P, k × m, row-major; nil when AᵀA + λI is not positive definite.
    public static func solve(a: [Double], b: [Double], rows n: Int, aCols k: Int, bCols m: Int,
                             ridge: Double = 1e-8) -> [Double]? {
        precondition(a.count == n * k && b.count == n * m)
        var gram = [Double](repeating: 0, count: k * k)
        var rhs = [Double](repeating: 0, count: k * m)
        // Lower triangle of AᵀA, and AᵀB.
        cblas_dsyrk(CblasRowMajor, CblasLower, CblasTrans, Int32(k), Int32(n), 1, a, Int32(k), 0, &gram, Int32(k))
        cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, Int32(k), Int32(m), Int32(n), 1, a, Int32(k),
                    b, Int32(m), 0, &rhs, Int32(m))
        var trace = 0.0
        for i in 0..<k { trace += gram[i * k + i] }
        let lambda = ridge * max(trace / Double(max(k, 1)), Double.leastNormalMagnitude)
        for i in 0..<k { gram[i * k + i] += lambda }
        guard cholesky(&gram, k) else { return nil }
        // L·Y = AᵀB, then Lᵀ·P = Y.
        cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasNoTrans, CblasNonUnit, Int32(k), Int32(m), 1,
                    gram, Int32(k), &rhs, Int32(m))
        cblas_dtrsm(CblasRowMajor, CblasLeft, CblasLower, CblasTrans, CblasNonUnit, Int32(k), Int32(m), 1,
                    gram, Int32(k), &rhs, Int32(m))
        return rhs
    }

    /// In-place Cholesky factorization of the lower triangle (row-major k × k):
    /// afterwards the lower triangle holds L with LLᵀ = the input. False when
    /// the matrix is not positive definite.
    static func cholesky(_ m: inout [Double], _ k: Int) -> Bool {
        m.withUnsafeMutableBufferPointer { p in
            for j in 0..<k {
                var d = p[j * k + j]
                for t in 0..<j { d -= p[j * k + t] * p[j * k + t] }
                if !(d > 0) { return false }
                let l = d.squareRoot()
                p[j * k + j] = l
                for i in (j + 1)..<max(k, j + 1) {
                    var s = p[i * k + j]
                    // Row i and row j of L, both up to column j.
                    for t in 0..<j { s -= p[i * k + t] * p[j * k + t] }
                    p[i * k + j] = s / l
                }
            }
            return true
        }
    }
}
