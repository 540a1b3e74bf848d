/// The Unicode facts the pre-tokenizer regexes ask about one code point:
/// its general category group (\p{L}, \p{N}, ...) and whether it is
/// white space (\s), as in llama.cpp's unicode tables.
struct CodepointFlags: OptionSet, Sendable {
    let rawValue: UInt16

    static let undefined = CodepointFlags(rawValue: 1 << 0)    // Cn
    static let number = CodepointFlags(rawValue: 1 << 1)       // \p{N}
    static let letter = CodepointFlags(rawValue: 1 << 2)       // \p{L}
    static let separator = CodepointFlags(rawValue: 1 << 3)    // \p{Z}
    static let mark = CodepointFlags(rawValue: 1 << 4)         // \p{M}
    static let punctuation = CodepointFlags(rawValue: 1 << 5)  // \p{P}
    static let symbol = CodepointFlags(rawValue: 1 << 6)       // \p{S}
    static let control = CodepointFlags(rawValue: 1 << 7)      // \p{C}
    static let whitespace = CodepointFlags(rawValue: 1 << 8)   // \s (White_Space)

    /// Flags of a position outside the text: no category at all, so every
    /// "is it X" question answers no and "is it anything" answers no too.
    static let outside: CodepointFlags = []

    var isNumber: Bool { contains(.number) }
    var isLetter: Bool { contains(.letter) }
    var isWhitespace: Bool { contains(.whitespace) }
    /// True for every real code point (llama.cpp's `flags.as_uint() != 0`).
    var isInside: Bool { rawValue != 0 }

    /// The flags of a code point. The first 0x3000 code points (Latin,
    /// Cyrillic, Arabic, Indic, ...) come from a table built once.
    static func of(_ cp: UInt32) -> CodepointFlags {
        if cp < UInt32(table.count) { return table[Int(cp)] }
        return compute(cp)
    }

    private static let table: [CodepointFlags] = (0..<0x3000).map { compute(UInt32($0)) }

    private static func compute(_ cp: UInt32) -> CodepointFlags {
        guard let scalar = Unicode.Scalar(cp) else { return .control }  // surrogates: Cs
        let p = scalar.properties
        var flags: CodepointFlags
        // llama.cpp's tables are Unicode 15.1: later characters are unassigned there.
        let newer = p.age.map { $0.major > 15 || ($0.major == 15 && $0.minor > 1) } ?? false
        switch newer ? .unassigned : p.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter:
            flags = .letter
        case .nonspacingMark, .spacingMark, .enclosingMark:
            flags = .mark
        case .decimalNumber, .letterNumber, .otherNumber:
            flags = .number
        case .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
             .initialPunctuation, .finalPunctuation, .otherPunctuation:
            flags = .punctuation
        case .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            flags = .symbol
        case .spaceSeparator, .lineSeparator, .paragraphSeparator:
            flags = .separator
        case .control, .format, .surrogate, .privateUse:
            flags = .control
        case .unassigned:
            flags = .undefined
        @unknown default:
            flags = .undefined
        }
        if p.isWhitespace { flags.insert(.whitespace) }
        return flags
    }
}
