import Foundation

/// One text of a batch: an id the output names it by, and the text.
public struct BatchItem: Sendable {
    /// The id as the input gave it (a string or a number, as JSON).
    public let id: BatchID
    public let text: String

    public init(id: BatchID, text: String) {
        self.id = id
        self.text = text
    }
}

/// An item's id: a JSON string or integer, kept as its JSON text so that it
/// is written back exactly as it was read, and compared as such on resume.
public struct BatchID: Hashable, Sendable, CustomStringConvertible {
    /// The id's JSON text (`"a-1"` with its quotes, or `17`).
    public let json: String

    public init(json: String) { self.json = json }

    /// A string id.
    public init(string: String) {
        let data = (try? JSONSerialization.data(withJSONObject: [string], options: [.withoutEscapingSlashes])) ?? Data()
        json = String(decoding: data.dropFirst().dropLast(), as: UTF8.self)
    }

    public var description: String { json }
}

/// What a batch has done so far, for a progress line.
public struct BatchProgress: Sendable {
    public var done = 0
    public var total = 0
    /// Texts skipped because an earlier run finished them.
    public var skipped = 0
    public var failed = 0
    public var generatedTokens = 0
    public var seconds = 0.0

    public init() {}

    /// Generated tokens per second.
    public var tokensPerSecond: Double { seconds > 0 ? Double(generatedTokens) / seconds : 0 }

    /// Seconds still to go at the rate so far, or nil before any text ended.
    public var secondsLeft: Double? {
        let ran = done - skipped
        guard ran > 0, seconds > 0 else { return nil }
        return seconds / Double(ran) * Double(total - done)
    }
}

/// Translates many texts with one translator, several at a time in one
/// batched pass per token (`TranslationBatch`): each text's translation is
/// the one `hydra translate` gives it alone. Results come in the order the
/// texts finish; texts whose ids are in `skip` are not translated again
/// (an earlier run finished them).
public struct BatchTranslation {
    public let translator: Translator
    public let source: Language
    public let target: Language
    /// The most texts in flight at once.
    public var parallel: Int
    /// Each text translated exactly as alone (else throughput mode: faster,
    /// rounded differently; see `SequenceBatch`).
    public var exact: Bool

    public init(translator: Translator, from source: Language, to target: Language, parallel: Int = 8,
                exact: Bool = true) {
        self.translator = translator
        self.source = source
        self.target = target
        self.parallel = max(1, parallel)
        self.exact = exact
    }

    /// Runs the batch. `result` gets each text's translation (or why it
    /// failed) as soon as it is known; throwing from it stops the batch.
    /// `progress` is called after each text.
    public func run(_ items: [BatchItem], skip: Set<BatchID> = [],
                    result: (BatchItem, Result<String, Error>) throws -> Void,
                    progress: (BatchProgress) -> Void = { _ in }) throws {
        var state = BatchProgress()
        state.total = items.count
        state.skipped = items.filter { skip.contains($0.id) }.count
        state.done = state.skipped
        let start = DispatchTime.now().uptimeNanoseconds
        progress(state)

        var pending = items.filter { !skip.contains($0.id) }[...]
        let batch = TranslationBatch(model: translator.hydra, exact: exact)
        // The output of each text in flight, by the translation's identity.
        final class Output { var text = "" }
        var inFlight: [ObjectIdentifier: (BatchItem, Output)] = [:]

        func finish(_ ended: TranslationBatch.Ended) throws {
            let key = ObjectIdentifier(ended.translation)
            guard let (item, output) = inFlight.removeValue(forKey: key) else { return }
            state.done += 1
            state.generatedTokens += ended.translation.stats.generatedTokens
            if let error = ended.error {
                state.failed += 1
                try result(item, .failure(error))
            } else {
                try result(item, .success(output.text))
            }
            state.seconds = Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
            progress(state)
        }

        while true {
            while batch.count < parallel, let item = pending.popFirst() {
                let translation = Translation(translator, text: item.text, from: source, to: target)
                let output = Output()
                inFlight[ObjectIdentifier(translation)] = (item, output)
                if let ended = batch.add(translation, emit: { output.text += $0; return true }) {
                    try finish(ended)
                }
            }
            guard batch.count > 0 else { break }
            for ended in batch.step() { try finish(ended) }
        }
    }
}
