/// A guess at the language of a text from its script, a few letters that
/// only some languages of that script use, and (when given) how well the
/// model's heads cover it. Meant for editors and `--from auto` that pick a
/// translation direction, not as a language identifier.
public enum LanguageGuess {
    /// Checked in order: the first language with one of its letters in the
    /// text wins (Bashkir and Kazakh before Tatar, whose letters they share).
    static let telltales: [(code: String, letters: String)] = [
        ("ba", "ҙҡҫ"), ("kk", "құғ"), ("tt", "әөүҗңһ"), ("uk", "іїєґ"),
        ("de", "äöüß"), ("tr", "ğış"), ("pl", "ąęłńśźż"), ("es", "ñ¿¡"),
        ("pt", "ãõ"), ("fr", "èêàçùœë"),
    ]

    /// The language guessed for a script when nothing else tells.
    static let fallback: [Script: String] = [.latin: "en", .cyrillic: "ru", .han: "zh", .arabic: "ar"]

    /// The script of most letters, the best guess, and every candidate.
    ///
    /// With `coverage`, a language of the script whose head splits the text
    /// into fewer tokens than the model's own tokenizer is preferred (the
    /// one with the fewest, when several do). Letters still decide for a
    /// language that has no head (Bashkir letters in text a Tatar head
    /// also covers well); for a language that has one, its head decides
    /// (Russian text with one Tatar letter in a name is not Tatar).
    public static func detect(_ text: String, coverage: HeadCoverage? = nil) -> DetectResult {
        guard let script = Script.dominant(in: text) else {
            return DetectResult(script: nil, language: nil, candidates: [])
        }
        var candidates = Language.known.filter { $0.script == script }.map(\.code)
        let letters = Set(text.lowercased().unicodeScalars)
        let found = telltales.first { t in
            candidates.contains(t.code) && t.letters.unicodeScalars.contains { letters.contains($0) }
        }?.code
        var best = found
        if let coverage {
            let ratios = coverage.ratios(text, languages: candidates)
            let covered = ratios.filter { $0.value < 1 }.min { a, b in (a.value, a.key) < (b.value, b.key) }?.key
            if found == nil || ratios[found!] != nil { best = covered }
        }
        if let best = best ?? fallback[script], candidates.contains(best) {
            candidates.removeAll { $0 == best }
            candidates.insert(best, at: 0)
        }
        return DetectResult(script: script.description, language: candidates.first, candidates: candidates)
    }
}
