import Foundation

/// The decoding settings a head file recommends (`HeadInfo.noRepeatNgram`,
/// `HeadInfo.repeatPenalty`, `HeadInfo.candidates`, `HeadInfo.beams`,
/// `HeadInfo.roundTripWeight`, `HeadInfo.roundTripBelow`, `HeadInfo.examples`,
/// `HeadInfo.minLength`, `HeadInfo.copyBias`, the word forms it keeps to, `HeadInfo.lexicon`,
/// and the translation memory they come from, `Head.memory`), changed without
/// touching its tables: after
/// measuring which settings translate best through a head, a researcher
/// records them in the head, and every translation through it uses them
/// unless told otherwise.
public enum HeadDecoding {
    /// Settings to record in a head, each nil when left as it is; 0 (the
    /// n-gram, the round-trip weight), 1 (the penalty, the candidates, the
    /// beams) or 100 (the round-trip threshold) removes a recommendation.
    /// Candidates replace the head's beams, beams its candidates.
    public struct Settings: Sendable, Equatable {
        public var noRepeatNgram: Int?
        public var repeatPenalty: Float?
        public var candidates: Int?
        public var beams: Int?
        public var roundTripWeight: Float?
        public var roundTripBelow: Float?
        public var examples: Int?
        public var minLength: Float?
        public var copyBias: Float?
        /// A translation memory to store in the head (replacing any it has).
        public var memory: TranslationMemory?
        /// Removes the head's translation memory.
        public var dropMemory = false
        /// A lexicon to keep translations to (replacing any the head has).
        public var lexicon: StoredLexicon?
        /// Removes the head's lexicon.
        public var dropLexicon = false

        public init(noRepeatNgram: Int? = nil, repeatPenalty: Float? = nil, candidates: Int? = nil, beams: Int? = nil,
                    roundTripWeight: Float? = nil, roundTripBelow: Float? = nil, examples: Int? = nil,
                    minLength: Float? = nil, copyBias: Float? = nil, memory: TranslationMemory? = nil,
                    dropMemory: Bool = false, lexicon: StoredLexicon? = nil, dropLexicon: Bool = false) {
            self.noRepeatNgram = noRepeatNgram
            self.repeatPenalty = repeatPenalty
            self.candidates = candidates
            self.beams = beams
            self.roundTripWeight = roundTripWeight
            self.roundTripBelow = roundTripBelow
            self.examples = examples
            self.minLength = minLength
            self.copyBias = copyBias
            self.memory = memory
            self.dropMemory = dropMemory
            self.lexicon = lexicon
            self.dropLexicon = dropLexicon
        }

        public var isEmpty: Bool {
            noRepeatNgram == nil && repeatPenalty == nil && candidates == nil && beams == nil && roundTripWeight == nil
                && roundTripBelow == nil && examples == nil && minLength == nil && copyBias == nil && memory == nil && !dropMemory
                && lexicon == nil && !dropLexicon
        }

        /// Why a head cannot recommend these settings (named by `option`'s
        /// prefix, e.g. "--recommend-"), or nil when it can: an n-gram of
        /// 0 (none) to 64 tokens, a repetition penalty in (0, 10], 1 (none)
        /// or 3 to 16 candidates, 1 (none) to 16 beams (not both more than 1), a round-trip weight and threshold between
        /// 0 and 100, 0 to 16 example pairs, a least length of 0 (none) to 4
        /// characters a source character, a copy bias of 0 (none) to 100.
        public func problem(option: String = "--") -> String? {
            if let n = noRepeatNgram, !(0...64).contains(n) { return "\(option)no-repeat-ngram must be between 0 and 64" }
            if let p = repeatPenalty, !isValid(repeatPenalty: p) { return "\(option)repeat-penalty must be in (0, 10]" }
            if let n = candidates, !isValid(candidates: n) { return "\(option)candidates must be 1 (none) or between 3 and 16" }
            if let n = beams, !isValid(beams: n) { return "\(option)beam must be between 1 (none) and 16" }
            if (candidates ?? 1) > 1 && (beams ?? 1) > 1 { return "\(option)candidates and \(option)beam exclude each other" }
            if let w = roundTripWeight, !isValid(roundTripWeight: w) {
                return "\(option)round-trip-weight must be between 0 (none) and 100"
            }
            if let b = roundTripBelow, !isValid(roundTripBelow: b) {
                return "\(option)round-trip-below must be between 0 and 100 (always)"
            }
            if let n = examples, !isValid(examples: n) { return "\(option)examples must be between 0 and 16" }
            if let r = minLength, !isValid(minLength: r) { return "\(option)min-length must be between 0 (none) and 4" }
            if let b = copyBias, !isValid(copyBias: b) { return "\(option)copy-bias must be between 0 (none) and 100" }
            if memory != nil && dropMemory { return "\(option)memory and \(option)no-memory exclude each other" }
            if lexicon != nil && dropLexicon { return "\(option)lexicon and \(option)no-lexicon exclude each other" }
            return nil
        }

        /// Records the given settings in `info` (the "none" values clear them).
        public func apply(to info: inout HeadInfo) {
            if let n = noRepeatNgram { info.noRepeatNgram = n > 0 ? n : nil }
            if let p = repeatPenalty { info.repeatPenalty = p != 1 ? p : nil }
            if let n = candidates {
                info.candidates = n > 1 ? n : nil
                if n > 1 { info.beams = nil }
            }
            if let n = beams {
                info.beams = n > 1 ? n : nil
                if n > 1 { info.candidates = nil }
            }
            if let w = roundTripWeight { info.roundTripWeight = w > 0 ? w : nil }
            if let b = roundTripBelow { info.roundTripBelow = b < 100 ? b : nil }
            if let n = examples { info.examples = n > 0 ? n : nil }
            if let r = minLength { info.minLength = r > 0 ? r : nil }
            if let b = copyBias { info.copyBias = b > 0 ? b : nil }
            if let l = lexicon { info.lexicon = l }
            if dropLexicon { info.lexicon = nil }
        }
    }

