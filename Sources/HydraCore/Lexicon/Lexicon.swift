import Foundation

/// The words a translation may write (`--lexicon`): every word form of the
/// target language that its word lists and texts hold, as a trie over the
/// UTF-8 of the lower-cased words. A word is a run of letters of the
/// lexicon's script (the script most of its letters are in: Cyrillic for
/// Tatar); its alphabet is the letters its words use. Decoding through a
/// lexicon (`LexiconLock`) never writes a word of that script that the
/// lexicon lacks, nor a letter outside its alphabet: a model that knows a
/// language's neighbours better than the language itself (Kazakh "жана"
/// or Kyrgyz "анын" for Tatar "һәм", "аның") has to spell a Tatar word.
/// Text of other scripts (Latin names, digits, punctuation) is left free.
public struct Lexicon: Sendable {
    /// The script of its words.
    public let script: Script
    /// How many distinct words it holds.
    public let wordCount: Int
    /// The lower-case letters its words use.
    let alphabet: Set<Unicode.Scalar>
    /// Node n's edges are `edgeStart[n] ..< edgeStart[n + 1]`; node 0 is
    /// the root (between words).
    let edgeStart: [Int32]
    let labels: [UInt8]
    let children: [Int32]
    /// Whether a word ends at the node.
    let terminal: [Bool]
    /// The UTF-8 of each letter of its alphabet, lower and upper case, with
    /// the lower case's (the bytes the trie walks).
    let cased: [(written: [UInt8], walked: [UInt8], upper: Bool)]

    /// A lexicon of `words` (each lower-cased; words of other scripts than
    /// the most common one are left out).
    public init(words: some Sequence<String>) throws {
        var counts: [String: Int] = [:]
        for word in words { counts[word, default: 0] += 1 }
        try self.init(counted: counts)
    }

    /// A lexicon of the words counted in `counted` (a word and how often it
    /// occurs: the script most letters are in is the lexicon's).
    init(counted: [String: Int]) throws {
        var scripts: [Script: Int] = [:]
        for (word, n) in counted {
            for s in word.unicodeScalars where s.properties.isAlphabetic { scripts[Script.of(s), default: 0] += n }
        }
        scripts = scripts.filter { !$0.key.isNeutral }
        guard let script = scripts.max(by: { $0.value < $1.value || ($0.value == $1.value && $0.key.code > $1.key.code) })?.key
        else { throw HydraError.invalidInput("the lexicon has no words") }
        self.script = script
        var unique = Set<[UInt8]>()
        var alphabet = Set<Unicode.Scalar>()
        for word in counted.keys {
            for run in Self.runs(of: word, script: script) {
                let lower = run.lowercased()
                alphabet.formUnion(lower.unicodeScalars)
                unique.insert(Array(lower.utf8))
            }
        }
        guard !unique.isEmpty else { throw HydraError.invalidInput("the lexicon has no words") }
        self.alphabet = alphabet
        cased = alphabet.sorted { $0.value < $1.value }.flatMap { s -> [([UInt8], [UInt8], Bool)] in
            let lower = Array(String(s).utf8), upper = Array(String(s).uppercased().utf8)
            return upper == lower ? [(lower, lower, false)] : [(lower, lower, false), (upper, lower, true)]
        }
        wordCount = unique.count
        (edgeStart, labels, children, terminal) = Self.trie(unique.sorted { $0.lexicographicallyPrecedes($1) })
    }

    /// The lexicon of the words in text files (word lists, running text,
    /// tab-separated pairs: every run of letters of the most common script).
    public static func read(paths: [String]) throws -> Lexicon {
        var counts: [String: Int] = [:]
        for path in paths {
            let data: Data
            do {
                data = try Data(contentsOf: URL(fileURLWithPath: path))
            } catch {
                throw HydraError.invalidInput("cannot read the lexicon \(path): \(error.localizedDescription)")
            }
            guard let text = String(data: data, encoding: .utf8) else {
                throw HydraError.invalidInput("the lexicon \(path) is not UTF-8 text")
            }
            // Runs of letters (of any script: the most common is chosen below).
            var run = String.UnicodeScalarView()
            for s in text.unicodeScalars {
                if s.properties.isAlphabetic {
                    run.append(s)
                } else if !run.isEmpty {
                    counts[String(run), default: 0] += 1
                    run = String.UnicodeScalarView()
                }
            }
            if !run.isEmpty { counts[String(run), default: 0] += 1 }
        }
        do {
            return try Lexicon(counted: counts)
        } catch {
            throw HydraError.invalidInput("the lexicon \(paths.joined(separator: ", ")) has no words")
        }
    }

