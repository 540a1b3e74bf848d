import Foundation
import Testing
@testable import HydraCore

/// Tokenizers of the test models, built once.
enum TestTokenizers {
    static func get(_ key: String) throws -> Tokenizer {
        try cache.withLock { cache in
            if let t = cache[key] { return t }
            let t = try Tokenizer(gguf: TestModels.gguf(key))
            cache[key] = t
            return t
        }
    }

    private static let cache = Mutex<[String: Tokenizer]>([:])
}

/// llama.cpp's answers for the texts in TokenizerReferenceData.
struct TokenizerReference {
    let texts: [String: String]
    /// Model key → name → ids for (addSpecial, parseSpecial) = FF, FT, TF, TT.
    let ids: [String: [String: [[Int32]]]]
    /// Model key → name → llama_detokenize of the TT ids as hex, for
    /// (removeSpecial, unparseSpecial) = FF, FT, TF, TT.
    let detokenized: [String: [String: [String]]]
    /// Model key → (id, piece hex with special = false, with special = true).
    let pieces: [String: [(Int32, String, String)]]

    static let shared: TokenizerReference = {
        let root = try! JSONSerialization.jsonObject(with: Data(TokenizerReferenceData.json.utf8)) as! [String: Any]
        let texts = root["texts"] as! [String: String]
        let chat = root["chat"] as! [String: String]
        var ids: [String: [String: [[Int32]]]] = [:]
        var detok: [String: [String: [String]]] = [:]
        var pieces: [String: [(Int32, String, String)]] = [:]
        for (key, value) in root["models"] as! [String: Any] {
            let model = value as! [String: Any]
            ids[key] = (model["ids"] as! [String: [[Int]]]).mapValues { $0.map { $0.map(Int32.init) } }
            detok[key] = model["detokenized"] as? [String: [String]]
            pieces[key] = (model["pieces"] as! [[Any]]).map { (Int32($0[0] as! Int), $0[1] as! String, $0[2] as! String) }
        }
        var allTexts = texts
        for (key, text) in chat { allTexts["chat:" + key] = text }
        return TokenizerReference(texts: allTexts, ids: ids, detokenized: detok, pieces: pieces)
    }()

    /// The text of a case for a model ("chat" is per model).
    func text(_ name: String, model: String) -> String {
        name == "chat" ? texts["chat:" + model]! : texts[name]!
    }
}

func hexBytes(_ hex: String) -> [UInt8] {
    let chars = Array(hex.utf8)
    return stride(from: 0, to: chars.count, by: 2).map { UInt8(String(decoding: chars[$0..<$0 + 2], as: UTF8.self), radix: 16)! }
}

/// Where two id lists first differ, for readable failures.
func firstDifference(_ a: [Int32], _ b: [Int32]) -> String {
    let i = (0..<min(a.count, b.count)).first { a[$0] != b[$0] } ?? min(a.count, b.count)
    return "first difference at \(i): got \(Array(a[i..<min(a.count, i + 6)])), want \(Array(b[i..<min(b.count, i + 6)])) (lengths \(a.count), \(b.count))"
}

@Suite("Tokenizer against llama.cpp", .tags(.model), .modelsWanted)
struct TokenizerReferenceTests {
    @Test("token ids match llama_tokenize", arguments: TestModels.keys)
    func ids(model: String) throws {
        let tokenizer = try TestTokenizers.get(model)
        let reference = TokenizerReference.shared
        var checked = 0
        for (name, expected) in reference.ids[model]! {
            let text = reference.text(name, model: model)
            for (k, want) in expected.enumerated() {
                let addSpecial = k >= 2, parseSpecial = k % 2 == 1
                let got = tokenizer.tokenize(text, addSpecial: addSpecial, parseSpecial: parseSpecial)
                #expect(got == want, "\(model) \(name) add=\(addSpecial) parse=\(parseSpecial): \(firstDifference(got, want))")
                checked += 1
            }
        }
        #expect(checked >= 100)
    }

    @Test("committed fixtures match", arguments: TestModels.keys)
    func fixtures(model: String) throws {
        struct File: Decodable {
            struct Case: Decodable { let name: String; let text: String; let add_special: Bool; let parse_special: Bool; let ids: [Int32] }
            let cases: [Case]
        }
        let tokenizer = try TestTokenizers.get(model)
        let file = try Fixtures.load("\(model)/tokenizer.json", as: File.self)
        #expect(!file.cases.isEmpty)
        for c in file.cases {
            let got = tokenizer.tokenize(c.text, addSpecial: c.add_special, parseSpecial: c.parse_special)
            #expect(got == c.ids, "\(model) \(c.name): \(firstDifference(got, c.ids))")
            // Printing control tokens gives the text back, less the BOS that tokenizing added.
            let added = c.add_special && tokenizer.vocabulary.addBOS ? 1 : 0
            #expect(tokenizer.decode(Array(got.dropFirst(added)), special: c.parse_special) == c.text, "\(model) \(c.name) round trip")
        }
    }