    /// The `hydra.head.decoding.*` keys of `info`, nil where it recommends nothing.
    static func keys(of info: HeadInfo) -> [(key: String, value: GGUFValue?)] {
        [(HeadKeys.noRepeatNgram, info.noRepeatNgram.map { .uint32(UInt32($0)) }),
         (HeadKeys.repeatPenalty, info.repeatPenalty.map { .float32($0) }),
         (HeadKeys.candidates, info.candidates.map { .uint32(UInt32($0)) }),
         (HeadKeys.beams, info.beams.map { .uint32(UInt32($0)) }),
         (HeadKeys.roundTripWeight, info.roundTripWeight.map { .float32($0) }),
         (HeadKeys.roundTripBelow, info.roundTripBelow.map { .float32($0) }),
         (HeadKeys.examples, info.examples.map { .uint32(UInt32($0)) }),
         (HeadKeys.minLength, info.minLength.map { .float32($0) }),
         (HeadKeys.copyBias, info.copyBias.map { .float32($0) }),
         (HeadKeys.lexicon, info.lexicon.map { .array(.strings($0.words)) })]
    }

    static func isValid(repeatPenalty p: Float) -> Bool { p > 0 && p <= 10 }
    /// 1 (off) or 3 to 16: two candidates cannot outvote each other.
    static func isValid(candidates n: Int) -> Bool { n == 1 || (3...16).contains(n) }
    /// 1 (off) to 16 beams.
    static func isValid(beams n: Int) -> Bool { (1...16).contains(n) }
    /// chrF points per nat: 0 (off) to 100.
    static func isValid(roundTripWeight w: Float) -> Bool { w >= 0 && w <= 100 }
    /// A chrF threshold: 0 (never) to 100 (always).
    static func isValid(roundTripBelow b: Float) -> Bool { b >= 0 && b <= 100 }
    /// Example pairs in the prompt: 0 (none) to 16.
    static func isValid(examples n: Int) -> Bool { (0...16).contains(n) }
    /// Characters of the answer a source character: 0 (none) to 4.
    static func isValid(minLength r: Float) -> Bool { r >= 0 && r <= 4 }
    /// Logit added to the copied token: 0 (none) to 100.
    static func isValid(copyBias b: Float) -> Bool { b >= 0 && b <= 100 }

    /// The `hydra.head.memory.*` keys that store `memory` (nil: none).
    static func memoryKeys(_ memory: TranslationMemory?) -> [(key: String, value: GGUFValue?)] {
        [(HeadKeys.memoryLanguage, memory.map { .string($0.sourceLanguage) }),
         (HeadKeys.memorySource, memory.map { .array(.strings($0.pairs.map(\.source))) }),
         (HeadKeys.memoryTarget, memory.map { .array(.strings($0.pairs.map(\.target))) })]
    }

    /// The translation memory a head file stores, nil when it has none;
    /// refuses one that is not whole (sides of different lengths, an empty
    /// text, a language hydra does not know).
    static func memory(of file: GGUFFile) throws -> TranslationMemory? {
        let keys = [HeadKeys.memoryLanguage, HeadKeys.memorySource, HeadKeys.memoryTarget]
        guard keys.contains(where: { file.metadata[$0] != nil }) else { return nil }
        guard let language = file.string(HeadKeys.memoryLanguage), (try? Language.named(language)) != nil,
              let sources = file.strings(HeadKeys.memorySource), let targets = file.strings(HeadKeys.memoryTarget),
              sources.count == targets.count, !sources.isEmpty,
              !sources.contains(where: \.isEmpty), !targets.contains(where: \.isEmpty)
        else {
            throw HeadError.invalid("\(file.path): the translation memory (\(HeadKeys.memorySource), "
                                    + "\(HeadKeys.memoryTarget), \(HeadKeys.memoryLanguage)) is not whole")
        }
        return try TranslationMemory(pairs: zip(sources, targets).map { .init(source: $0, target: $1) },
                                     sourceLanguage: language)
    }

    /// Copies the head file at `input` to `output` (the same path: replaced
    /// once the copy is complete) with `settings` recorded; every other key
    /// and every tensor byte stay as they were. Returns the written head's
    /// settings.
    @discardableResult
    public static func recommend(input: String, output: String, _ settings: Settings) throws -> HeadInfo {
        if let why = settings.problem() { throw HydraError.invalidInput(why) }
        let file = try GGUFFile(path: input)
        guard HeadFile.isHead(file) else {
            throw HydraError.invalidInput("\(input) is not a head file (no \(HeadKeys.formatVersion))")
        }
        let before = try HeadFile.info(of: file)  // a head hydra can load, before anything is written
        var after = before
        settings.apply(to: &after)
        var metadata: [(key: String, value: GGUFValue)] = file.metadataKeys.map { ($0, file.metadata[$0]!) }
        var changes = zip(keys(of: before), keys(of: after)).filter { $0.0.value != $0.1.value }.map(\.1)
        if settings.memory != nil || settings.dropMemory { changes += memoryKeys(settings.memory) }
        // A changed value stays where its key was (the file is laid out as
        // one written with that value); a new key goes last, a cleared one goes.
        for new in changes {
            switch (metadata.firstIndex(where: { $0.key == new.key }), new.value) {
            case let (i?, value?): metadata[i].value = value
            case let (i?, nil): metadata.remove(at: i)
            case let (nil, value?): metadata.append((new.key, value))
            case (nil, nil): break
            }
        }
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
