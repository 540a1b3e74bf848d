import ArgumentParser
import Foundation
import HydraCore

/// `hydra perplexity`: the perplexity of a text file, chunked as llama-perplexity does.
struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Compute the perplexity of a text file (llama-perplexity's method), or its bits per character through a head.",
        discussion: """
            With --head, each non-empty line of the file is its own sequence (the head's BOS, then the \
            line) and the result is bits per character (-sum log2 p / characters), which compares \
            across heads with different tokenizers; --head native measures the model's own head the same way.
            """)

    @Option(name: [.short, .long], help: "A GGUF file or a known model's name.")
    var model: String?

    @Option(name: [.short, .customLong("ctx-size")], help: "Tokens per chunk.")
    var c: Int = 512

    @Option(name: [.short, .long], help: "Threads (default: all cores).")
    var threads: Int?

    @Option(name: .customLong("head"), help: "Measure through a head (a head file, an installed head's name, or 'native'): bits per character.")
    var head: String?

    @OptionGroup var attention: AttentionOption

    @Argument(help: "The text file.")
    var file: String

    func validate() throws {
        guard c >= 4 else { throw ValidationError("--ctx-size must be at least 4") }
    }

    func run() throws {
        let text = try readInput(arguments: [], file: file)
        let hydra = try HydraModel.load(model, contextLength: c, threads: threads, flashAttention: attention.enabled)
        if let head { return try bitsPerCharacter(text, hydra: hydra, head: head) }
        let tokenizer = hydra.native.tokenizer
        let tokens = tokenizer.tokenize(text, addSpecial: true, parseSpecial: false)
        let bos = tokenizer.vocabulary.addBOS ? tokenizer.vocabulary.bos : nil
        let vocab = hydra.vocabularySize
        let result = try Perplexity.compute(tokens: tokens, contextLength: c, bos: bos) { chunk, score in
            hydra.state.reset()
            let logits = try hydra.forward(tokens: chunk, startPosition: 0, allLogits: true)
            logits.withUnsafeBufferPointer { all in
                for p in 0..<chunk.count {
                    score(p, UnsafeBufferPointer(rebasing: all[p * vocab..<(p + 1) * vocab]))
                }
            }
        }
        for (i, p) in result.perChunk.enumerated() { writeOut(String(format: "[%d]%.4f,", i + 1, p)) }
        writeOut(String(format: "\nFinal estimate: PPL = %.4f +/- %.5f\n", result.perplexity, result.standardError))
    }

    /// `--head`: bits per character of the file's lines through one head.
    private func bitsPerCharacter(_ text: String, hydra: HydraModel, head name: String) throws {
        let head = name == HeadKeys.nativeSource
            ? hydra.native : try hydra.heads.load(path: HeadsCommand.resolve(name))
        guard head.canGenerate else {
            throw HydraError.invalidInput("head '\(head.name)' is input-only: it cannot score text")
        }
        let lines = text.split(whereSeparator: \.isNewline).map(String.init).filter { !$0.isEmpty }
        let score = try HeadEvaluation.bitsPerCharacter(hydra, head: head, lines: lines)
        writeOut(String(format: "%@: %d lines, %d characters, %d tokens; %.4f bits/char, %.4f bits/token\n",
                        head.name, score.lines, score.characters, score.tokens,
                        score.bitsPerCharacter, score.bitsPerToken))
    }
}
