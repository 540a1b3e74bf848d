import ArgumentParser
import Foundation
import HydraCore

/// `hydra translate`: translates text from one language into another.
struct TranslateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "translate",
        abstract: "Translate text (arguments or standard input) and stream the translation to standard output.",
        discussion: """
            Examples:
              hydra translate --from en --to tt "The weather is good today."
              cat notes.txt | hydra translate --from en --to ru --model qwen2.5-1.5b

            When a daemon runs (hydra daemon start), the translation is done by its
            warm model: same output, same exit status, no load time.
            """)

    @Option(help: "Source language (BCP-47 code, e.g. en), or 'auto' to guess it from the text's script, letters and the model's heads.")
    var from: String

    @Option(help: "Target language (BCP-47 code, e.g. tt).")
    var to: String

    @Option(name: [.short, .long], help: "A GGUF file or a known model's name (default: \(KnownModel.defaultName)).")
    var model: String?

    @Option(name: [.short, .long], help: "Threads (default: all cores).")
    var threads: Int?

    @Flag(help: "Print load time and tokens/s on standard error.")
    var timings = false

    @Flag(help: "Translate in this process even when a daemon is running.")
    var noDaemon = false

    @Flag(help: "Start a daemon when none is running, and translate through it.")
    var daemon = false

    @Option(help: "The daemon's socket (default: as for hydra daemon).")
    var socket: String?

    @OptionGroup var headOptions: HeadsOptions

    @OptionGroup var attention: AttentionOption

    @OptionGroup(title: "Decoding") var decoding: SamplingOptions

    @Flag(inversion: .prefixedNo,
          help: "Never pick tokens with letters of another script than the target's, but for those that spell the text's own names such as \"VLC\" or \"rc.xml\", each finished as the text spells it (default: on for head files that declare a script, off for the model's own head).")
    var scriptLock: Bool?

    /// --script-lock, --no-script-lock, or neither.
    var scriptLockMode: ScriptLock.Mode { scriptLock.map { $0 ? .on : .off } ?? .auto }

    @Option(help: "Translate a file of many texts: JSON lines ({\"id\":…,\"text\":…} each) or a gettext catalog (.po/.pot). Needs --out; run again to resume.")
    var batch: String?

    @Option(help: "With --batch: the output (JSON lines {\"id\":…,\"translation\":…}, or the filled catalog).")
    var out: String?

    @Option(help: "With --batch: texts translated at once, one batched pass per token.")
    var parallel = 8

    @Flag(help: "With --batch: the texts in flight share matrix products (throughput mode: several times faster with --parallel 16 or more; a text may then come out slightly differently than translated alone).")
    var throughput = false

    @Option(help: "With --batch (JSON lines): translate only shard K of N, the texts at positions K, K+N, K+2N, ... (K from 0), for N jobs of one batch; hydra batch-merge puts their outputs together.")
    var shard: String?

    @Argument(help: "The text (default: standard input).")
    var text: [String] = []

    func validate() throws {
        if let threads, let problem = ThreadPool.problem(with: threads) { throw ValidationError(problem) }
        if noDaemon && daemon { throw ValidationError("--daemon and --no-daemon exclude each other") }
        if daemon && decoding.memory != nil { throw ValidationError("--memory is read in this process, not by a daemon: not with --daemon") }
        if daemon && !decoding.lexicon.isEmpty { throw ValidationError("--lexicon is read in this process, not by a daemon: not with --daemon") }
        if batch != nil {
            guard out != nil else { throw ValidationError("--batch needs --out FILE") }
            guard text.isEmpty else { throw ValidationError("--batch takes no text arguments") }
            guard from.lowercased() != "auto" else { throw ValidationError("--batch needs a source language, not auto") }
            guard (1...256).contains(parallel) else { throw ValidationError("--parallel must be between 1 and 256") }
            if let shard {
                do { _ = try BatchShard(parsing: shard) } catch { throw ValidationError("--shard: \(error)") }
                if let batch, batch.hasSuffix(".po") || batch.hasSuffix(".pot") {
                    throw ValidationError("--shard is for JSON lines, not a gettext catalog")
                }
            }
        } else if out != nil {
            throw ValidationError("--out is for --batch")
        } else if shard != nil {
            throw ValidationError("--shard is for --batch")
        }
    }

    func run() throws {
        // Check everything the user typed before reading input or loading a model.
        let guessSource = from.lowercased() == "auto"
        if !guessSource { _ = try Language.named(from) }
        let target = try Language.named(to)
        if let batch, let out {
            let source = try Language.named(from)
            let translator = try headOptions.translator(model: HydraModel.load(model, threads: threads,
                                                                                         flashAttention: attention.enabled),
                                                        from: source,
                                                        to: target)
            translator.scriptLock = scriptLockMode
            try decoding.apply(to: translator, source: source)
            return try BatchRun(input: batch, output: out, parallel: parallel, exact: !throughput,
                                shard: try shard.map { try BatchShard(parsing: $0) }).run(translator, from: source, to: target)
        }
        let input = try readInput(arguments: text, file: nil)
        let source = try Language.named(guessSource ? try guessLanguage(of: input) : from)
        if !noDaemon, try translateThroughDaemon(input, from: source.code) { return }
        var clock = Stopwatch()
        let hydra = try HydraModel.load(model, threads: threads, flashAttention: attention.enabled)
        let loadMs = clock.lap()
        let translator = try headOptions.translator(model: hydra, from: source, to: target)
        translator.scriptLock = scriptLockMode
        try decoding.apply(to: translator, source: source)
        var endsWithNewline = true
        let stats = try translator.translate(input, from: source, to: target) { piece in
            if let last = piece.last { endsWithNewline = last == "\n" }
            return writeOut(piece)
        }
        // A translation given as arguments ends its line, like echo.
        if !endsWithNewline && !text.isEmpty { writeOut("\n") }
        let ms = clock.lap()
        if timings {
            // Candidates that picked the same tokens share a pass (`Translator.Statistics.twinTokens`).
            let shared = stats.twinTokens > 0 ? " (\(stats.twinTokens) from a twin candidate's pass)" : ""
            printError(String(format: "load %.0f ms; %d paragraphs, %d prompt tokens, %d generated tokens",
                              loadMs, stats.paragraphs, stats.promptTokens, stats.generatedTokens)
                       + shared + String(format: " in %.0f ms", ms))
        }
    }

    /// The language `--from auto` picks: from the script of most letters,
    /// letters only some languages use (ә → Tatar, і → Ukrainian, ...), and
    /// the heads of the model that cover the text best (`LanguageGuess`).
    func guessLanguage(of text: String) throws -> String {
        // A model that cannot be read is reported when it is loaded.
        let coverage: HeadCoverage? = try? {
            let gguf = try HydraModel.openFile(model)
            return try HeadCoverage.installed(model: gguf, reference: Tokenizer(gguf: gguf),
                                              headFiles: headOptions.heads.map { try HeadsCommand.resolve($0) })
        }()
        guard let code = LanguageGuess.detect(text, coverage: coverage).language else {
            throw HydraError.invalidInput("cannot guess the source language (the text has no letters); give --from")
        }
        return code
    }

    /// Translates through a running daemon (started first with `--daemon`).
    /// Returns false when there is none, to translate in this process.
    func translateThroughDaemon(_ input: String, from: String) throws -> Bool {
        // A running daemon keeps the attention it was started with (flash
        // attention unless told otherwise): the plain path runs here.
        if attention.mode == .off && !daemon { return false }
        // A translation memory or lexicon file is read here, not by the daemon.
        if decoding.memory != nil || !decoding.lexicon.isEmpty { return false }
        let paths = DaemonPaths(socket: socket)
        // The same model as in this process would be: resolved here, by path.
        let modelPath = URL(fileURLWithPath: try KnownModel.resolve(model)).standardizedFileURL.path
        if daemon && !DaemonClient.isRunning(socket: paths.socket) {
            var options = try DaemonOptions.parse([])
            options.socket = socket
            options.model = modelPath
            options.threads = threads
            options.attention = attention
            _ = try DaemonLauncher.start(options)
        }
        let client: DaemonClient
        do {
            client = try DaemonClient(socket: paths.socket)
        } catch is DaemonClient.NotRunning {
            return false
        }
        // Heads by path, as this process would find them.
        let heads = try headOptions.heads.map { URL(fileURLWithPath: try HeadsCommand.resolve($0)).standardizedFileURL.path }
        let params = TranslateParams(text: input, from: from, to: to, model: modelPath,
                                     heads: heads.isEmpty ? nil : heads, nativeHead: headOptions.nativeOnly ? true : nil,
                                     scriptLock: scriptLock,
                                     sampling: decoding.sampling == Sampling() ? nil : decoding.sampling,
                                     promptFormat: decoding.format)
        var endsWithNewline = true
        var readerGone = false
        let result: TranslateResult
        do {
            result = try client.translateDocument(params) { piece in
                if let last = piece.last { endsWithNewline = last == "\n" }
                readerGone = !writeOut(piece)
                return !readerGone
            }
        } catch let e as RPCError where readerGone && e.code == RPCError.cancelled {
            return true  // the reader went away: stop quietly, as in process
        }
        if !endsWithNewline && !text.isEmpty { writeOut("\n") }
        if timings {
            let t = result.timings
            printError(String(format: "daemon: queued %.0f ms, load %.0f ms, first output %.0f ms; "
                              + "%d paragraphs, %d prompt tokens, %d generated tokens in %.0f ms",
                              t.queuedMs, t.loadMs, t.firstTokenMs ?? 0, result.paragraphs, result.promptTokens,
                              result.generatedTokens, t.totalMs))
        }
        return true
    }
}
