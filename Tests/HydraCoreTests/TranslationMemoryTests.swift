import Foundation
import Testing
@testable import HydraCore

/// Translation memories and the example pairs they put in the prompt
/// (`--examples`, `--memory`, a head's stored memory).
@Suite("Translation memory")
struct TranslationMemoryTests {
    static let en = try! Language.named("en"), tt = try! Language.named("tt"), ru = try! Language.named("ru")

    static func pair(_ s: String, _ t: String) -> TranslationMemory.Pair { .init(source: s, target: t) }

    static let pairs = [pair("Save the file", "Файлны саклау"), pair("Open the file", "Файлны ачу"),
                        pair("Save the image as a new file with another name", "Рәсемне яңа исем белән саклау"),
                        pair("Quit", "Чыгу")]

    @Test("the nearest pairs: rare shared words count, words the text lacks count against; the nearest last")
    func nearest() throws {
        let memory = try TranslationMemory(pairs: Self.pairs, sourceLanguage: "en")
        // ln(4/2) for "save", ln(4/3) for "the" and "file", ln 4 for words of one pair:
        // "Save the file" 1.27, "Open the file" 0.58 - 0.3 × 1.39 = 0.16, the long pair
        // 1.27 - 0.3 × 7 × 1.39 < 0 (left out), "Quit" shares nothing.
        #expect(memory.nearest("Save the file?", count: 3) == [Self.pairs[1], Self.pairs[0]])
        #expect(memory.nearest("SAVE THE FILE", count: 1) == [Self.pairs[0]])
        #expect(memory.nearest("Save the file", count: 0).isEmpty)
        #expect(memory.nearest("Nothing alike here", count: 3).isEmpty)
        // Equal scores keep the memory's order (the first is the nearest, so last).
        let twins = try TranslationMemory(pairs: [Self.pair("Close", "Ябу"), Self.pair("close", "Ябырга"), Self.pair("Quit", "Чыгу")],
                                          sourceLanguage: "en")
        #expect(twins.nearest("close", count: 2) == [twins.pairs[1], twins.pairs[0]])
        // Tuning on the memory's own pairs: a pair whose text is the text is never shown.
        #expect(memory.nearest("Save the file", count: 3, excludingItself: true) == [Self.pairs[1]])
        #expect(memory.nearest(" Save the file\n", count: 3, excludingItself: true) == [Self.pairs[1]])
        #expect(twins.nearest("close", count: 2, excludingItself: true) == [twins.pairs[0]])
        #expect(throws: HydraError.self) { try TranslationMemory(pairs: [], sourceLanguage: "en") }
    }

    @Test("a memory file: a text, a tab and its translation per line; anything else is refused with its line")
    func readFile() throws {
        let path = temporaryPath("memory.tsv")
        defer { try? FileManager.default.removeItem(atPath: path) }
        func write(_ bytes: [UInt8]) throws { try Data(bytes).write(to: URL(fileURLWithPath: path)) }
        try write(Array("Save the file\tФайлны саклау\r\n\nQuit\tЧыгу\textra\n".utf8))
        let memory = try TranslationMemory.read(tsv: path, sourceLanguage: "en")
        #expect(memory.pairs == [Self.pair("Save the file", "Файлны саклау"), Self.pair("Quit", "Чыгу")])
        #expect(memory.sourceLanguage == "en")
        for (bad, why) in [(Array("Save\tСаклау\nno tab here\n".utf8), ":2:"), (Array("Save\t \n".utf8), ":1:"),
                           ([0x53, 0x09, 0xff, 0xfe, 0x0a], "UTF-8"), (Array(" \n\n".utf8), "no pairs")] {
            try write(bad)
            #expect(throws: HydraError.self) { try TranslationMemory.read(tsv: path, sourceLanguage: "en") }
            do { _ = try TranslationMemory.read(tsv: path, sourceLanguage: "en") } catch {
                #expect("\(error)".contains(why), "\(error)")
            }
        }
        #expect(throws: HydraError.self) { try TranslationMemory.read(tsv: path + ".missing", sourceLanguage: "en") }
    }

