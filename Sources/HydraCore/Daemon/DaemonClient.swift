import Foundation
#if canImport(Glibc)
import Glibc
private let systemConnect = Glibc.connect
private let systemSend = Glibc.send
private let noSignal = Int32(MSG_NOSIGNAL)
#elseif canImport(Darwin)
import Darwin
private let systemConnect = Darwin.connect
private let systemSend = Darwin.send
private let noSignal: Int32 = 0  // SIGPIPE is ignored by the callers on Darwin
#endif

/// A blocking client of the daemon's socket, for `hydra translate`,
/// `hydra daemon` and the tests: plain POSIX calls, nothing to start.
public final class DaemonClient {
    private let socketPath: String
    private var fd: Int32
    private var buffer: [UInt8] = []
    private var lastID = 0
    private let decoder = RPCCoding.decoder()

    /// Connects to `socket`; throws `DaemonClient.NotRunning` when no
    /// daemon listens there, and `SocketTrust.Refused` (having sent
    /// nothing) when the socket or the process serving it is not the user's.
    public init(socket path: String) throws {
        socketPath = path
        fd = try Self.trustedConnection(path)
    }

    private static func trustedConnection(_ path: String) throws -> Int32 {
        try SocketTrust.checkPath(path)
        let fd = try connect(path)
        do {
            try SocketTrust.checkPeer(fd, socket: path)
        } catch {
            close(fd)
            throw error
        }
        return fd
    }

    deinit { close(fd) }

    /// No daemon listens on the socket (no file, or a stale one).
    public struct NotRunning: Error, CustomStringConvertible {
        public let socket: String
        public var description: String { "no hydra daemon is running on \(socket)" }
    }

    /// Whether a daemon answers on `socket`.
    public static func isRunning(socket: String) -> Bool {
        guard let fd = try? connect(socket) else { return false }
        close(fd)
        return true
    }

    static func connect(_ path: String) throws -> Int32 {
        var addr = try DaemonPaths.unixAddress(path)
        #if canImport(Glibc)
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        #else
        let fd = socket(AF_UNIX, SOCK_STREAM, 0)
        #endif
        guard fd >= 0 else { throw HydraError.invalidInput("cannot create a socket: \(String(cString: strerror(errno)))") }
        let ok = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                systemConnect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard ok == 0 else {
            close(fd)
            throw NotRunning(socket: path)
        }
        return fd
    }

