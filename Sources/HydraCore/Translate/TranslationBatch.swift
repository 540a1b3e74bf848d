/// Steps several translations together: each step feeds the running
/// paragraph of every translation its next token in one batched pass
/// (`SequenceBatch`: the weights are read once for all of them), then
/// starts the next paragraph of those whose paragraph ended. When `exact`
/// (the default) each row keeps the one-token arithmetic, so every
/// translation gives the same text as when it is translated alone; in
/// throughput mode the rounding differs (`SequenceBatch`).
public final class TranslationBatch {
    public let model: HydraModel
    private let batch: SequenceBatch
    private var running: [Running] = []

    /// A translation being stepped, with where its text goes.
    private struct Running {
        let translation: Translation
        let emit: (String) -> Bool
    }

    /// A translation that ended: finished, stopped by its reader, or failed.
    public struct Ended {
        public let translation: Translation
        /// Nil when the text was translated (or its reader went away).
        public let error: Error?
    }

    public init(model: HydraModel, exact: Bool = true) {
        self.model = model
        batch = SequenceBatch(model: model, exact: exact)
    }

    /// How many translations are running.
    public var count: Int { running.count }
    /// The most translations one pass takes.
    public var capacity: Int { batch.capacity }

    /// Starts `translation` (its first paragraph's prompt runs now) and
    /// steps it with the others from now on. Returns it when it has already
    /// ended (a text with nothing to translate, or an error).
    public func add(_ translation: Translation, emit: @escaping (String) -> Bool) -> Ended? {
        let entry = Running(translation: translation, emit: emit)
        if let ended = startNext(entry) { return ended }
        running.append(entry)
        return nil
    }

    /// One token for every running translation (in passes of at most
    /// `capacity` sequences). Returns the translations that ended.
    public func step() -> [Ended] {
        var ended: [Ended] = []
        var next: [Running] = []
        for pass in Self.passes(rows: running.map { $0.translation.session!.tokens.count }, capacity: capacity) {
            let chunk = Array(running[pass])
            let sessions = chunk.map { $0.translation.session! }
            do {
                try batch.step(sessions.flatMap(\.sequences), tokens: sessions.flatMap(\.tokens))
            } catch {
                for entry in chunk {
                    entry.translation.stop()
                    ended.append(Ended(translation: entry.translation, error: error))
                }
                continue
            }
            for entry in chunk {
                if entry.translation.advance(emit: entry.emit, alone: running.count == 1) {
                    next.append(entry)
                } else if let done = startNext(entry) {
                    ended.append(done)
                } else {
                    next.append(entry)
                }
            }
        }
        running = next
        return ended
    }

    /// Cuts items of `rows` sequences each (in order) into passes of at most
    /// `capacity` sequences; an item larger than that gets a pass alone.
    static func passes(rows: [Int], capacity: Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var start = 0
        while start < rows.count {
            var end = start + 1
            var total = rows[start]
            while end < rows.count, total + rows[end] <= capacity {
                total += rows[end]
                end += 1
            }
            out.append(start..<end)
            start = end
        }
        return out
    }

    /// Starts the entry's next paragraph (those that end at their first
    /// token are passed over); returns it when its text has ended.
    private func startNext(_ entry: Running) -> Ended? {
        do {
            while entry.translation.session == nil {
                guard try entry.translation.startNext(emit: entry.emit) else {
                    return Ended(translation: entry.translation, error: nil)
                }
            }
            return nil
        } catch {
            entry.translation.stop()
            return Ended(translation: entry.translation, error: error)
        }
    }
}
