import ArgumentParser
import Foundation
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
            ConvertCommand.self, QuantizeCommand.self, BatchMergeCommand.self,
        ]
    )

    /// Refuses arguments that are not valid UTF-8 before parsing them:
    /// Swift would turn them into U+FFFD silently (and translate, or open,
    /// something else than what was typed). Standard input is refused the
    /// same way (`UTF8Input`).
    static func main() async {
        for i in 1..<Int(CommandLine.argc) {
            guard let raw = CommandLine.unsafeArgv[i] else { continue }
            let bytes = UnsafeBufferPointer(start: UnsafeRawPointer(raw).assumingMemoryBound(to: UInt8.self), count: strlen(raw))
            if (try? UTF8Input.decode(Array(bytes))) == nil {
                printError("Error: argument \(i) is not valid UTF-8")
                Foundation.exit(ExitCode.validationFailure.rawValue)
            }
        }
        await main(nil)
    }
}
