import Foundation

/// The decoding settings a head file recommends (`HeadInfo.noRepeatNgram`,
/// `HeadInfo.repeatPenalty`, `HeadInfo.candidates`), changed without
/// touching its tables: after
/// measuring which settings translate best through a head, a researcher
/// records them in the head, and every translation through it uses them
/// unless told otherwise.
public enum HeadDecoding {
    /// Why a head cannot recommend these settings (named by `option`'s
    /// prefix, e.g. "--recommend-"), or nil when it can: an n-gram of
    /// 0 (none) to 64 tokens, a repetition penalty in (0, 10], 1 (none) or
    /// 3 to 16 candidates.
    public static func problem(noRepeatNgram: Int?, repeatPenalty: Float?, candidates: Int? = nil,
                               option: String = "--") -> String? {
        if let n = noRepeatNgram, !(0...64).contains(n) { return "\(option)no-repeat-ngram must be between 0 and 64" }
        if let p = repeatPenalty, !isValid(repeatPenalty: p) { return "\(option)repeat-penalty must be in (0, 10]" }
        if let n = candidates, !isValid(candidates: n) { return "\(option)candidates must be 1 (none) or between 3 and 16" }
        return nil
    }

    static func isValid(repeatPenalty p: Float) -> Bool { p > 0 && p <= 10 }
    /// 1 (off) or 3 to 16: two candidates cannot outvote each other.
    static func isValid(candidates n: Int) -> Bool { n == 1 || (3...16).contains(n) }

    /// Copies the head file at `input` to `output` (the same path: replaced
    /// once the copy is complete) with its recommended `--no-repeat-ngram`
    /// (0: none), `--repeat-penalty` (1: none) and `--candidates` (1: none)
    /// set where given; every
    /// other key and every tensor byte stay as they were. Returns the
    /// written head's settings.
    @discardableResult
    public static func recommend(input: String, output: String, noRepeatNgram: Int? = nil,
                                 repeatPenalty: Float? = nil, candidates: Int? = nil) throws -> HeadInfo {
        if let why = problem(noRepeatNgram: noRepeatNgram, repeatPenalty: repeatPenalty, candidates: candidates) {
            throw HydraError.invalidInput(why)
        }
        let file = try GGUFFile(path: input)
        guard HeadFile.isHead(file) else {
            throw HydraError.invalidInput("\(input) is not a head file (no \(HeadKeys.formatVersion))")
        }
        _ = try HeadFile.info(of: file)  // a head hydra can load, before anything is written
        var metadata: [(key: String, value: GGUFValue)] = file.metadataKeys.map { ($0, file.metadata[$0]!) }
        func set(_ key: String, _ value: GGUFValue?) {
            metadata.removeAll { $0.key == key }
            if let value { metadata.append((key, value)) }
        }
        if let n = noRepeatNgram { set(HeadKeys.noRepeatNgram, n > 0 ? .uint32(UInt32(n)) : nil) }
        if let p = repeatPenalty { set(HeadKeys.repeatPenalty, p != 1 ? .float32(p) : nil) }
        if let n = candidates { set(HeadKeys.candidates, n > 1 ? .uint32(UInt32(n)) : nil) }
        // Written beside the destination, then renamed over it: an
        // interruption leaves the head as it was (the input stays mapped
        // until the copy is done, so it may be the destination).
        let part = output + ".part"
        do {
            _ = try GGUFQuantizer.write(file: file, output: part,
                                        plan: .init(metadata: metadata, tensors: file.tensors, types: [:]),
                                        allowRequantize: false, pool: nil, progress: { _, _ in })
            guard rename(part, output) == 0 else {
                throw HydraError.invalidInput("cannot move \(part) to \(output): \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(atPath: part)
            throw error
        }
        return try HeadFile.info(of: GGUFFile(path: output))
    }
}
