import Foundation
import Testing
@testable import HydraCore
#if canImport(Glibc)
import Glibc
#endif

/// How long and from which seed the fuzzers run: a few seconds in the
/// suite; `scripts/fuzz` sets `HYDRA_FUZZ_SECONDS` and `HYDRA_FUZZ_SEED`.
enum FuzzSettings {
    static var seconds: Double {
        Double(ProcessInfo.processInfo.environment["HYDRA_FUZZ_SECONDS"] ?? "") ?? 3
    }

    static var seed: UInt64 {
        UInt64(ProcessInfo.processInfo.environment["HYDRA_FUZZ_SEED"] ?? "") ?? 11
    }
}

extension SeededGenerator {
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(max(n, 1))) }
    mutating func chance(_ p: Double) -> Bool { nextUnit() <= p }
    mutating func pick<T>(_ xs: [T]) -> T { xs[below(xs.count)] }
}

/// Malformed JSON-RPC lines, built from valid requests: fields dropped,
/// retyped or given hostile values, then sometimes mangled byte by byte.
struct RequestMutator {
    var rng: SeededGenerator
    let fifo: String

    static let methods = ["translate", "detect", "status", "cancel", "heads", "translate.partial", "", "STATUS", "frobnicate"]

    mutating func value() -> Any {
        switch rng.below(14) {
        case 0: return NSNull()
        case 1: return rng.chance(0.5)
        case 2: return 1.5
        case 3: return Int64.max
        case 4: return -1
        case 5: return "9223372036854775808"
        case 6: return ["a": 1]
        case 7: return [1, "x", NSNull()]
        case 8: return String(repeating: "ä", count: rng.below(5000))
        case 9: return rng.pick(["/dev/zero", "/etc/shadow", fifo, "/proc/self/mem", "../../../../etc/passwd", "/no/such.gguf", "/tmp"])
        case 10: return rng.pick(["en", "ru", "auto", "zz", "", "tt", "x-".padding(toLength: 300, withPad: "y", startingAt: 0)])
        case 11: return "Hello.\n\n```\ncode\n"
        case 12: return "\u{0}\u{1F}\u{FEFF}\u{202E}\u{10FFFF}"
        default: return Int(rng.next() % 1000)
        }
    }

    mutating func params(for method: String) -> [String: Any] {
        var p: [String: Any]
        switch method {
        case "translate":
            p = ["text": rng.pick(["Hi.", "Good morning.", "", "12345", "Привет."]), "from": "en", "to": rng.pick(["ru", "fr", "de"]),
                 "stream": rng.chance(0.5)]
            if rng.chance(0.2) { p["model"] = value() }
            if rng.chance(0.2) { p["heads"] = [value()] }
            if rng.chance(0.1) { p["native_head"] = value() }
            if rng.chance(0.1) { p["script_lock"] = value() }
        case "detect": p = ["text": "Бик зур рәхмәт!"]
        case "cancel": p = ["id": Int(rng.next() % 50)]
        case "heads": p = ["action": rng.pick(["list", "load", "unload", "juggle"]), "head": value()]
        default: p = [:]
        }
        // Drop, retype or add fields.
        for key in Array(p.keys) where rng.chance(0.15) {
            if rng.chance(0.5) { p[key] = nil } else { p[key] = value() }
        }
        if rng.chance(0.1) { p["unexpected"] = value() }
        return p
    }

