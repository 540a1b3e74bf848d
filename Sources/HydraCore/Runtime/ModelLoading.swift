import Foundation

/// How hydra's commands and its daemon open a model: one rule for the
/// context and the threads, so every way in computes the same thing.
extension HydraModel {
    /// The context `hydra translate` and the daemon give a model (the same
    /// in both, so a translation does not depend on which one ran it).
    public static let translationContext = 4096

    /// Opens a model file: a known model's name or a GGUF path (see
    /// `KnownModel.resolve`), a context of `contextLength` positions but no
    /// more than the model was trained for (and at least 16), prompts in
    /// batches of up to 512 tokens, on `threads` threads (default: every
    /// core), with flash attention unless `flashAttention` is false (as
    /// llama.cpp's tools run on the CPU by default).
    public static func load(_ nameOrPath: String?, contextLength: Int = translationContext,
                            threads: Int? = nil, flashAttention: Bool = true) throws -> HydraModel {
        try load(file: openFile(nameOrPath), contextLength: contextLength, threads: threads,
                 flashAttention: flashAttention)
    }

    /// `load` for a file already opened.
    public static func load(file: GGUFFile, contextLength: Int = translationContext,
                            threads: Int? = nil, flashAttention: Bool = true) throws -> HydraModel {
        let trained = file.architecture.flatMap { file.int("\($0).context_length") } ?? translationContext
        let context = max(16, min(contextLength, max(trained, 16)))
        // Every command's --threads passes here.
        if let threads, let problem = ThreadPool.problem(with: threads) { throw HydraError.invalidInput(problem) }
        let pool = ThreadPool(threads: threads ?? ThreadPool.defaultThreadCount)
        do {
            return try HydraModel(file: file, contextLength: context, batchSize: min(512, context), pool: pool,
                                  flashAttention: flashAttention)
        } catch let e as HydraError {
            throw e
        } catch {
            throw HydraError.invalidModel("\(file.path): \(error)")
        }
    }

    /// Opens a model's GGUF file (a known model's name or a path), with an
    /// error that names the file when it is not a model hydra can read.
    public static func openFile(_ nameOrPath: String?) throws -> GGUFFile {
        let path = try KnownModel.resolve(nameOrPath)
        do {
            return try GGUFFile(path: path)
        } catch let e as GGUFError {
            throw HydraError.invalidModel("invalid model file \(e.description)")
        }
    }
}
