import Foundation
import Testing
@testable import HydraCore

/// `PlaceholderGuard`: a translation never writes a placeholder mark its
/// text lacks (gemma3-270m's SentencePiece and qwen2.5-0.5b's byte-level
/// vocabularies).
@Suite("Placeholder guard", .tags(.model), .modelsWanted)
struct PlaceholderGuardTests {
    @Test("the tokens that write a mark the text lacks are banned, and only those", arguments: ["gemma3-270m", "qwen2.5-0.5b"])
    func bansMissingMarks(_ key: String) throws {
        let head = try Head.native(of: Body(file: TestModels.gguf(key)))
        let v = head.vocabulary
        func writes(_ id: Int32, _ marks: String) -> Bool { head.tokenizer.piece(id).contains(where: Array(marks.utf8).contains) }

        let plain = PlaceholderGuard.bannedTokens(head, for: "Save the file before closing.")
        #expect(plain.count > 100, "\(plain.count)")
        for id in plain.ids { #expect(writes(id, "%${}"), "\(id) \(v.tokens[Int(id)])") }
        for id in head.tokenizer.tokenize("%1 файл {0} $1", addSpecial: false, parseSpecial: false) where writes(id, "%${}") {
            #expect(plain.contains(id), "\(v.tokens[Int(id)])")
        }
        for id in head.tokenizer.tokenize("Save the file before closing.", addSpecial: false, parseSpecial: false) {
            #expect(!plain.contains(id))
        }
        for id in v.endOfGeneration { #expect(!plain.contains(id)) }

        // A mark the text has stays free; the others stay banned.
        let percent = PlaceholderGuard.bannedTokens(head, for: "Save %1 before closing.")
        for id in plain.ids {
            #expect(percent.contains(id) == writes(id, "${}"), "\(v.tokens[Int(id)])")
        }
        #expect(PlaceholderGuard.bannedTokens(head, for: "%s costs $5 {0}").isEmpty)
    }

    @Test("a translation's sampler bans the marks its text lacks, beside the script lock")
    func samplerBans() throws {
        let lm = try TestHeads.model("gemma3-270m")
        let translator = try Translator(model: lm)
        let tt = try Language.named("tt")
        let native = lm.native
        let plain = translator.sampler(target: native, language: tt, text: "Open the file.")
        let marked = translator.sampler(target: native, language: tt, text: "Open %1 {0} for $1.")
        let guardOnly = PlaceholderGuard.bannedTokens(native, for: "Open the file.")
        let percent = try #require(native.tokenizer.tokenize("%", addSpecial: false, parseSpecial: false).first)
        #expect(plain.banned.contains(percent) && !marked.banned.contains(percent))
        #expect(guardOnly.ids.allSatisfy(plain.banned.contains))
        #expect(plain.banned.count > marked.banned.count)
    }
}

@Suite("Token masks")
struct TokenMaskTests {
    @Test("the union of two masks holds the ids of either, counted once")
    func union() {
        let a = TokenMask([1, 70, 200_000]), b = TokenMask([70, 5])
        #expect(a.union(b).ids == [1, 5, 70, 200_000] && a.union(b).count == 4)
        #expect(b.union(a) == a.union(b))
        #expect(a.union(TokenMask()) == a && TokenMask().union(b) == b)
    }
}
