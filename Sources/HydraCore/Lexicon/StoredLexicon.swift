import Foundation

/// The lexicon a head file stores (`HeadInfo.lexicon`): its words as read
/// from the file, made a `Lexicon` (a trie) the first time a translation
/// keeps to them, so that loading or listing the head costs nothing more.
public final class StoredLexicon: @unchecked Sendable, Equatable {
    /// The lexicon's words, lower-cased.
    public let words: [String]
    private let lock = NSLock()
    private var built: Lexicon?

    public init(words: [String]) {
        self.words = words
    }

    /// The words of `lexicon`, to store in a head.
    public convenience init(_ lexicon: Lexicon) {
        self.init(words: lexicon.words)
        built = lexicon
    }

    /// The lexicon of its words (built once).
    public func lexicon() throws -> Lexicon {
        lock.lock()
        defer { lock.unlock() }
        if let built { return built }
        let made = try Lexicon(words: words)
        built = made
        return made
    }

    public static func == (a: StoredLexicon, b: StoredLexicon) -> Bool { a === b || a.words == b.words }
}
