import CHydraKernels

extension QuantizedMatrix {
    /// y[t][r] = row r · x[t] for `tokens` rows of x, each row computed with
    /// the arithmetic of a one-token product (`multiply(_, tokens: 1, ...)`),
    /// bit for bit, while the weights are read once for all rows. For
    /// sequences decoded together that must each match decoding alone.
    public func multiplyEach(_ x: UnsafePointer<Float>, tokens: Int, into y: UnsafeMutablePointer<Float>,
                             pool: ThreadPool?, kernels: KernelMode? = nil) {
        let mode = kernels?.rawValue ?? hydra_kernel_mode()
        let rc = hydra_matmul_each(pool?.raw, Int32(type.rawValue), data, repacked?.bytes, Int64(rows), Int64(cols),
                                   x, Int64(tokens), y, mode)
        precondition(rc == 0, "hydra_matmul_each failed for \(type.name) \(rows)x\(cols)")
    }
}
