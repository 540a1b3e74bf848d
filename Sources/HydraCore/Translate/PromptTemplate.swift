/// The chat format a model was tuned with, rendered without a template
/// engine: the known models use one of a few fixed formats.
public enum ChatFormat: String, Sendable {
    /// `<|im_start|>role\n...<|im_end|>` (Qwen, SmolLM).
    case chatml
    /// `<start_of_turn>user\n...<end_of_turn>` (Gemma).
    case gemma
    /// No chat markup: the instruction and text as plain lines.
    case plain

    /// The format of a model, from its GGUF chat template or architecture.
    public static func detect(chatTemplate: String?, architecture: String?) -> ChatFormat {
        if let t = chatTemplate {
            if t.contains("<|im_start|>") { return .chatml }
            if t.contains("<start_of_turn>") { return .gemma }
        }
        if let a = architecture, a.hasPrefix("gemma") { return .gemma }
        if let a = architecture, a == "qwen2" { return .chatml }
        return .plain
    }

    /// A conversation of one user turn, ready for the model to answer.
    /// Special tokens are written as text; tokenize with special parsing on.
    public func render(system: String?, user: String) -> String {
        switch self {
        case .chatml:
            var s = ""
            if let system { s += "<|im_start|>system\n\(system)<|im_end|>\n" }
            return s + "<|im_start|>user\n\(user)<|im_end|>\n<|im_start|>assistant\n"
        case .gemma:
            // Gemma has no system role: the system text leads the user turn.
            let text = system.map { "\($0)\n\n\(user)" } ?? user
            return "<start_of_turn>user\n\(text)<end_of_turn>\n<start_of_turn>model\n"
        case .plain:
            return (system.map { "\($0)\n\n" } ?? "") + user + "\n\n"
        }
    }
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

    public var system: String {
        "You are a professional translator. Translate the user's \(source.name) text into \(target.name). "
            + "Reply with the \(target.name) translation only, keeping the meaning, tone and formatting."
    }

    public func user(_ text: String) -> String {
        "Translate from \(source.name) to \(target.name):\n\n\(text)"
    }

    public func render(_ text: String, format: ChatFormat) -> String {
        format.render(system: system, user: user(text))
    }
}
