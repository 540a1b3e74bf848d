import CHydraKernels
import Foundation

/// A persistent pool of worker threads for the C kernels; the calling
/// thread works as thread 0. Calls from several threads are serialized.
public final class ThreadPool: @unchecked Sendable {
    /// The C pool (hydra_pool *).
    let raw: OpaquePointer
    /// Threads taking part in each run, the caller included.
    public let threads: Int

    /// Starts `threads - 1` workers (at least one thread in all).
    public init(threads: Int = ThreadPool.defaultThreadCount) {
        raw = hydra_pool_create(Int32(clamping: max(1, threads)))!
        self.threads = Int(hydra_pool_threads(raw))
    }

    deinit { hydra_pool_destroy(raw) }

    /// The machine's active processor count.
    public static var defaultThreadCount: Int { ProcessInfo.processInfo.activeProcessorCount }
}
