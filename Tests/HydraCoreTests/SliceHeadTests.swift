import Foundation
import Testing
@testable import HydraCore

/// Slice heads (`hydra heads mask`): a head's tokenizer and input rows with
/// output rows for some of its tokens only (gemma3-270m, the tokens of
/// Tatar training text).
@Suite("Slice heads", .tags(.model), .modelsWanted)
struct SliceHeadTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    /// The first 300 lines of the Tatar training text.
    static func tatarLines() throws -> [String] {
        try String(contentsOf: root.appendingPathComponent("data/tt/tt.txt"), encoding: .utf8)
            .split(separator: "\n").prefix(300).map(String.init)
    }

    /// Writes the native head of `model` masked to the tokens of the Tatar lines.
    static func masked(_ model: HydraModel) throws -> (path: String, allowed: TokenMask) {
        let allowed = MaskedHead.allowedTokens(model.native, lines: try tatarLines())
        let path = temporaryPath("tt-masked.gguf")
        try MaskedHead.write(model.native, allowed: allowed, language: Language.named("tt"), name: "tt-masked",
                             notes: "tests", to: path)
        return (path, allowed)
    }

    @Test("a masked head keeps the native tokenizer and input rows and scores each kept token bit for bit as the native head does, every other token −1e9")
    func maskedHeadScoresLikeNative() throws {
        let model = try TestHeads.model("gemma3-270m")
        let native = model.native
        let (path, allowed) = try Self.masked(model)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let nativeOutput = try #require(native.output)
        let fileSize = try #require(FileManager.default.attributesOfItem(atPath: path)[.size] as? Int)
        #expect(allowed.count > 1000 && allowed.count < nativeOutput.vocabularySize / 20, "\(allowed.count) tokens kept")
        #expect(fileSize < nativeOutput.matrix.byteCount / 4, "\(fileSize) bytes")

        let slice = try model.heads.load(path: path, catalog: HeadCatalog(directories: []))
        let output = try #require(slice.output)
        #expect(slice.kind == "slice" && slice.language == "tt" && slice.info.provenance.method == "masked")
        #expect(output.tokens == allowed.ids && output.matrix.rows == allowed.count)
        #expect(output.vocabularySize == nativeOutput.vocabularySize)

        let text = "Бүген һава яхшы. The weather is good today."
        let ids = native.tokenizer.tokenize(text, addSpecial: true, parseSpecial: false)
        #expect(slice.tokenizer.tokenize(text, addSpecial: true, parseSpecial: false) == ids)
        var row = [Float](repeating: 0, count: native.embedding.width)
        var nativeRow = row
        row.withUnsafeMutableBufferPointer { slice.embedding.row(Int(ids[3]), into: $0.baseAddress!) }
        nativeRow.withUnsafeMutableBufferPointer { native.embedding.row(Int(ids[3]), into: $0.baseAddress!) }
        #expect(row == nativeRow)

        let v = nativeOutput.vocabularySize
        let reference = try model.forwardAll(ids.map { HeadToken(native, $0) }, startPosition: 0, logitsFrom: native)
        let sliced = try model.forwardAll(ids.map { HeadToken(slice, $0) }, startPosition: 0, logitsFrom: slice)
        #expect(sliced.count == reference.count)
        var kept = 0, excluded = 0, wrong = 0
        for p in 0..<ids.count {
            for t in 0..<v {
                let (a, b) = (reference[p * v + t], sliced[p * v + t])
                if allowed.contains(Int32(t)) {
                    if a.bitPattern == b.bitPattern { kept += 1 } else { wrong += 1 }
                } else {
                    if b == OutputHead.excludedLogit { excluded += 1 } else { wrong += 1 }
                }
            }
        }
        #expect(wrong == 0 && kept == ids.count * allowed.count && excluded == ids.count * (v - allowed.count))
        // The decoding path (the last position alone) gives the same row.
        let last = Array(try model.forwardLast(ids.map { HeadToken(slice, $0) }, startPosition: 0, logitsFrom: slice))
        #expect(last == Array(sliced.suffix(v)))
    }

    /// Writes a slice file of `native` by hand: `tokens` as the slice's ids,
    /// `rows` output rows, the given token hash.
    static func handWritten(_ native: Head, tokens: [Int32], rows: Int, tokensHash: String) throws -> String {
        var w = GGUFWriter()
        var info = TestHeads.renamed(native, "hostile", language: "tt", output: .separate)
        info.provenance.method = "masked"
        HeadFileWriter.setMetadata(&w, info: info, kind: "slice", tokenizer: native.tokenizerMetadata)
        w.set(HeadKeys.recipeSource, .string(HeadKeys.nativeSource))
        w.set(HeadKeys.recipeSourceTokens, .string(tokensHash))
        try w.addTensor(name: HeadKeys.sliceTokens, type: .i32, shape: [tokens.count], bytes: tokens.withUnsafeBytes { Array($0) })
        let m = try #require(native.output).matrix
        try w.addTensor(name: HeadKeys.outputTensor, type: m.type, shape: [m.cols, rows],
                        bytes: Array(UnsafeRawBufferPointer(start: m.data, count: rows * m.rowBytes)))
        let path = temporaryPath("hostile-slice.gguf")
        try w.write(to: path)
        return path
    }

    @Test("a slice head file whose tokens, rows or tokenizer do not fit is refused with a clear error")
    func hostileSlicesRefused() throws {
        let model = try TestHeads.model("gemma3-270m")
        let native = model.native
        let v = Int32(try #require(native.output).vocabularySize)
        let hash = HeadFile.tokensHash(native.vocabulary)
        let cases: [(tokens: [Int32], rows: Int, hash: String, message: String)] = [
            ([5, 9, 300], 3, hash, ""),
            ([9, 5, 300], 3, hash, "the tokens of a sliced output head are not increasing ids below \(v)"),
            ([5, 5, 300], 3, hash, "the tokens of a sliced output head are not increasing ids below \(v)"),
            ([-1, 5, 300], 3, hash, "the tokens of a sliced output head are not increasing ids below \(v)"),
            ([5, 9, v], 3, hash, "the tokens of a sliced output head are not increasing ids below \(v)"),
            ([5, 9, 300], 2, hash, "expected [\(native.embedding.width), 3]"),
            ([5, 9, 300], 3, "0123456789abcdef", "head 'hostile' was not sliced from the tokenizer of head 'native'"),
        ]
        for c in cases {
            let path = try Self.handWritten(native, tokens: c.tokens, rows: c.rows, tokensHash: c.hash)
            defer { try? FileManager.default.removeItem(atPath: path) }
            do {
                let head = try model.heads.load(path: path, catalog: HeadCatalog(directories: []), replacing: true)
                #expect(c.message.isEmpty, "\(c.tokens), \(c.rows) rows: accepted")
                #expect(head.output?.tokens == c.tokens)
            } catch {
                #expect(!c.message.isEmpty && "\(error)".contains(c.message), "\(c.tokens), \(c.rows) rows: \(error)")
            }
        }
    }

    @Test("a slice of the native head tunes into a slice: the loss falls, only its rows change, the input rows stay the native ones")
    func sliceTunesIntoSlice() throws {
        let model = try TestHeads.model("gemma3-270m")
        let (path, allowed) = try Self.masked(model)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let slice = try model.heads.load(path: path, catalog: HeadCatalog(directories: []))
        let (folder, text, pairs) = try HeadTuningTests.corpus()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        var options = HeadTuningTests.options()
        options.promptLanguage = nil
        options.name = "tt-masked-tuned"
        var losses: [Double] = []
        let result = try HeadTuning.run(model: model, head: slice, textFiles: [text], pairFiles: [pairs],
                                        pairSource: Language.named("en"), options: options,
                                        work: folder + "/work", out: folder + "/tuned.gguf") { e in
            if case .tuner(.step(_, _, let loss, _)) = e { losses.append(loss) }
        }
        #expect(!result.stopped && losses.count >= 6, "\(result)")
        let third = max(losses.count / 3, 1)
        #expect(losses.suffix(third).reduce(0, +) < losses.prefix(third).reduce(0, +) - 0.1 * Double(third), "\(losses)")

        let tuned = try model.heads.load(path: folder + "/tuned.gguf", catalog: HeadCatalog(directories: []))
        let output = try #require(tuned.output)
        #expect(tuned.kind == "slice" && output.tokens == allowed.ids && tuned.vocabulary.count == slice.vocabulary.count)
        // The stored rows are the tuned ones (F32), and differ from the native rows they started from.
        let stored = try HeadTuningTests.outputRows(folder + "/tuned.gguf").withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        var row = [Float](repeating: 0, count: 640), before = row, native = row, input = row
        TokenEmbedding(matrix: output.matrix).row(7, into: &row)
        TokenEmbedding(matrix: try #require(slice.output).matrix).row(7, into: &before)
        #expect(row == Array(stored[7 * 640..<8 * 640]) && row != before)
        // Input rows: the native head's, untouched.
        let id = Int(allowed.ids[7])
        model.native.embedding.row(id, into: &native)
        tuned.embedding.row(id, into: &input)
        #expect(input == native)
        // A token the slice has no row for is still never written.
        let logits = output.logits(hidden: [Float](repeating: 0.01, count: 640), pool: nil)
        let excluded = try #require((0..<logits.count).first { !allowed.contains(Int32($0)) })
        #expect(logits[excluded] == OutputHead.excludedLogit)

        options.tuner.distill = 1
        #expect {
            try HeadTuning.run(model: model, head: slice, textFiles: [text], pairFiles: [], pairSource: Language.named("en"),
                               options: options, work: folder + "/distill", out: folder + "/distill.gguf")
        } throws: { "\($0)".contains("tune it without --distill") }
    }

    @Test("dense export refuses a slice head: its output rows are not the whole vocabulary")
    func sliceNotExported() throws {
        let model = try TestHeads.model("gemma3-270m")
        let (path, _) = try Self.masked(model)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let slice = try model.heads.load(path: path, catalog: HeadCatalog(directories: []))
        let work = temporaryPath("export-slice")
        #expect {
            try HeadFileWriter.writeDense(slice, to: work + ".gguf")
        } throws: { "\($0)".contains("cannot be written as a dense head") }
        #expect(!FileManager.default.fileExists(atPath: work + ".gguf"))
    }
}