    @Test("examples are earlier turns of the chat (then without the system text), their answers in the answer's language; none: the prompt as before")
    func promptPieces() throws {
        let prompt = TranslationPrompt(source: Self.en, target: Self.tt)
        let examples = [Self.pairs[1], Self.pairs[0]]
        let pieces = prompt.pieces("Save it", format: .chatml, examples: examples)
        // Examples show the task: no system turn then.
        let expected = "<|im_start|>user\n\(prompt.instruction)Open the file<|im_end|>\n<|im_start|>assistant\nФайлны ачу<|im_end|>\n"
            + "<|im_start|>user\n\(prompt.instruction)Save the file<|im_end|>\n<|im_start|>assistant\nФайлны саклау<|im_end|>\n"
            + "<|im_start|>user\n\(prompt.instruction)Save it<|im_end|>\n<|im_start|>assistant\n"
        let whole = pieces.map { piece -> String in
            switch piece { case .template(let t), .source(let t), .target(let t): t }
        }.joined()
        #expect(whole == expected)
        #expect(pieces.filter { if case .source = $0 { true } else { false } }
                == [.source("Open the file"), .source("Save the file"), .source("Save it")])
        #expect(pieces.filter { if case .target = $0 { true } else { false } }
                == [.target("Файлны ачу"), .target("Файлны саклау")])
        // Without examples: prefix, text, suffix as the single-turn prompt always was.
        let parts = prompt.parts("Save it", format: .chatml)
        #expect(parts.prefix == "<|im_start|>system\n\(prompt.system)<|im_end|>\n<|im_start|>user\n\(prompt.instruction)")
        #expect(parts.text == "Save it" && parts.suffix == "<|im_end|>\n<|im_start|>assistant\n")
        #expect(prompt.pieces("Save it", format: .chatml)
                == [.template(parts.prefix), .source("Save it"), .template(parts.suffix)])
        // Gemma: the examples' turns come first, without the system text, which
        // leads the user's turn when there are no examples; a base model sees lines.
        func joined(_ pieces: [PromptPiece]) -> String {
            pieces.map { piece -> String in
                switch piece { case .template(let t), .source(let t), .target(let t): t }
            }.joined()
        }
        let gemma = joined(prompt.pieces("Save it", format: .gemma, examples: examples))
        #expect(gemma.hasPrefix("<start_of_turn>user\nTranslate from English to Tatar:\n\nOpen the file"))
        #expect(!gemma.contains(prompt.system))
        #expect(joined(prompt.pieces("Save it", format: .gemma))
                .hasPrefix("<start_of_turn>user\n\(prompt.system)\n\nTranslate from English to Tatar:\n\nSave it"))
        #expect(prompt.pieces("Save it", format: .completion, examples: examples)
                == [.template("English: "), .source("Open the file"), .template("\nTatar: "), .target("Файлны ачу"),
                    .template("\nEnglish: "), .source("Save the file"), .template("\nTatar: "), .target("Файлны саклау"),
                    .template("\nEnglish: "), .source("Save it"), .template("\nTatar:")])
    }

    @Test("a prompt that names another language than the answer's names the answer's once it shows examples")
    func promptLanguageWithExamples() throws {
        let asRussian = TranslationPrompt(source: Self.en, target: Self.ru)
        let named = TranslationPrompt(source: asRussian.source, target: asRussian.target)
        #expect(named.pieces("Save it", format: .chatml) == asRussian.pieces("Save it", format: .chatml))
        // The same prompt as a Tatar head that asks for Russian would make it:
        let lm = try TestHeads.model("smollm2-135m")
        var info = lm.native.info
        info.promptLanguage = "ru"
        let head = Head(info: info, tokenizer: lm.native.tokenizer, tokenizerMetadata: lm.native.tokenizerMetadata,
                        embedding: lm.native.embedding, output: lm.native.output, kind: "native")
        let prompt = try TranslationPrompt(source: Self.en, target: Self.tt, answeredBy: head)
        #expect(prompt.target == Self.ru && prompt.answer == Self.tt)
        #expect(prompt.pieces("Save it", format: .chatml) == asRussian.pieces("Save it", format: .chatml))
        #expect(prompt.pieces("Save it", format: .chatml, examples: [Self.pairs[0]])
                == TranslationPrompt(source: Self.en, target: Self.tt).pieces("Save it", format: .chatml,
                                                                              examples: [Self.pairs[0]]))
    }

    @Test("--examples: 0 to 16, the head's when not given; a head's memory and examples round-trip through its file")
    func settingsAndHeadFile() throws {
        var s = Sampling()
        for bad in [-1, 17] {
            s.examples = bad
            #expect(s.problem?.contains("--examples") == true)
        }
        s.examples = 16
        #expect(s.problem == nil)
        let decoded = try JSONDecoder().decode(Sampling.self, from: Data(#"{"examples": 4}"#.utf8))
        #expect(decoded.examples == 4)

        let lm = try TestHeads.model("smollm2-135m")
        let path = temporaryPath("smol-memory.gguf"), changed = temporaryPath("smol-memory-2.gguf")
        defer { for p in [path, changed] { try? FileManager.default.removeItem(atPath: p) } }
        try HeadFileWriter.writeDense(lm.native, to: path, info: TestHeads.renamed(lm.native, "smol-memory", language: "tt"))
        let memory = try TranslationMemory(pairs: Self.pairs, sourceLanguage: "en")
        let info = try HeadDecoding.recommend(input: path, output: changed, .init(examples: 3, memory: memory))
        #expect(info.examples == 3)
        let head = try lm.heads.load(path: changed, catalog: HeadCatalog(directories: []))
        #expect(head.memory == memory)
        let translator = try Translator(model: lm)
        #expect(translator.sampler(target: head, language: Self.tt, text: "").sampling.examples == 3)
        #expect(translator.sampler(target: lm.native, language: Self.tt, text: "").sampling.examples == 0)
        #expect(translator.exampleMemory(from: Self.en, target: head) == memory)
        #expect(translator.exampleMemory(from: Self.ru, target: head) == nil)  // pairs from English only
        // Removing both gives the original file back.
        try HeadDecoding.recommend(input: changed, output: changed, .init(examples: 0, dropMemory: true))
        #expect(FileManager.default.contentsEqual(atPath: path, andPath: changed))
        #expect(throws: HydraError.self) { try HeadDecoding.recommend(input: path, output: changed, .init(examples: 17)) }

        // A head whose memory sides differ in length, or whose examples are out of range, is refused.
        let file = try GGUFFile(path: path)
        var metadata: [(key: String, value: GGUFValue)] = file.metadataKeys.map { ($0, file.metadata[$0]!) }
        metadata += [(HeadKeys.memoryLanguage, .string("en")), (HeadKeys.memorySource, .array(.strings(["a", "b"]))),
                     (HeadKeys.memoryTarget, .array(.strings(["а"])))]
        for (name, extra) in [("uneven", metadata), ("examples", file.metadataKeys.map { ($0, file.metadata[$0]!) }
                                                       + [(HeadKeys.examples, .uint32(40))])] {
            let bad = temporaryPath("smol-memory-\(name).gguf")
            defer { try? FileManager.default.removeItem(atPath: bad) }
            _ = try GGUFQuantizer.write(file: file, output: bad, plan: .init(metadata: extra, tensors: file.tensors, types: [:]),
                                        allowRequantize: false, pool: nil, progress: { _, _ in })
            #expect(throws: HeadError.self, "\(name)") {
                try lm.heads.load(path: bad, catalog: HeadCatalog(directories: []))
            }
        }
    }
}