    /// One line (without its newline, which the caller may leave out).
    mutating func line() -> [UInt8] {
        let method = rng.pick(Self.methods)
        var object: [String: Any] = ["jsonrpc": "2.0", "id": Int(rng.next() % 50), "method": method, "params": params(for: method)]
        for key in ["jsonrpc", "id", "method", "params"] where rng.chance(0.12) {
            if rng.chance(0.4) { object[key] = nil } else { object[key] = value() }
        }
        var top: Any = object
        if rng.chance(0.03) { top = [object] }
        if rng.chance(0.02) { top = value() }
        var bytes = (try? JSONSerialization.data(withJSONObject: top, options: [.fragmentsAllowed])).map { [UInt8]($0) }
            ?? Array("{}".utf8)
        // Byte-level damage: flips, cuts, inserted bytes (newlines and invalid UTF-8 included).
        if rng.chance(0.25) {
            for _ in 0..<(1 + rng.below(4)) where !bytes.isEmpty {
                let i = rng.below(bytes.count)
                switch rng.below(4) {
                case 0: bytes[i] ^= UInt8(1 << rng.below(8))
                case 1: bytes.removeSubrange(i...)
                case 2: bytes.insert(rng.pick([0x0A, 0xC3, 0xFF, 0x00, 0x22, 0x7B, 0x5C]), at: i)
                default: bytes.remove(at: i)
                }
            }
        }
        return bytes.filter { $0 != 0x0A } + (rng.chance(0.03) ? Array(repeating: 0x20, count: 5000) : [])
    }
}

/// What a fuzzing run did, printed for the notes.
struct FuzzReport: CustomStringConvertible {
    var inputs = 0
    var crashes = 0
    var hangs = 0
    var peakRSSMB = 0
    let what: String
    let seed: UInt64
    let seconds: Double

    var description: String {
        "fuzz \(what): seed \(seed), \(Int(seconds)) s, \(inputs) inputs, \(crashes) crashes, \(hangs) hangs"
            + (peakRSSMB > 0 ? ", daemon peak RSS \(peakRSSMB) MB" : "")
    }
}

@Suite("Fuzz", .serialized)
struct FuzzTests {
    @Test("malformed JSON-RPC lines against a real daemon: no crash, no hang, bounded memory")
    func protocolFuzz() throws {
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        mkfifo(dir + "/fifo.gguf", 0o600)
        let daemon = try TestDaemon(arguments: ["--max-tokens", "96", "--max-message-bytes", "65536", "--idle-timeout", "5"])
        defer { daemon.stop() }
        let pid = daemon.process.processIdentifier
        var mutator = RequestMutator(rng: SeededGenerator(seed: FuzzSettings.seed), fifo: dir + "/fifo.gguf")
        var report = FuzzReport(what: "protocol", seed: FuzzSettings.seed, seconds: FuzzSettings.seconds)
        var connections: [DaemonClient] = []
        let deadline = Date().addingTimeInterval(FuzzSettings.seconds)
        var probe = 0
        while Date() < deadline && report.crashes == 0 {
            if connections.count < 4 || mutator.rng.chance(0.02) {
                if connections.count >= 4 { connections.removeFirst() }
                connections.append(try daemon.client())
            }
            let i = mutator.rng.below(connections.count)
            var line = mutator.line()
            if !mutator.rng.chance(0.05) { line.append(0x0A) }  // sometimes the newline comes later
            do {
                try connections[i].send(bytes: line)
            } catch {
                connections.remove(at: i)  // the daemon dropped it (fine): a new one next time
                continue
            }
            report.inputs += 1
            // Every few lines, a fresh connection must get its status at once.
            if report.inputs % 16 == 0 {
                probe += 1
                let answered = finishes(within: 10) {
                    _ = try? daemon.client().call(DaemonMethod.status, Empty(), as: StatusResult.self)
                }
                if !answered { report.hangs += 1 }
                if !daemon.process.isRunning { report.crashes += 1 }
            }
        }
        if !daemon.process.isRunning { report.crashes += 1 }
        report.peakRSSMB = procStatus(pid, "VmHWM") / 1024
        // It still translates correctly.
        if report.crashes == 0 {
            let t = try daemon.client().translate(TranslateParams(text: "Hello!", from: "en", to: "ru"))
            #expect(t.text == (try InProcess.translate("Hello!")))
        }
        print(report)
        #expect(report.crashes == 0)
        #expect(report.hangs == 0)
        #expect(report.inputs > 0)
    }

