import CHydraKernels
import Foundation
import Testing
@testable import HydraCore

/// Where the tests find the real models and the committed fixtures.
enum TestModels {
    /// The model cache (`HYDRA_MODELS`, default ~/.cache/hydra/models), filled by
    /// `hydra models fetch` (scripts/setup.sh runs it).
    static var directory: String {
        if let dir = ProcessInfo.processInfo.environment["HYDRA_MODELS"], !dir.isEmpty { return dir }
        return NSHomeDirectory() + "/.cache/hydra/models"
    }

    /// Fixture key → model file name.
    static let files: [String: String] = [
        "smollm2-135m": "SmolLM2-135M-Instruct.Q4_1.gguf",
        "gemma3-270m": "gemma-3-270m-Q4_K_M.gguf",
        "qwen2.5-0.5b": "qwen2.5-coder-0.5b-instruct-Q4_K_M.gguf",
    ]

    static let keys = ["smollm2-135m", "gemma3-270m", "qwen2.5-0.5b"]

    /// The path of a model by fixture key. The tests require the models: a
    /// missing one is a failure with the command that fetches it.
    static func path(_ key: String) -> String {
        let p = directory + "/" + files[key]!
        if !FileManager.default.fileExists(atPath: p) {
            Issue.record("model \(p) is missing: run scripts/setup.sh gemma3-270m smollm2-135m qwen2.5-0.5b")
        }
        return p
    }

    /// An opened model file by fixture key, shared across tests.
    static func gguf(_ key: String) throws -> GGUFFile {
        try cache.withLock { cache in
            if let f = cache[key] { return f }
            let f = try GGUFFile(path: path(key))
            cache[key] = f
            return f
        }
    }

    private static let cache = Mutex<[String: GGUFFile]>([:])
}

/// The committed fixtures under Tests/Fixtures.
enum Fixtures {
    static let directory: String = {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures").path
    }()

    static func url(_ relative: String) -> URL {
        URL(fileURLWithPath: directory + "/" + relative)
    }

    /// Decodes a JSON fixture.
    static func load<T: Decodable>(_ relative: String, as: T.Type = T.self) throws -> T {
        try JSONDecoder().decode(T.self, from: Data(contentsOf: url(relative)))
    }

    /// The float arithmetic this build reproduces ("avx512", "avx2",
    /// "generic"): llama.cpp's logits depend on it, so golden logits,
    /// continuations and perplexities are kept per variant.
    static let arithmetic = String(cString: hydra_arithmetic_variant())

    /// Decodes `<key>/<arithmetic>/<name>`, llama.cpp's answer on a CPU of
    /// this build's kind; a clear failure when none was made on such a CPU.
    static func loadForThisCPU<T: Decodable>(_ key: String, _ name: String, as: T.Type = T.self) throws -> T {
        let relative = "\(key)/\(arithmetic)/\(name)"
        guard FileManager.default.fileExists(atPath: url(relative).path) else {
            throw FixtureMissing(description:
                "no llama.cpp fixtures for \(arithmetic) arithmetic (Tests/Fixtures/\(relative)): run scripts/make-fixtures.py on a CPU of this kind")
        }
        return try load(relative)
    }

    struct FixtureMissing: Error, CustomStringConvertible {
        let description: String
    }
}

/// A tiny lock, since Synchronization.Mutex needs a newer deployment target on macOS.
final class Mutex<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<R>(_ body: (inout Value) throws -> R) rethrows -> R {
        lock.lock()
        defer { lock.unlock() }
        return try body(&value)
    }
}
