import Foundation
import HydraCore

/// `hydra translate --batch FILE --out FILE`: many texts in one run, in
/// process, several at a time (each translated as it would be alone).
/// JSON lines in and out, or a gettext catalog in and the filled catalog
/// out. A run that is interrupted is resumed by running it again.
struct BatchRun {
    let input: String
    let output: String
    let parallel: Int
    /// Each text translated exactly as alone (else throughput mode).
    let exact: Bool
    /// Only this part of a JSON-lines batch (`--shard K/N`).
    var shard: BatchShard? = nil

    func run(_ translator: Translator, from source: Language, to target: Language) throws {
        guard let data = FileManager.default.contents(atPath: input) else {
            throw HydraError.invalidInput("cannot read \(input)")
        }
        let batch = BatchTranslation(translator: translator, from: source, to: target, parallel: parallel,
                                     exact: exact)
        if input.hasSuffix(".po") || input.hasSuffix(".pot") {
            try catalog(data, batch)
        } else {
            try jsonLines(data, batch)
        }
    }

    /// JSON lines: the output file is appended to as texts finish.
    private func jsonLines(_ data: Data, _ batch: BatchTranslation) throws {
        var items = try JSONLinesBatch.read(data, name: input)
        if let shard { items = shard.select(items) }
        let done = try JSONLinesBatch.finished(output: output)
        let file = try LineAppender(path: output)
        let summary = try translate(items, skipping: Set(done.keys), batch: batch, into: file)
        printError("\(output): \(summary)")
    }

    /// A gettext catalog: finished messages are kept in `<out>.partial`
    /// (JSON lines) until all are done; then the filled catalog is written
    /// and the partial file removed.
    private func catalog(_ data: Data, _ batch: BatchTranslation) throws {
        var catalog = try GettextCatalog(try UTF8Input.decode([UInt8](data)), name: input)
        let messages = catalog.messages
        let items = messages.map { BatchItem(id: BatchID(string: $0.key), text: $0.text) }
        let partial = output + ".partial"
        let summary = try translate(items, skipping: Set(try JSONLinesBatch.finished(output: partial).keys),
                                    batch: batch, into: try LineAppender(path: partial))
        let finished = try JSONLinesBatch.finished(output: partial)
        var translations: [String: String] = [:]
        for message in messages {
            if case .some(.some(let text)) = finished[BatchID(string: message.key)] { translations[message.key] = text }
        }
        let (filled, refused) = catalog.fill(translations)
        try Data(catalog.text.utf8).write(to: URL(fileURLWithPath: output), options: .atomic)
        try? FileManager.default.removeItem(atPath: partial)
        printError("\(output): \(summary); \(filled) entries filled (marked fuzzy), "
                   + "\(refused) left empty (a placeholder was lost or changed)")
    }

    /// Translates the items not yet done into `file`, with a progress line.
    private func translate(_ items: [BatchItem], skipping done: Set<BatchID>, batch: BatchTranslation,
                           into file: LineAppender) throws -> String {
        var bar = ProgressBar("translating")
        var last = BatchProgress()
        try batch.run(items, skip: done, result: { item, result in
            try file.append(JSONLinesBatch.line(item, result))
        }, progress: { p in
            last = p
            bar.label = Self.describe(p)
            bar.update(p.total > 0 ? Double(p.done) / Double(p.total) : 1)
        })
        try file.sync()
        bar.finish()
        return "\(last.done - last.skipped) texts translated, \(last.skipped) done before, \(last.failed) failed"
    }

    static func describe(_ p: BatchProgress) -> String {
        var s = String(format: "%d/%d texts, %.1f tokens/s", p.done, p.total, p.tokensPerSecond)
        if let left = p.secondsLeft {
            let t = Int(left.rounded())
            s += t >= 3600 ? String(format: ", ETA %dh%02dm", t / 3600, t / 60 % 60)
                : String(format: ", ETA %dm%02ds", t / 60, t % 60)
        }
        return s
    }
}