/// Translating with examples on a real model: gemma3-270m and its Tatar
/// head, whose tokenizer differs from the model's own.
@Suite("Translation memory: translations", .tags(.model), .modelsWanted, .serialized)
struct TranslationMemoryModelTests {
    static let head = HeadTuningTests.root.appendingPathComponent("heads/tt-gemma3-270m.gguf").path
    static let text = "Do you want to save the changes to the file?"
    /// Pairs of the training data (data/tt/en-tt.tsv), not of the held-out set.
    static let pairs = [TranslationMemoryTests.pair("Do you want to save your changes?", "Үзгәрешләрне сакларгамы?"),
                        TranslationMemoryTests.pair("Save changes", "Үзгәрешләрне саклау"),
                        TranslationMemoryTests.pair("Quit", "Ташлап")]

    static func translator() throws -> (Translator, Head) {
        let lm = try TestHeads.model("gemma3-270m", context: 512)
        let tt = try lm.heads.load(path: head, catalog: HeadCatalog(directories: []))
        return (try Translator(model: lm, source: lm.native, target: tt), tt)
    }

    static func translate(_ translator: Translator, examples: Int, memory: TranslationMemory?) throws -> String {
        translator.sampling.examples = examples
        translator.memory = memory
        var out = ""
        try translator.translate(text, from: TranslationMemoryTests.en, to: TranslationMemoryTests.tt) { out += $0; return true }
        return out
    }

