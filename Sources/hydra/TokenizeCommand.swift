import ArgumentParser
import HydraCore

/// `hydra tokenize`: prints a model's token ids for a text, as llama-tokenize does.
struct TokenizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tokenize",
        abstract: "Print the token ids of a text (as llama-tokenize).")

    @Option(name: [.short, .long], help: "A GGUF file or a known model's name.")
    var model: String?

    @Flag(help: "Print only the ids, as one [a, b, c] list (llama-tokenize --ids).")
    var ids = false

    @Flag(name: .customLong("no-bos"), help: "Do not add the model's BOS token.")
    var noBOS = false

    @Flag(name: .customLong("no-parse-special"), help: "Treat special-token text as plain text.")
    var noParseSpecial = false

    @Option(name: [.short, .customLong("file")], help: "Read the text from this file.")
    var file: String?

    @Argument(help: "The text (default: standard input).")
    var text: [String] = []

    func run() throws {
        let input = try readInput(arguments: text, file: file)
        let gguf = try HydraModel.openFile(model)
        let tokenizer = try Tokenizer(gguf: gguf)
        let tokens = tokenizer.tokenize(input, addSpecial: !noBOS, parseSpecial: !noParseSpecial)
        if ids {
            writeOut("[" + tokens.map(String.init).joined(separator: ", ") + "]\n")
        } else {
            for id in tokens {
                let piece = String(decoding: tokenizer.piece(id, special: true), as: UTF8.self)
                writeOut("\(String(id).leftPadded(6)) -> '\(piece)'\n")
            }
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        count >= width ? self : String(repeating: " ", count: width - count) + self
    }
}
