import ArgumentParser
import HydraCore

/// The `hydra` command: translate text with a Hydra LLM on the CPU.
@main
struct HydraCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "hydra",
        abstract: "Offline translation with a Hydra LLM (one shared body, per-language heads) on the CPU.",
        version: Hydra.version,
        subcommands: [
            TranslateCommand.self, DaemonCommand.self, ServeCommand.self, HeadsCommand.self, ModelsCommand.self,
            TokenizeCommand.self, GenerateCommand.self, PerplexityCommand.self, BenchCommand.self,
        ]
    )
}
