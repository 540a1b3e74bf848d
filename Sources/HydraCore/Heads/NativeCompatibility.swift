/// Which native tokens agree with which tokens of a head: native token n
/// and head token t are *compatible* when the text of one begins with the
/// text of the other (" координ" and " коорд", " ко" and " координаты").
/// When the native head would go on with n, the head's next token is one of
/// the tokens compatible with n: what a factored output over compatible
/// tokens (`FactoredOutput`, `OutputFactoring.compatible`) builds on. A
/// special token is compatible only with its native token in `NativeGroups`.
///
/// Kept both ways, as flat lists: `heads(of:)` of a native token and
/// `natives(of:)` of a head token.
public struct NativeCompatibility: Sendable {
    /// Head tokens of native token n: headIds[headStart[n]..<headStart[n + 1]].
    let headStart: [Int32], headIds: [Int32]
    /// Native tokens of head token t: nativeIds[nativeStart[t]..<nativeStart[t + 1]].
    let nativeStart: [Int32], nativeIds: [Int32]
    /// The native tokens compatible with some head token, increasing.
    public let natives: [Int32]

    public var pairs: Int { headIds.count }
    public var nativeCount: Int { headStart.count - 1 }
    public var headCount: Int { nativeStart.count - 1 }

    /// The pairs of the first `count` tokens of `head` (its output rows) and
    /// the native vocabulary.
    public init(head: Head, native: Head, count: Int) {
        let groups = NativeGroups(head: head, native: native, count: count)
        let vocabulary = head.tokenizer.vocabulary, nativeVocabulary = native.tokenizer.vocabulary
        func plain(_ v: Vocabulary, _ id: Int) -> Bool {
            v.attributes[id].isDisjoint(with: [.control, .userDefined, .unknown])
        }
        // A text may have more than one token (a byte token beside a piece of the same byte).
        var headTexts: [[UInt8]: [Int32]] = [:]
        var pairs: [(native: Int32, head: Int32)] = []
        for t in 0..<min(count, vocabulary.count) {
            if plain(vocabulary, t) {
                let bytes = head.tokenizer.piece(Int32(t))
                if !bytes.isEmpty { headTexts[bytes, default: []].append(Int32(t)) }
            } else if groups.first[t] >= 0 {
                pairs.append((groups.first[t], Int32(t)))
            }
        }
        // n's text begins with t's (t no longer than n) ...
        var nativeTexts: [[UInt8]: [Int32]] = [:]
        for n in 0..<nativeVocabulary.count where plain(nativeVocabulary, n) {
            let bytes = native.tokenizer.piece(Int32(n))
            guard !bytes.isEmpty else { continue }
            nativeTexts[bytes, default: []].append(Int32(n))
            for k in 1...bytes.count {
                for t in headTexts[Array(bytes[0..<k])] ?? [] { pairs.append((Int32(n), t)) }
            }
        }
        // ... or t's text begins with n's, n shorter.
        for (bytes, ts) in headTexts where bytes.count > 1 {
            for k in 1..<bytes.count {
                for n in nativeTexts[Array(bytes[0..<k])] ?? [] { pairs.append(contentsOf: ts.map { (n, $0) }) }
            }
        }
        func lists(_ keys: [Int32], _ values: [Int32], count: Int) -> (start: [Int32], ids: [Int32]) {
            var start = [Int32](repeating: 0, count: count + 1)
            for k in keys { start[Int(k) + 1] += 1 }
            for i in 0..<count { start[i + 1] += start[i] }
            var next = start, ids = [Int32](repeating: 0, count: keys.count)
            for (k, v) in zip(keys, values) {
                ids[Int(next[Int(k)])] = v
                next[Int(k)] += 1
            }
            return (start, ids)
        }
        pairs.sort { ($0.native, $0.head) < ($1.native, $1.head) }
        let byNative = lists(pairs.map(\.native), pairs.map(\.head), count: nativeVocabulary.count)
        (headStart, headIds) = byNative
        (nativeStart, nativeIds) = lists(pairs.map(\.head), pairs.map(\.native), count: count)
        natives = (0..<nativeVocabulary.count).filter { byNative.start[$0 + 1] > byNative.start[$0] }.map(Int32.init)
    }

    /// The head tokens compatible with native token `n`.
    public func heads(of n: Int) -> ArraySlice<Int32> { headIds[Int(headStart[n])..<Int(headStart[n + 1])] }

    /// The native tokens compatible with head token `t`.
    public func natives(of t: Int) -> ArraySlice<Int32> { nativeIds[Int(nativeStart[t])..<Int(nativeStart[t + 1])] }
}
