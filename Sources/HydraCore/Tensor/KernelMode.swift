import CHydraKernels

/// Which kernels run a product: the portable C reference or the best SIMD
/// ones this build has. Both compute the same bits.
public enum KernelMode: Int32, Sendable, CaseIterable {
    case portable = 0
    case best = 1

    /// Whether this build has SIMD kernels (otherwise `.best` is portable).
    public static var hasSIMD: Bool { hydra_has_simd_kernels() != 0 }
}
