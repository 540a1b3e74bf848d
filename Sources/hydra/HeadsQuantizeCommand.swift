import ArgumentParser
import Foundation
import HydraCore

extension HeadsCommand {
    /// `hydra heads quantize`: a head file's tables in a quantized type.
    struct Quantize: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Quantize a head file's tables (token_embd, output), keeping its metadata and tokenizer.",
            discussion: """
                TYPE as for `hydra quantize`: the output table (or the embedding table of a tied head) gets the \
                output type of llama.cpp's mix (Q6_K for the K types and Q4_0..Q5_1), the embedding table the \
                default type. A recipe head keeps its map and quantizes its stored output table.
                """)

        @Argument(help: "The head file (GGUF).")
        var input: String

        @Argument(help: "The output head file.")
        var output: String

        @Argument(help: "The quantization type (e.g. q4_k_m, q8_0).")
        var type: String

        @Option(name: [.short, .long], help: "Threads (default: the number of CPUs).")
        var threads: Int?

        func run() throws {
            let (result, seconds) = try QuantizeCommand.quantize(type: type, threads: threads,
                                                                 label: "quantizing head to") { qtype, pool, progress in
                try GGUFQuantizer.quantizeHead(input: input, output: output, type: qtype, pool: pool, progress: progress)
            }
            let tables = result.types.filter { $0.key == "token_embd.weight" || $0.key == "output.weight" }
                .sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.name)" }.joined(separator: ", ")
            printError(String(format: "wrote %@ (%@; %@ -> %@) in %.1f s", result.path, tables,
                              ByteProgress.size(result.inputBytes), ByteProgress.size(result.outputBytes), seconds))
        }
    }
}
