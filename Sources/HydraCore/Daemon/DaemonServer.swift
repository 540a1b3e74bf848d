import Foundation
import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The daemon: a Unix-domain socket served with swift-nio, one thread for
/// the socket and one per model. At most one daemon runs per socket (a
/// lock file held while it lives); a socket left behind by a daemon that
/// died is replaced.
public final class DaemonServer: @unchecked Sendable {
    public let paths: DaemonPaths
    public let service: DaemonService
    private var lock: DaemonLock?
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private var channel: Channel?
    private let stopLock = NSLock()
    private var stopped = false

    public init(paths: DaemonPaths, configuration: DaemonService.Configuration) {
        self.paths = paths
        self.service = DaemonService(configuration: configuration)
    }

    /// Binds the socket and starts serving; with `preload`, starts loading
    /// the default model at once.
    public func start(preload: Bool = true) throws {
        try paths.prepareDirectory()
        guard let lock = try DaemonLock(path: paths.lock) else {
            let pid = paths.readPid().map { " (pid \($0))" } ?? ""
            throw HydraError.invalidInput("a hydra daemon is already running on \(paths.socket)\(pid)")
        }
        self.lock = lock
        try removeStaleSocket()

        let service = self.service
        let limits = service.limits
        let maxBytes = limits.maxMessageBytes
        let idle = limits.idleTimeoutSeconds > 0 ? TimeAmount.milliseconds(Int64(limits.idleTimeoutSeconds * 1000)) : nil
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
            .childChannelOption(ChannelOptions.writeBufferWaterMark,
                                value: .init(low: limits.outboundHighBytes / 2, high: limits.outboundHighBytes))
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let idle { try channel.pipeline.syncOperations.addHandler(IdleStateHandler(readTimeout: idle)) }
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(LineDecoder(maxBytes: maxBytes)))
                    try channel.pipeline.syncOperations.addHandler(ConnectionHandler(service: service))
                }
            }
        // The socket is created 0600 (umask), then checked by chmod: no
        // moment where another user could connect.
        // The pid file first: a daemon that `hydra daemon stop` could not
        // find (disk full) must not start.
        do {
            try "\(getpid())\n".write(toFile: paths.pid, atomically: true, encoding: .utf8)
        } catch {
            throw HydraError.invalidInput("cannot write the pid file \(paths.pid): \(error.localizedDescription)")
        }
        let oldMask = umask(0o177)
        defer { umask(oldMask) }
        do {
            channel = try bootstrap.bind(to: try Self.address(paths.socket)).wait()
        } catch {
            unlink(paths.pid)
            throw HydraError.invalidInput("cannot listen on \(paths.socket): \(error)")
        }
        chmod(paths.socket, 0o600)
        service.onShutdown = { [weak self] in self?.stop() }
        if preload { try service.worker(for: service.configuration.defaultModel).preload() }
    }

    /// Blocks until the server stops.
    public func waitUntilStopped() {
        try? channel?.closeFuture.wait()
    }

    /// Stops listening and removes the socket and pid files.
    public func stop() {
        let first = stopLock.withLock {
            defer { stopped = true }
            return !stopped
        }
        guard first else { return }
        unlink(paths.socket)
        unlink(paths.pid)
        service.stopping()
        try? channel?.close().wait()
    }

    /// The socket's address (107-byte paths included).
    static func address(_ path: String) throws -> SocketAddress {
        let addr = try DaemonPaths.unixAddress(path)
        return SocketAddress(addr)
    }

    /// With the lock held, a socket file left there belongs to a dead
    /// daemon: remove it (but never something that is not a socket).
    private func removeStaleSocket() throws {
        var st = stat()
        guard lstat(paths.socket, &st) == 0 else { return }
        guard (st.st_mode & S_IFMT) == S_IFSOCK else {
            throw HydraError.invalidInput("\(paths.socket) exists and is not a socket")
        }
        unlink(paths.socket)
    }
}
