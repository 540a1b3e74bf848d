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

    /// A conversation ready for the model to answer: earlier turns (a
    /// request and its answer each), then the user's turn.
    /// Special tokens are written as text; tokenize with special parsing on.
    public func render(system: String?, turns: [(user: String, answer: String)] = [], user: String) -> String {
        switch self {
        case .chatml, .tower:
            var s = ""
            if let system { s += "<|im_start|>system\n\(system)<|im_end|>\n" }
            for t in turns { s += "<|im_start|>user\n\(t.user)<|im_end|>\n<|im_start|>assistant\n\(t.answer)<|im_end|>\n" }
            return s + "<|im_start|>user\n\(user)<|im_end|>\n<|im_start|>assistant\n"
        case .gemma:
            // Gemma has no system role: the system text leads the first user turn.
            let lead = system.map { "\($0)\n\n" } ?? ""
            var s = ""
            for (i, t) in turns.enumerated() {
                s += "<start_of_turn>user\n\(i == 0 ? lead : "")\(t.user)<end_of_turn>\n"
                    + "<start_of_turn>model\n\(t.answer)<end_of_turn>\n"
            }
            return s + "<start_of_turn>user\n\(turns.isEmpty ? lead : "")\(user)<end_of_turn>\n<start_of_turn>model\n"
        case .plain, .completion:
            return (system.map { "\($0)\n\n" } ?? "") + turns.map { "\($0.user)\n\n\($0.answer)\n\n" }.joined()
                + user + "\n\n"
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
    /// The language the prompt names as the target.
    public let target: Language
    /// The language the answer is written in: `target`, unless the head
    /// that writes it asks the prompt to name another (`init(source:target:answeredBy:)`).
    public let answer: Language

    public init(source: Language, target: Language) {
        self.init(source: source, target: target, answer: target)
    }

    /// A prompt that names `target` for an answer written in `answer`.
    public init(source: Language, target: Language, answer: Language) {
        self.source = source
        self.target = target
        self.answer = answer
    }

    /// The prompt for an answer that `head` writes in `target`: it names the
    /// head's prompt language where the head has one (`HeadInfo.promptLanguage`),
    /// except when it shows examples (`pieces`).
    public init(source: Language, target: Language, answeredBy head: Head) throws {
        self.init(source: source, target: try head.info.promptLanguage.map(Language.named) ?? target, answer: target)
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
        let all = pieces(text, format: format)
        let at = all.firstIndex(of: .source(text))!
        func template(_ part: ArraySlice<PromptPiece>) -> String {
            part.map { if case .template(let t) = $0 { t } else { "" } }.joined()
        }
        return PromptParts(prefix: template(all[..<at]), text: text, suffix: template(all[(at + 1)...]))
    }

    /// The prompt for `text` as pieces to tokenize apart, with `examples`
    /// (pairs from a translation memory) shown as earlier requests and
    /// their answers, and then no system text; a base model's prompt shows
    /// them as lines instead of the built-in example pair.
    public func pieces(_ text: String, format: ChatFormat, examples: [TranslationMemory.Pair] = []) -> [PromptPiece] {
        // Examples show the answer's own language, so the prompt names it
        // (on qwen2.5-1.5b's Tatar head, 3 examples: chrF 25.8 against 24.5
        // naming Russian, greedy, first 60 held-out pairs).
        if !examples.isEmpty && answer != target {
            return TranslationPrompt(source: source, target: answer).pieces(text, format: format, examples: examples)
        }
        // Each text is a marker in the rendered template, then cut out.
        let source = "\u{0}s\u{0}", target = "\u{0}t\u{0}"
        let whole: String
        switch format {
        case .completion:
            var lines = examples.map { _ in "\(self.source.name): \(source)\n\(self.target.name): \(target)\n" }
            if examples.isEmpty, let a = Self.examples[self.source.code], let b = Self.examples[self.target.code] {
                lines = ["\(self.source.name): \(a)\n\(self.target.name): \(b)\n"]
            }
            whole = lines.joined() + "\(self.source.name): \(source)\n\(self.target.name):"
        case .tower:
            func request(_ marker: String) -> String {
                "Translate the following text from \(self.source.name) into \(self.target.name).\n"
                    + "\(self.source.name): \(marker)\n\(self.target.name):"
            }
            whole = format.render(system: nil, turns: examples.map { _ in (request(source), target) }, user: request(source))
        case .chatml, .gemma, .plain:
            // Examples show the task, so they go without the system text: on
            // qwen2.5-1.5b's Tatar head, 3 examples, first 60 held-out pairs,
            // chrF 25.88 against 25.91 with it, in 19 % less time (119 prompt
            // tokens instead of 156 on a short sentence). Each turn keeps the
            // instruction: without it in the examples' turns chrF fell to 17.10.
            whole = format.render(system: examples.isEmpty ? system : nil,
                                  turns: examples.map { _ in (instruction + source, target) },
                                  user: instruction + source)
        }
        var sources = examples.map(\.source) + [text], targets = examples.map(\.target)
        var out: [PromptPiece] = []
        for (i, part) in whole.split(separator: "\u{0}", omittingEmptySubsequences: false).enumerated() {
            if i % 2 == 0 {
                if !part.isEmpty { out.append(.template(String(part))) }
            } else if part == "s" {
                out.append(.source(sources.removeFirst()))
            } else {
                out.append(.target(targets.removeFirst()))
            }
        }
        return out
    }
}

/// A piece of a prompt, tokenized on its own: template text (special
/// tokens parsed) or a text written in the prompt's source or target
/// language (plain text, through that language's head).
public enum PromptPiece: Sendable, Equatable {
    case template(String)
    case source(String)
    case target(String)
}
