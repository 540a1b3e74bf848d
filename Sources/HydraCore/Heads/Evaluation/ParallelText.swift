import Foundation

/// Tab-separated parallel text: one (source, target) pair a line.
public enum ParallelText {
    /// The pairs of a `.tsv` file (lines with fewer than two fields are skipped).
    public static func read(path: String) throws -> [(source: String, target: String)] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw HydraError.invalidInput("cannot read \(path)")
        }
        return parse(try UTF8Input.decode([UInt8](data)))
    }

    /// The pairs of tab-separated text.
    public static func parse(_ text: String) -> [(source: String, target: String)] {
        text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: "\t", omittingEmptySubsequences: false)
            guard f.count >= 2 else { return nil }
            let s = f[0].trimmingCharacters(in: .whitespaces), t = f[1].trimmingCharacters(in: .whitespaces)
            return s.isEmpty || t.isEmpty ? nil : (s, t)
        }
    }
}
