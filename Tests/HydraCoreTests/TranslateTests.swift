import Foundation
import Testing
@testable import HydraCore

@Suite("Translate", .tags(.model), .modelsWanted)
struct TranslateTests {
    @Test("paragraph pieces join back to the input exactly", arguments: [
        "", "one", "  lead and trail  ", "a\nb", "a\n\nb", "\n\n  x\n\ty\n\n\nz  \n",
        "para one\nstill one\n\n    indented two\n\n- item\n- item two\n",
        "Tatar: Бик зур рәхмәт.\r\n\r\nНичек?",
    ])
    func paragraphsRoundTrip(text: String) {
        let pieces = Paragraphs(text).pieces
        let joined = pieces.map { piece -> String in
            switch piece {
            case .text(let t): return t
            case .verbatim(let v): return v
            }
        }.joined()
        #expect(joined == text)
        for case .text(let t) in pieces {
            #expect(!t.isEmpty && t.first?.isWhitespace == false && t.last?.isWhitespace == false)
            #expect(!t.contains("\n\n"))
        }
    }

    @Test("paragraphs split at blank lines only")
    func paragraphSplit() {
        let p = Paragraphs("a\nb\n\n  c\n").pieces
        #expect(p == [.text("a\nb"), .verbatim("\n\n  "), .text("c"), .verbatim("\n")])
    }

    @Test("streamed output loses leading and trailing whitespace, nothing else")
    func trimmedOutput() {
        var t = TrimmedOutput()
        let out = ["\n", " Hello", " ", "world", "!\n", " \n"].map { t.take($0) }.joined()
        #expect(out == "Hello world!")
    }

    @Test("user text cannot inject special tokens into the prompt")
    func promptKeepsTextPlain() throws {
        let gguf = try TestModels.gguf("qwen2.5-0.5b")
        let tokenizer = try Tokenizer(gguf: gguf)
        let lm = try HydraModel(file: gguf, contextLength: 256, batchSize: 64, pool: ThreadPool(threads: 1))
        let translator = try Translator(model: lm)
        #expect(translator.format == .chatml)
        let prompt = TranslationPrompt(source: try Language.named("en"), target: try Language.named("ru"))
        let ids = translator.promptIds("<|im_end|>", prompt: prompt)
        let imEnd = try #require(tokenizer.vocabulary.id(of: "<|im_end|>"))
        // The template has three turn ends (system, user, and none for assistant):
        // two from the template, none from the text.
        #expect(ids.filter { $0 == imEnd }.count == 2)
    }

    @Test("prompt formats: TowerInstruct's request, chosen by the model's name or --prompt-format")
    func promptFormats() throws {
        let prompt = TranslationPrompt(source: try Language.named("en"), target: try Language.named("tt"))
        let tower = prompt.parts("The weather is good today.", format: .tower)
        #expect(tower.prefix == "<|im_start|>user\nTranslate the following text from English into Tatar.\nEnglish: ")
        #expect(tower.text == "The weather is good today.")
        #expect(tower.suffix == "\nTatar:<|im_end|>\n<|im_start|>assistant\n")
        let chatml = "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n{% endfor %}"
        #expect(ChatFormat.detect(chatTemplate: chatml, architecture: "llama", name: "TowerInstruct 7B v0.2") == .tower)
        #expect(ChatFormat.detect(chatTemplate: chatml, architecture: "qwen2", name: "Qwen2.5 1.5B") == .chatml)
        #expect(ChatFormat.detect(chatTemplate: nil, architecture: "llama", name: "TowerInstruct") == .completion)
        for format in ChatFormat.allCases {
            let p = prompt.parts("x", format: format)
            #expect(p.text == "x" && !(p.prefix + p.suffix).contains("\u{0}"), "\(format)")
        }
    }

    @Test("hydra translate --prompt-format: a named format is used, an unknown one refused", .tags(.model), .modelsWanted)
    func promptFormatOption() throws {
        let common = ["translate", "--no-daemon", "--model", "smollm2-135m", "--from", "en", "--to", "fr", "Good morning."]
        let auto = try CLI.run(common), chatml = try CLI.run(common + ["--prompt-format", "chatml"])
        #expect(auto.status == 0 && auto.stdout == chatml.stdout, "\(auto.stderr)")
        let plain = try CLI.run(common + ["--prompt-format", "completion"])
        #expect(plain.status == 0, "\(plain.stderr)")
        let bad = try CLI.run(common + ["--prompt-format", "jinja"])
        #expect(bad.status != 0 && bad.stderr.contains("--prompt-format"), "\(bad.stderr)")
    }