    @Test("the prompt reads the example answers through the target head; 0 examples or none that fit: as without a memory")
    func translateWithExamples() throws {
        let (translator, tt) = try Self.translator()
        let native = translator.hydra.native
        let memory = try TranslationMemory(pairs: Self.pairs, sourceLanguage: "en")
        let prompt = try TranslationPrompt(source: TranslationMemoryTests.en, target: TranslationMemoryTests.tt, answeredBy: tt)
        let plan = try translator.plan(Self.text, prompt: prompt, source: native, target: tt, memory: memory, examples: 2)
        // Piece by piece: the template and English through the model's head, the Tatar answers through the Tatar head.
        let shown = memory.nearest(Self.text, count: 2)
        #expect(shown.count == 2)
        var expected: [(Head, Int32)] = []
        for piece in prompt.pieces(Self.text, format: translator.format, examples: shown) {
            switch piece {
            case .template(let t):
                expected += native.tokenizer.tokenize(t, addSpecial: expected.isEmpty, parseSpecial: true).map { (native, $0) }
            case .source(let t):
                expected += native.tokenizer.tokenize(t, addSpecial: false, parseSpecial: false).map { (native, $0) }
            case .target(let t):
                expected += tt.tokenizer.tokenize(t, addSpecial: false, parseSpecial: false).map { (tt, $0) }
            }
        }
        #expect(plan.tokens.map(\.token) == expected.map(\.1))
        #expect(zip(plan.tokens, expected).allSatisfy { $0.head === $1.0 })
        #expect(plan.tokens.contains { $0.head === tt })

        let plain = try Self.translate(translator, examples: 0, memory: nil)
        #expect(try Self.translate(translator, examples: 0, memory: memory) == plain)
        let withExamples = try Self.translate(translator, examples: 2, memory: memory)
        #expect(withExamples != plain, "\(withExamples)")
        // A pair too long for the context is left out: the prompt is the plain one.
        let long = String(repeating: "file save ", count: 400)
        let huge = try TranslationMemory(pairs: [.init(source: long, target: long)], sourceLanguage: "en")
        #expect(try Self.translate(translator, examples: 1, memory: huge) == plain)
        // A memory from another source language is not used.
        let russian = try TranslationMemory(pairs: Self.pairs, sourceLanguage: "ru")
        #expect(try Self.translate(translator, examples: 2, memory: russian) == plain)
    }

    @Test("the head's stored memory gives the same translation as the same pairs given as --memory")
    func headMemory() throws {
        let (translator, _) = try Self.translator()
        let memory = try TranslationMemory(pairs: Self.pairs, sourceLanguage: "en")
        let given = try Self.translate(translator, examples: 2, memory: memory)
        let path = temporaryPath("tt-gemma-memory.gguf")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try HeadDecoding.recommend(input: Self.head, output: path, .init(examples: 2, memory: memory))
        let lm = translator.hydra
        let stored = try lm.heads.load(path: path, catalog: HeadCatalog(directories: []), replacing: true)
        #expect(stored.memory == memory && stored.info.examples == 2)
        let viaHead = try Translator(model: lm, source: lm.native, target: stored)
        var out = ""
        try viaHead.translate(Self.text, from: TranslationMemoryTests.en, to: TranslationMemoryTests.tt) { out += $0; return true }
        #expect(out == given)
    }
}