    /// Extra cases made elsewhere (say, random texts run through llama.cpp):
    /// HYDRA_TOKENIZER_CASES names a JSON file {"<model key>": {"cases": [...]}}
    /// with cases as in the fixtures. Without it there is nothing to check.
    @Test("extra cases from HYDRA_TOKENIZER_CASES", arguments: TestModels.keys)
    func extraCases(model: String) throws {
        struct Case: Decodable { let name: String; let text: String; let add_special: Bool; let parse_special: Bool; let ids: [Int32] }
        struct Model: Decodable { let cases: [Case] }
        guard let path = ProcessInfo.processInfo.environment["HYDRA_TOKENIZER_CASES"] else { return }
        let file = try JSONDecoder().decode([String: Model].self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        guard let cases = file[model]?.cases else { return }
        let tokenizer = try TestTokenizers.get(model)
        var failures = 0
        for c in cases {
            let got = tokenizer.tokenize(c.text, addSpecial: c.add_special, parseSpecial: c.parse_special)
            if got != c.ids {
                failures += 1
                let scalars = c.text.unicodeScalars.map { String($0.value, radix: 16) }.joined(separator: " ")
                Issue.record("\(model) \(c.name) add=\(c.add_special) parse=\(c.parse_special) [\(scalars)]: \(firstDifference(got, c.ids))")
            }
        }
        print("\(model): \(cases.count - failures)/\(cases.count) extra cases match")
    }

    @Test("pieces match llama_token_to_piece", arguments: TestModels.keys)
    func pieces(model: String) throws {
        let tokenizer = try TestTokenizers.get(model)
        for (id, plain, special) in TokenizerReference.shared.pieces[model]! {
            #expect(tokenizer.piece(id, special: false) == hexBytes(plain), "\(model) piece \(id)")
            #expect(tokenizer.piece(id, special: true) == hexBytes(special), "\(model) special piece \(id)")
        }
    }

    @Test("detokenize matches llama_detokenize", arguments: TestModels.keys)
    func detokenize(model: String) throws {
        let tokenizer = try TestTokenizers.get(model)
        let reference = TokenizerReference.shared
        for (name, expected) in reference.detokenized[model]! {
            let ids = reference.ids[model]![name]![3]
            for (k, want) in expected.enumerated() {
                let got = tokenizer.detokenize(ids, removeSpecial: k >= 2, unparseSpecial: k % 2 == 1)
                #expect(got == hexBytes(want), "\(model) \(name) remove=\(k >= 2) unparse=\(k % 2 == 1)")
            }
        }
    }

    @Test("special ids and end-of-generation set", arguments: [
        ("smollm2-135m", Int32(1), Int32(2), false, [Int32(0), 2, 4]),
        ("gemma3-270m", 2, 1, true, [1, 106, 212]),
        ("qwen2.5-0.5b", 151643, 151645, false, [128247, 151643, 151645, 151662, 151663, 151664]),
    ])
    func specialIDs(model: String, bos: Int32, eos: Int32, addBOS: Bool, eog: [Int32]) throws {
        let v = try TestTokenizers.get(model).vocabulary
        #expect(v.bos == bos)
        #expect(v.eos == eos)
        #expect(v.addBOS == addBOS)
        #expect(v.endOfGeneration == Set(eog))
    }
}

@Suite("Tokenizer round trips", .tags(.model), .modelsWanted)
struct TokenizerRoundTripTests {
    @Test("decode(tokenize(x)) == x", arguments: TestModels.keys)
    func roundTrip(model: String) throws {
        let tokenizer = try TestTokenizers.get(model)
        let reference = TokenizerReference.shared
        for name in reference.ids[model]!.keys {
            let text = reference.text(name, model: model)
            let plain = tokenizer.tokenize(text, addSpecial: true, parseSpecial: false)
            #expect(tokenizer.decode(plain) == text, "\(model) \(name)")
            let parsed = tokenizer.tokenize(text, addSpecial: false, parseSpecial: true)
            #expect(tokenizer.decode(parsed, special: true) == text, "\(model) \(name) with specials")
        }
    }

    @Test("streaming emits whole characters only", arguments: TestModels.keys)
    func streaming(model: String) throws {
        let tokenizer = try TestTokenizers.get(model)
        let reference = TokenizerReference.shared
        var splitSeen = false
        for name in ["rare_bytes", "emoji", "chinese", "tatar", "controls", "japanese_korean"] {
            let text = reference.text(name, model: model)
            let ids = tokenizer.tokenize(text, addSpecial: false, parseSpecial: false)
            var stream = StreamingDetokenizer(tokenizer: tokenizer)
            var out = ""
            var emittedBytes = 0
            for id in ids {
                let chunk = stream.append(id)
                #expect(!chunk.unicodeScalars.contains("\u{FFFD}") || text.unicodeScalars.contains("\u{FFFD}"),
                        "\(model) \(name): half a character emitted")
                if chunk.utf8.count != tokenizer.piece(id).count { splitSeen = true }
                emittedBytes += chunk.utf8.count
                out += chunk
            }
            out += stream.finish()
            #expect(out == text, "\(model) \(name)")
        }
        #expect(splitSeen, "\(model): no character was split across tokens in the streaming texts")
    }

    @Test("streaming a byte-fallback character byte by byte")
    func byteFallback() throws {
        let tokenizer = try TestTokenizers.get("gemma3-270m")
        // U+10348 (𐍈) is no Gemma token: it is spelled as four <0xNN> byte tokens.
        let ids = tokenizer.tokenize("\u{10348}", addSpecial: false, parseSpecial: false)
        #expect(ids.count == 4)
        #expect(ids.allSatisfy { tokenizer.vocabulary.attributes[Int($0)].contains(.byte) })
        var stream = StreamingDetokenizer(tokenizer: tokenizer)
        let chunks = ids.map { stream.append($0) }
        #expect(chunks == ["", "", "", "\u{10348}"])
        #expect(stream.finish() == "")

        // A stream cut inside a character ends with U+FFFD.
        var cut = StreamingDetokenizer(tokenizer: tokenizer)
        _ = cut.append(ids[0])
        _ = cut.append(ids[1])
        #expect(cut.finish() == "\u{FFFD}")
        // A translation cut at its token limit leaves the unfinished character out.
        var dropped = StreamingDetokenizer(tokenizer: tokenizer)
        _ = dropped.append(ids[0])
        #expect(dropped.finish(dropUnfinished: true) == "")
    }
}
