/// What a script-locked answer may spell, from what it has written so far
/// (the lock's mask, `ScriptLock.bannedTokens`, holds whatever was written).
///
/// The lock lets through the tokens that spell the text's names
/// (`ScriptLock.copyable`); this keeps them to spelling those names. A
/// token with a letter of another script is written only where it begins
/// a name at the start of a word or goes on with one, and a name once
/// begun is finished as the text spells it before anything else comes:
/// "Warzone", not "Warzonezone"; "MATE", not "средыATE".
///
/// Byte pieces are neutral in the mask (they spell the script's own
/// letters too); a piece that finishes a character of another script
/// begun by the pieces before it ("놑" in a Tatar answer) is refused here,
/// unless a name holds that character.
///
/// Decoding walks the answer's last word (`SpellingWalk`) token by token,
/// as it walks a lexicon's words (`LexiconLock`).
struct ScriptSpelling {
    /// The text's names that have a letter of another script, as UTF-8.
    let names: [[UInt8]]
    /// The tokens that write a letter of another script and spell part of a name.
    let copyable: TokenMask
    let script: Script
    let head: Head
    /// The most bytes of the last word a walk keeps: where a name may
    /// have begun (the longest name back), the byte before it, and a
    /// character's bytes.
    private let kept: Int

    /// The rule for translating a text with `names` (`ScriptLock.names`)
    /// into `script` through `head`.
    init(names: [String], script: Script, head: Head) {
        let foreign = names.filter { ScriptLock.hasForeignLetter(Array($0.utf8), keeping: script) }
        self.names = foreign.map { Array($0.utf8) }
        copyable = foreign.isEmpty ? TokenMask()
            : TokenMask(ScriptLock.copyable(head.tokenizer, among: head.bannedTokens(keeping: script), names: foreign))
        self.script = script
        self.head = head
        kept = (self.names.map(\.count).max() ?? 0) + 4
    }

    /// Whether `token` may come after the answer `walk` stands at: an end
    /// token only outside an unfinished name; inside one, only a token
    /// that goes on with it; a token with a letter of another script only
    /// inside a name that begins at the start of a word; a piece that
    /// finishes a character only if it is of the script or a name's.
    func allows(_ token: Int32, after walk: SpellingWalk) -> Bool {
        // Most tokens, most of the time: outside names, between
        // characters, and no letter of another script.
        if walk.open.isEmpty && walk.need == 0 && !copyable.contains(token) { return true }
        let piece = head.tokenizer.piece(token)
        if piece.isEmpty { return walk.open.isEmpty }
        if walk.need > 0, let lead = walk.word.lastIndex(where: { $0 & 0xC0 != 0x80 }) {
            let character = Array(walk.word[lead...]) + piece.prefix { $0 & 0xC0 == 0x80 }
            if ScriptLock.hasForeignLetter(character, keeping: script) && !names.contains(where: { $0.contains(character) }) {
                return false
            }
        }
        let space = piece.firstIndex(where: Self.isSpace)
        if !walk.open.isEmpty {
            // The name begun goes on, up to the piece's first space; it is
            // finished if a space follows.
            let word = walk.word + piece[..<(space ?? piece.count)]
            guard walk.open.contains(where: { fits(word[$0...], finished: space != nil) }) else { return false }
        }
        guard copyable.contains(token) else { return true }
        // The piece's letters of another script lie in a name that begins
        // at the start of a word: the last word as the piece leaves it.
        let (word, pieceStart) = space == nil
            ? (walk.word + piece, walk.word.count)
            : (Array(piece[(piece.lastIndex(where: Self.isSpace)! + 1)...]), 0)
        guard let foreign = firstForeignLetter(word, from: pieceStart) else { return true }
        return Self.starts(of: word, cut: space == nil && walk.cut).contains { $0 <= foreign && fits(word[$0...], finished: false) }
    }

