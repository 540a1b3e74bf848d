import ArgumentParser
import Foundation
import HydraCore

extension HeadsCommand {
    /// `hydra heads tune`: a head's output rows fitted with the body frozen.
    struct Tune: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Tune a head's output rows on target-language text with the body frozen.",
            discussion: """
                The body runs once over the text through the head's input rows; the final normed hidden \
                state of every position is cached (F16), and the head's output rows W are fitted to predict \
                each next token: mean cross-entropy + L2 * |W - W_built|^2, Adam over shuffled minibatches \
                (OpenBLAS sgemm). --text files give one sequence a line (the head's BOS, then the line; a \
                .tsv gives its second column); --pairs files give translation pairs 'source<TAB>target', run \
                as hydra's translation prompt (native head) followed by the target through the head, as \
                decoding sees them. Input rows are kept; a tied head comes out untied (Q8_0 tables by default); a \
                slice of the model's own head ('hydra heads mask') stays a slice: its kept tokens' rows are tuned, \
                positions whose next token it has no row for are not trained.
                The hidden states, a checkpoint and what they were made from are kept in --work (default: \
                OUT.tune): a second run with the same arguments continues where the first stopped and gives \
                the same head, bit for bit; a larger --epochs continues a finished run. The folder is removed \
                after the head is written unless --keep-work. Files under a 'heldout' folder are refused.
                Example:
                  hydra heads tune --model gemma3-270m --head heads/tt-gemma3-270m.gguf \\
                    --text data/tt/tt.txt --pairs data/tt/en-tt.tsv --out tt-tuned.gguf
                """)

        @Option(name: [.short, .long], help: "A GGUF file or a known model's name (default: \(KnownModel.defaultName)).")
        var model: String?

        @Option(help: "The head to tune: a head file or installed head's name.")
        var head: String

        @Option(parsing: .upToNextOption, help: "Target-language text files (one sequence a line; .tsv: the second column).")
        var text: [String] = []

        @Option(parsing: .upToNextOption, help: "Translation pairs 'source<TAB>target' (target in the head's language).")
        var pairs: [String] = []

        @Option(help: "The source language of --pairs.")
        var from = "en"

        @Option(help: ArgumentHelp(
            "The language the pairs' prompt names (default: the head's language).",
            discussion: "A related language the body writes well (ru for a Tatar head): the output rows learn to turn its intent into the head's language. The written head records it, and translations through it name that language."))
        var promptLanguage: String?

        @Option(help: ArgumentHelp(
            "Show each pair's N nearest pairs of its --pairs file in its prompt (0: none).",
            discussion: "As a translation with --examples N shows a memory's nearest pairs (never the pair's own text): the rows are tuned on the states that decoding with examples meets. Store the file in the head with 'hydra heads recommend HEAD --memory FILE --examples N'."))
        var examples = 0

        @Option(help: "Record N as the written head's default --no-repeat-ngram (0: none; default: the tuned head's).")
        var recommendNoRepeatNgram: Int?

        @Option(help: "Record P as the written head's default --repeat-penalty (1: none; default: the tuned head's).")
        var recommendRepeatPenalty: Float?

        @Option(help: "Record N as the written head's default --candidates for greedy translations (1: none; default: the tuned head's).")
        var recommendCandidates: Int?

        @Option(help: "Record N as the written head's default --beam for greedy translations (1: none; default: the tuned head's).")
        var recommendBeam: Int?

        @Option(help: "Record W as the written head's default --round-trip-weight (0: none; default: the tuned head's).")
        var recommendRoundTripWeight: Float?

        @Option(help: "Record B as the written head's default --round-trip-below (100: always; default: the tuned head's).")
        var recommendRoundTripBelow: Float?

        @Option(help: "Adam's learning rate.")
        var lr: Float = 5e-4

        @Option(help: "λ of the L2 pull of the rows towards their built values.")
        var l2: Float = 1e-2

        @Option(help: ArgumentHelp(
            "Weight W of the native head as teacher (0: none).",
            discussion: "For a language the native head writes (Russian): the loss adds W times the KL divergence of the rows' distribution from the native head's at the same hidden state, each new token counted in the group of the first native token of its text."))
        var distill: Float = 0

        @Option(help: ArgumentHelp(
            "Factor the head's output by the native head's: first-token or compatible (a factored head stays factored, as it was unless told).",
            discussion: "For a language the native head writes (Russian): the native head says how the text goes on, the rows only which of the head's tokens that agree with it comes. first-token: each token counts under the first native token of its own text; compatible: under every native token whose text begins with its text or starts it. The written head says so (hydra.head.output.factored) and is read that way. Not with --distill.",
            valueName: "factoring"))
        var factored: OutputFactoring?

        @Option(help: "Positions per minibatch.")
        var batch = 256

        @Option(help: "Passes over the cached positions.")
        var epochs = 1

        @Option(help: "Seed of the minibatch order.")
        var seed: UInt64 = 1

        @Option(help: "Every n-th sequence is kept apart to report a validation loss (0: none).")
        var validationEvery = 50

        @Option(help: "Steps between checkpoints.")
        var checkpointEvery = 100

        @Option(help: "Use only N pairs of each --pairs file (0: all): the first N, or with --spread-pairs N spread evenly over the file.")
        var maxPairs = 0

        @Flag(help: "Take the --max-pairs pairs evenly spaced over each file instead of the first ones (a sorted catalog's every part, not its first letters).")
        var spreadPairs = false

        @Option(help: "Use only the first N sequences (0: all).")
        var maxSequences = 0

        @Option(help: "Longest sequence in tokens (longer lines are cut, longer pairs skipped).")
        var maxLength = 512

        @Option(help: "Pack lines of --text into sequences of up to N tokens, joined by new lines (0: one line a sequence).")
        var pack = 256

        @Option(help: "Table type of the written head: q8_0, f16 or f32.")
        var type = "q8_0"

        @Option(help: "The written head's name (default: the tuned head's).")
        var name: String?

        @Option(help: "Folder for the hidden-state cache and checkpoints (default: OUT.tune).")
        var work: String?

        @Flag(help: "Keep the work folder after writing the head (to extend the run later).")
        var keepWork = false

        @Option(help: "Stop after this many optimizer steps in all, leaving the checkpoint (no head written).")
        var stopAfter: Int?

        @Option(name: [.short, .long], help: "Threads (default: all cores).")
        var threads: Int?

        @Option(help: "The head file to write.")
        var out: String

        /// The decoding the written head is to recommend.
        var recommended: HeadDecoding.Settings {
            .init(noRepeatNgram: recommendNoRepeatNgram, repeatPenalty: recommendRepeatPenalty,
                  candidates: recommendCandidates, beams: recommendBeam, roundTripWeight: recommendRoundTripWeight,
                  roundTripBelow: recommendRoundTripBelow)
        }

        func validate() throws {
            if text.isEmpty && pairs.isEmpty { throw ValidationError("give --text FILE... and/or --pairs FILE.tsv...") }
            try refuseHeldOut(text + pairs + [out] + (work.map { [$0] } ?? []))
            guard lr > 0, lr.isFinite else { throw ValidationError("--lr must be a positive number") }
            guard l2 >= 0, l2.isFinite else { throw ValidationError("--l2 must be zero or more") }
            guard distill >= 0, distill.isFinite else { throw ValidationError("--distill must be zero or more") }
            guard batch > 0 else { throw ValidationError("--batch must be at least 1") }
            guard epochs > 0 else { throw ValidationError("--epochs must be at least 1") }
            guard checkpointEvery > 0 else { throw ValidationError("--checkpoint-every must be at least 1") }
            guard validationEvery >= 0, maxSequences >= 0, maxPairs >= 0, pack >= 0 else { throw ValidationError("counts cannot be negative") }
            guard maxLength >= 2 else { throw ValidationError("--max-length must be at least 2") }
            if let why = HeadDecoding.Settings(examples: examples).problem() { throw ValidationError(why) }
            if examples > 0 && pairs.isEmpty { throw ValidationError("--examples needs --pairs") }
            if let code = promptLanguage { _ = try Language.named(code) }
            if let why = recommended.problem(option: "--recommend-") { throw ValidationError(why) }
            guard ["q8_0", "f16", "f32"].contains(type.lowercased()) else { throw ValidationError("--type must be q8_0, f16 or f32") }
        }

        func run() throws {
            var options = HeadTuning.Options()
            options.tuner.learningRate = lr
            options.tuner.l2 = l2
            options.tuner.distill = distill
            options.tuner.factored = factored
            options.tuner.batchSize = batch
            options.tuner.epochs = epochs
            options.tuner.seed = seed
            options.tuner.validationEvery = validationEvery
            options.tuner.checkpointEvery = checkpointEvery
            options.maxSequences = maxSequences
            options.maxLength = maxLength
            options.pack = pack
            options.maxPairs = maxPairs
            options.spreadPairs = spreadPairs
            options.name = name
            options.promptLanguage = promptLanguage
            options.examples = examples
            options.decoding = recommended
            options.tableType = ["f16": .f16, "f32": .f32][type.lowercased()] ?? .q8_0
            let source = try Language.named(from)
            let hydra = try HydraModel.load(model, contextLength: max(maxLength, 16), threads: threads)
            let tuned = try hydra.heads.load(path: HeadsCommand.resolve(head))
            let folder = work ?? out + ".tune"

            var clock = Stopwatch()
            var report = ProgressReport()
            let result = try HeadTuning.run(model: hydra, head: tuned, textFiles: text, pairFiles: pairs,
                                            pairSource: source, options: options, work: folder, out: out,
                                            stopAfter: stopAfter) { report.show($0) }
            let seconds = clock.lap() / 1000
            if result.stopped {
                printError("stopped after step \(result.steps); the checkpoint is in \(folder)")
                return
            }
            var loss = ""
            if !result.validationAfter.isNaN {
                loss = result.validationBefore.isNaN
                    ? String(format: "; validation loss %.4f nats/token", result.validationAfter)
                    : String(format: "; validation loss %.4f -> %.4f nats/token", result.validationBefore, result.validationAfter)
            }
            if !result.teacherAfter.isNaN {
                loss += result.teacherBefore.isNaN
                    ? String(format: ", KL from the native head %.4f nats", result.teacherAfter)
                    : String(format: ", KL from the native head %.4f -> %.4f nats", result.teacherBefore, result.teacherAfter)
            }
            printError(String(format: "wrote %@: head '%@' in %.1f s; %d sequences, %d training / %d validation positions, %d steps",
                              out, name ?? tuned.name, seconds, result.sequences, result.trainRows, result.validationRows,
                              result.steps) + loss)
            if !keepWork { try? FileManager.default.removeItem(atPath: folder) }
        }
    }
}

