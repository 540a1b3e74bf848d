import ArgumentParser
import Foundation
import HydraCore

/// `hydra perplexity`: the perplexity of a text file, chunked as llama-perplexity does.
struct PerplexityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "perplexity",
        abstract: "Compute the perplexity of a text file (llama-perplexity's method).")

    @Option(name: [.short, .long], help: "A GGUF file or a known model's name.")
    var model: String?

    @Option(name: [.short, .customLong("ctx-size")], help: "Tokens per chunk.")
    var c: Int = 512

    @Option(name: [.short, .long], help: "Threads (default: all cores).")
    var threads: Int?

    @Argument(help: "The text file.")
    var file: String

    func validate() throws {
        guard c >= 4 else { throw ValidationError("--ctx-size must be at least 4") }
    }

    func run() throws {
        let text = try readInput(arguments: [], file: file)
        let gguf = try openModel(model)
        let tokenizer = try Tokenizer(gguf: gguf)
        let tokens = tokenizer.tokenize(text, addSpecial: true, parseSpecial: false)
        let lm = try loadModel(gguf, contextLength: c, threads: threads)
        let bos = tokenizer.vocabulary.addBOS ? tokenizer.vocabulary.bos : nil
        let vocab = lm.vocabularySize
        let result = try Perplexity.compute(tokens: tokens, contextLength: c, bos: bos) { chunk, score in
            lm.state.reset()
            let logits = try lm.forward(tokens: chunk, startPosition: 0, allLogits: true)
            logits.withUnsafeBufferPointer { all in
                for p in 0..<chunk.count {
                    score(p, UnsafeBufferPointer(rebasing: all[p * vocab..<(p + 1) * vocab]))
                }
            }
        }
        for (i, p) in result.perChunk.enumerated() { writeOut(String(format: "[%d]%.4f,", i + 1, p)) }
        writeOut(String(format: "\nFinal estimate: PPL = %.4f +/- %.5f\n", result.perplexity, result.standardError))
    }
}
