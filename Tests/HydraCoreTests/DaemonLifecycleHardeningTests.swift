import Foundation
import Testing
@testable import HydraCore
#if canImport(Glibc)
import Glibc
#endif

/// The smaller defects of issue 11: stopping, starting, the protocol's
/// edges and the command line's arguments.
@Suite("Daemon hardening: lifecycle and protocol edges", .serialized)
struct DaemonLifecycleHardeningTests {
    static var model: String { TestModels.path("smollm2-135m") }

    @Test("daemon stop never signals the process a stale pid file names")
    func stalePidFile() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let socket = dir + "/h.sock"
        // A hydra process that is not a daemon: a translation waiting for its input.
        let victim = Process()
        victim.executableURL = URL(fileURLWithPath: CLI.binary)
        victim.arguments = ["translate", "--no-daemon", "--from", "en", "--to", "ru", "--model", Self.model]
        let input = Pipe()
        victim.standardInput = input
        victim.standardOutput = FileHandle.nullDevice
        try victim.run()
        defer {
            victim.terminate()
            victim.waitUntilExit()
        }
        try "\(victim.processIdentifier)\n".write(toFile: socket + ".pid", atomically: true, encoding: .utf8)
        FileManager.default.createFile(atPath: socket + ".lock", contents: nil)  // left behind, not held
        let r = try runHydra(["daemon", "stop", "--socket", socket], timeout: 30)
        #expect(r.stdout.contains("not running"), "\(r.stdout) \(r.stderr)")
        usleep(200_000)
        #expect(victim.isRunning, "an unrelated process was killed")
    }

    @Test("SIGTERM during a translation sends its client an error before closing")
    func sigtermTellsClients() throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let client = try daemon.client()
        let long = Array(repeating: "The history of this city is long and full of remarkable events.", count: 20)
            .joined(separator: "\n\n")
        let id = try client.send(method: DaemonMethod.translate, params: TranslateParams(text: long, from: "en", to: "ru"))
        var sawPartial = false
        var finalError: RPCError?
        while let (m, _) = try client.readMessage() {
            if m.method == DaemonMethod.partial, !sawPartial {
                sawPartial = true
                kill(daemon.process.processIdentifier, SIGTERM)
            }
            if m.id == id {
                finalError = m.error
                break
            }
        }
        #expect(sawPartial)
        #expect(finalError?.code == RPCError.stopping, "\(String(describing: finalError))")
    }

    @Test("two daemon starts at once: one starts, the other says one is running")
    func concurrentStarts() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let socket = dir + "/h.sock"
        let args = ["daemon", "start", "--socket", socket, "--model", Self.model, "--threads", "2", "--lazy"]
        let results = onThreads(2) { _ in try runHydra(args, timeout: 120) }
        defer { _ = try? runHydra(["daemon", "stop", "--socket", socket], timeout: 30) }
        let rs = try results.map { try $0.get() }
        #expect(rs.filter { $0.status == 0 }.count == 1, "\(rs.map(\.stderr))")
        let loser = try #require(rs.first { $0.status != 0 })
        #expect(loser.stderr.contains("already running"), "\(loser.stderr)")
    }

    @Test("a daemon that cannot write its pid file does not start")
    func pidFileUnwritable() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let socket = dir + "/h.sock"
        mkdir(socket + ".pid", 0o700)  // a directory where the pid file goes: it cannot be written
        let r = try runHydra(["serve", "--socket", socket, "--model", Self.model, "--lazy"], timeout: 20)
        #expect(r.status != 0 && r.status != 124, "status \(r.status)")
        #expect(r.stderr.contains("pid file"), "\(r.stderr)")
    }

    @Test("arguments that are not valid UTF-8 are refused")
    func invalidUTF8Argument() throws {
        let r = try runProgram("/bin/sh", ["-c", #"exec timeout 30 "$0" translate --no-daemon --from en --to ru --model "$1" "$(printf 'caf\351')""#,
                                           CLI.binary, Self.model])
        #expect(r.status != 0)
        #expect(r.stderr.contains("not valid UTF-8"), "\(r.stderr)")
        #expect(r.stdout.isEmpty)
    }

    @Test("a last request without a newline before a half-close is answered, a translation included")
    func halfClose() throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let quick = try RawSocket(daemon.paths.socket)
        defer { quick.close() }
        quick.timeouts(receive: 30)
        quick.send(Array(#"{"jsonrpc":"2.0","id":41,"method":"status"}"#.utf8))
        shutdown(quick.fd, Int32(SHUT_WR))
        let (reply, eof) = quick.readAll()
        #expect(eof)
        #expect(String(decoding: reply, as: UTF8.self).contains(#""id":41"#))

        let slow = try RawSocket(daemon.paths.socket)
        defer { slow.close() }
        slow.timeouts(receive: 60)
        slow.send(Array(RPCCoding.line(RPCRequest(id: .number(42), method: DaemonMethod.translate,
                                                  params: TranslateParams(text: "Hello!", from: "en", to: "ru", stream: false))).utf8))
        shutdown(slow.fd, Int32(SHUT_WR))
        let (answer, end) = slow.readAll()
        #expect(end)
        let line = try #require(answer.split(separator: 0x0A).last)
        let r = try RPCCoding.decoder().decode(RPCParamsResult.self, from: Data(line))
        #expect(r.result.text == (try InProcess.translate("Hello!")))
    }

    private struct RPCParamsResult: Decodable { let result: TranslateResult }

    @Test("well-formed JSON that is not a valid request is -32600, with a null id when the id is unusable")
    func invalidRequests() throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let client = try daemon.client()
        let cases: [(String, Int, RPCID?)] = [
            (#"{"jsonrpc":2,"id":1,"method":"status"}"#, RPCError.invalidRequest, .number(1)),
            (#"{"jsonrpc":"2.0","id":2,"method":5}"#, RPCError.invalidRequest, .number(2)),
            (#"{"jsonrpc":"2.0","id":1.5,"method":"status"}"#, RPCError.invalidRequest, nil),
            (#"{"jsonrpc":"2.0","id":true,"method":"status"}"#, RPCError.invalidRequest, nil),
            (#"{"jsonrpc":"2.0","id":{"a":1},"method":"status"}"#, RPCError.invalidRequest, nil),
            (#"{"jsonrpc":"2.0","id":[1],"method":"status"}"#, RPCError.invalidRequest, nil),
            (#"{"jsonrpc":"2.0","id":9223372036854775808,"method":"status"}"#, RPCError.invalidRequest, nil),
            (#"[1, 2, 3]"#, RPCError.invalidRequest, nil),
            (#"5"#, RPCError.invalidRequest, nil),
            (#"{"jsonrpc": "2.0", "id": 1, "method""#, RPCError.parseError, nil),
        ]
        for (line, code, id) in cases {
            try client.send(bytes: Array((line + "\n").utf8))
            let (m, _) = try #require(try client.readMessage())
            #expect(m.error?.code == code, "\(line)")
            #expect(m.id == id, "\(line)")
        }
        #expect(try client.call(DaemonMethod.status, Empty(), as: StatusResult.self).pid == daemon.process.processIdentifier)
    }

    @Test("a 107-byte socket path (Linux's sun_path holds 107 and the NUL) is served")
    func longSocketPath() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let socket = dir + "/" + String(repeating: "s", count: 107 - dir.utf8.count - 1)
        #expect(socket.utf8.count == 107)
        let r = try runHydra(["daemon", "start", "--socket", socket, "--model", Self.model, "--threads", "2", "--lazy"], timeout: 60)
        defer { _ = try? runHydra(["daemon", "stop", "--socket", socket], timeout: 30) }
        #expect(r.status == 0, "\(r.stderr)")
        #expect(try DaemonClient(socket: socket).call(DaemonMethod.status, Empty(), as: StatusResult.self).socket == socket)
    }
}

@Suite("Hardening parts")
struct HardeningUnitTests {
    @Test("Paragraphs.parts cuts only where the parts translate as the whole", arguments: [16, 64, 120])
    func parts(maxBytes: Int) {
        let doc = """
            # Title

            First paragraph, with two sentences. Here is the second one.
            - a list item
            - another item

            ```
            code with letters

            more code
            ```
            Text right after the fence.

            12345 67890
            > a quote

            Last words.
            """
        let parts = Paragraphs.parts(doc, maxBytes: maxBytes)
        #expect(parts.joined() == doc)
        #expect(parts.count > 1)
        // Never inside the fence, whose blank line is no place to cut.
        #expect(!parts.contains { $0.hasPrefix("more code") })
        #expect(Paragraphs.parts(doc, maxBytes: doc.utf8.count) == [doc])
        #expect(parts.flatMap { Paragraphs($0).texts } == Paragraphs(doc).texts)
    }

    @Test("an envelope with fields of the wrong type decodes as invalid, its id kept only when usable")
    func envelope() throws {
        let d = RPCCoding.decoder()
        let ok = try d.decode(RPCEnvelope.self, from: Data(#"{"jsonrpc":"2.0","id":"a","method":"status"}"#.utf8))
        #expect(ok.invalid == nil && ok.id == .string("a") && ok.method == "status")
        let floatID = try d.decode(RPCEnvelope.self, from: Data(#"{"id":2.5,"method":"status"}"#.utf8))
        #expect(floatID.invalid != nil && floatID.id == nil)
        let badMethod = try d.decode(RPCEnvelope.self, from: Data(#"{"id":3,"method":[]}"#.utf8))
        #expect(badMethod.invalid != nil && badMethod.id == .number(3))
    }
}
