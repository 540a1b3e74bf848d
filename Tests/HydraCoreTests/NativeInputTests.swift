import Foundation
import Testing
@testable import HydraCore

/// The native-input ablation of `hydra heads eval --native-input`: a head's
/// output rows scored while the text reaches the body through the native
/// tokenizer (gemma3-270m).
@Suite("Native-input ablation", .tags(.model), .modelsWanted)
struct NativeInputTests {
    static let lines = ["The weather is good today.", "Open the file and save your changes before you quit."]

    @Test("through the native head it scores token by token what bits/char scores, where each prefix re-tokenizes to itself")
    func nativeHeadAgrees() throws {
        let hydra = try HydraModel(path: TestModels.path("gemma3-270m"), contextLength: 128, batchSize: 128,
                                   pool: ThreadPool(threads: 2))
        let native = hydra.native
        for line in Self.lines {
            let ids = native.tokenizer.tokenize(line, addSpecial: false, parseSpecial: false)
            // The property that makes the two figures the same computation.
            for i in 0..<ids.count {
                let text = String(decoding: native.tokenizer.detokenize(Array(ids[..<i])), as: UTF8.self)
                #expect(native.tokenizer.tokenize(text, addSpecial: false, parseSpecial: false) == Array(ids[..<i]))
            }
            // One token at a time, as the ablation feeds them.
            let bos = try #require(native.vocabulary.bos)
            var bits = 0.0
            let inputs = [bos] + ids
            for i in 0..<ids.count {
                let logits = try hydra.forwardLast([HeadToken(native, inputs[i])], startPosition: i, logitsFrom: native)
                bits += HeadEvaluation.negativeLog2(logits.baseAddress!, count: logits.count, of: Int(ids[i]))
            }
            let fed = try NativeInput.bitsPerCharacter(hydra, head: native, lines: [line])
            #expect(fed.bits == bits, "\(fed.bits) vs \(bits)")
            // Within rounding of the batched prompt pass that bits/char runs.
            let plain = try HeadEvaluation.bitsPerCharacter(hydra, head: native, lines: [line])
            #expect(fed.tokens == plain.tokens && fed.characters == plain.characters)
            #expect(abs(fed.bits - plain.bits) < 0.02 * plain.bits, "\(fed.bits) vs \(plain.bits)")
        }
    }

    @Test("a built head's output rows are scored and translate from native input")
    func builtHead() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let hydra = try HydraModel(path: TestModels.path("gemma3-270m"), contextLength: 256, batchSize: 128,
                                   pool: ThreadPool(threads: 2))
        let head = try hydra.heads.load(path: root.appendingPathComponent("heads/tt-gemma3-270m-transtok.gguf").path,
                                        catalog: HeadCatalog(directories: []))
        let tatar = ["Бүген һава яхшы.", "Файлны ачыгыз."]
        let fed = try NativeInput.bitsPerCharacter(hydra, head: head, lines: tatar)
        let own = try HeadEvaluation.bitsPerCharacter(hydra, head: head, lines: tatar)
        #expect(fed.tokens == own.tokens && fed.characters == own.characters)
        #expect(fed.bitsPerCharacter.isFinite && fed.bitsPerCharacter > 0 && fed.bits != own.bits)

        let translator = try Translator(model: hydra, source: hydra.native, target: head)
        let made = try NativeInput.translate("Good morning.", translator: translator, head: head,
                                             from: try Language.named("en"), to: try Language.named("tt"))
        #expect(made.tokens > 0 && made.tokens <= Translator.tokenBudget(sourceTokens: 4))
        #expect(!made.text.contains("\u{FFFD}"))
    }
}
