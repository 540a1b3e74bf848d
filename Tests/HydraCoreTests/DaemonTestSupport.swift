import Foundation
import Testing
@testable import HydraCore

/// A real `hydra serve` on a real socket in a private runtime directory,
/// for one test.
final class TestDaemon {
    let runtimeDirectory: String
    let paths: DaemonPaths
    let process = Process()
    var environment: [String: String] { ["XDG_RUNTIME_DIR": runtimeDirectory, "HYDRA_SOCKET": ""] }

    /// Starts a daemon serving `model` (a fixture key) and waits until it
    /// has loaded it.
    /// `exactBatches`: concurrent requests get the in-process answers bit
    /// for bit (what most tests compare against); else throughput mode.
    /// `logFile`: the daemon's standard error goes there (else nowhere).
    init(model: String = "smollm2-135m", arguments: [String] = [], exactBatches: Bool = true, logFile: String? = nil) throws {
        // Short: a socket path must fit in 108 bytes.
        runtimeDirectory = "/tmp/hyd-" + String(UUID().uuidString.prefix(8))
        try FileManager.default.createDirectory(atPath: runtimeDirectory, withIntermediateDirectories: true)
        paths = DaemonPaths(socket: nil, environment: ["XDG_RUNTIME_DIR": runtimeDirectory])
        process.executableURL = URL(fileURLWithPath: CLI.binary)
        process.arguments = ["serve", "--model", TestModels.path(model), "--threads", "2", "--idle-unload", "0"]
            + (exactBatches ? ["--exact-batches"] : []) + arguments
        var env = ProcessInfo.processInfo.environment
        env["HYDRA_MODELS"] = TestModels.directory
        for (k, v) in environment { env[k] = v }
        process.environment = env
        process.standardOutput = FileHandle.nullDevice
        if let logFile {
            _ = FileManager.default.createFile(atPath: logFile, contents: nil)
            process.standardError = FileHandle(forWritingAtPath: logFile)
        } else {
            process.standardError = FileHandle.nullDevice
        }
        try process.run()
        try waitUntilLoaded()
    }

    func waitUntilLoaded(timeout: Double = 60) throws {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if let c = try? DaemonClient(socket: paths.socket),
               let s = try? c.call(DaemonMethod.status, Empty(), as: StatusResult.self),
               s.models.allSatisfy(\.loaded) {
                return
            }
            guard process.isRunning else { throw HydraError.invalidInput("the daemon exited with \(process.terminationStatus)") }
            usleep(50_000)
        }
        throw HydraError.invalidInput("the daemon did not start in \(timeout) s")
    }

    func client() throws -> DaemonClient { try DaemonClient(socket: paths.socket) }

    func status() throws -> StatusResult {
        try client().call(DaemonMethod.status, Empty(), as: StatusResult.self)
    }

    /// Stops the daemon and removes its directory.
    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
        try? FileManager.default.removeItem(atPath: runtimeDirectory)
    }

    deinit { stop() }
}

/// In-process translations with the same settings as the daemon and the
/// CLI, computed once per text.
enum InProcess {
    private static let cache = Mutex<[String: String]>([:])

    static func translate(_ text: String, from: String = "en", to: String = "ru", model: String = "smollm2-135m") throws -> String {
        let key = "\(model)|\(from)|\(to)|\(text)"
        if let hit = cache.withLock({ $0[key] }) { return hit }
        let gguf = try TestModels.gguf(model)
        let lm = try HydraModel(file: gguf, contextLength: 4096, batchSize: 512, pool: ThreadPool(threads: 2))
        let translator = try Translator(model: lm)
        var out = ""
        try translator.translate(text, from: try Language.named(from), to: try Language.named(to)) {
            out += $0
            return true
        }
        cache.withLock { $0[key] = out }
        return out
    }
}

/// Runs `body` on `count` threads at once and waits for all of them.
func onThreads<T: Sendable>(_ count: Int, _ body: @escaping @Sendable (Int) throws -> T) -> [Result<T, Error>] {
    let results = Mutex<[Int: Result<T, Error>]>([:])
    let group = DispatchGroup()
    for i in 0..<count {
        group.enter()
        let t = Thread {
            let r = Result { try body(i) }
            results.withLock { $0[i] = r }
            group.leave()
        }
        t.stackSize = 4 << 20
        t.start()
    }
    group.wait()
    return (0..<count).map { i in results.withLock { $0[i]! } }
}
