import Foundation

/// Reads a SentencePiece `tokenizer.model` (Llama, Mistral, TowerInstruct)
/// into the GGUF tokenizer keys llama.cpp's converter writes for it
/// (`_set_vocab_sentencepiece`): model "llama", pre-tokenizer "default",
/// the pieces with their scores and types, padded to the model's
/// vocabulary size, added tokens from added_tokens.json and
/// tokenizer_config.json, and gguf-py's special vocabulary.
enum SentencePieceImport {
    /// One piece of the model: its text, score and SentencePiece type
    /// (1 normal, 2 unknown, 3 control, 4 user-defined, 5 unused, 6 byte).
    struct Piece: Equatable {
        var text: String
        var score: Float
        var type: Int
    }

    static func metadata(directory: String, vocabularySize: Int?, config: [String: Any]) throws -> TokenizerMetadata {
        let path = directory + "/tokenizer.model"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CheckpointError("\(directory): cannot read tokenizer.model")
        }
        let pieces = try Self.pieces(of: [UInt8](data), path: path)
        guard !pieces.isEmpty else { throw CheckpointError("\(path): a SentencePiece model without pieces") }
        let count = vocabularySize ?? pieces.count
        var tokens = (0..<count).map { "[PAD\($0)]" }
        var scores = [Float](repeating: -10000, count: count)
        var types = [Int32](repeating: 5, count: count)  // unused
        for (id, p) in pieces.enumerated() where id < count {
            tokens[id] = p.text
            scores[id] = p.score
            // The converter asks IsUnknown, IsControl, IsUnused, IsByte; anything else is normal.
            types[id] = [2, 3, 5, 6].contains(p.type) ? Int32(p.type) : 1
        }
        if let data = FileManager.default.contents(atPath: directory + "/added_tokens.json") {
            guard let added = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
                throw CheckpointError("\(directory)/added_tokens.json: not a JSON object")
            }
            for (token, value) in added {
                guard let id = (value as? NSNumber)?.intValue, id >= 0 else {
                    throw CheckpointError("\(directory)/added_tokens.json: bad id for '\(token)'")
                }
                guard id < count else { continue }
                tokens[id] = token
                scores[id] = -1000
                types[id] = 4  // user-defined
            }
        }
        let tc = FileManager.default.contents(atPath: directory + "/tokenizer_config.json")
            .flatMap { (try? JSONSerialization.jsonObject(with: $0)) as? [String: Any] }
        if let decoder = tc?["added_tokens_decoder"] as? [String: Any] {
            for (key, value) in decoder {
                guard let id = Int(key), id >= 0, let entry = value as? [String: Any],
                      let content = entry["content"] as? String else {
                    throw CheckpointError("\(directory)/tokenizer_config.json: bad added_tokens_decoder entry '\(key)'")
                }
                guard id < count else { continue }
                if (entry["special"] as? Bool) == true || HFTokenizerImport.looksSpecial(content) {
                    tokens[id] = content
                    types[id] = 3  // control
                } else {
                    tokens[id] = content.replacingOccurrences(of: "\u{2581}", with: " ")
                    types[id] = 4  // user-defined
                }
                scores[id] = -1000
            }
        }

        let json = FileManager.default.contents(atPath: directory + "/tokenizer.json")
            .flatMap { (try? JSONSerialization.jsonObject(with: $0)) as? [String: Any] } ?? [:]
        let special = try HFTokenizerImport.specialVocabulary(directory: directory, tokenizer: json, config: config,
                                                              vocabularySize: count)
        var e: [(key: String, value: GGUFValue)] = []
        e.append(("tokenizer.ggml.model", .string("llama")))
        e.append(("tokenizer.ggml.pre", .string("default")))
        e.append(("tokenizer.ggml.tokens", .array(.strings(tokens))))
        e.append(("tokenizer.ggml.scores", .array(.floats(scores))))
        e.append(("tokenizer.ggml.token_type", .array(.int32s(types))))
        e += HFTokenizerImport.specialEntries(special)
        return TokenizerMetadata(entries: e)
    }

    /// The pieces of a serialized `ModelProto` (sentencepiece_model.proto:
    /// field 1, repeated `SentencePiece { piece = 1; score = 2; type = 3 }`);
    /// every other field is skipped. A malformed file is a thrown error.
    static func pieces(of bytes: [UInt8], path: String) throws -> [Piece] {
        var reader = ProtoReader(bytes: bytes[...], path: path)
        var pieces: [Piece] = []
        while let (field, wire) = try reader.tag() {
            if field == 1 && wire == 2 {
                var inner = ProtoReader(bytes: try reader.lengthDelimited(), path: path)
                var piece = Piece(text: "", score: 0, type: 1)
                while let (f, w) = try inner.tag() {
                    switch (f, w) {
                    case (1, 2):
                        guard let s = String(validating: Array(try inner.lengthDelimited()), as: UTF8.self) else {
                            throw CheckpointError("\(path): piece \(pieces.count) is not valid UTF-8")
                        }
                        piece.text = s
                    case (2, 5): piece.score = Float(bitPattern: try inner.fixed32())
                    case (3, 0): piece.type = Int(truncatingIfNeeded: try inner.varint())
                    default: try inner.skip(wire: w)
                    }
                }
                pieces.append(piece)
            } else {
                try reader.skip(wire: wire)
            }
        }
        return pieces
    }

    /// Protocol-buffer wire format, as much as a SentencePiece model needs.
    struct ProtoReader {
        var bytes: ArraySlice<UInt8>
        let path: String

        func fail() -> CheckpointError { CheckpointError("\(path): not a SentencePiece model (malformed protocol buffer)") }

        mutating func varint() throws -> UInt64 {
            var value: UInt64 = 0
            for shift in stride(from: 0, to: 64, by: 7) {
                guard let b = bytes.popFirst() else { throw fail() }
                value |= UInt64(b & 0x7F) << UInt64(shift)
                if b < 0x80 { return value }
            }
            throw fail()
        }

        /// The next field number and wire type, or nil at the end.
        mutating func tag() throws -> (Int, Int)? {
            guard !bytes.isEmpty else { return nil }
            let t = try varint()
            guard t >> 3 > 0, t >> 3 <= UInt64(Int32.max) else { throw fail() }
            return (Int(t >> 3), Int(t & 7))
        }

        mutating func take(_ n: Int) throws -> ArraySlice<UInt8> {
            guard n >= 0, n <= bytes.count else { throw fail() }
            let out = bytes.prefix(n)
            bytes = bytes.dropFirst(n)
            return out
        }

        mutating func lengthDelimited() throws -> ArraySlice<UInt8> {
            let n = try varint()
            guard n <= UInt64(bytes.count) else { throw fail() }
            return try take(Int(n))
        }

        mutating func fixed32() throws -> UInt32 {
            let b = try take(4)
            return b.reversed().reduce(0) { $0 << 8 | UInt32($1) }
        }

        mutating func skip(wire: Int) throws {
            switch wire {
            case 0: _ = try varint()
            case 1: _ = try take(8)
            case 2: _ = try lengthDelimited()
            case 5: _ = try take(4)
            default: throw fail()
            }
        }
    }
}
