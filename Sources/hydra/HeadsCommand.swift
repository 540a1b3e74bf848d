import ArgumentParser
import Foundation
import HydraCore

/// `hydra heads`: the heads installed for the bodies hydra runs.
struct HeadsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "heads",
        abstract: "List, inspect and export heads (per-language tokenizer and tables over a shared body).",
        discussion: """
            Heads are found in $HYDRA_HEADS (directories separated by ':'), \
            ~/.local/share/hydra/heads and the heads/ folder shipped with hydra.
            """,
        subcommands: [List.self, Inspect.self, Export.self, Build.self, Tune.self, DistillInputs.self, TuneJointly.self, Mask.self, Eval.self, Quantize.self,
                      Recommend.self],
        defaultSubcommand: List.self
    )

    /// `hydra heads list`
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "One installed head per line: language, name, kind, how it was built, the body it fits, file.")

        @Option(name: [.short, .long], help: "Only heads that fit this model (a GGUF file or known model's name), and its native head first.")
        var model: String?

        func run() throws {
            var entries = HeadCatalog().entries()
            if let model {
                let gguf = try HydraModel.openFile(model)
                let config = try ModelConfig(file: gguf)
                let fingerprint = BodyFingerprint(file: gguf, config: config)
                entries = entries.filter { $0.info.body.fingerprint == fingerprint }
                let lang = gguf.strings("general.languages")?.first ?? "mul"
                let fit = "\(fingerprint) (\(config.architecture.rawValue), \(config.embeddingLength))"
                print(HeadsCommand.row([lang, "native", "native", "native", fit, gguf.path]))
            }
            for e in entries {
                print(HeadsCommand.row([e.info.language, e.info.name, e.kind, e.info.provenance.method,
                                        e.info.body.description, e.path]))
            }
        }
    }

    /// `hydra heads inspect HEAD`
    struct Inspect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show a head's metadata, how it was built, and the sizes of its tokenizer and tables.")

        @Argument(help: "A head file, or the name of an installed head.")
        var head: String

        @Option(name: [.short, .long], help: "Also say whether the head fits this model.")
        var model: String?

        func run() throws {
            let path = try HeadsCommand.resolve(head)
            let file: GGUFFile
            do { file = try GGUFFile(path: path) } catch let e as GGUFError {
                throw HeadError.invalid("invalid head file \(e.description)")
            }
            let info = try HeadFile.info(of: file)
            let kind = HeadFile.kind(of: file)
            let p = info.provenance
            var lines: [(String, String)] = [
                ("name", info.name),
                ("language", info.language + (info.script.map { " (\($0))" } ?? "")),
                ("prompt", "names " + (info.promptLanguage ?? info.language)),
                ("decoding", HeadsCommand.decoding(info)),
                ("memory", file.strings(HeadKeys.memorySource).map {
                    "\($0.count) pairs from \(file.string(HeadKeys.memoryLanguage) ?? "?")"
                } ?? "none"),
                ("kind", kind),
                ("output", info.output.rawValue + (info.factored.map { ", factored by the native head (\($0.rawValue))" } ?? "")),
                ("body", info.body.description),
                ("method", p.method),
            ]
            if let s = p.source { lines.append(("source", s)) }
            if let s = p.date { lines.append(("date", s)) }
            if let s = p.tool { lines.append(("tool", s)) }
            if let s = p.notes { lines.append(("notes", s)) }
            let tokens = file.strings("tokenizer.ggml.tokens")?.count ?? 0
            lines.append(("tokenizer", "\(file.string("tokenizer.ggml.model") ?? "?"), \(tokens) tokens"
                          + (file.string("tokenizer.ggml.pre").map { ", pre \($0)" } ?? "")))
            if kind == "recipe" {
                let entries = file.tensor(named: HeadKeys.recipeIndices)?.elementCount ?? 0
                let rows = max((file.tensor(named: HeadKeys.recipeOffsets)?.elementCount ?? 1) - 1, 0)
                let avg = rows > 0 ? Double(entries) / Double(rows) : 0
                lines.append(("recipe", String(format: "%d rows from head '%@' (%d rows), %d entries (%.1f a row)",
                                               rows, file.string(HeadKeys.recipeSource) ?? "?",
                                               file.int(HeadKeys.recipeSourceRows) ?? 0, entries, avg)))
                if let stored = file.tensor(named: HeadKeys.recipeInputRows) {
                    lines.append(("rows", "\(stored.rows) input rows stored beside the map (tuned), \(stored.type.name), "
                                  + HeadsCommand.megabytes(stored.byteCount)))
                }
            }
            if kind == "slice" {
                let kept = file.tensor(named: HeadKeys.sliceTokens)?.elementCount ?? 0
                lines.append(("slice", "output rows for \(kept) tokens; tokenizer and input rows of head '\(file.string(HeadKeys.recipeSource) ?? "?")'"))
            }
            for t in file.tensors where !t.name.hasPrefix("hydra.") {
                lines.append(("tensor", "\(t.name) \(t.type.name) \(t.shape) \(HeadsCommand.megabytes(t.byteCount))"))
            }
            lines.append(("file", "\(path) (\(HeadsCommand.megabytes(file.fileSize)))"))
            if let model {
                let gguf = try HydraModel.openFile(model)
                let config = try ModelConfig(file: gguf)
                let fp = BodyFingerprint(file: gguf, config: config)
                let fits = fp == info.body.fingerprint && config.architecture.rawValue == info.body.architecture
                    && config.embeddingLength == info.body.hiddenSize
                lines.append(("fits", fits ? "yes (\(gguf.path))"
                              : "no: this model's body is \(fp) (\(config.architecture.rawValue), \(config.embeddingLength))"))
            }
            for (k, v) in lines { print((k + ":").padding(toLength: 11, withPad: " ", startingAt: 0) + v) }
        }
    }

    /// `hydra heads export`
    struct Export: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Write a model's native head (tokenizer and tables) as a head file.")

        @Option(name: [.short, .long], help: "A GGUF file or a known model's name (default: \(KnownModel.defaultName)).")
        var model: String?

        @Option(help: "The head's name (default: <model file>-<language>).")
        var name: String?

        @Option(help: "The head's language (BCP-47; default: the model's first general.languages entry).")
        var language: String?

        @Option(help: "Table type: same (keep the model's blocks: identical logits), f32, f16 or q8_0.")
        var type = "same"

        @Argument(help: "The head file to write.")
        var output: String

        func run() throws {
            let table: GGMLType?
            switch type.lowercased() {
            case "same": table = nil
            case "f32": table = .f32
            case "f16": table = .f16
            case "q8_0": table = .q8_0
            default: throw ValidationError("--type must be same, f32, f16 or q8_0")
            }
            let gguf = try HydraModel.openFile(model)
            let body = try Body(file: gguf)
            let native = try Head.native(of: body, language: language)
            var info = native.info
            let stem = URL(fileURLWithPath: gguf.path).deletingPathExtension().lastPathComponent
            info.name = name ?? "\(stem)-\(info.language)"
            info.provenance = .init(method: "copy", source: gguf.string("general.name") ?? stem,
                                    notes: "the native head of \(URL(fileURLWithPath: gguf.path).lastPathComponent)")
            try HeadFileWriter.writeDense(native, to: output, info: info, tableType: table)
            printError("wrote \(output): head '\(info.name)' (\(info.language)) for body \(info.body)")
        }
    }

    /// The decoding settings a head recommends, as `heads show` prints them.
    static func decoding(_ info: HeadInfo) -> String {
        let options = [info.noRepeatNgram.map { "--no-repeat-ngram \($0)" },
                       info.repeatPenalty.map { "--repeat-penalty \($0)" },
                       info.candidates.map { "--candidates \($0)" },
                       info.beams.map { "--beam \($0)" },
                       info.roundTripWeight.map { "--round-trip-weight \($0)" },
                       info.roundTripBelow.map { "--round-trip-below \($0)" },
                       info.examples.map { "--examples \($0)" },
                       info.minLength.map { "--min-length \($0)" },
                       info.copyBias.map { "--copy-bias \($0)" }].compactMap { $0 }
        let lexicon = info.lexicon.map { "; it writes only the \($0.words.count) word forms of its lexicon unless told --no-lexicon" }
        return (options.isEmpty ? "as told" : options.joined(separator: " ") + " unless told otherwise") + (lexicon ?? "")
    }

    /// A path as given, else the installed head of that name.
    static func resolve(_ head: String) throws -> String { try HeadCatalog().resolve(head) }

    static func row(_ fields: [String]) -> String {
        let widths = [4, 28, 7, 20, 36]
        return fields.enumerated().map { i, f in
            i < widths.count ? f.padding(toLength: max(widths[i], f.count + 1), withPad: " ", startingAt: 0) : f
        }.joined()
    }

    static func megabytes(_ bytes: Int) -> String {
        bytes < 1 << 20 ? String(format: "%.1f kB", Double(bytes) / 1024) : String(format: "%.1f MB", Double(bytes) / 1048576)
    }
}
