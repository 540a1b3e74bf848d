/// Guesses how an answer goes on from the text it has already read: where
/// its last tokens occurred before (in the prompt's example answers, or
/// earlier in the answer itself), the tokens that followed them then.
/// Translations copy whole phrases from the examples a translation memory
/// shows, so such guesses are often right, and `TranslationSession` checks
/// several of them in one pass through the body (prompt lookup decoding):
/// the picks are the same as without guesses, only made faster.
struct PromptLookup {
    /// The target head's tokens read so far: the prompt's, then the answer's.
    private var text: [Int32]
    /// The most tokens of the text's end that are looked up.
    static let longestMatch = 3
    /// The fewest tokens of the text's end that must match: one token
    /// (often a space or a suffix) says too little about what follows.
    static let shortestMatch = 2

    /// `prompt`: the target head's tokens of the prompt, in order (the
    /// examples' answers; tokens of other heads are left out by the caller).
    init(prompt: [Int32]) {
        text = prompt
    }

    /// Adds a token of the answer to the text.
    mutating func append(_ token: Int32) {
        text.append(token)
    }

    /// Up to `count` tokens that followed the latest earlier occurrence of
    /// the text's last tokens (the longest such end, of at least
    /// `shortestMatch` tokens); empty when there is none.
    func guess(count: Int) -> [Int32] {
        guard count > 0 else { return [] }
        let n = text.count
        var length = min(Self.longestMatch, n - 1)
        while length >= Self.shortestMatch {
            let end = text[(n - length)...]
            // The latest occurrence that has a token after it.
            var start = n - length - 1
            while start >= 0 {
                if text[start..<start + length].elementsEqual(end) {
                    let from = start + length
                    return Array(text[from..<min(from + count, n)])
                }
                start -= 1
            }
            length -= 1
        }
        return []
    }
}

/// How often prompt lookup's guesses through one target head were right.
/// A wrong guess costs most of a step (the rows of a pass are not free),
/// and some heads seldom copy what the prompt shows (a built head's tuned
/// output rows follow the examples far less than the native rows do), so
/// a head whose guesses are mostly wrong stops guessing: after
/// `Self.trial` guessed tokens, only while at least `Self.least` of them
/// were right, and in one paragraph of `Self.probe` otherwise, which
/// keeps the count up to date.
struct GuessTally {
    private(set) var guessed = 0
    private(set) var right = 0
    private var skipped = 0
    static let trial = 64
    static let least = 0.35
    static let probe = 16

    /// Whether the next paragraph guesses.
    mutating func shouldGuess() -> Bool {
        if guessed < Self.trial || Double(right) >= Self.least * Double(guessed) { return true }
        skipped += 1
        if skipped < Self.probe { return false }
        skipped = 0
        return true
    }

    mutating func add(guessed: Int, right: Int) {
        self.guessed += guessed
        self.right += right
    }
}
