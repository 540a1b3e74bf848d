import ArgumentParser
import Foundation
import HydraCore

/// `hydra batch-merge`: the outputs of a batch translated in shards
/// (`hydra translate --batch IN --shard K/N`, one job each) put together
/// into one output, checked against the input.
struct BatchMergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batch-merge",
        abstract: "Merge the outputs of a batch translated in shards into one, checking every input id is there once.",
        discussion: """
            Writes one line per input text, in input order, as the shards wrote it. Fails, writing nothing, \
            when an input id is in no part or in more than one line, when a part has an id the input does not, \
            or when a part's last line is unfinished (its job is still running, or was killed and not run again: \
            run it again and it resumes).

            Examples:
              hydra translate --from en --to fr --batch in.jsonl --shard 0/2 --out p0.jsonl
              hydra translate --from en --to fr --batch in.jsonl --shard 1/2 --out p1.jsonl
              hydra batch-merge --batch in.jsonl --out out.jsonl p0.jsonl p1.jsonl
            """)

    @Option(help: "The batch's input (JSON lines {\"id\":…,\"text\":…}).")
    var batch: String

    @Option(help: "The merged output.")
    var out: String

    @Argument(help: "The outputs of the shards (any number of files, in any order).")
    var parts: [String]

    func validate() throws {
        guard !parts.isEmpty else { throw ValidationError("give the shards' outputs to merge") }
        guard !parts.contains(out) else { throw ValidationError("--out is one of the parts") }
    }

    func run() throws {
        func read(_ path: String) throws -> Data {
            guard let data = FileManager.default.contents(atPath: path) else {
                throw HydraError.invalidInput("cannot read \(path)")
            }
            return data
        }
        let items = try JSONLinesBatch.read(try read(batch), name: batch)
        let summary = try BatchMerge.merge(input: items, parts: try parts.map { ($0, try read($0)) })
        try Data(summary.text.utf8).write(to: URL(fileURLWithPath: out), options: .atomic)
        printError("\(out): \(items.count) texts from \(parts.count) parts, each once: "
                   + "\(summary.translated) translated, \(summary.failed) failed")
    }
}