    /// Its words, lower-cased, in the order of their UTF-8 bytes (what a
    /// head stores: `Lexicon(words:)` of them is this lexicon again).
    public var words: [String] {
        var out: [String] = []
        out.reserveCapacity(wordCount)
        var prefix: [UInt8] = []
        func visit(_ node: Int32) {
            if node != 0 && terminal[Int(node)] { out.append(String(decoding: prefix, as: UTF8.self)) }
            for e in Int(edgeStart[Int(node)])..<Int(edgeStart[Int(node) + 1]) {
                prefix.append(labels[e])
                visit(children[e])
                prefix.removeLast()
            }
        }
        visit(0)
        return out
    }

    /// Whether `word` (any case) is one of its words.
    public func contains(_ word: String) -> Bool {
        var walk = LexiconWalk()
        guard advance(&walk, bytes: Array(word.utf8)) else { return false }
        return walk.node != 0 && terminal[Int(walk.node)]
    }

    /// What one character is to the lexicon.
    enum Symbol: Equatable {
        /// A letter of its alphabet: the UTF-8 of its lower case, walked in
        /// the trie, and whether it was written in upper case.
        case letter([UInt8], upper: Bool)
        /// A letter of its script outside its alphabet, a sign of its
        /// script that is no letter, or a combining mark: never written.
        case foreign
        /// Anything else ends a word.
        case boundary
    }

    func symbol(_ scalar: Unicode.Scalar) -> Symbol {
        guard Self.isLetter(scalar, of: script) else {
            // A mark would sit on the letter before it ("Р҆"), and a sign of
            // the script ("҂") is no word of it: neither is written.
            return Self.isMark(scalar) || Script.of(scalar) == script ? .foreign : .boundary
        }
        let lower = String(scalar).lowercased()
        guard lower.unicodeScalars.allSatisfy(alphabet.contains) else { return .foreign }
        return .letter(Array(lower.utf8), upper: lower != String(scalar))
    }

    /// Moves `walk` over `bytes` of generated text; false when they write a
    /// word (or the start of one) that the lexicon lacks, or a foreign letter.
    func advance(_ walk: inout LexiconWalk, bytes: some Sequence<UInt8>) -> Bool {
        for b in bytes {
            if !walk.pending.isEmpty && b & 0xC0 != 0x80 {
                // A character cut short: no letter, so it ends a word.
                walk.pending.removeAll()
                guard step(&walk, .boundary) else { return false }
            }
            walk.pending.append(b)
            guard let scalar = walk.takeScalar() else {
                // The start of a character: inside an unfinished word, only
                // one that can go on with it (else no token could finish it).
                if !mayComplete(walk) { return false }
                continue
            }
            guard step(&walk, scalar.map(symbol) ?? .boundary) else { return false }
        }
        return true
    }

    /// Whether the character begun in `walk.pending` can be one the text
    /// may go on with: any, between words or after a whole word (a word may
    /// end there); inside an unfinished word, a letter that continues it.
    func mayComplete(_ walk: LexiconWalk) -> Bool {
        if walk.node == 0 || terminal[Int(walk.node)] { return true }
        return cased.contains { letter in
            guard letter.written.starts(with: walk.pending) else { return false }
            var next = walk
            return step(&next, .letter(letter.walked, upper: letter.upper))
        }
    }

    /// Moves `walk` over one symbol. Inside a word an upper-case letter
    /// may only follow another ("ҺАВА", "Һава", not "һаВа").
    func step(_ walk: inout LexiconWalk, _ symbol: Symbol) -> Bool {
        switch symbol {
        case .letter(let bytes, let upper):
            if upper && walk.node != 0 && !walk.upper { return false }
            var node = walk.node
            for b in bytes {
                guard let next = child(node, b) else { return false }
                node = next
            }
            walk.node = node
            walk.upper = upper
            return true
        case .foreign:
            return false
        case .boundary:
            guard walk.node == 0 || terminal[Int(walk.node)] else { return false }
            walk.node = 0
            walk.upper = false
            return true
        }
    }

