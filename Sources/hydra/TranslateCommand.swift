import ArgumentParser
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
            """)

    @Option(help: "Source language (BCP-47 code, e.g. en).")
    var from: String

    @Option(help: "Target language (BCP-47 code, e.g. tt).")
    var to: String

    @Option(name: [.short, .long], help: "A GGUF file or a known model's name (default: \(KnownModel.defaultName)).")
    var model: String?

    @Option(name: [.short, .long], help: "Threads (default: all cores).")
    var threads: Int?

    @Flag(help: "Print load time and tokens/s on standard error.")
    var timings = false

    @Argument(help: "The text (default: standard input).")
    var text: [String] = []

    func validate() throws {
        if let threads, threads < 1 { throw ValidationError("--threads must be at least 1") }
    }

    func run() throws {
        // Check everything the user typed before reading input or loading a model.
        let source = try Language.named(from)
        let target = try Language.named(to)
        let input = try readInput(arguments: text, file: nil)
        var clock = Stopwatch()
        let gguf = try openModel(model)
        let tokenizer = try Tokenizer(gguf: gguf)
        let lm = try loadModel(gguf, contextLength: 4096, threads: threads)
        let loadMs = clock.lap()
        let translator = Translator(model: lm, tokenizer: tokenizer)
        var endsWithNewline = true
        let stats = try translator.translate(input, from: source, to: target) { piece in
            if let last = piece.last { endsWithNewline = last == "\n" }
            return writeOut(piece)
        }
        // A translation given as arguments ends its line, like echo.
        if !endsWithNewline && !text.isEmpty { writeOut("\n") }
        let ms = clock.lap()
        if timings {
            printError(String(format: "load %.0f ms; %d paragraphs, %d prompt tokens, %d generated tokens in %.0f ms",
                              loadMs, stats.paragraphs, stats.promptTokens, stats.generatedTokens, ms))
        }
    }
}
