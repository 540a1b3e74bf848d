import CHydraKernels
import Foundation

/// A persistent pool of worker threads for the C kernels; the calling
/// thread works as thread 0. Calls from several threads are serialized.
public final class ThreadPool: @unchecked Sendable {
    /// The C pool (hydra_pool *).
    let raw: OpaquePointer
    /// Threads taking part in each run, the caller included.
    public let threads: Int

    /// Starts `threads - 1` workers (at least one thread, at most
    /// `maxThreads`, in all).
    public init(threads: Int = ThreadPool.defaultThreadCount) {
        raw = hydra_pool_create(Int32(min(max(1, threads), Self.maxThreads)))!
        self.threads = Int(hydra_pool_threads(raw))
    }

    deinit { hydra_pool_destroy(raw) }

    /// The machine's active processor count.
    public static var defaultThreadCount: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// The most threads a pool may have: ggml's cap of 512, and eight per
    /// core (more than one per core rarely helps; without a cap, a mistyped
    /// count would create threads until the machine's pid space is gone).
    public static var maxThreads: Int { min(512, 8 * max(1, defaultThreadCount)) }

    /// Checks a thread count given by a user: nil when it is fine, else why not.
    public static func problem(with threads: Int) -> String? {
        guard threads >= 1 else { return "--threads must be at least 1" }
        guard threads <= maxThreads else {
            return "--threads must be at most \(maxThreads) (512, and 8 per core on this machine's \(defaultThreadCount))"
        }
        return nil
    }
}