    /// Where the answer stands once `token` is written after `walk`.
    func walked(_ walk: SpellingWalk, by token: Int32) -> SpellingWalk {
        let piece = head.tokenizer.piece(token)
        guard !piece.isEmpty else { return walk }
        var next = SpellingWalk()
        if let space = piece.lastIndex(where: Self.isSpace) {
            next.word = Array(piece[(space + 1)...])
        } else {
            next.word = walk.word + piece
            next.cut = walk.cut
        }
        if next.word.count > kept {
            next.word.removeFirst(next.word.count - kept)
            next.cut = true
        }
        let word = next.word
        next.need = UTF8Guard.need(after: word)
        // Open: a name begun and not finished (no name ends here).
        let starts = Self.starts(of: word, cut: next.cut)
        if !starts.contains(where: { s in names.contains { $0[...] == word[s...] } }) {
            next.open = starts.filter { s in
                let begun = word[s...]
                return ScriptLock.hasForeignLetter(Array(begun), keeping: script)
                    && names.contains { $0.count > begun.count && $0.starts(with: begun) }
            }
        }
        return next
    }

    /// Sets the logit of every token `allows` refuses after `walk` to −∞,
    /// as greedy decoding's pick skips them; where it would refuse every
    /// token, leaves the logits as they are.
    func restrict(_ logits: inout [Float], after walk: SpellingWalk) {
        let count = logits.count
        if walk.open.isEmpty && walk.need == 0 {
            for t in copyable.ids where Int(t) < count && !allows(t, after: walk) { logits[Int(t)] = -.infinity }
            return
        }
        let refused = (0..<count).filter { logits[$0] > -.infinity && !allows(Int32($0), after: walk) }
        guard refused.count < logits.lazy.filter({ $0 > -.infinity }).count else { return }
        for t in refused { logits[t] = -.infinity }
    }

    /// Whether `begun` is the beginning of a name, or a whole name
    /// (followed by anything after a byte that is no letter or digit);
    /// `finished`: only the latter.
    private func fits(_ begun: ArraySlice<UInt8>, finished: Bool) -> Bool {
        names.contains { name in
            if begun.starts(with: name) {
                return begun.count == name.count || !Self.isWordByte(begun[begun.startIndex + name.count])
            }
            return !finished && name.starts(with: begun)
        }
    }

    /// The index in `word` of the first letter of another script at or
    /// after `from`, if any.
    private func firstForeignLetter(_ word: [UInt8], from: Int) -> Int? {
        (from..<word.count).first { i in
            // The character that begins at i (a byte that begins none: itself).
            let length = UTF8Guard.need(after: [word[i]]) + 1
            return ScriptLock.hasForeignLetter(Array(word[i..<min(i + length, word.count)]), keeping: script)
        }
    }

    /// Where a word may begin in `word`: at its start (unless `cut`: its
    /// beginning was let go), and after each byte that is no letter or
    /// digit ("(VLC", "--F10").
    static func starts(of word: [UInt8], cut: Bool = false) -> [Int] {
        word.indices.filter { $0 == 0 ? !cut : !isWordByte(word[$0 - 1]) }
    }

    /// ASCII letters and digits, and every byte of a non-ASCII character
    /// (letters of other scripts, in the texts translated).
    static func isWordByte(_ b: UInt8) -> Bool {
        b >= 0x80 || (b >= 0x30 && b <= 0x39) || ((b | 0x20) >= 0x61 && (b | 0x20) <= 0x7A)
    }

    static func isSpace(_ b: UInt8) -> Bool { b == 0x20 || (0x09...0x0D).contains(b) }
}

/// Where an answer stands for `ScriptSpelling`: its last word so far,
/// where in it a name has begun and is not finished, and how many bytes
/// its last character still needs.
struct SpellingWalk: Equatable {
    /// The answer's bytes since its last space or line break (the last
    /// `ScriptSpelling.kept` of them).
    var word: [UInt8] = []
    /// Whether `word` lost its beginning to that limit.
    var cut = false
    /// The indices of `word` where an unfinished name begins.
    var open: [Int] = []
    /// The continuation bytes `word`'s last character still needs.
    var need = 0
}
