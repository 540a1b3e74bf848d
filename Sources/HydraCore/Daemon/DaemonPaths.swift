import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a daemon's socket, lock and pid files live: a directory only its
/// user can enter (mode 0700), `$XDG_RUNTIME_DIR/hydra` or else
/// `/tmp/hydra-<uid>`.
public struct DaemonPaths: Sendable, Equatable {
    public let directory: String
    public let socket: String
    /// Whether the directory is hydra's own (made and kept private by
    /// hydra), rather than wherever `--socket` points.
    public let ownsDirectory: Bool

    public var lock: String { socket + ".lock" }
    public var pid: String { socket + ".pid" }
    public var log: String { socket + ".log" }
    /// Held by `hydra daemon start` while it starts one: two at once do not
    /// both start a daemon (and truncate each other's log).
    public var startLock: String { socket + ".start" }

    /// The socket at `socket` (`--socket`), else `$HYDRA_SOCKET`, else the
    /// default directory's `hydra.sock`.
    public init(socket: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment) {
        if let s = socket ?? environment["HYDRA_SOCKET"], !s.isEmpty {
            self.socket = s
            let dir = (s as NSString).deletingLastPathComponent
            self.directory = dir.isEmpty ? "." : dir
            self.ownsDirectory = false
            return
        }
        let dir: String
        if let x = environment["XDG_RUNTIME_DIR"], !x.isEmpty {
            dir = x + "/hydra"
        } else {
            dir = "/tmp/hydra-\(getuid())"
        }
        self.directory = dir
        self.socket = dir + "/hydra.sock"
        self.ownsDirectory = true
    }

    /// Creates hydra's directory (mode 0700) if needed and checks that it is
    /// a real directory of ours that nobody else can enter. A directory given
    /// with `--socket` must exist and is left as it is (the socket itself is
    /// 0600).
    public func prepareDirectory() throws {
        guard ownsDirectory else {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
                throw HydraError.invalidInput("the socket's directory \(directory) does not exist")
            }
            return
        }
        if mkdir(directory, 0o700) != 0 && errno != EEXIST {
            throw HydraError.invalidInput("cannot create \(directory): \(String(cString: strerror(errno)))")
        }
        var st = stat()
        guard lstat(directory, &st) == 0 else {
            throw HydraError.invalidInput("cannot read \(directory): \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw HydraError.invalidInput("\(directory) is not a directory")
        }
        guard st.st_uid == getuid() else {
            throw HydraError.invalidInput("\(directory) belongs to another user")
        }
        if st.st_mode & 0o077 != 0 {
            // Ours but open to others (e.g. made by hand): close it.
            guard chmod(directory, 0o700) == 0 else {
                throw HydraError.invalidInput("cannot make \(directory) private")
            }
        }
    }

    /// The pid written by the running daemon, if any.
    public func readPid() -> pid_t? {
        guard let s = try? String(contentsOfFile: pid, encoding: .utf8) else { return nil }
        return pid_t(s.trimmingCharacters(in: .whitespacesAndNewlines))
    }
}

/// An exclusive lock on a file, held as long as the process lives (the
/// kernel drops it when the process dies, even by kill -9): at most one
/// daemon per socket.
public final class DaemonLock {
    private let fd: Int32

    /// Takes the lock, or returns nil when another process holds it (with
    /// `wait`, waits for it instead).
    public init?(path: String, wait: Bool = false) throws {
        let fd = open(path, O_CREAT | O_RDWR | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw HydraError.invalidInput("cannot open \(path): \(String(cString: strerror(errno)))")
        }
        var taken = flock(fd, wait ? LOCK_EX : LOCK_EX | LOCK_NB) == 0
        while !taken && wait && errno == EINTR { taken = flock(fd, LOCK_EX) == 0 }
        guard taken else {
            close(fd)
            return nil
        }
        self.fd = fd
    }

    deinit { close(fd) }

    /// Whether a process (a live daemon) holds the lock at `path` now.
    public static func isHeld(path: String) -> Bool {
        let fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else { return errno == EWOULDBLOCK }
        flock(fd, LOCK_UN)
        return false
    }
}

extension DaemonPaths {
    /// The Unix address of a socket path: Linux's `sun_path` holds 107
    /// bytes and the NUL (NIO's own address refuses paths over 103, the
    /// size on macOS).
    static func unixAddress(_ path: String) throws -> sockaddr_un {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard bytes.count < capacity else {
            throw HydraError.invalidInput("socket path too long (\(bytes.count) bytes, at most \(capacity - 1)): \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        return addr
    }
}