/// Progress lines of a tuning run on standard error: at most one every
/// few seconds, with counts, loss, speed and the time left.
struct ProgressReport {
    private var start = DispatchTime.now().uptimeNanoseconds
    private var lastShown = DispatchTime.now().uptimeNanoseconds
    private var phaseStart = DispatchTime.now().uptimeNanoseconds
    private var phaseItems = 0
    private var phaseFirst = -1
    private var tokens = 0
    private var lossSum = 0.0, lossRows = 0
    private var phase = ""

    private mutating func enter(_ name: String, at done: Int) {
        if phase != name {
            phase = name
            phaseStart = DispatchTime.now().uptimeNanoseconds
            lastShown = phaseStart  // the first line of a phase after a few seconds: a rate worth reading
            phaseFirst = done - 1
            tokens = 0
        }
    }

    private mutating func due(force: Bool) -> Bool {
        let now = DispatchTime.now().uptimeNanoseconds
        guard force || now - lastShown > 5_000_000_000 else { return false }
        lastShown = now
        return true
    }

    /// Time left at the rate so far: `done` of `total` items, counted from
    /// `first` (default: the phase's first item).
    private func eta(done: Int, total: Int, seconds: Double, first: Int? = nil) -> String {
        let made = done - (first ?? phaseFirst)
        guard made > 0, done < total else { return "0:00" }
        let left = Int(seconds / Double(made) * Double(total - done))
        return String(format: "%d:%02d", left / 60, left % 60)
    }

