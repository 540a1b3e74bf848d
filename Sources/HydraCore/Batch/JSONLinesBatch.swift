import Foundation

/// Batch translation over JSON lines: `{"id": …, "text": …}` in, one
/// `{"id": …, "translation": …}` (or `{"id": …, "error": …}`) out per
/// text, in the order they finish. The output file is the record of what
/// is done: each line is written whole and at once, so a run killed at any
/// moment loses at most the texts in flight, and a second run skips the ids
/// the file already has (a last line cut short by the kill is dropped).
public enum JSONLinesBatch {
    /// Reads the texts of a JSON-lines file. Each non-blank line must be an
    /// object with an `id` (string or integer) and a string `text`; ids
    /// must be unique.
    public static func read(_ data: Data, name: String) throws -> [BatchItem] {
        var items: [BatchItem] = []
        var seen: Set<BatchID> = []
        for (n, line) in try lines(data, name: name).enumerated() where !line.allSatisfy(\.isWhitespace) {
            func bad(_ why: String) -> HydraError { .invalidInput("\(name):\(n + 1): \(why)") }
            let fields: Fields
            do {
                fields = try JSONDecoder().decode(Fields.self, from: Data(line.utf8))
            } catch {
                throw bad("not a JSON object with an \"id\" (a string or an integer) and a string \"text\"")
            }
            guard let id = fields.id?.batchID else { throw bad("no \"id\"") }
            guard let text = fields.text else { throw bad("no \"text\"") }
            guard seen.insert(id).inserted else { throw bad("the id \(id) is used twice") }
            items.append(BatchItem(id: id, text: text))
        }
        return items
    }

    /// What an earlier run finished, from its output file: each id's
    /// translation, or nil for an error line; a last line that a kill left
    /// unfinished is cut off the file first. A missing file is an empty one.
    public static func finished(output path: String) throws -> [BatchID: String?] {
        guard FileManager.default.fileExists(atPath: path) else { return [:] }
        guard var data = FileManager.default.contents(atPath: path) else {
            throw HydraError.invalidInput("cannot read \(path)")
        }
        if let last = data.last, last != UInt8(ascii: "\n") {
            let keep = (data.lastIndex(of: UInt8(ascii: "\n")).map { $0 + 1 }) ?? 0
            data = data.prefix(keep)
            guard truncate(path, off_t(keep)) == 0 else {
                throw HydraError.invalidInput("cannot cut the unfinished last line of \(path)")
            }
        }
        var done: [BatchID: String?] = [:]
        for (n, line) in try lines(data, name: path).enumerated() where !line.isEmpty {
            guard let fields = try? JSONDecoder().decode(Fields.self, from: Data(line.utf8)), let id = fields.id else {
                throw HydraError.invalidInput("\(path):\(n + 1): not a line this command wrote (no JSON object with an \"id\")")
            }
            done[id.batchID] = .some(fields.translation)
        }
        return done
    }

    /// One output line (with its newline) for an item's result.
    public static func line(_ item: BatchItem, _ result: Result<String, Error>) -> String {
        let (key, value): (String, String)
        switch result {
        case .success(let text): (key, value) = ("translation", text)
        case .failure(let error): (key, value) = ("error", "\(error)")
        }
        return "{\"id\":\(item.id.json),\"\(key)\":\(BatchID(string: value).json)}\n"
    }

    private static func lines(_ data: Data, name: String) throws -> [Substring] {
        let text: String
        do {
            text = try UTF8Input.decode([UInt8](data))
        } catch {
            throw HydraError.invalidInput("\(name): \(error)")
        }
        return text.split(separator: "\n", omittingEmptySubsequences: false)
            .map { $0.hasSuffix("\r") ? $0.dropLast() : $0 }
    }

    /// The fields a line is read for (others are ignored).
    private struct Fields: Decodable {
        let id: RawID?
        let text: String?
        let translation: String?
    }

    /// An id as JSON has it: a string or an integer (not a float, a
    /// boolean or anything else).
    enum RawID: Decodable {
        case string(String)
        case integer(Int64)

        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let s = try? c.decode(String.self) {
                self = .string(s)
            } else {
                self = .integer(try c.decode(Int64.self))
            }
        }

        var batchID: BatchID {
            switch self {
            case .string(let s): BatchID(string: s)
            case .integer(let n): BatchID(json: String(n))
            }
        }
    }
}

/// An output file written a whole line at a time, appended to, and synced
/// every few lines and when closed.
public final class LineAppender {
    private let handle: FileHandle
    private var unsynced = 0

    public init(path: String) throws {
        if !FileManager.default.fileExists(atPath: path) {
            guard FileManager.default.createFile(atPath: path, contents: nil) else {
                throw HydraError.invalidInput("cannot create \(path)")
            }
        }
        guard let handle = FileHandle(forWritingAtPath: path) else {
            throw HydraError.invalidInput("cannot write \(path)")
        }
        handle.seekToEndOfFile()
        self.handle = handle
    }

    /// Appends `line` in one write.
    public func append(_ line: String) throws {
        try handle.write(contentsOf: Data(line.utf8))
        unsynced += 1
        if unsynced >= 16 { try sync() }
    }

    public func sync() throws {
        try handle.synchronize()
        unsynced = 0
    }

    deinit { try? handle.close() }
}
