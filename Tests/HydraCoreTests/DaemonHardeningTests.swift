import Foundation
import Testing
@testable import HydraCore
#if canImport(Glibc)
import Glibc
#endif

/// The daemon and its client against a hostile local user and careless
/// clients: each test reproduces one defect of issue 11.
@Suite("Daemon hardening", .serialized)
struct DaemonHardeningTests {
    static let secret = "My bank PIN is 4921."
    static var model: String { TestModels.path("smollm2-135m") }

    // MARK: - 1. Whom the client trusts

    @Test("the client refuses a planted socket directory (another user's, open to all, a symlink) and sends nothing",
          .enabled(if: getuid() == 0, "needs root to plant a directory owned by nobody"))
    func plantedDirectory() throws {
        for plant in ["owned by nobody", "mode 0777", "a symlink"] {
            let runtime = try scratchDirectory()
            defer { try? FileManager.default.removeItem(atPath: runtime) }
            let dir = runtime + "/hydra"
            switch plant {
            case "owned by nobody":
                mkdir(dir, 0o700)
                chown(dir, 65534, 65534)
            case "mode 0777":
                mkdir(dir, 0o700)
                chmod(dir, 0o777)
            default:
                mkdir(runtime + "/real", 0o700)
                symlink(runtime + "/real", dir)
            }
            let stranger = try StrangerServer(socket: dir + "/hydra.sock")
            defer { stranger.stop() }
            let env = ["XDG_RUNTIME_DIR": runtime, "HYDRA_SOCKET": ""]
            let r = try runHydra(["translate", "--from", "en", "--to", "ru", "--model", Self.model, Self.secret], env: env)
            #expect(r.status != 0, "\(plant)")
            #expect(r.stderr.contains("refusing"), "\(plant): \(r.stderr)")
            #expect(!r.stdout.contains("FORGED"), "\(plant)")
            let s = try runHydra(["daemon", "status"], env: env)
            #expect(s.status != 0 && !s.stdout.contains("running, pid"), "\(plant): \(s.stdout)")
            #expect(stranger.bytesReceived == 0, "\(plant): the stranger received the text")
        }
    }

