import ArgumentParser
import Foundation
import HydraCore

extension HeadsCommand {
    /// `hydra heads distill-inputs`: a head's input rows tuned through the frozen body.
    struct DistillInputs: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "distill-inputs",
            abstract: "Tune a head's input rows through the frozen body so that it reads text as the model's own head does.",
            discussion: """
                Token distillation: each chunk of --text runs through the body's first --depth blocks as the \
                model's own tokens and as the head's tokens; where a token of each ends at the same byte, the \
                head's state is pulled towards the model's (the squared distances over the model's squared lengths). \
                The gradient goes back through the blocks (floats, OpenBLAS) to the head's input rows; Adam \
                takes one step a chunk. Output rows are copied unchanged: retune them afterwards with \
                'hydra heads tune' on the states the new input rows give. A recipe head stays a recipe: its map \
                plus the rows that moved (the tokens the text read; Q8_0); any other head is written dense \
                (Q8_0 tables). Llama and Qwen2 bodies. A checkpoint and what the run is made from are kept in \
                --work (default: OUT.distill): a second run continues where the first stopped and writes the \
                same head. Files under a 'heldout' folder are refused.
                Example:
                  hydra heads distill-inputs --model qwen2.5-1.5b --head heads/tt-qwen2.5-1.5b.gguf \\
                    --text data/tt/tt-text.txt --out tt-distilled.gguf
                """)

        @Option(name: [.short, .long], help: "A GGUF file or a known model's name (default: \(KnownModel.defaultName)).")
        var model: String?

        @Option(help: "The head whose input rows to tune: a head file or installed head's name.")
        var head: String

        @Option(parsing: .upToNextOption, help: "Text in the head's language (lines; .tsv: the second column).")
        var text: [String]

        @Option(help: "Compare the states after this many blocks.")
        var depth = 4

        @Option(help: "Adam learning rate.")
        var lr: Float = 1e-4

        @Option(help: "Passes over the text.")
        var epochs = 1

        @Option(help: "Pack lines into chunks of up to N bytes.")
        var chunkBytes = 600

        @Option(help: "Keep every Nth chunk out of training to measure the loss on (0: none).")
        var validationEvery = 50

        @Option(help: "Write a checkpoint every N steps.")
        var checkpointEvery = 20

        @Option(help: "Seed of the chunk order.")
        var seed: UInt64 = 1

        @Option(help: "The written head's name (default: the head's).")
        var name: String?

        @Option(help: "Folder for the checkpoint (default: OUT.distill).")
        var work: String?

        @Option(help: "Stop after this many steps in all, leaving the checkpoint (no head written).")
        var stopAfter: Int?

        @Option(name: [.short, .long], help: "Threads (default: all cores).")
        var threads: Int?

        @Option(help: "The head file to write.")
        var out: String

        func validate() throws {
            try refuseHeldOut(text + [out] + (work.map { [$0] } ?? []))
            guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number") }
            guard depth >= 1 else { throw ValidationError("--depth must be at least 1") }
            guard epochs >= 1, chunkBytes >= 1, checkpointEvery >= 1 else {
                throw ValidationError("--epochs, --chunk-bytes and --checkpoint-every must be at least 1")
            }
            guard validationEvery >= 0 else { throw ValidationError("--validation-every cannot be negative") }
        }

        func run() throws {
            var options = TokenDistillation.Options()
            options.depth = depth
            options.learningRate = lr
            options.epochs = epochs
            options.chunkBytes = chunkBytes
            options.validationEvery = validationEvery
            options.checkpointEvery = checkpointEvery
            options.seed = seed
            options.name = name
            let hydra = try HydraModel.load(model, contextLength: 16, threads: threads)
            let tuned = try hydra.heads.load(path: HeadsCommand.resolve(head))
            let folder = work ?? out + ".distill"
            var clock = Stopwatch()
            var report = ProgressReport()
            let result = try TokenDistillation.run(model: hydra, head: tuned, textFiles: text, options: options,
                                                   work: folder, out: out, stopAfter: stopAfter) {
                report.show($0, doing: "distilling", items: "chunks", positions: "aligned positions")
            }
            if result.stopped {
                printError("stopped after step \(result.steps); the checkpoint is in \(folder)")
                return
            }
            let loss = result.validationAfter.isNaN ? "" : result.validationBefore.isNaN
                ? String(format: "; validation loss %.4f", result.validationAfter)
                : String(format: "; validation loss %.4f -> %.4f", result.validationBefore, result.validationAfter)
            printError(String(format: "wrote %@ in %.1f s; %d steps", out, clock.lap() / 1000, result.steps) + loss)
            try? FileManager.default.removeItem(atPath: folder)
        }
    }
}