    /// Whether the text may end after `walk`: not inside an unfinished word.
    func canEnd(_ walk: LexiconWalk) -> Bool { walk.node == 0 || terminal[Int(walk.node)] }

    func child(_ node: Int32, _ byte: UInt8) -> Int32? {
        var e = Int(edgeStart[Int(node)])
        let end = Int(edgeStart[Int(node) + 1])
        while e < end {
            if labels[e] == byte { return children[e] }
            e += 1
        }
        return nil
    }

    static func isLetter(_ scalar: Unicode.Scalar, of script: Script) -> Bool {
        scalar.properties.isAlphabetic && Script.of(scalar) == script
    }

    /// Whether `scalar` is a combining mark (of any script) that no word of
    /// the lexicon holds as a letter.
    static func isMark(_ scalar: Unicode.Scalar) -> Bool {
        switch scalar.properties.generalCategory {
        case .nonspacingMark, .spacingMark, .enclosingMark: return true
        default: return false
        }
    }

    /// The maximal runs of letters of `script` in `text`.
    static func runs(of text: String, script: Script) -> [String] {
        var out: [String] = []
        var run = String.UnicodeScalarView()
        for s in text.unicodeScalars {
            if isLetter(s, of: script) {
                run.append(s)
            } else if !run.isEmpty {
                out.append(String(run))
                run = String.UnicodeScalarView()
            }
        }
        if !run.isEmpty { out.append(String(run)) }
        return out
    }

    /// A trie of sorted, distinct byte strings, breadth first, so that each
    /// node's edges are contiguous and in node order.
    private static func trie(_ words: [[UInt8]]) -> ([Int32], [UInt8], [Int32], [Bool]) {
        var edgeStart: [Int32] = [0]
        var labels: [UInt8] = [], children: [Int32] = [], terminal: [Bool] = []
        // Node i covers words[lo..<hi], all sharing their first `depth` bytes.
        var queue: [(lo: Int, hi: Int, depth: Int)] = [(0, words.count, 0)]
        var next = 0
        while next < queue.count {
            var (lo, hi, depth) = queue[next]
            next += 1
            let ends = words[lo].count == depth
            terminal.append(ends)
            if ends { lo += 1 }
            while lo < hi {
                let label = words[lo][depth]
                var end = lo + 1
                while end < hi && words[end][depth] == label { end += 1 }
                labels.append(label)
                children.append(Int32(queue.count))
                queue.append((lo, end, depth + 1))
                lo = end
            }
            edgeStart.append(Int32(labels.count))
        }
        return (edgeStart, labels, children, terminal)
    }
}

/// Where generated text stands in a `Lexicon`: the trie node of the word
/// being written (0: between words), whether its last letter was upper
/// case, and the bytes of a character a token split.
public struct LexiconWalk: Sendable, Equatable {
    var node: Int32 = 0
    var upper = false
    var pending: [UInt8] = []

    public init() {}

    /// The character `pending` completes, taking it out: `.some(nil)` for
    /// bytes that are no UTF-8 (they end a word), nil while incomplete.
    mutating func takeScalar() -> Unicode.Scalar?? {
        let lead = pending[0]
        let length: Int, initial: UInt32
        switch lead {
        case 0x00...0x7F: (length, initial) = (1, UInt32(lead))
        case 0xC2...0xDF: (length, initial) = (2, UInt32(lead & 0x1F))
        case 0xE0...0xEF: (length, initial) = (3, UInt32(lead & 0x0F))
        case 0xF0...0xF4: (length, initial) = (4, UInt32(lead & 0x07))
        default:
            pending.removeAll()
            return .some(nil)
        }
        guard pending.count == length else { return nil }
        let value = pending.dropFirst().reduce(initial) { $0 << 6 | UInt32($1 & 0x3F) }
        pending.removeAll()
        return .some(Unicode.Scalar(value))
    }
}