    private var seconds: Double { Double(DispatchTime.now().uptimeNanoseconds - phaseStart) / 1e9 }

    mutating func show(_ event: HeadTuning.Event) {
        switch event {
        case .corpus(let sequences, let positions):
            printError("tuning text: \(sequences) sequences, \(positions) positions to train on")
        case .resumed(let sequences, let step):
            printError("resuming: \(sequences) sequences cached, optimizer at step \(step)")
        case .hidden(let done, let total, let n, let left):
            enter("hidden", at: done)
            tokens += n
            guard due(force: done == total) else { return }
            let s = seconds
            // Sequences differ in length (packed text, then short pairs): the time left goes by tokens.
            printError(String(format: "body pass: %d/%d sequences, %d tokens, %.0f tokens/s, ETA %@",
                              done, total, tokens, Double(tokens) / max(s, 1e-9),
                              eta(done: tokens, total: tokens + left, seconds: s, first: 0)))
        case .tuner(.step(let done, let total, let loss, let rows)):
            step("tuning", done: done, total: total, loss: loss, weight: rows, items: rows, unit: "positions")
        case .tuner(.validation(let step, let loss)):
            printError(String(format: "validation loss after step %d: %.4f nats/token", step, loss))
        case .tuner(.checkpoint):
            break
        }
    }