    /// Mutates the bytes of `original` in its first `region` bytes.
    static func mutate(_ original: [UInt8], region: Int, _ rng: inout SeededGenerator) -> [UInt8] {
        var b = original
        for _ in 0..<(1 + rng.below(8)) {
            let i = rng.below(min(region, b.count))  // the file may have been cut already
            switch rng.below(5) {
            case 0: b[i] ^= UInt8(1 << rng.below(8))
            case 1:  // an interesting 64-bit value over a length, count or offset
                let v: UInt64 = rng.pick([0, 1, 0x7F, 0xFF, 0xFFFF, 0x7FFF_FFFF, 0xFFFF_FFFF, 1 << 32, UInt64(Int64.max), UInt64.max,
                                          UInt64(original.count), UInt64(original.count) + 1])
                for k in 0..<8 where i + k < b.count { b[i + k] = UInt8(truncatingIfNeeded: v >> (8 * UInt64(k))) }
            case 2: b[i] = UInt8(truncatingIfNeeded: rng.next())
            case 3: b.removeSubrange(rng.below(b.count)...)  // truncated
            default: b[i] = rng.pick([0, 0xFF, 0x80, 0x7F])
            }
            if b.isEmpty { break }
        }
        return b
    }

    @Test("mutated head and GGUF files are refused cleanly: no crash, no hang")
    func readerFuzz() throws {
        // Each input is read by the hydra binary in a process of its own
        // (`heads inspect`, `tokenize --model`): a crash is a signal, a hang
        // a timeout, and the readers run as shipped. (In a test process,
        // Swift Testing records a backtrace for every error thrown, which
        // makes the readers' error paths look many times slower.)
        let dir = try scratchDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let headPath = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("heads/tt-gemma3-270m.gguf").path
        let head = [UInt8](try Data(contentsOf: URL(fileURLWithPath: headPath)))
        // The model's own file: only its header (metadata and tensor table) is mutated.
        let small = TestModels.path("smollm2-135m")
        let modelHeader = Int(try GGUFFile(path: small).dataOffset)
        let modelCopy = dir + "/model.gguf"
        try FileManager.default.copyItem(atPath: small, toPath: modelCopy)
        let original = [UInt8](try Data(contentsOf: URL(fileURLWithPath: small)).prefix(modelHeader))

        var rng = SeededGenerator(seed: FuzzSettings.seed)
        var report = FuzzReport(what: "head and GGUF readers", seed: FuzzSettings.seed, seconds: FuzzSettings.seconds)
        var accepted = 0
        let deadline = Date().addingTimeInterval(FuzzSettings.seconds)
        while Date() < deadline {
            let args: [String]
            if rng.chance(0.5) {
                let path = dir + "/head.gguf"
                try Data(Self.mutate(head, region: 64 << 10, &rng)).write(to: URL(fileURLWithPath: path))
                args = ["heads", "inspect", path]
            } else {
                let fd = open(modelCopy, O_WRONLY)
                var bytes = Self.mutate(original, region: modelHeader, &rng)
                if bytes.count < original.count { bytes += original[bytes.count...] }  // same size: no truncation here
                _ = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress, $0.count, 0) }
                close(fd)
                args = ["tokenize", "--model", modelCopy, "Hello"]
            }
            report.inputs += 1
            let r = try runHydra(args, timeout: 20)
            if r.status == 0 { accepted += 1 }
            if r.status == 124 || r.status == 137 {
                report.hangs += 1
            } else if r.status > 1 || !(r.status == 0 || r.stderr.hasPrefix("Error:")) {
                report.crashes += 1  // a signal, or an exit without the one-line error
                print("fuzz: \(args[0]) input \(report.inputs): status \(r.status): \(r.stderr.prefix(300))")
            }
            if report.crashes + report.hangs > 0 {
                try? FileManager.default.copyItem(atPath: args[2],  // the mutated file
                                                  toPath: "/tmp/hydra-fuzz-\(FuzzSettings.seed)-\(report.inputs).gguf")
                break
            }
        }
        print(report, "(\(accepted) mutated files still read)")
        #expect(report.crashes == 0)
        #expect(report.hangs == 0)
        #expect(report.inputs > 0)
    }
}
