/// What the builders need to know about pairs of vocabularies: which special
/// tokens correspond, and how to tokenize a bare piece of text.
enum TokenCorrespondence {
    /// Target special (control or unknown) token → its source counterpart: the
    /// same role (BOS, EOS, unknown, padding, end of turn, ...) or else the same text.
    static func specialCounterparts(target: Vocabulary, source: Vocabulary) -> [Int: Int32] {
        var out: [Int: Int32] = [:]
        let roles: [(Int32?, Int32?)] = [(target.bos, source.bos), (target.eos, source.eos), (target.unk, source.unk),
                                         (target.pad, source.pad), (target.eot, source.eot), (target.eom, source.eom),
                                         (target.sep, source.sep)]
        for case let (t?, s?) in roles { out[Int(t)] = s }
        for j in 0..<target.count where out[j] == nil && isSpecial(target, j) {
            if let i = source.id(of: target.tokens[j]), isSpecial(source, Int(i)) { out[j] = i }
        }
        return out
    }

    /// Control and unknown tokens have no surface text to decompose.
    static func isSpecial(_ v: Vocabulary, _ id: Int) -> Bool {
        !v.attributes[id].isDisjoint(with: [.control, .unknown, .unused])
    }

    /// A tokenizer that splits a bare piece exactly: SentencePiece vocabularies
    /// that add a space in front of text get a copy that does not.
    static func bareTokenizer(_ tokenizer: Tokenizer) -> Tokenizer {
        let v = tokenizer.vocabulary
        guard v.kind == .sentencePiece && v.addSpacePrefix else { return tokenizer }
        func i(_ id: Int32?) -> Int? { id.map { Int($0) } }
        let copy = try? Vocabulary(model: v.model, tokens: v.tokens, scores: v.scores,
                                   tokenTypes: v.attributes.map { $0.ggufTokenType },
                                   special: .init(bos: i(v.bos), eos: i(v.eos), eot: i(v.eot), eom: i(v.eom),
                                                  unk: i(v.unk), sep: i(v.sep), pad: i(v.pad)),
                                   addBOS: v.addBOS, addEOS: v.addEOS, addSpacePrefix: false)
        return copy.map { Tokenizer(vocabulary: $0) } ?? tokenizer
    }

    /// Source token ids of raw bytes, no BOS/EOS, special texts not parsed.
    static func tokenize(_ bytes: [UInt8], with tokenizer: Tokenizer) -> [Int32] {
        bytes.withUnsafeBufferPointer { tokenizer.tokenize(bytes: $0, addSpecial: false, parseSpecial: false) }
    }
}
