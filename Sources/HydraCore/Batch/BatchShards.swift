import Foundation

/// One of N parts of a batch, for running a batch as N jobs (a Slurm array
/// job, a Kubernetes indexed job): shard K of N is the texts at positions
/// K, K+N, K+2N, ... of the input (blank lines not counted), so the parts
/// are fixed by the input alone, cover it once, and differ in size by at
/// most one text.
public struct BatchShard: Equatable, Sendable, CustomStringConvertible {
    /// From 0 to count-1.
    public let index: Int
    public let count: Int

    public init(index: Int, count: Int) throws {
        guard count >= 1 else { throw HydraError.invalidInput("a batch has at least one shard, not \(count)") }
        guard (0..<count).contains(index) else {
            throw HydraError.invalidInput("shard \(index) of \(count): the shards of \(count) are 0 to \(count - 1)")
        }
        self.index = index
        self.count = count
    }

    /// Reads `K/N` (e.g. `0/4`).
    public init(parsing text: String) throws {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let k = Int(parts[0]), let n = Int(parts[1]) else {
            throw HydraError.invalidInput("a shard is K/N (e.g. 0/4, the first of four), not \(text)")
        }
        try self.init(index: k, count: n)
    }

    /// The items of this shard, in input order.
    public func select(_ items: [BatchItem]) -> [BatchItem] {
        stride(from: index, to: items.count, by: count).map { items[$0] }
    }

    public var description: String { "\(index)/\(count)" }
}

/// The outputs of a batch run in shards (or in any number of runs), put
/// together into one and checked: every id of the input once, no id that
/// the input does not have, no line left unfinished.
public enum BatchMerge {
    public struct Summary: Sendable, Equatable {
        /// The merged output: one line per input text, in input order.
        public var text: String
        public var translated: Int
        /// Texts whose line is an error (`{"id":…,"error":…}`).
        public var failed: Int
    }

    /// Merges the parts (each a name, for messages, and its contents).
    /// Throws, naming what is wrong, when an input id is missing from all
    /// parts or is in more than one line, when a part has an id the input
    /// does not, or when a part's last line is unfinished (its task is
    /// still running, or was killed and not run again).
    public static func merge(input items: [BatchItem], parts: [(name: String, data: Data)]) throws -> Summary {
        let order = Dictionary(uniqueKeysWithValues: items.enumerated().map { ($1.id, $0) })
        var lines = [String?](repeating: nil, count: items.count)
        var seenAt = [String?](repeating: nil, count: items.count)
        var problems: [String] = []
        var failed = 0
        for (name, data) in parts {
            if let last = data.last, last != UInt8(ascii: "\n") {
                problems.append("\(name): the last line is unfinished (is its task still running, or was it killed and not run again?)")
            }
            let text: String
            do {
                text = try UTF8Input.decode([UInt8](data))
            } catch {
                throw HydraError.invalidInput("\(name): \(error)")
            }
            let split = text.split(separator: "\n", omittingEmptySubsequences: false)
            for (n, raw) in split.enumerated() {
                let line = raw.hasSuffix("\r") ? String(raw.dropLast()) : String(raw)
                if line.isEmpty { continue }
                let place = "\(name):\(n + 1)"
                guard let (id, isError) = JSONLinesBatch.outputID(line) else {
                    if n == split.count - 1 { continue }  // the unfinished last line, reported above
                    problems.append("\(place): not an output line (no JSON object with an \"id\" and a \"translation\" or an \"error\")")
                    continue
                }
                guard let i = order[id] else {
                    problems.append("\(place): the id \(id) is not in the input")
                    continue
                }
                if let first = seenAt[i] {
                    problems.append("\(place): the id \(id) is already at \(first)")
                    continue
                }
                seenAt[i] = place
                lines[i] = line
                if isError { failed += 1 }
            }
        }
        let missing = items.indices.filter { lines[$0] == nil }
        if !missing.isEmpty {
            let shown = missing.prefix(10).map { items[$0].id.json }.joined(separator: ", ")
            problems.append("\(missing.count) of \(items.count) input ids are in no part: \(shown)"
                            + (missing.count > 10 ? ", ..." : ""))
        }
        guard problems.isEmpty else {
            let shown = problems.prefix(20).joined(separator: "\n")
            throw HydraError.invalidInput(shown + (problems.count > 20 ? "\n... and \(problems.count - 20) more" : ""))
        }
        return Summary(text: lines.map { $0! + "\n" }.joined(), translated: items.count - failed, failed: failed)
    }
}

extension JSONLinesBatch {
    /// The id of an output line and whether it is an error line, or nil
    /// for a line that is not one `hydra translate --batch` writes.
    static func outputID(_ line: String) -> (BatchID, Bool)? {
        guard let fields = try? JSONDecoder().decode(OutputFields.self, from: Data(line.utf8)), let id = fields.id,
              (fields.translation != nil) != (fields.error != nil) else { return nil }
        return (id.batchID, fields.error != nil)
    }

    private struct OutputFields: Decodable {
        let id: RawID?
        let translation: String?
        let error: String?
    }
}