    /// An optimizer step: `items` more positions or tokens, the mean loss
    /// since the last line (each step's loss counted `weight` times).
    private mutating func step(_ label: String, done: Int, total: Int, loss: Double, weight: Int, items: Int,
                               unit: String) {
        enter(label, at: done)
        tokens += items
        lossSum += loss * Double(weight); lossRows += weight
        guard due(force: done == total) else { return }
        let s = seconds
        printError(String(format: "%@: step %d/%d, %d %@, loss %.4f, %.1f %@/s, ETA %@", label, done, total, tokens, unit,
                          lossSum / Double(max(lossRows, 1)), Double(tokens) / max(s, 1e-9), unit,
                          eta(done: done, total: total, seconds: s)))
        lossSum = 0; lossRows = 0
    }

    /// A run through the body: `doing` names its steps ("distilling"), `items` what it trains on
    /// ("chunks"), `positions` what its loss reads.
    mutating func show(_ event: ThroughBodyEvent, doing: String, items: String, positions what: String) {
        switch event {
        case .corpus(let train, let validation, let positions):
            printError("\(train) \(items) to train on, \(validation) to validate on, \(positions) \(what)")
        case .resumed(let step):
            printError("resuming at step \(step)")
        case .step(let done, let total, let loss, let n):
            step(doing, done: done, total: total, loss: loss, weight: 1, items: n, unit: "tokens")
        case .validation(let step, let loss):
            printError(String(format: "validation loss after step %d: %.4f", step, loss))
        }
    }
}

extension HeadsCommand {
    /// `hydra heads mask`: the native head limited to a language's tokens (a baseline).
    struct Mask: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write the native head with its output limited to the tokens that occur in a language's text (a baseline).",
            discussion: """
                Every native token that the text's lines tokenize into is kept (with the control tokens and the \
                new line); every other token scores -1e9, so it is never generated and has zero probability. \
                The file is a slice head: the native tokenizer, and the native output rows of the kept tokens \
                (their blocks unchanged); its input rows are the model's own, so it stays a few MB and each \
                generated token reads only the kept rows.
                """)

        @Option(name: [.short, .long], help: "A GGUF file or a known model's name (default: \(KnownModel.defaultName)).")
        var model: String?

        @Option(parsing: .upToNextOption, help: "Text of the language (one line a sentence; .tsv: the second column).")
        var text: [String]

        @Option(help: "The head's language (BCP-47 code).")
        var language: String

        @Option(help: "The head's name (default: <language>-<model file>-masked).")
        var name: String?

        @Option(help: "The head file to write.")
        var out: String

        func validate() throws {
            try refuseHeldOut(text)
        }

        func run() throws {
            let gguf = try HydraModel.openFile(model)
            let body = try Body(file: gguf)
            let native = try Head.native(of: body)
            let lang = try Language.named(language)
            var lines: [String] = []
            for f in text { lines += try HeadBuild.trainingText(f).split(whereSeparator: \.isNewline).map(String.init) }
            let allowed = MaskedHead.allowedTokens(native, lines: lines)
            let stem = URL(fileURLWithPath: gguf.path).deletingPathExtension().lastPathComponent
            let headName = name ?? "\(lang.code)-\(stem)-masked"
            try MaskedHead.write(native, allowed: allowed, language: lang, name: headName,
                                 notes: "tokens of " + text.map { URL(fileURLWithPath: $0).lastPathComponent }.joined(separator: ", "),
                                 to: out)
            printError("wrote \(out): head '\(headName)', \(allowed.count) of \(native.vocabulary.count) tokens allowed")
        }
    }
}

extension OutputFactoring: ExpressibleByArgument {}
