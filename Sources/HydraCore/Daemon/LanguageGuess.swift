/// A guess at the language of a text from its script and a few letters
/// that only some languages of that script use. Meant for editors that
/// pick a translation direction, not as a language identifier.
public enum LanguageGuess {
    /// Checked in order: the first language with one of its letters in the
    /// text wins (Bashkir and Kazakh before Tatar, whose letters they share).
    static let telltales: [(code: String, letters: String)] = [
        ("ba", "ҙҡҫ"), ("kk", "құғ"), ("tt", "әөүҗңһ"), ("uk", "іїєґ"),
        ("de", "äöüß"), ("tr", "ğış"), ("pl", "ąęłńśźż"), ("es", "ñ¿¡"),
        ("pt", "ãõ"), ("fr", "èêàçùœë"),
    ]

    /// The language guessed for a script when no telltale letter is found.
    static let fallback: [Script: String] = [.latin: "en", .cyrillic: "ru", .han: "zh", .arabic: "ar"]

    /// The script of most letters, the best guess, and every candidate.
    public static func detect(_ text: String) -> DetectResult {
        guard let script = Script.dominant(in: text) else {
            return DetectResult(script: nil, language: nil, candidates: [])
        }
        var candidates = Language.known.filter { $0.script == script }.map(\.code)
        let letters = Set(text.lowercased().unicodeScalars)
        let found = telltales.first { t in
            candidates.contains(t.code) && t.letters.unicodeScalars.contains { letters.contains($0) }
        }?.code
        if let best = found ?? fallback[script], candidates.contains(best) {
            candidates.removeAll { $0 == best }
            candidates.insert(best, at: 0)
        }
        return DetectResult(script: script.description, language: candidates.first, candidates: candidates)
    }
}
