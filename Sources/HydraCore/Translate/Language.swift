/// A language hydra can be asked to translate from or to.
public struct Language: Hashable, Sendable {
    /// BCP-47 code ("en", "tt", "ru").
    public let code: String
    /// English name, used in translation prompts.
    public let name: String
    /// The script its text is written in, when it has one main script.
    public let script: Script?

    /// The languages hydra knows by code.
    public static let known: [Language] = [
        Language(code: "en", name: "English", script: .latin),
        Language(code: "tt", name: "Tatar", script: .cyrillic),
        Language(code: "ru", name: "Russian", script: .cyrillic),
        Language(code: "ba", name: "Bashkir", script: .cyrillic),
        Language(code: "kk", name: "Kazakh", script: .cyrillic),
        Language(code: "uk", name: "Ukrainian", script: .cyrillic),
        Language(code: "de", name: "German", script: .latin),
        Language(code: "fr", name: "French", script: .latin),
        Language(code: "es", name: "Spanish", script: .latin),
        Language(code: "it", name: "Italian", script: .latin),
        Language(code: "nl", name: "Dutch", script: .latin),
        Language(code: "pt", name: "Portuguese", script: .latin),
        Language(code: "pl", name: "Polish", script: .latin),
        Language(code: "tr", name: "Turkish", script: .latin),
        Language(code: "zh", name: "Chinese", script: .han),
        Language(code: "ja", name: "Japanese", script: nil),
        Language(code: "ar", name: "Arabic", script: .arabic),
    ]

    /// Looks a language up by code (case-insensitive; "tt-RU" finds "tt").
    public static func named(_ code: String) throws -> Language {
        let lower = code.lowercased()
        let primary = lower.split(separator: "-").first.map(String.init) ?? lower
        if let l = known.first(where: { $0.code == lower || $0.code == primary }) { return l }
        throw HydraError.unknownLanguage(code)
    }
}