    @Test("the client refuses a socket served by another user (SO_PEERCRED) and sends nothing",
          .enabled(if: getuid() == 0, "needs root to serve as nobody"))
    func foreignPeer() throws {
        let runtime = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: runtime) }
        mkdir(runtime + "/hydra", 0o700)
        let socket = runtime + "/hydra/hydra.sock"
        let stranger = try StrangerServer(socket: socket, uid: 65534)
        defer { stranger.stop() }
        #expect(throws: SocketTrust.Refused.self) { try DaemonClient(socket: socket) }
        let env = ["XDG_RUNTIME_DIR": runtime, "HYDRA_SOCKET": ""]
        let r = try runHydra(["translate", "--from", "en", "--to", "ru", "--model", Self.model, Self.secret], env: env)
        #expect(r.status != 0)
        #expect(r.stderr.contains("another user"), "\(r.stderr)")
        #expect(!r.stdout.contains("FORGED"))
        #expect(stranger.bytesReceived == 0)
    }

    // MARK: - 2. Slow readers and idle clients

    @Test("a client that sends requests and never reads does not grow the daemon; it is dropped when idle")
    func neverReadingClient() throws {
        let daemon = try TestDaemon(arguments: ["--idle-timeout", "2"])
        defer { daemon.stop() }
        let pid = daemon.process.processIdentifier
        let before = procStatus(pid, "VmRSS")
        let raw = try RawSocket(daemon.paths.socket)
        defer { raw.close() }
        raw.timeouts(send: 3)
        let line = Array(#"{"jsonrpc":"2.0","id":1,"method":"status"}"#.utf8) + [0x0A]
        let chunk = Array(Array(repeating: line, count: 1000).joined())
        var sent = 0
        while sent < 30 << 20 {
            let n = raw.send(chunk)
            sent += n
            if n < chunk.count { break }  // the daemon stopped reading (or dropped us)
        }
        let after = procStatus(pid, "VmRSS")
        let growthMB = (after - before) / 1024
        print("never-reading client: sent \(sent >> 10) KiB; daemon RSS \(before / 1024) → \(after / 1024) MB, peak \(procStatus(pid, "VmHWM") / 1024) MB")
        #expect(sent < 30 << 20, "the daemon kept reading a client that does not read")
        #expect(growthMB < 64, "RSS grew by \(growthMB) MB")
        // No request under way: closed after the idle timeout.
        try Self.waitUntilSilentClientsDropped(daemon)
    }

    /// Waits (15 s at most) until the daemon has closed every connection
    /// but the one its status call opens.
    static func waitUntilSilentClientsDropped(_ daemon: TestDaemon) throws {
        let deadline = Date().addingTimeInterval(15)
        var clients = Int.max
        while Date() < deadline {
            clients = try daemon.status().clients
            if clients == 1 { break }
            usleep(200_000)
        }
        #expect(clients == 1, "a silent client is still connected")
    }

    @Test("a half-line held open is closed after the idle timeout; a long request is not")
    func idleHalfLine() throws {
        let daemon = try TestDaemon(arguments: ["--idle-timeout", "1"])
        defer { daemon.stop() }
        let raw = try RawSocket(daemon.paths.socket)
        defer { raw.close() }
        raw.timeouts(receive: 10)
        raw.send(Array(#"{"jsonrpc":"2.0","id":1,"#.utf8))
        let start = Date()
        let (_, eof) = raw.readAll()
        #expect(eof, "not closed")
        #expect(Date().timeIntervalSince(start) < 8)
        // A translation that takes longer than the timeout, not streamed: the client is silent while it waits.
        let text = Array(repeating: "The history of this city is long and full of remarkable events.", count: 4)
            .joined(separator: "\n\n")
        let r = try daemon.client().translate(TranslateParams(text: text, from: "en", to: "ru", stream: false))
        #expect(r.text == (try InProcess.translate(text)))
    }

    @Test("a client silent past the idle timeout has its next requests answered, streamed or not")
    func requestAfterIdleClose() throws {
        let daemon = try TestDaemon(arguments: ["--idle-timeout", "1"])
        defer { daemon.stop() }
        let client = try daemon.client()
        let expected = try InProcess.translate("Hello!")
        #expect(try client.translate(TranslateParams(text: "Hello!", from: "en", to: "ru")).text == expected)
        try Self.waitUntilSilentClientsDropped(daemon)
        var pieces = ""
        let streamed = try client.translate(TranslateParams(text: "Hello!", from: "en", to: "ru")) { pieces += $0; return true }
        #expect(streamed.text == expected)
        #expect(pieces == expected)
        try Self.waitUntilSilentClientsDropped(daemon)
        // Answered on a new connection, the only one (the silent one was closed).
        #expect(try client.call(DaemonMethod.status, Empty(), as: StatusResult.self).clients == 1)
        try Self.waitUntilSilentClientsDropped(daemon)
        #expect(try client.translate(TranslateParams(text: "Hello!", from: "en", to: "ru", stream: false)).text == expected)
    }

    @Test("--log-connections: a line for each connection and request, saying who closed a connection and why")
    func connectionLog() throws {
        let log = temporaryPath("daemon.log")
        defer { try? FileManager.default.removeItem(atPath: log) }
        let daemon = try TestDaemon(arguments: ["--idle-timeout", "1", "--log-connections"], logFile: log)
        defer { daemon.stop() }
        // Closed by the daemon: silent in the middle of a line past the idle
        // timeout (the unfinished line is not a request).
        let silent = try RawSocket(daemon.paths.socket)
        defer { silent.close() }
        silent.timeouts(receive: 10)
        silent.send(Array(#"{"jsonrpc":"2.0","id":1,"#.utf8))
        #expect(silent.readAll().eof, "not closed")
        // Closed by the daemon once answered: not JSON, then a half-close.
        let halfClosed = try RawSocket(daemon.paths.socket)
        defer { halfClosed.close() }
        halfClosed.timeouts(receive: 10)
        halfClosed.send(Array("not json\n".utf8))
        shutdown(halfClosed.fd, Int32(SHUT_WR))
        #expect(String(decoding: halfClosed.readAll().0, as: UTF8.self).contains("\(RPCError.parseError)"))
        // A translation. (How its connection ends depends on timing: the
        // client may close before the daemon has counted the answer.)
        let expected = try InProcess.translate("Hello!")
        #expect(try daemon.client().translate(TranslateParams(text: "Hello!", from: "en", to: "ru", stream: false)).text == expected)
        // Closed by the client once answered (the daemon reads the end of its input, then closes).
        let quick = try RawSocket(daemon.paths.socket)
        quick.timeouts(receive: 10)
        quick.send(Array(#"{"jsonrpc":"2.0","id":7,"method":"status"}"#.utf8) + [0x0A])
        var reply = [UInt8](repeating: 0, count: 4096)
        #expect(reply.withUnsafeMutableBytes { recv(quick.fd, $0.baseAddress, $0.count, 0) } > 0)
        quick.close()
        func client(_ doing: String, in text: String) -> Int? {
            text.split(separator: "\n").first { $0.hasSuffix(doing) }
                .flatMap { line in line.firstRange(of: "client ").map { Int(line[$0.upperBound...].prefix(while: \.isNumber)) } } ?? nil
        }
        let logged = try String(contentsOfFile: log, encoding: .utf8)
        let translating = try #require(client("request 1: translate", in: logged))
        let asking = try #require(client("request 7: status", in: logged))
        let ended = "closed by the daemon: the client ended its input (closed or half-closed) and everything asked was answered; 1 requests"
        let wanted = ["closed by the daemon: idle for 1.0 s; 0 requests", "sent a message that is not JSON",
                      "client \(translating) request 1 answered", "client \(asking) \(ended)"]
        var text = ""
        for _ in 0..<100 {
            text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if wanted.allSatisfy(text.contains) { break }
            usleep(100_000)
        }
        for line in wanted { #expect(text.contains(line), "\(line) not in the log:\n\(text)") }
        // Without the flag the daemon logs nothing of the kind.
        let quietLog = temporaryPath("quiet.log")
        defer { try? FileManager.default.removeItem(atPath: quietLog) }
        let quiet = try TestDaemon(logFile: quietLog)
        _ = try quiet.status()
        quiet.stop()
        #expect(!((try? String(contentsOfFile: quietLog, encoding: .utf8)) ?? "").contains("client"))
    }

    // MARK: - 3. Input over the daemon's limits

    @Test("an error with a null id (a line over the limit) ends the call instead of hanging")
    func nullIDErrorEndsCall() throws {
        let daemon = try TestDaemon(arguments: ["--max-message-bytes", "4096"])
        defer { daemon.stop() }
        let client = try daemon.client()
        let code = Mutex<Int?>(nil)
        let ended = finishes(within: 30) {
            do {
                _ = try client.call(DaemonMethod.detect, DetectParams(text: String(repeating: "a", count: 10_000)), as: DetectResult.self)
            } catch let e as RPCError {
                code.withLock { $0 = e.code }
            } catch {}
        }
        #expect(ended, "the call hung")
        #expect(code.withLock { $0 } == RPCError.messageTooLarge)
    }

    /// A document of `bytes` bytes: a few sentences to translate among long
    /// runs copied through (lines without letters, and a fenced code block
    /// with letters and blank lines that must not be cut), so the test
    /// translates little.
    static func bigDocument(_ bytes: Int) -> String {
        var doc = "Good morning.\n\n"
        let rule = "-- 12345 67890 --\n"
        let code = "let value = other\n\n"
        doc += String(repeating: rule, count: bytes / 2 / rule.utf8.count)
        doc += "\nThe weather is nice today.\n\n```\n"
        doc += String(repeating: code, count: bytes / 2 / code.utf8.count)
        doc += "```\n\nThank you very much.\n"
        return doc
    }

    @Test("input over 256 KiB and over 1 MiB translates through the daemon exactly as in process")
    func bigInput() throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        for size in [300 << 10, (1 << 20) + (100 << 10)] {
            let doc = Data(Self.bigDocument(size).utf8)
            let args = ["translate", "--from", "en", "--to", "ru", "--model", Self.model]
            let local = try runHydra(args + ["--no-daemon"], stdin: doc, env: daemon.environment, timeout: 300)
            let remote = try runHydra(args, stdin: doc, env: daemon.environment, timeout: 300)
            #expect(local.status == 0, "\(local.stderr)")
            #expect(remote.status == 0, "\(size) bytes: \(remote.stderr)")
            #expect(remote.stdout == local.stdout, "\(size) bytes")
            #expect(remote.stdout.utf8.count > doc.count / 2)
        }
        // It went through the daemon.
        #expect(try daemon.status().models.first?.translations ?? 0 > 2)
    }

    // MARK: - 4. FIFOs and other files that are not files

    @Test("a FIFO as model or head is refused at once, in process and through the daemon, which keeps serving")
    func fifo() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let fifo = dir + "/trap.gguf"
        #expect(mkfifo(fifo, 0o600) == 0)
        for args in [["translate", "--no-daemon", "--from", "en", "--to", "ru", "--model", fifo, "Hello"],
                     ["tokenize", "--model", fifo, "Hello"],
                     ["heads", "inspect", fifo],
                     ["translate", "--no-daemon", "--from", "en", "--to", "ru", "--model", Self.model, "--head", fifo, "Hello"]] {
            let r = try runHydra(args, timeout: 30)
            #expect(r.status != 0 && r.status != 124, "\(args): status \(r.status)")
            #expect(r.stderr.contains("not a regular file"), "\(args): \(r.stderr)")
        }
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let client = try daemon.client()
        func code<P: Encodable>(_ method: String, _ params: P) -> Int? {
            let box = Mutex<Int?>(nil)
            let ended = finishes(within: 30) {
                do {
                    _ = try client.call(method, params, as: DaemonClient.Incoming.self)
                } catch let e as RPCError {
                    box.withLock { $0 = e.code }
                } catch {}
            }
            #expect(ended, "\(method) hung")
            return box.withLock { $0 }
        }
        #expect(code(DaemonMethod.heads, HeadsParams(action: "load", head: fifo)) == RPCError.invalidParams)
        #expect(code(DaemonMethod.translate, TranslateParams(text: "Hello", from: "en", to: "ru", heads: [fifo])) != nil)
        #expect(code(DaemonMethod.translate, TranslateParams(text: "Hello", from: "en", to: "ru", model: fifo)) == RPCError.modelError)
        let t = try daemon.client().translate(TranslateParams(text: "Hello!", from: "en", to: "ru"))
        #expect(t.text == (try InProcess.translate("Hello!")))
    }

    // MARK: - 5. Threads and models

    @Test("--threads above the cap is a clear error, not a pool of two billion threads")
    func threadCap() throws {
        for command in [["translate", "--no-daemon", "--from", "en", "--to", "ru", "--model", Self.model, "hi"],
                        ["serve", "--model", Self.model, "--socket", "/tmp/hyd-never.sock"],
                        ["generate", "--model", Self.model, "hi"],
                        ["bench", "--model", Self.model]] {
            let r = try runHydra(command + ["--threads", "99999999999"], timeout: 30)
            #expect(r.status != 0 && r.status != 124, "\(command[0]): \(r.status)")
            #expect(r.stderr.contains("--threads must be at most"), "\(command[0]): \(r.stderr)")
        }
        #expect(ThreadPool(threads: 1 << 30).threads == ThreadPool.maxThreads)
        #expect(ThreadPool.maxThreads <= 512)
    }

    @Test("two spellings of one model share one worker; distinct models are capped and idle ones reclaimed")
    func modelLimits() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let daemon = try TestDaemon(arguments: ["--max-models", "2"])
        defer { daemon.stop() }
        let client = try daemon.client()
        symlink(Self.model, dir + "/link.gguf")
        for spelling in ["/proc/self/root" + Self.model, dir + "/link.gguf", dir + "/../" + (dir as NSString).lastPathComponent + "/link.gguf"] {
            let r = try client.translate(TranslateParams(text: "Hello!", from: "en", to: "ru", model: spelling))
            #expect(r.text == (try InProcess.translate("Hello!")))
        }
        #expect(try daemon.status().models.count == 1)
        let pid = daemon.process.processIdentifier
        let threadsBefore = procStatus(pid, "Threads")
        for i in 0..<12 {
            let junk = dir + "/junk\(i).gguf"
            FileManager.default.createFile(atPath: junk, contents: Data("not a model \(i)".utf8))
            do {
                _ = try client.translate(TranslateParams(text: "Hello!", from: "en", to: "ru", model: junk))
                Issue.record("junk \(i) translated")
            } catch let e as RPCError {
                // Cannot load it; or (the previous one's turn not yet booked) all models busy.
                #expect(e.code == RPCError.modelError || e.code == RPCError.busy, "\(e)")
            }
        }
        let s = try daemon.status()
        #expect(s.models.count <= 2)
        let threadsAfter = procStatus(pid, "Threads")
        print("12 distinct model files: \(s.models.count) models, threads \(threadsBefore) → \(threadsAfter)")
        #expect(threadsAfter <= threadsBefore + 2)
        let t = try client.translate(TranslateParams(text: "Hello!", from: "en", to: "ru"))
        #expect(t.text == (try InProcess.translate("Hello!")))
    }

    // MARK: - All at once

    @Test("16 honest clients × 10 requests while attackers run: every answer as in process, none lost, RSS bounded")
    func honestClientsUnderAttack() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        mkfifo(dir + "/fifo.gguf", 0o600)
        FileManager.default.createFile(atPath: dir + "/junk.gguf", contents: Data("junk".utf8))
        let daemon = try TestDaemon(arguments: ["--idle-timeout", "2"])
        defer { daemon.stop() }
        let pid = daemon.process.processIdentifier
        let sentences = DaemonTests.sentences
        let expected = try sentences.map { try InProcess.translate($0, to: DaemonTests.target) }
        let socket = daemon.paths.socket
        let stop = Mutex(false)
        // Attackers: a client that never reads, half-lines, malformed lines, a FIFO head, junk models.
        let attackers = DispatchGroup()
        let attacks = Mutex(0)
        for kind in 0..<5 {
            attackers.enter()
            Thread {
                defer { attackers.leave() }
                try? Self.attack(kind, socket: socket, dir: dir, stop: stop, count: attacks)
            }.start()
        }
        let honest = onThreads(16) { i -> [String] in
            let client = try DaemonClient(socket: socket)
            return try (0..<10).map { k in
                try client.translate(TranslateParams(text: sentences[(i + k) % 4], from: "en", to: DaemonTests.target)).text
            }
        }
        stop.withLock { $0 = true }
        attackers.wait()
        #expect(daemon.process.isRunning, "the daemon died")
        for (i, r) in honest.enumerated() {
            switch r {
            case .success(let texts):
                #expect(texts.count == 10, "client \(i)")
                for (k, text) in texts.enumerated() { #expect(text == expected[(i + k) % 4], "client \(i) request \(k)") }
            case .failure(let e):
                Issue.record("client \(i): \(e)")
            }
        }
        let peak = procStatus(pid, "VmHWM") / 1024
        let failed = honest.filter { if case .failure = $0 { true } else { false } }.count
        print("16 × 10 honest requests under \(attacks.withLock { $0 }) attacks: \(16 - failed) of 16 clients answered; daemon peak RSS \(peak) MB")
        #expect(peak < 1024)
        #expect(daemon.process.isRunning)
    }

    /// One attacker, repeating its attack until `stop`.
    static func attack(_ kind: Int, socket: String, dir: String, stop: Mutex<Bool>, count: Mutex<Int>) throws {
        var mutator = RequestMutator(rng: SeededGenerator(seed: UInt64(kind)), fifo: dir + "/fifo.gguf")
        while !stop.withLock({ $0 }) {
            count.withLock { $0 += 1 }
            switch kind {
            case 0:
                let raw = try RawSocket(socket)
                raw.timeouts(send: 1)
                let line = Array(#"{"jsonrpc":"2.0","id":1,"method":"status"}"#.utf8) + [0x0A]
                raw.send(Array(Array(repeating: line, count: 20_000).joined()))
                raw.close()
            case 1:
                let raws = try (0..<16).map { _ in try RawSocket(socket) }
                for r in raws { r.send(Array(#"{"jsonrpc":"2.0","#.utf8)) }
                usleep(500_000)
                for r in raws { r.close() }
            case 2:
                let c = try DaemonClient(socket: socket)
                for _ in 0..<200 { try? c.send(bytes: mutator.line() + [0x0A]) }
            case 3:
                _ = try? DaemonClient(socket: socket).call(DaemonMethod.heads, HeadsParams(action: "load", head: dir + "/fifo.gguf"),
                                                          as: HeadsResult.self)
            default:
                _ = try? DaemonClient(socket: socket).translate(TranslateParams(text: "Hi", from: "en", to: "fr",
                                                                                model: dir + "/junk.gguf"))
            }
        }
    }
}
