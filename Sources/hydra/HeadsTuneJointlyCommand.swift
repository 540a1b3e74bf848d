import ArgumentParser
import Foundation
import HydraCore

extension HeadsCommand {
    /// `hydra heads tune-jointly`: a head's input and output rows tuned together through the frozen body.
    struct TuneJointly: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "tune-jointly",
            abstract: "Tune a head's input and output rows together by next-token loss through the frozen body.",
            discussion: """
                Tweety's first stage, on the sequences 'hydra heads tune' builds (--text: the head's BOS, then \
                lines packed up to 256 tokens; --pairs: hydra's translation prompt through the model's own head, \
                then the answer through this head): each runs through every block of the body (floats, OpenBLAS), \
                the final norm and the head's output rows; the loss is the mean cross-entropy of each next token \
                of the head. Its gradient reaches the output rows directly and the input rows through the body; \
                Adam takes one step every --sequences-per-step sequences. The output rows are pulled towards \
                their initial values (--l2). A recipe head is written as its map, the input rows the text moved \
                and the output rows (Q8_0); any other head dense (Q8_0 tables). Llama and Qwen2 bodies; \
                the whole body is held in floats (about 4 bytes a weight). A checkpoint and what the run is made \
                from are kept in --work (default: OUT.joint): a second run continues where the first stopped and \
                writes the same head. --snapshot-every N also writes the head every N steps (OUT.stepN.gguf), \
                with its validation loss, for a curve of quality against tuning tokens. Files under a 'heldout' \
                folder are refused.
                Example:
                  hydra heads tune-jointly --model qwen2.5-1.5b --head heads/tt-qwen2.5-1.5b.gguf \\
                    --text data/tt/tt-text.txt \\
                    --pairs data/tt/en-tt.tsv --max-pairs 1000 --prompt-language ru --out tt-joint.gguf
                """)

        @Option(name: [.short, .long], help: "A GGUF file or a known model's name (default: \(KnownModel.defaultName)).")
        var model: String?

        @Option(help: "The head to tune: a head file or installed head's name.")
        var head: String

        @Option(parsing: .upToNextOption, help: "Text in the head's language (lines; .tsv: the second column).")
        var text: [String] = []

        @Option(parsing: .upToNextOption, help: "Translation pairs 'source<TAB>target' (target in the head's language).")
        var pairs: [String] = []

        @Option(help: "The source language of --pairs.")
        var from = "en"

        @Option(help: "Use only the first N pairs of each --pairs file (0: all).")
        var maxPairs = 0

        @Option(help: "The language the pairs' prompt names (default: the head's prompt language, else its language).")
        var promptLanguage: String?

        @Option(help: "Adam learning rate of the input rows.")
        var lr: Float = 5e-4

        @Option(help: "Adam learning rate of the output rows (0: keep them).")
        var outputLr: Float = 5e-4

        @Option(help: "Weight of the output rows' L2 pull towards their initial values.")
        var l2: Float = 1e-2

        @Option(help: "Passes over the text.")
        var epochs = 1

        @Option(help: "End the run after N steps in all and write the head (default: every step of --epochs).")
        var steps: Int?

        @Option(help: "Sequences a step (the loss is their mean over positions).")
        var sequencesPerStep = 4

        @Option(help: "Keep every Nth sequence out of training to measure the loss on (0: none).")
        var validationEvery = 50

        @Option(help: "Write a checkpoint every N steps.")
        var checkpointEvery = 5

        @Option(help: "Every N steps, also measure the validation loss and write the head so far as OUT.stepN.gguf (0: never).")
        var snapshotEvery = 0

        @Option(help: "Seed of the sequence order.")
        var seed: UInt64 = 1

        @Option(help: "The written head's name (default: the head's).")
        var name: String?

        @Option(help: "Folder for the checkpoint (default: OUT.joint).")
        var work: String?

        @Option(help: "Stop after this many steps in all, leaving the checkpoint (no head written).")
        var stopAfter: Int?

        @Option(name: [.short, .long], help: "Threads (default: all cores).")
        var threads: Int?

        @Option(help: "The head file to write.")
        var out: String

        func validate() throws {
            if text.isEmpty && pairs.isEmpty { throw ValidationError("give --text FILE... and/or --pairs FILE.tsv...") }
            try refuseHeldOut(text + pairs + [out] + (work.map { [$0] } ?? []))
            guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number") }
            guard outputLr >= 0, outputLr.isFinite, l2 >= 0, l2.isFinite else {
                throw ValidationError("--output-lr and --l2 must be numbers of at least 0")
            }
            guard epochs >= 1, sequencesPerStep >= 1, checkpointEvery >= 1, (steps ?? 1) >= 1 else {
                throw ValidationError("--epochs, --steps, --sequences-per-step and --checkpoint-every must be at least 1")
            }
            guard validationEvery >= 0, maxPairs >= 0, snapshotEvery >= 0 else { throw ValidationError("counts cannot be negative") }
            if let code = promptLanguage { _ = try Language.named(code) }
        }

        func run() throws {
            var corpus = HeadTuning.Options()
            corpus.maxPairs = maxPairs
            corpus.promptLanguage = promptLanguage
            var options = JointTuning.Options()
            options.learningRate = lr
            options.outputLearningRate = outputLr
            options.l2 = l2
            options.epochs = epochs
            options.steps = steps
            options.sequencesPerStep = sequencesPerStep
            options.validationEvery = validationEvery
            options.checkpointEvery = checkpointEvery
            options.snapshotEvery = snapshotEvery
            options.seed = seed
            options.name = name
            let source = try Language.named(from)
            let hydra = try HydraModel.load(model, contextLength: 16, threads: threads)
            let tuned = try hydra.heads.load(path: HeadsCommand.resolve(head))
            let folder = work ?? out + ".joint"
            var clock = Stopwatch()
            var report = ProgressReport()
            let result = try JointTuning.run(model: hydra, head: tuned, textFiles: text, pairFiles: pairs,
                                             pairSource: source, corpus: corpus, options: options, work: folder,
                                             out: out, stopAfter: stopAfter) {
                report.show($0, doing: "tuning", items: "sequences", positions: "positions")
            }
            if result.stopped {
                printError("stopped after step \(result.steps); the checkpoint is in \(folder)")
                return
            }
            let loss = result.validationAfter.isNaN ? "" : result.validationBefore.isNaN
                ? String(format: "; validation loss %.4f nats/token", result.validationAfter)
                : String(format: "; validation loss %.4f -> %.4f nats/token", result.validationBefore, result.validationAfter)
            printError(String(format: "wrote %@ in %.1f s; %d steps", out, clock.lap() / 1000, result.steps) + loss)
            try? FileManager.default.removeItem(atPath: folder)
        }
    }
}
