import Foundation
import Testing
@testable import HydraCore

/// The daemon's parts that need no model: protocol encoding, paths,
/// language guesses.
@Suite("Daemon parts")
struct DaemonUnitTests {
    @Test("messages are one line of snake_case JSON; error replies carry a null id")
    func encoding() throws {
        let line = RPCCoding.line(RPCErrorReply(id: nil, error: RPCError(code: -32700, message: "bad\nline")))
        #expect(line.filter { $0 == "\n" }.count == 1 && line.hasSuffix("\n"))
        #expect(line.contains(#""id":null"#))
        let n = RPCCoding.line(RPCNotification(method: DaemonMethod.partial, params: PartialParams(id: .number(3), text: "a/b")))
        #expect(n == #"{"jsonrpc":"2.0","method":"translate.partial","params":{"id":3,"text":"a/b"}}"# + "\n")
        var t = TranslateTimings()
        t.firstTokenMs = 1
        #expect(RPCCoding.line(t).contains("first_token_ms"))
        let env = try RPCCoding.decoder().decode(RPCEnvelope.self, from: Data(#"{"jsonrpc":"2.0","id":"x","method":"status"}"#.utf8))
        #expect(env.id == .string("x") && env.method == "status")
    }

    @Test("socket paths: --socket, HYDRA_SOCKET, XDG_RUNTIME_DIR, /tmp fallback")
    func paths() {
        #expect(DaemonPaths(socket: "/a/b.sock", environment: [:]).directory == "/a")
        #expect(DaemonPaths(socket: nil, environment: ["HYDRA_SOCKET": "/c/d.sock"]).socket == "/c/d.sock")
        #expect(DaemonPaths(socket: nil, environment: ["XDG_RUNTIME_DIR": "/run/user/7"]).socket == "/run/user/7/hydra/hydra.sock")
        #expect(DaemonPaths(socket: nil, environment: [:]).directory == "/tmp/hydra-\(getuid())")
        #expect(DaemonPaths(socket: nil, environment: [:]).ownsDirectory)
        #expect(!DaemonPaths(socket: "x.sock", environment: [:]).ownsDirectory)
        #expect(DaemonPaths(socket: "x.sock", environment: [:]).directory == ".")
    }

    @Test("language guesses from script and telltale letters", arguments: [
        ("Бик зур рәхмәт.", "tt"), ("Большое спасибо.", "ru"), ("Щиро дякую, їжак.", "uk"),
        ("Thank you very much.", "en"), ("Vielen Dank für alles.", "de"), ("谢谢", "zh"),
    ])
    func detect(text: String, language: String) {
        #expect(LanguageGuess.detect(text).language == language)
    }

    @Test("no letters, no guess")
    func detectNothing() {
        let r = LanguageGuess.detect("123 !?")
        #expect(r.script == nil && r.language == nil && r.candidates.isEmpty)
    }
}
