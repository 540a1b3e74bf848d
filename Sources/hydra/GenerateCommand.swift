import ArgumentParser
import Foundation
import HydraCore

/// `hydra generate`: continues a raw prompt (no chat template), as
/// `llama-completion --temp 0 -no-cnv --no-display-prompt` does.
struct GenerateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate",
        abstract: "Continue a raw prompt greedily and print only the continuation.")

    @Option(name: [.short, .long], help: "A GGUF file or a known model's name.")
    var model: String?

    @Option(name: [.short, .customLong("n-predict")], help: "Tokens to generate at most.")
    var n: Int = 64

    @Flag(help: "Greedy decoding (the highest-scoring token each step). The only mode for now.")
    var greedy = false

    @Option(name: [.short, .long], help: "Threads (default: all cores).")
    var threads: Int?

    @OptionGroup var attention: AttentionOption

    @Flag(help: "Print load time and tokens/s on standard error.")
    var timings = false

    @Argument(help: "The prompt (default: standard input).")
    var prompt: [String] = []

    func validate() throws {
        guard n >= 0 else { throw ValidationError("-n must not be negative") }
        if let threads, let problem = ThreadPool.problem(with: threads) { throw ValidationError(problem) }
    }

    func run() throws {
        let text = try readInput(arguments: prompt, file: nil)
        var clock = Stopwatch()
        let gguf = try HydraModel.openFile(model)
        let tokenizer = try Tokenizer(gguf: gguf)
        let ids = tokenizer.tokenize(text, addSpecial: true, parseSpecial: true)
        guard !ids.isEmpty else { throw HydraError.invalidInput("the prompt is empty") }
        let hydra = try HydraModel.load(file: gguf, contextLength: ids.count + n, threads: threads,
                                        flashAttention: attention.enabled)
        let loadMs = clock.lap()

        var detok = StreamingDetokenizer(tokenizer: tokenizer)
        let stops = tokenizer.vocabulary.endOfGeneration
        var generated = 0
        var promptMs = 0.0
        try hydra.decode(prompt: ids.map { HeadToken(hydra.native, $0) }, target: hydra.native, maxTokens: n) { token in
            if generated == 0 { promptMs = clock.lap() }
            generated += 1
            if stops.contains(token) { return false }
            return writeOut(detok.append(token))
        }
        writeOut(detok.finish())
        let genMs = clock.lap()
        if timings {
            printError(String(format: "load %.0f ms; prompt %d tokens, %.1f tokens/s; generated %d tokens, %.1f tokens/s",
                              loadMs, ids.count, Double(ids.count) / promptMs * 1000,
                              generated, Double(max(generated - 1, 0)) / genMs * 1000))
        }
    }
}

/// Wall-clock laps in milliseconds.
struct Stopwatch {
    private var last = DispatchTime.now().uptimeNanoseconds

    /// Milliseconds since the previous lap (or the start).
    mutating func lap() -> Double {
        let now = DispatchTime.now().uptimeNanoseconds
        defer { last = now }
        return Double(now - last) / 1e6
    }
}
