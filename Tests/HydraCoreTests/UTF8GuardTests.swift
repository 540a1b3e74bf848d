import Foundation
import Testing
@testable import HydraCore

/// The guard that keeps generated text valid UTF-8, on real vocabularies:
/// Qwen's byte-level pieces and Gemma's SentencePiece byte tokens.
@Suite("UTF-8 guard", .tags(.model), .modelsWanted)
struct UTF8GuardTests {
    /// The token whose piece is exactly `bytes`.
    static func token(_ tokenizer: Tokenizer, _ bytes: [UInt8]) throws -> Int32 {
        let id = (0..<tokenizer.vocabulary.count).first { tokenizer.piece(Int32($0)) == bytes }
        return Int32(try #require(id, "no token for \(bytes)"))
    }

    @Test("a character cut across tokens must be finished before anything else comes", arguments: ["qwen2.5-0.5b", "gemma3-270m"])
    func cutCharacters(model: String) throws {
        let tokenizer = try Tokenizer(gguf: try TestModels.gguf(model))
        let guardian = UTF8Guard(tokenizer: tokenizer)
        // "щ" is D1 89; "€" is E2 82 AC.
        let lead = try Self.token(tokenizer, [0xD1]), cont = try Self.token(tokenizer, [0x89])
        let euroLead = try Self.token(tokenizer, [0xE2]), euroCont = try Self.token(tokenizer, [0x82])
        let word = tokenizer.tokenize("Hello", addSpecial: false, parseSpecial: false)[0]
        let eos = try #require(tokenizer.vocabulary.eos)

        #expect(guardian.allows(lead, need: 0) && guardian.allows(word, need: 0) && guardian.allows(eos, need: 0))
        #expect(!guardian.allows(cont, need: 0), "a stray continuation byte")
        #expect(guardian.allows(cont, need: 1) && !guardian.allows(word, need: 1) && !guardian.allows(lead, need: 1))
        #expect(guardian.allows(eos, need: 1), "the end is always allowed")
        #expect(guardian.allows(euroCont, need: 2) && !guardian.allows(euroLead, need: 2))

        // The detokenizer says what is still needed.
        var detok = StreamingDetokenizer(tokenizer: tokenizer)
        _ = detok.append(word)
        #expect(detok.pendingNeed == 0)
        _ = detok.append(euroLead)
        #expect(detok.pendingNeed == 2)
        _ = detok.append(euroCont)
        #expect(detok.pendingNeed == 1)
        #expect(detok.append(try Self.token(tokenizer, [0xAC])) == "€" && detok.pendingNeed == 0)

        // Greedy decoding under the guard never picks the stray byte, however likely.
        var logits = [Float](repeating: 0, count: tokenizer.vocabulary.count)
        logits[Int(cont)] = 10
        logits[Int(word)] = 5
        let picked = logits.withUnsafeBufferPointer {
            Sampler().pick($0, after: [], allowed: { guardian.allows($0, need: 0) })
        }
        #expect(picked == word)
    }

    @Test("the bytes a character still needs, after any text: what beam search asks of each beam's tokens")
    func need() {
        #expect(UTF8Guard.need(after: Array("abc".utf8)) == 0)
        #expect(UTF8Guard.need(after: Array("бүген".utf8)) == 0)
        #expect(UTF8Guard.need(after: Array("a".utf8) + [0xD2]) == 1)            // ү's first byte
        #expect(UTF8Guard.need(after: [0xE2, 0x82]) == 1)                        // € cut after two bytes
        #expect(UTF8Guard.need(after: [0xF0]) == 3)
        #expect(UTF8Guard.need(after: [0xF0, 0x9F, 0x98, 0x80]) == 0)
        #expect(UTF8Guard.need(after: [UInt8]()) == 0)
    }
}
