import Foundation
import Testing
@testable import HydraCore
#if canImport(Glibc)
import Glibc
#endif

/// The daemon end to end: a real `hydra serve`, a real socket, a real model.
@Suite("Daemon", .serialized, .tags(.model), .modelsWanted)
struct DaemonTests {
    /// Short sentences SmolLM2 answers in a few tokens into French, to keep the suite fast.
    static let sentences = ["Hello!", "Yes.", "I am tired.", "Good morning."]
    static let target = "fr"

    @Test("16 concurrent clients each get the in-process translation, streamed and whole")
    func concurrentClients() throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let expected = try Self.sentences.map { try InProcess.translate($0, to: Self.target) }
        let socket = daemon.paths.socket
        let results = onThreads(16) { i -> (String, String) in
            let client = try DaemonClient(socket: socket)
            var streamed = ""
            let r = try client.translate(TranslateParams(text: Self.sentences[i % 4], from: "en", to: Self.target)) {
                streamed += $0
                return true
            }
            return (streamed, r.text)
        }
        for (i, r) in results.enumerated() {
            let (streamed, whole) = try r.get()
            #expect(whole == expected[i % 4], "client \(i)")
            #expect(streamed == whole, "client \(i)")
        }
        let s = try daemon.status()
        #expect(s.models.first?.translations == 16)
    }

    @Test("hydra translate prints the same through the daemon as in process, with the same exit status")
    func cliThroughDaemon() throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let model = TestModels.path("smollm2-135m")
        let text = "Hello!\n\n- Yes.\n\n```\nlet x = 1\n```\n"
        let viaDaemon = try CLI.run(["translate", "--from", "en", "--to", "fr", "--model", model], stdin: Data(text.utf8),
                                    env: daemon.environment)
        let inProcess = try CLI.run(["translate", "--no-daemon", "--from", "en", "--to", "fr", "--model", model],
                                    stdin: Data(text.utf8), env: daemon.environment)
        #expect(viaDaemon.status == 0 && inProcess.status == 0, "\(viaDaemon.stderr) \(inProcess.stderr)")
        #expect(viaDaemon.stdout == inProcess.stdout)
        #expect(viaDaemon.stdout.contains("\n\n```\nlet x = 1\n```\n"))
        #expect(try daemon.status().models.first?.translations == 1, "the daemon did the first one")
        // Errors: same one-line message and status either way.
        let bad1 = try CLI.run(["translate", "--from", "en", "--to", "zz", "--model", model, "hi"], env: daemon.environment)
        let bad2 = try CLI.run(["translate", "--no-daemon", "--from", "en", "--to", "zz", "--model", model, "hi"], env: daemon.environment)
        #expect(bad1.status == bad2.status && bad1.status != 0)
        #expect(bad1.stderr == bad2.stderr)
    }

    @Test("the daemon takes hydra translate's decoding options: sampling, beams, n-gram blocking, prompt format")
    func decodingOptions() throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let model = TestModels.path("smollm2-135m")
        let text = "I am tired.\n\nGood morning."
        for options in [["--temp", "0.9", "--seed", "11"], ["--beam", "3"], ["--no-repeat-ngram", "2"],
                        ["--prompt-format", "completion"]] {
            let common = ["translate", "--from", "en", "--to", "fr", "--model", model] + options
            let viaDaemon = try CLI.run(common, stdin: Data(text.utf8), env: daemon.environment)
            let inProcess = try CLI.run(common + ["--no-daemon"], stdin: Data(text.utf8), env: daemon.environment)
            #expect(viaDaemon.status == 0 && inProcess.status == 0, "\(options): \(viaDaemon.stderr) \(inProcess.stderr)")
            #expect(viaDaemon.stdout == inProcess.stdout, "\(options)")
        }
        #expect(try daemon.status().models.first?.translations == 4, "the daemon did all four")
        // Settings the daemon cannot use: invalid params.
        let client = try DaemonClient(socket: daemon.paths.socket)
        var bad = Sampling()
        bad.beams = 40
        #expect(throws: RPCError.self) {
            try client.translate(TranslateParams(text: "Yes.", from: "en", to: "fr", sampling: bad)) { _ in true }
        }
    }

    @Test("a client killed mid-stream stops its work and does not disturb the others")
    func killedClient() throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let expected = try Self.sentences.map { try InProcess.translate($0, to: Self.target) }
        // A long text (many paragraphs), translated by the CLI through the daemon.
        let long = Array(repeating: "The history of this city is long and full of remarkable events.", count: 20)
            .joined(separator: "\n\n")
        let victim = Process()
        victim.executableURL = URL(fileURLWithPath: CLI.binary)
        victim.arguments = ["translate", "--from", "en", "--to", "ru", "--model", TestModels.path("smollm2-135m"), long]
        var env = ProcessInfo.processInfo.environment
        for (k, v) in daemon.environment { env[k] = v }
        victim.environment = env
        let out = Pipe()
        victim.standardOutput = out
        victim.standardError = FileHandle.nullDevice
        try victim.run()
        // Others arrive while it streams.
        let socket = daemon.paths.socket
        let others = onThreads(4) { i -> String in
            usleep(200_000)
            return try DaemonClient(socket: socket).translate(TranslateParams(text: Self.sentences[i], from: "en", to: Self.target)).text
        }
        // Wait for its first output, then kill -9 it.
        let first = out.fileHandleForReading.availableData
        #expect(!first.isEmpty)
        kill(victim.processIdentifier, SIGKILL)
        victim.waitUntilExit()
        for (i, r) in others.enumerated() {
            #expect(try r.get() == expected[i], "client \(i)")
        }
        // Its translation was cancelled, not run to the end.
        var s = try daemon.status()
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, let m = s.models.first, m.running + m.queued > 0 {
            usleep(50_000)
            s = try daemon.status()
        }
        let m = try #require(s.models.first)
        #expect(m.running == 0 && m.queued == 0)
        #expect(m.cancelled == 1)
        #expect(m.translations == 4)
    }

    @Test("a request can be cancelled by id; it ends with a cancelled error")
    func cancelByID() throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let client = try daemon.client()
        let long = Array(repeating: "The history of this city is long and full of remarkable events.", count: 10)
            .joined(separator: "\n\n")
        let id = try client.send(method: DaemonMethod.translate, params: TranslateParams(text: long, from: "en", to: "ru"))
        try client.send(method: DaemonMethod.cancel, params: CancelParams(id: id), id: .string("c"))
        var cancelReply: DaemonClient.Incoming?
        var translateReply: DaemonClient.Incoming?
        while translateReply == nil || cancelReply == nil, let (m, _) = try client.readMessage() {
            if m.id == .string("c") { cancelReply = m }
            if m.id == id { translateReply = m }
        }
        #expect(cancelReply?.error == nil)
        #expect(translateReply?.error?.code == RPCError.cancelled)
    }

    /// Sends raw bytes and returns the next reply's error code.
    static func errorCode(_ client: DaemonClient, _ bytes: [UInt8]) throws -> Int? {
        try client.send(bytes: bytes)
        let (m, _) = try #require(try client.readMessage())
        return m.error?.code
    }

    @Test("malformed, unknown, invalid and oversized messages get error replies; the daemon keeps serving")
    func badMessages() throws {
        let daemon = try TestDaemon(arguments: ["--max-message-bytes", "4096", "--max-text-bytes", "1000", "--max-tokens", "200"])
        defer { daemon.stop() }
        let client = try daemon.client()
        func line(_ s: String) -> [UInt8] { Array((s + "\n").utf8) }
        let cases: [(String, [UInt8], Int)] = [
            ("malformed JSON", line("{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\""), RPCError.parseError),
            ("not an object", line("[1, 2, 3]"), RPCError.invalidRequest),
            ("unknown method", line(#"{"jsonrpc":"2.0","id":2,"method":"frobnicate"}"#), RPCError.methodNotFound),
            ("invalid UTF-8", Array(#"{"jsonrpc":"2.0","id":3,"method":"detect","params":{"text":""#.utf8) + [0xC3, 0x28]
                + Array("\"}}\n".utf8), RPCError.parseError),
            ("oversized message", line(#"{"jsonrpc":"2.0","id":4,"method":"detect","params":{"text":""#
                + String(repeating: "a", count: 10_000) + "\"}}"), RPCError.messageTooLarge),
            ("unknown head", line(#"{"jsonrpc":"2.0","id":5,"method":"heads","params":{"action":"load","head":"xx-unknown"}}"#),
             RPCError.unknownHead),
            ("unknown heads action", line(#"{"jsonrpc":"2.0","id":6,"method":"heads","params":{"action":"juggle"}}"#),
             RPCError.invalidParams),
            ("unload of a head not loaded", line(#"{"jsonrpc":"2.0","id":61,"method":"heads","params":{"action":"unload","head":"nope"}}"#),
             RPCError.unknownHead),
            ("translate through an unknown head", line(#"{"jsonrpc":"2.0","id":62,"method":"translate","params":{"text":"hi","from":"en","to":"fr","heads":["no-such-head"]}}"#),
             RPCError.unknownHead),
            ("missing params", line(#"{"jsonrpc":"2.0","id":7,"method":"translate","params":{"from":"en","to":"ru"}}"#),
             RPCError.invalidParams),
            ("unknown language", line(#"{"jsonrpc":"2.0","id":8,"method":"translate","params":{"text":"hi","from":"en","to":"zz"}}"#),
             RPCError.invalidParams),
            ("text too long", line(#"{"jsonrpc":"2.0","id":9,"method":"translate","params":{"text":""#
                + String(repeating: "word ", count: 300) + #"","from":"en","to":"ru"}}"#), RPCError.textTooLong),
            ("too many tokens", line(#"{"jsonrpc":"2.0","id":10,"method":"translate","params":{"text":""#
                + String(repeating: "word ", count: 150) + #"","from":"en","to":"ru"}}"#), RPCError.tooManyTokens),
            ("unknown model", line(#"{"jsonrpc":"2.0","id":11,"method":"translate","params":{"text":"hi","from":"en","to":"ru","model":"/no/such.gguf"}}"#),
             RPCError.invalidParams),
        ]
        for (what, bytes, code) in cases {
            #expect(try Self.errorCode(client, bytes) == code, "\(what)")
            // Still serving, on the same connection.
            let s = try client.call(DaemonMethod.status, Empty(), as: StatusResult.self)
            #expect(s.pid == daemon.process.processIdentifier, "\(what)")
        }
        // An oversized message without any newline yet, then the rest of it.
        try client.send(bytes: Array(repeating: UInt8(ascii: "x"), count: 8000))
        #expect(try Self.errorCode(client, line("tail")) == RPCError.messageTooLarge)
        let d = try client.call(DaemonMethod.detect, DetectParams(text: "Бик зур рәхмәт!"), as: DetectResult.self)
        #expect(d.script == "Cyrl" && d.language == "tt")
        let t = try client.translate(TranslateParams(text: "Hello!", from: "en", to: "fr"))
        #expect(t.text == (try InProcess.translate("Hello!", to: "fr")))
    }

    @Test("socket 0600 in a 0700 directory; a second daemon is refused; a kill -9'd daemon is replaced by the next start")
    func lifecycle() throws {
        let dir = "/tmp/hyd-" + String(UUID().uuidString.prefix(8))
        // A runtime directory whose hydra folder was left open to others.
        try FileManager.default.createDirectory(atPath: dir + "/hydra", withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o755])
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = ["XDG_RUNTIME_DIR": dir, "HYDRA_SOCKET": ""]
        let paths = DaemonPaths(socket: nil, environment: ["XDG_RUNTIME_DIR": dir])
        let model = TestModels.path("smollm2-135m")
        let start = try CLI.run(["daemon", "start", "--model", model, "--threads", "1"], env: env)
        #expect(start.status == 0, "\(start.stderr)")
        defer { _ = try? CLI.run(["daemon", "stop"], env: env) }

        var st = stat()
        #expect(lstat(paths.directory, &st) == 0)
        #expect(st.st_mode & 0o777 == 0o700)
        #expect(lstat(paths.socket, &st) == 0)
        #expect(st.st_mode & S_IFMT == S_IFSOCK)
        #expect(st.st_mode & 0o777 == 0o600)

        let status = try CLI.run(["daemon", "status"], env: env)
        #expect(status.status == 0 && status.stdout.contains("running"))
        let pid = try #require(paths.readPid())

        // A second daemon on the same socket is refused, and the first goes on.
        let second = try CLI.run(["serve", "--model", model], env: env)
        #expect(second.status != 0)
        #expect(second.stderr.contains("already running"), "\(second.stderr)")
        let again = try CLI.run(["daemon", "start", "--model", model], env: env)
        #expect(again.status != 0)
        #expect(DaemonClient.isRunning(socket: paths.socket))

        // kill -9 leaves the socket file behind; the next start replaces it.
        kill(pid, SIGKILL)
        usleep(200_000)
        #expect(FileManager.default.fileExists(atPath: paths.socket))
        #expect(!DaemonClient.isRunning(socket: paths.socket))
        let down = try CLI.run(["daemon", "status"], env: env)
        #expect(down.status == 3)
        let restart = try CLI.run(["daemon", "start", "--model", model, "--threads", "1"], env: env)
        #expect(restart.status == 0, "\(restart.stderr)")
        let newPid = try #require(paths.readPid())
        #expect(newPid != pid)
        let t = try CLI.run(["translate", "--from", "en", "--to", "fr", "--model", model, "Hello!"], env: env)
        #expect(t.status == 0)
        #expect(t.stdout == (try InProcess.translate("Hello!", to: "fr")) + "\n")

        let stop = try CLI.run(["daemon", "stop"], env: env)
        #expect(stop.status == 0)
        #expect(!FileManager.default.fileExists(atPath: paths.socket))
        let state = (try? String(contentsOfFile: "/proc/\(newPid)/stat", encoding: .utf8)) ?? ""
        #expect(kill(newPid, 0) != 0 || state.contains(") Z"), "the daemon exited (or is a zombie awaiting its reaper)")
    }

    @Test("an idle model is unloaded after --idle-unload seconds and reloaded on the next request")
    func idleUnload() throws {
        let daemon = try TestDaemon(arguments: ["--idle-unload", "1"])
        defer { daemon.stop() }
        let client = try daemon.client()
        let first = try client.translate(TranslateParams(text: "Hello!", from: "en", to: Self.target))
        #expect(first.timings.loadMs == 0, "loaded at start")
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline, try daemon.status().models.first?.loaded == true { usleep(100_000) }
        #expect(try daemon.status().models.first?.loaded == false)
        let second = try client.translate(TranslateParams(text: "Hello!", from: "en", to: Self.target))
        #expect(second.timings.loadMs > 0)
        #expect(second.text == first.text)
    }

    @Test("hydra translate --daemon starts a daemon on demand and uses it")
    func translateStartsDaemon() throws {
        let dir = "/tmp/hyd-" + String(UUID().uuidString.prefix(8))
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = ["XDG_RUNTIME_DIR": dir, "HYDRA_SOCKET": ""]
        let model = TestModels.path("smollm2-135m")
        let r = try CLI.run(["translate", "--daemon", "--threads", "2", "--from", "en", "--to", Self.target,
                             "--model", model, "Hello!"], env: env)
        defer { _ = try? CLI.run(["daemon", "stop"], env: env) }
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == (try InProcess.translate("Hello!", to: Self.target)) + "\n")
        let status = try CLI.run(["daemon", "status", "--json"], env: env)
        #expect(status.status == 0)
        #expect(status.stdout.contains("\"translations\":1"), "\(status.stdout)")
    }

    @Test("clients take turns: a short request is not held up by another client's long document")
    func fairTurns() throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let long = Array(repeating: "Hello!", count: 20).joined(separator: "\n\n")
        let longClient = try daemon.client()
        let shortClient = try daemon.client()
        let longID = try longClient.send(method: DaemonMethod.translate, params: TranslateParams(text: long, from: "en", to: Self.target))
        // Once the long one streams, the short one arrives.
        while let (m, _) = try longClient.readMessage(), m.method != DaemonMethod.partial {}
        let short = try shortClient.translate(TranslateParams(text: "Yes.", from: "en", to: Self.target))
        #expect(short.text == (try InProcess.translate("Yes.", to: Self.target)))
        // The short request's bookkeeping clears a moment after its reply;
        // the long document (20 paragraphs) is still in the scheduler then.
        var active = 0
        for _ in 0..<20 {
            let m = try #require(try daemon.status().models.first)
            active = m.running + m.queued
            if active <= 1 { break }
            usleep(10_000)
        }
        #expect(active == 1, "the long document is still being translated")
        var done = false
        while !done, let (m, _) = try longClient.readMessage() { done = m.id == longID }
        #expect(done)
    }

    @Test("heads: list, load a head file, translate through it, unload; hydra translate --head through the daemon")
    func heads() throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let model = TestModels.path("smollm2-135m")
        // A French head with the model's own tables: same logits, so the same translation.
        let file = daemon.runtimeDirectory + "/smol-fr.gguf"
        let export = try CLI.run(["heads", "export", "--model", model, "--language", "fr", "--name", "smol-fr", file])
        #expect(export.status == 0, "\(export.stderr)")
        let client = try daemon.client()
        let before = try client.call(DaemonMethod.heads, HeadsParams(action: "list"), as: HeadsResult.self)
        #expect(before.heads.map(\.kind) == ["native"])
        let loaded = try client.call(DaemonMethod.heads, HeadsParams(action: "load", head: file), as: HeadsResult.self)
        #expect(loaded.heads.map(\.name).last == "smol-fr")
        #expect(loaded.heads.last?.language == "fr")
        #expect(try daemon.status().models.first?.heads.contains("smol-fr") == true)
        let t = try client.translate(TranslateParams(text: "Hello!", from: "en", to: "fr"))
        #expect(t.text == (try InProcess.translate("Hello!", to: "fr")))
        let cli = try CLI.run(["translate", "--from", "en", "--to", "fr", "--model", model, "--head", file, "Hello!"],
                              env: daemon.environment)
        #expect(cli.status == 0, "\(cli.stderr)")
        #expect(cli.stdout == t.text + "\n")
        let after = try client.call(DaemonMethod.heads, HeadsParams(action: "unload", head: "smol-fr"), as: HeadsResult.self)
        #expect(after.heads.map(\.kind) == ["native"])
        #expect(throws: RPCError.self) {
            _ = try client.call(DaemonMethod.heads, HeadsParams(action: "unload", head: after.heads[0].name), as: HeadsResult.self)
        }
    }
}
