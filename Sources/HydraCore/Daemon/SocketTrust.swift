import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Whether a socket may be trusted with the user's text, checked by the
/// client before it sends a byte (as tmux and D-Bus do): another local user
/// who planted a directory or a socket where hydra looks, or who serves
/// one, would otherwise read the text and forge its translation.
///
/// - The socket's directory is a real directory (not a symlink), owned by
///   the user or root, and nobody else can write to it (unless it is
///   sticky, like /tmp, where only a file's owner can replace it).
/// - The socket is a socket owned by the user.
/// - The process that listens on it runs as the user (`SO_PEERCRED`).
public enum SocketTrust {
    /// The socket cannot be trusted; nothing was sent.
    public struct Refused: Error, CustomStringConvertible {
        public let socket: String
        public let reason: String
        public var description: String { "refusing the hydra daemon socket \(socket): \(reason)" }
    }

    /// Checks the socket's directory and the socket file (before connecting).
    public static func checkPath(_ socket: String) throws {
        let dir = (socket as NSString).deletingLastPathComponent
        let directory = dir.isEmpty ? "." : dir
        let uid = getuid()
        var st = stat()
        guard lstat(directory, &st) == 0 else { return }  // no directory, no daemon: connect fails
        guard (st.st_mode & S_IFMT) == S_IFDIR else {
            throw Refused(socket: socket, reason: "\(directory) is not a directory (a symlink?)")
        }
        guard st.st_uid == uid || st.st_uid == 0 else {
            throw Refused(socket: socket, reason: "\(directory) belongs to another user (uid \(st.st_uid))")
        }
        guard st.st_mode & 0o022 == 0 || st.st_mode & S_ISVTX != 0 else {
            throw Refused(socket: socket, reason: "other users can write to \(directory) (mode \(String(st.st_mode & 0o7777, radix: 8)))")
        }
        guard lstat(socket, &st) == 0 else { return }
        guard (st.st_mode & S_IFMT) == S_IFSOCK else {
            throw Refused(socket: socket, reason: "it is not a socket")
        }
        guard st.st_uid == uid else {
            throw Refused(socket: socket, reason: "it belongs to another user (uid \(st.st_uid))")
        }
    }

    /// Checks that the process at the other end of the connected `fd` runs
    /// as the user.
    public static func checkPeer(_ fd: Int32, socket: String) throws {
        guard let uid = peerUID(fd) else {
            throw Refused(socket: socket, reason: "cannot read the credentials of the process serving it")
        }
        guard uid == getuid() else {
            throw Refused(socket: socket, reason: "it is served by another user (uid \(uid))")
        }
    }

    /// The uid of the process at the other end of a connected Unix socket.
    public static func peerUID(_ fd: Int32) -> uid_t? {
        #if canImport(Glibc)
        // struct ucred { pid_t pid; uid_t uid; gid_t gid; } (Glibc hides it behind _GNU_SOURCE).
        var cred: (pid: Int32, uid: UInt32, gid: UInt32) = (0, 0, 0)
        var length = socklen_t(MemoryLayout.size(ofValue: cred))
        guard getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &length) == 0,
              length == socklen_t(MemoryLayout.size(ofValue: cred)) else { return nil }
        return cred.uid
        #else
        var uid = uid_t(0), gid = gid_t(0)
        guard getpeereid(fd, &uid, &gid) == 0 else { return nil }
        return uid
        #endif
    }
}