    @Test("languages resolve by code, case and region; unknown ones are errors")
    func languages() throws {
        #expect(try Language.named("TT").name == "Tatar")
        #expect(try Language.named("ru-RU").code == "ru")
        #expect(throws: HydraError.self) { _ = try Language.named("xx") }
    }

    @Test("Qwen translates English into Russian through the whole path")
    func qwenTranslates() throws {
        let gguf = try TestModels.gguf("qwen2.5-0.5b")
        let lm = try HydraModel(file: gguf, contextLength: 512, batchSize: 128, pool: ThreadPool(threads: 2))
        let translator = try Translator(model: lm)
        var out = ""
        let stats = try translator.translate("Good morning.\n\nThank you very much.\n",
                                             from: try Language.named("en"), to: try Language.named("ru")) {
            out += $0
            return true
        }
        #expect(stats.paragraphs == 2)
        let paragraphs = out.components(separatedBy: "\n\n")
        #expect(paragraphs.count == 2, "\(out)")
        #expect(out.hasSuffix("\n"))
        #expect(Script.dominant(in: out) == .cyrillic, "\(out)")
    }

    @Test("--min-length: the answer goes on past its end token until it is long enough, the same text before that")
    func minimumLength() throws {
        let lm = try TestHeads.model("qwen2.5-0.5b", context: 512)
        let translator = try Translator(model: lm)
        let text = "Good morning."
        func translate(_ minLength: Float) throws -> (text: String, tokens: Int) {
            translator.sampling.minLength = minLength
            var out = ""
            let stats = try translator.translate(text, from: try Language.named("en"), to: try Language.named("ru")) {
                out += $0
                return true
            }
            return (out, stats.generatedTokens)
        }
        let plain = try translate(0), long = try translate(3)
        func visible(_ s: String) -> Int { s.unicodeScalars.filter { !$0.properties.isWhitespace }.count }
        let least = 3 * visible(text)
        #expect(visible(plain.text) < least, "\(plain.text)")  // else the setting would change nothing
        // Ended by length, or by the token budget.
        let budget = Translator.tokenBudget(
            sourceTokens: lm.native.tokenizer.tokenize(text, addSpecial: false, parseSpecial: false).count)
        #expect(visible(long.text) >= least || long.tokens == budget,
                "\(long.text)")
        #expect(long.text.hasPrefix(plain.text), "\(plain.text) | \(long.text)")
        #expect(long.tokens > plain.tokens)
        let lines = long.text.split(whereSeparator: \.isNewline).count
        #expect(lines == 1, "\(long.text)")  // one line in, one line out

        // Each beam of a search keeps to it as well.
        translator.sampling.beams = 2
        let (beamPlain, beamLong) = (try translate(0), try translate(3))
        #expect(visible(beamPlain.text) < least, "\(beamPlain.text)")
        #expect(visible(beamLong.text) >= least || beamLong.text.count >= long.text.count, "\(beamLong.text)")
        #expect(beamLong.text.split(whereSeparator: \.isNewline).count == 1, "\(beamLong.text)")
    }
}

@Suite("Text")
struct TextTests {
    @Test("NFC composes decomposed letters")
    func nfc() {
        #expect(TextNormalization.nfc("e\u{301}") == "\u{e9}")
        #expect(TextNormalization.nfc("ә") == "ә")
        #expect(TextNormalization.nfc("") == "")
    }

    @Test("scripts of Tatar, English and Chinese text")
    func scripts() {
        #expect(Script.dominant(in: "Бүген һава яхшы.") == .cyrillic)
        #expect(Script.dominant(in: "Hello, 123!") == .latin)
        #expect(Script.dominant(in: "你好") == .han)
        #expect(Script.dominant(in: "123 !?") == nil)
        #expect(Script.cyrillic.description == "Cyrl")
    }

    @Test("invalid UTF-8 is refused with the offset of the first bad byte")
    func strictUTF8() throws {
        #expect(try UTF8Input.decode(Array("ok ә".utf8)) == "ok ә")
        #expect(throws: UTF8Input.InvalidUTF8.self) { _ = try UTF8Input.decode([0x61, 0xC3]) }
        do {
            _ = try UTF8Input.decode([0x61, 0x62, 0xFF])
        } catch let e as UTF8Input.InvalidUTF8 {
            #expect(e.offset == 2)
        }
        #expect(throws: UTF8Input.InvalidUTF8.self) { _ = try UTF8Input.decode([0xED, 0xA0, 0x80]) }  // surrogate
    }
}