    /// Sends raw bytes (a request line, or anything a test wants to send).
    public func send(bytes: [UInt8]) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { systemSend(fd, $0.baseAddress! + done, $0.count - done, noSignal) }
            if n < 0 {
                if errno == EINTR { continue }
                throw HydraError.invalidInput("the daemon closed the connection")
            }
            done += n
        }
    }

    /// Sends one request and returns its id.
    @discardableResult
    public func send<P: Encodable>(method: String, params: P, id: RPCID? = nil) throws -> RPCID {
        lastID += 1
        let rid = id ?? .number(lastID)
        try send(bytes: Array(RPCCoding.line(RPCRequest(id: rid, method: method, params: params)).utf8))
        return rid
    }

    /// The daemon closed the connection before saying anything about the
    /// request just sent.
    private struct ClosedUnanswered: Error {}

    /// Sends a request of an exchange; a closed connection is `ClosedUnanswered`.
    private func request<P: Encodable>(_ method: String, _ params: P) throws -> RPCID {
        do {
            return try send(method: method, params: params)
        } catch {
            throw ClosedUnanswered()
        }
    }

    /// Runs one request and its answer. The daemon closes a connection that
    /// stays silent for its idle timeout, so a request sent just then (or
    /// after a long pause) meets a closed connection: when the daemon said
    /// nothing about the request, it is sent once more on a new connection.
    /// Every request this client makes can be repeated (none has begun).
    private func exchange<T>(closed message: String, _ body: () throws -> T) throws -> T {
        do {
            return try body()
        } catch is ClosedUnanswered {
            let fresh: Int32
            do {
                fresh = try Self.trustedConnection(socketPath)
            } catch {
                throw HydraError.invalidInput("\(message), and connecting again failed: \(error)")
            }
            close(fd)
            fd = fresh
            buffer = []
            do {
                return try body()
            } catch is ClosedUnanswered {
                throw HydraError.invalidInput("\(message) (twice, on a new connection too)")
            }
        }
    }

    /// The next message line from the daemon, nil when it closed the connection.
    public func readLine() throws -> [UInt8]? {
        while true {
            if let nl = buffer.firstIndex(of: 0x0A) {
                let line = Array(buffer[..<nl])
                buffer.removeSubrange(...nl)
                return line
            }
            var chunk = [UInt8](repeating: 0, count: 65536)
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n < 0 {
                if errno == EINTR { continue }
                if errno == ECONNRESET { return nil }  // closed with a request of ours unread
                throw HydraError.invalidInput("reading from the daemon failed: \(String(cString: strerror(errno)))")
            }
            if n == 0 { return nil }
            buffer += chunk[0..<n]
        }
    }

    /// What any message from the daemon has.
    public struct Incoming: Decodable {
        public let id: RPCID?
        public let method: String?
        public let error: RPCError?
    }

    private struct ResultOnly<R: Decodable>: Decodable { let result: R }

    /// The next message, decoded, with its raw bytes.
    public func readMessage() throws -> (Incoming, Data)? {
        guard let line = try readLine() else { return nil }
        let data = Data(line)
        return (try decoder.decode(Incoming.self, from: data), data)
    }

    /// Calls `method` and waits for its result (skipping notifications).
    /// An error with a null id (a request the daemon could not read, such as
    /// one over its size limit) ends the call too: this client sends one
    /// request at a time, so it can only be about that one.
    public func call<P: Encodable, R: Decodable>(_ method: String, _ params: P, as: R.Type = R.self) throws -> R {
        try exchange(closed: "the daemon closed the connection") {
            let id = try request(method, params)
            while let (m, data) = try readMessage() {
                if m.id == nil, let e = m.error { throw e }
                guard m.id == id else { continue }
                if let e = m.error { throw e }
                return try decoder.decode(ResultOnly<R>.self, from: data).result
            }
            throw ClosedUnanswered()
        }
    }

    /// Translates through the daemon, handing each streamed piece to
    /// `onPartial` (which returns false to cancel and stop reading).
    public func translate(_ params: TranslateParams, onPartial: (String) -> Bool = { _ in true }) throws -> TranslateResult {
        let closed = "the daemon closed the connection before the translation ended"
        return try exchange(closed: closed) {
            let id = try request(DaemonMethod.translate, params)
            var streamed = false
            while let (m, data) = try readMessage() {
                if m.method == DaemonMethod.partial {
                    let p = try decoder.decode(RPCParams<PartialParams>.self, from: data).params
                    guard p.id == id else { continue }
                    streamed = true
                    if !onPartial(p.text) {
                        try send(method: DaemonMethod.cancel, params: CancelParams(id: id))
                        throw RPCError(code: RPCError.cancelled, message: "the request was cancelled")
                    }
                    continue
                }
                if m.id == nil, let e = m.error { throw e }
                guard m.id == id else { continue }
                if let e = m.error { throw e }
                return try decoder.decode(ResultOnly<TranslateResult>.self, from: data).result
            }
            // Pieces already handed on cannot be taken back: no second try.
            if streamed { throw HydraError.invalidInput("\(closed) (after streaming part of it)") }
            throw ClosedUnanswered()
        }
    }

    /// Translates a text of any length through the daemon, as `hydra
    /// translate` does in process: the text is cut where `Paragraphs.parts`
    /// may cut it (so the parts translate exactly as the whole) into requests
    /// that fit the daemon's limits, sent one after the other; a part the
    /// daemon still finds too long (its token budget) is cut again.
    public func translateDocument(_ params: TranslateParams, onPartial: (String) -> Bool = { _ in true }) throws -> TranslateResult {
        let limits = try call(DaemonMethod.status, Empty(), as: StatusResult.self).limits
        let text = TextNormalization.nfc(params.text)
        // Worst case, JSON writes each byte as six ("\u001f"); 4 KiB for the rest.
        let budget = max(1, min(limits.maxTextBytes, (limits.maxMessageBytes - 4096) / 6, Self.partBytes))
        var total: TranslateResult?
        var queue = Paragraphs.parts(text, maxBytes: budget).map { ($0, budget) }
        while !queue.isEmpty {
            let (part, size) = queue.removeFirst()
            if Paragraphs(part).texts.isEmpty {
                // Nothing to translate (code, rules, blank lines): copied
                // through here as the daemon would, whatever its size.
                guard onPartial(part) else { throw RPCError(code: RPCError.cancelled, message: "the request was cancelled") }
                let copied = TranslateResult(text: part, model: params.model ?? "", paragraphs: 0, promptTokens: 0,
                                             generatedTokens: 0, timings: TranslateTimings())
                total = total.map { $0.adding(copied) } ?? copied
                continue
            }
            var p = params
            p.text = part
            do {
                let r = try translate(p, onPartial: onPartial)
                total = total.map { $0.adding(r) } ?? r
            } catch let e as RPCError where (e.code == RPCError.tooManyTokens || e.code == RPCError.textTooLong) && size > 1 {
                let smaller = Paragraphs.parts(part, maxBytes: size / 2)
                guard smaller.count > 1 else { throw e }
                queue.insert(contentsOf: smaller.map { ($0, size / 2) }, at: 0)
            }
        }
        return total ?? TranslateResult(text: "", model: params.model ?? "", paragraphs: 0, promptTokens: 0,
                                        generatedTokens: 0, timings: TranslateTimings())
    }

    /// The most text one request of `translateDocument` carries: a few
    /// thousand tokens, well within the daemon's default token budget.
    static let partBytes = 8 << 10
}
