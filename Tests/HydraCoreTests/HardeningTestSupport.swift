import Foundation
import Testing
@testable import HydraCore
#if canImport(Glibc)
import Glibc
#endif

/// Runs the `hydra` binary under `timeout`, so that a command that would
/// hang (a FIFO, a reply that never comes) fails the test instead of
/// holding the suite: status 124 means it was stopped.
func runHydra(_ args: [String], stdin: Data? = nil, env: [String: String] = [:], timeout: Int = 120) throws -> CLI.Result {
    try runProgram("/usr/bin/timeout", ["-k", "5", String(timeout), CLI.binary] + args, stdin: stdin, env: env)
}

/// Runs a program with standard input and both outputs piped.
func runProgram(_ path: String, _ args: [String], stdin: Data? = nil, env: [String: String] = [:]) throws -> CLI.Result {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: path)
    p.arguments = args
    var environment = ProcessInfo.processInfo.environment
    environment["HYDRA_MODELS"] = TestModels.directory
    for (k, v) in env { environment[k] = v }
    p.environment = environment
    let out = Pipe(), err = Pipe(), input = Pipe()
    p.standardOutput = out
    p.standardError = err
    p.standardInput = input
    try p.run()
    let writer = input.fileHandleForWriting
    DispatchQueue.global().async {
        if let stdin { try? writer.write(contentsOf: stdin) }
        try? writer.close()
    }
    let errBox = Mutex(Data())
    let done = DispatchSemaphore(value: 0)
    let errHandle = err.fileHandleForReading
    DispatchQueue.global().async {
        let d = errHandle.readDataToEndOfFile()
        errBox.withLock { $0 = d }
        done.signal()
    }
    let outData = out.fileHandleForReading.readDataToEndOfFile()
    done.wait()
    p.waitUntilExit()
    return CLI.Result(status: p.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                      stderr: String(decoding: errBox.withLock { $0 }, as: UTF8.self))
}

/// A short private directory under /tmp (a socket path must fit in 108 bytes).
func scratchDirectory() throws -> String {
    let dir = "/tmp/hyd-" + String(UUID().uuidString.prefix(8))
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true,
                                            attributes: [.posixPermissions: 0o700])
    return dir
}

/// A figure of `/proc/<pid>/status` in KiB ("VmRSS", "VmHWM") or a count ("Threads").
func procStatus(_ pid: Int32, _ key: String) -> Int {
    guard let text = try? String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8) else { return 0 }
    for line in text.split(separator: "\n") where line.hasPrefix(key + ":") {
        return Int(line.dropFirst(key.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first ?? "") ?? 0
    }
    return 0
}

/// Another user's server on a Unix socket, as a stranger would plant one: it
/// records every byte it receives and answers each connection with a forged
/// translation. With `uid`, it drops to that user before listening (so the
/// kernel records that user as the socket's peer).
final class StrangerServer {
    let process = Process()
    let received: String

    static let script = """
        import os, socket, sys
        path, log, uid = sys.argv[1], sys.argv[2], int(sys.argv[3])
        out = open(log, "ab", buffering=0)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(path)
        os.chmod(path, 0o600)
        if uid >= 0:
            os.setgid(uid)
            os.setuid(uid)
        s.listen(8)
        print("ready", flush=True)
        forged = b'{"jsonrpc":"2.0","id":1,"result":{"text":"FORGED","model":"x","paragraphs":1,"prompt_tokens":1,"generated_tokens":1,"timings":{"queued_ms":0,"load_ms":0,"total_ms":0}}}\\n'
        while True:
            c, _ = s.accept()
            c.settimeout(2)
            try:
                data = c.recv(65536)
                out.write(data)
                c.sendall(forged)
            except Exception:
                pass
            c.close()
        """

    init(socket: String, uid: Int = -1) throws {
        received = socket + ".received"
        FileManager.default.createFile(atPath: received, contents: nil)
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", Self.script, socket, received, String(uid)]
        let out = Pipe()
        process.standardOutput = out
        process.standardError = FileHandle.nullDevice
        try process.run()
        // Wait for "ready".
        _ = out.fileHandleForReading.availableData
    }

    /// What it received so far.
    var bytesReceived: Int {
        (try? FileManager.default.attributesOfItem(atPath: received)[.size] as? Int) ?? -1
    }

    func stop() {
        if process.isRunning {
            // SIGKILL: a child of a test process may start with SIGTERM blocked.
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
        unlink(received)
    }

    deinit { stop() }
}

/// A raw connection to a socket, for clients that misbehave on purpose.
struct RawSocket {
    let fd: Int32

    init(_ path: String) throws {
        fd = try DaemonClient.connect(path)
    }

    func close() { _ = Glibc.close(fd) }

    /// Sets SO_SNDTIMEO / SO_RCVTIMEO.
    func timeouts(send: Int = 0, receive: Int = 0) {
        var s = timeval(tv_sec: send, tv_usec: 0), r = timeval(tv_sec: receive, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &s, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &r, socklen_t(MemoryLayout<timeval>.size))
    }

    /// Sends as much of `bytes` as the socket takes; returns the count sent.
    @discardableResult
    func send(_ bytes: [UInt8]) -> Int {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress! + done, $0.count - done, Int32(MSG_NOSIGNAL)) }
            if n <= 0 { break }
            done += n
        }
        return done
    }

    /// Reads until end of file (or an error, or the receive timeout).
    /// Returns the bytes and whether the end of file was seen.
    func readAll() -> ([UInt8], eof: Bool) {
        var all: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if n == 0 { return (all, true) }
            if n < 0 { return (all, false) }
            all += chunk[0..<n]
        }
    }
}

/// Runs `body` on a thread of its own and waits at most `seconds` for it:
/// false when it did not finish (a call that hangs).
func finishes(within seconds: Double, _ body: @escaping () -> Void) -> Bool {
    /// The body runs on one other thread only, while this one waits.
    final class Box: @unchecked Sendable {
        let body: () -> Void
        init(_ body: @escaping () -> Void) { self.body = body }
    }
    let box = Box(body)
    let done = DispatchSemaphore(value: 0)
    let t = Thread {
        box.body()
        done.signal()
    }
    t.start()
    return done.wait(timeout: .now() + seconds) == .success
}
