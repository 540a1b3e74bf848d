import Foundation
import Testing
@testable import HydraCore

/// Loading and tokenizing must be cheap next to running the model. The
/// limits hold for release builds (`swift test -c release`); debug builds
/// only report the timings.
@Suite("Tokenizer speed", .serialized, .tags(.model), .modelsWanted)
struct TokenizerPerformanceTests {
    static func seconds(_ body: () throws -> Void) rethrows -> Double {
        let start = DispatchTime.now().uptimeNanoseconds
        try body()
        return Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9
    }

    #if DEBUG
    static let strict = false
    #else
    static let strict = true
    #endif

    /// About 10 kB of mixed text: every reference text, repeated.
    static let tenKilobytes: String = {
        let texts = TokenizerReference.shared.texts.sorted { $0.key < $1.key }.map(\.value)
        var text = ""
        while text.utf8.count < 10_000 {
            for t in texts { text += t + "\n" }
        }
        return text
    }()

    @Test("loading a vocabulary", arguments: TestModels.keys)
    func load(model: String) throws {
        let file = try GGUFFile(path: TestModels.path(model))
        var tokenizer: Tokenizer?
        let open = try Self.seconds { _ = try GGUFFile(path: TestModels.path(model)) }
        let build = try Self.seconds { tokenizer = try Tokenizer(gguf: file) }
        print("tokenizer load \(model): GGUF open \(Int(open * 1000)) ms, vocabulary + tokenizer \(Int(build * 1000)) ms, \(tokenizer!.vocabulary.count) tokens")
        if Self.strict { #expect(open + build < 1.0) }
    }

    @Test("tokenizing 10 kB", arguments: TestModels.keys)
    func tokenize(model: String) throws {
        let tokenizer = try TestTokenizers.get(model)
        let text = Self.tenKilobytes
        _ = tokenizer.tokenize(text, addSpecial: true, parseSpecial: true)  // warm up
        var ids: [Int32] = []
        let plain = Self.seconds { ids = tokenizer.tokenize(text, addSpecial: true, parseSpecial: false) }
        let special = Self.seconds { _ = tokenizer.tokenize(text, addSpecial: true, parseSpecial: true) }
        var decoded = ""
        let decode = Self.seconds { decoded = tokenizer.decode(ids) }
        print("tokenize \(model): \(text.utf8.count) bytes → \(ids.count) tokens in \(String(format: "%.1f", plain * 1000)) ms (parse special \(String(format: "%.1f", special * 1000)) ms), decode \(String(format: "%.1f", decode * 1000)) ms")
        #expect(decoded == text)
        if Self.strict {
            #expect(plain < 0.1)
            #expect(special < 0.1)
        }
    }
}
