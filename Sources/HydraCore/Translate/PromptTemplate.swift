import Foundation

/// The chat format a model was tuned with, rendered without a template
/// engine: the known models use one of a few fixed formats.
public enum ChatFormat: String, Sendable, CaseIterable, Codable {
    /// `<|im_start|>role\n...<|im_end|>` (Qwen, SmolLM).
    case chatml
    /// ChatML with TowerInstruct's own request and no system turn:
    /// "Translate the following text from English into Tatar.\nEnglish: …\nTatar:".
    case tower
    /// `<start_of_turn>user\n...<end_of_turn>` (Gemma).
    case gemma
    /// No chat markup: the instruction and text as plain lines.
    case plain
    /// A base model without chat tuning: "English: …\nTatar:" completion.
    case completion

    /// The format of a model, from its GGUF chat template or architecture.
    public static func detect(chatTemplate: String?, architecture: String?, name: String? = nil) -> ChatFormat {
        if let t = chatTemplate {
            if t.contains("<|im_start|>") {
                // TowerInstruct (and the Hydra models built on it) were tuned on their own request.
                return name?.lowercased().contains("tower") == true ? .tower : .chatml
            }
            if t.contains("<start_of_turn>") { return .gemma }
        }
        // No template: a base model, best prompted to complete a line.
        return .completion
    }

    /// A conversation of one user turn, ready for the model to answer.
    /// Special tokens are written as text; tokenize with special parsing on.
    public func render(system: String?, user: String) -> String {
        switch self {
        case .chatml, .tower:
            var s = ""
            if let system { s += "<|im_start|>system\n\(system)<|im_end|>\n" }
            return s + "<|im_start|>user\n\(user)<|im_end|>\n<|im_start|>assistant\n"
        case .gemma:
            // Gemma has no system role: the system text leads the user turn.
            let text = system.map { "\($0)\n\n\(user)" } ?? user
            return "<start_of_turn>user\n\(text)<end_of_turn>\n<start_of_turn>model\n"
        case .plain, .completion:
            return (system.map { "\($0)\n\n" } ?? "") + user + "\n\n"
        }
    }
}

/// A prompt with the user's text kept apart from the template around it,
/// so the text is tokenized without special-token parsing: text that looks
/// like "<|im_end|>" cannot end the turn early.
public struct PromptParts: Sendable, Equatable {
    /// Template text before the user's text (special tokens parsed).
    public let prefix: String
    /// The user's text (tokenized as plain text).
    public let text: String
    /// Template text after it (special tokens parsed).
    public let suffix: String
}

/// The translation prompt hydra sends: an instruction naming both
/// languages, then the text.
public struct TranslationPrompt: Sendable {
    public let source: Language
    public let target: Language

    public init(source: Language, target: Language) {
        self.source = source
        self.target = target
    }

    /// The prompt for an answer that `head` writes in `target`: it names the
    /// head's prompt language where the head has one (`HeadInfo.promptLanguage`).
    public init(source: Language, target: Language, answeredBy head: Head) throws {
        self.init(source: source, target: try head.info.promptLanguage.map(Language.named) ?? target)
    }

    public var system: String {
        "You are a professional translator. Translate the user's \(source.name) text into \(target.name). "
            + "Reply with the \(target.name) translation only, keeping the meaning, tone and formatting."
    }

    public var instruction: String { "Translate from \(source.name) to \(target.name):\n\n" }

    /// An example pair shown to base models, where hydra has one for both languages.
    static let examples: [String: String] = [
        "en": "Thank you very much.", "tt": "Бик зур рәхмәт.", "ru": "Большое спасибо.",
        "de": "Vielen Dank.", "fr": "Merci beaucoup.", "es": "Muchas gracias.",
        "uk": "Щиро дякую.", "kk": "Үлкен рахмет.", "ba": "Бик ҙур рәхмәт.",
    ]

    /// The prompt for `text` in a model's chat format.
    public func parts(_ text: String, format: ChatFormat) -> PromptParts {
        if format == .completion {
            var prefix = ""
            if let a = Self.examples[source.code], let b = Self.examples[target.code] {
                prefix = "\(source.name): \(a)\n\(target.name): \(b)\n"
            }
            return PromptParts(prefix: prefix + "\(source.name): ", text: text, suffix: "\n\(target.name):")
        }
        let marker = "\u{0}HYDRA-TEXT\u{0}"
        let whole = format == .tower
            ? format.render(system: nil, user: "Translate the following text from \(source.name) into \(target.name).\n"
                                + "\(source.name): \(marker)\n\(target.name):")
            : format.render(system: system, user: instruction + marker)
        let split = whole.components(separatedBy: marker)
        return PromptParts(prefix: split[0], text: text, suffix: split.count > 1 ? split[1] : "")
    }
}
