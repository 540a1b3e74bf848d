import Foundation
import Testing
@testable import HydraCore

/// Heads built from a model's own tables for the tests.
enum TestHeads {
    /// A runtime for a model (small context; two threads).
    static func model(_ key: String, context: Int = 256) throws -> HydraModel {
        try HydraModel(file: TestModels.gguf(key), contextLength: context, batchSize: 64, pool: ThreadPool(threads: 2))
    }

    /// The native head's description under another name and method.
    static func renamed(_ head: Head, _ name: String, language: String? = nil, output: HeadInfo.Output? = nil) -> HeadInfo {
        var info = head.info
        info.name = name
        if let language { info.language = language }
        if let output { info.output = output }
        info.provenance = .init(method: "copy", source: head.name, date: "2025-01-01", tool: "hydra tests")
        return info
    }

    /// Writes a dense copy of `head` to a temporary file and returns its path.
    static func denseCopy(_ head: Head, _ name: String, tableType: GGMLType? = nil, language: String? = nil,
                          output: HeadInfo.Output? = nil) throws -> String {
        let path = temporaryPath(name + ".gguf")
        try HeadFileWriter.writeDense(head, to: path, info: renamed(head, name, language: language, output: output),
                                      tableType: tableType)
        return path
    }

    static let prompt = "The quick brown fox jumps over the lazy dog. Бүген һава яхшы."
}

@Suite("Heads", .tags(.model), .modelsWanted)
struct HeadTests {
    @Test("the body fingerprint is stable, differs between bodies and round-trips as hex")
    func fingerprint() throws {
        var seen: Set<BodyFingerprint> = []
        for key in TestModels.keys {
            let file = try TestModels.gguf(key)
            let config = try ModelConfig(file: file)
            let a = BodyFingerprint(file: file, config: config)
            #expect(a == BodyFingerprint(file: file, config: config))
            #expect(BodyFingerprint(hex: a.description) == a)
            #expect(a.description.count == 16)
            seen.insert(a)
        }
        #expect(seen.count == 3)
        #expect(BodyFingerprint(hex: "xyz") == nil)
    }

    @Test("a head built for one body is refused by another, with both bodies named")
    func foreignHeadRefused() throws {
        let smol = try Body(file: TestModels.gguf("smollm2-135m"))
        let path = try TestHeads.denseCopy(Head.native(of: smol), "smol-en")
        defer { try? FileManager.default.removeItem(atPath: path) }

        let gemma = try HeadSet(file: TestModels.gguf("gemma3-270m"))
        do {
            try gemma.load(path: path, catalog: HeadCatalog(directories: []))
            Issue.record("the smollm head was accepted by the gemma body")
        } catch let error as HeadError {
            guard case .mismatch(let message) = error else {
                Issue.record("wrong error: \(error)")
                return
            }
            let smolFit = HeadInfo.BodyFit(body: smol).description
            let gemmaFit = HeadInfo.BodyFit(body: gemma.body).description
            #expect(message == "head 'smol-en' was built for body \(smolFit) but this body is \(gemmaFit)")
            #expect(smolFit.hasSuffix("(llama, 576)") && gemmaFit.hasSuffix("(gemma3, 640)"), "\(message)")
        }
        #expect(gemma.heads.count == 1)
    }

    @Test("a head's prompt language and n-gram default are kept in its file and used; unknown or out-of-range values are refused")
    func promptLanguage() throws {
        let smol = try Body(file: TestModels.gguf("smollm2-135m"))
        let native = try Head.native(of: smol)
        var info = TestHeads.renamed(native, "smol-tt", language: "tt")
        info.promptLanguage = "ru"
        let path = temporaryPath("smol-tt.gguf")
        defer { try? FileManager.default.removeItem(atPath: path) }
        try HeadFileWriter.writeDense(native, to: path, info: info)
        let set = try HeadSet(file: TestModels.gguf("smollm2-135m"))
        let head = try set.load(path: path, catalog: HeadCatalog(directories: []))
        #expect(head.info.promptLanguage == "ru")
        let (en, tt) = (try Language.named("en"), try Language.named("tt"))
        #expect(try TranslationPrompt(source: en, target: tt, answeredBy: head).target.name == "Russian")
        #expect(try TranslationPrompt(source: en, target: tt, answeredBy: native).target.name == "Tatar")

        // Written with `info`, then loaded afresh (or refused).
        func reload(_ info: HeadInfo) throws -> Head {
            set.remove(named: info.name)
            try HeadFileWriter.writeDense(native, to: path, info: info)
            return try set.load(path: path, catalog: HeadCatalog(directories: []))
        }
        func refused(_ info: HeadInfo) {
            #expect(throws: HeadError.self) { try reload(info) }
        }

        // The head's --no-repeat-ngram applies unless the user gives one (0 included).
        info.noRepeatNgram = 3
        let blocking = try reload(info)
        #expect(blocking.info.noRepeatNgram == 3)
        let hydra = try TestHeads.model("smollm2-135m")
        let translator = try Translator(model: hydra)
        #expect(translator.sampler(target: blocking, language: tt, text: "").sampling.noRepeatNgram == 3)
        #expect(translator.sampler(target: native, language: tt, text: "").sampling.noRepeatNgram == 0)
        translator.sampling.noRepeatNgram = 0
        #expect(translator.sampler(target: blocking, language: tt, text: "").sampling.noRepeatNgram == 0)
        info.noRepeatNgram = 99
        refused(info)
        info.noRepeatNgram = nil

        // So does its --repeat-penalty (1 where neither says).
        info.repeatPenalty = 1.3
        let penalizing = try reload(info)
        #expect(penalizing.info.repeatPenalty == 1.3)
        translator.sampling.repeatPenalty = nil
        #expect(translator.sampler(target: penalizing, language: tt, text: "").sampling.repeatPenalty == 1.3)
        #expect(translator.sampler(target: native, language: tt, text: "").sampling.repeatPenalty == 1)
        translator.sampling.repeatPenalty = 1
        #expect(translator.sampler(target: penalizing, language: tt, text: "").sampling.repeatPenalty == 1)
        info.repeatPenalty = -2
        refused(info)
        info.repeatPenalty = nil

        // And its --candidates, for greedy decoding only (1 where neither says).
        info.candidates = 5
        let voting = try reload(info)
        #expect(voting.info.candidates == 5)
        #expect(translator.sampler(target: voting, language: tt, text: "").sampling.candidates == 5)
        #expect(translator.sampler(target: native, language: tt, text: "").sampling.candidates == 1)
        translator.sampling.beams = 2
        #expect(translator.sampler(target: voting, language: tt, text: "").sampling.candidates == 1)
        translator.sampling.beams = 1
        translator.sampling.temperature = 0.7
        #expect(translator.sampler(target: voting, language: tt, text: "").sampling.candidates == 1)
        translator.sampling.temperature = 0
        translator.sampling.candidates = 1
        #expect(translator.sampler(target: voting, language: tt, text: "").sampling.candidates == 1)
        info.candidates = 2
        refused(info)
        info.candidates = nil

        // Or its --beam, for greedy decoding unless told candidates.
        translator.sampling.candidates = nil
        translator.sampling.beams = nil
        info.beams = 2
        let searching = try reload(info)
        #expect(searching.info.beams == 2)
        func resolved(_ head: Head) -> (beams: Int?, candidates: Int?) {
            let s = translator.sampler(target: head, language: tt, text: "").sampling
            return (s.beams, s.candidates)
        }
        #expect(resolved(searching) == (2, 1))
        #expect(resolved(native) == (1, 1))
        translator.sampling.candidates = 3
        #expect(resolved(searching) == (1, 3))
        translator.sampling.candidates = nil
        translator.sampling.copyBias = 2  // each beam gets it
        #expect(resolved(searching) == (2, 1))
        translator.sampling.copyBias = nil
        translator.lexicon = try Lexicon(words: ["сүз"])  // each beam keeps to it
        #expect(resolved(searching) == (2, 1))
        translator.lexicon = nil
        translator.sampling.temperature = 0.7
        #expect(resolved(searching) == (1, 1))
        translator.sampling.temperature = 0
        translator.sampling.beams = 1
        #expect(resolved(searching) == (1, 1))
        translator.sampling.beams = 4
        #expect(resolved(searching) == (4, 1))
        translator.sampling.beams = nil
        info.beams = 17
        refused(info)
        info.beams = 3
        info.candidates = 5
        refused(info)
        info.beams = nil
        info.candidates = nil

        // And its round-trip check (weight 0 and threshold 100 where neither says).
        info.roundTripWeight = 3
        info.roundTripBelow = 30
        let checking = try reload(info)
        #expect(checking.info.roundTripWeight == 3 && checking.info.roundTripBelow == 30)
        #expect(translator.sampler(target: checking, language: tt, text: "").sampling.roundTripWeight == 3)
        #expect(translator.sampler(target: checking, language: tt, text: "").sampling.roundTripBelow == 30)
        #expect(translator.sampler(target: native, language: tt, text: "").sampling.roundTripWeight == 0)
        #expect(translator.sampler(target: native, language: tt, text: "").sampling.roundTripBelow == 100)
        translator.sampling.roundTripWeight = 0
        translator.sampling.roundTripBelow = 100
        #expect(translator.sampler(target: checking, language: tt, text: "").sampling.roundTripWeight == 0)
        #expect(translator.sampler(target: checking, language: tt, text: "").sampling.roundTripBelow == 100)
        for (weight, below): (Float?, Float?) in [(0, nil), (-1, nil), (.nan, nil), (nil, 101), (nil, -1)] {
            info.roundTripWeight = weight
            info.roundTripBelow = below
            refused(info)
        }
        info.roundTripWeight = nil
        info.roundTripBelow = nil

        // And its --min-length (off where neither says).
        info.minLength = 0.5
        let lengthy = try reload(info)
        #expect(lengthy.info.minLength == 0.5)
        #expect(translator.sampler(target: lengthy, language: tt, text: "").sampling.minLength == 0.5)
        #expect(translator.sampler(target: native, language: tt, text: "").sampling.minLength == 0)
        translator.sampling.minLength = 0
        #expect(translator.sampler(target: lengthy, language: tt, text: "").sampling.minLength == 0)
        for bad: Float in [0, -1, 5, .nan] {
            info.minLength = bad
            refused(info)
        }
        info.minLength = nil

        info.promptLanguage = "xx-unknown"
        refused(info)
    }

    @Test("heads recommend rewrites only a head's decoding keys: tables byte for byte, undone exactly; bad input refused")
    func recommendDecoding() throws {
        let smol = try Body(file: TestModels.gguf("smollm2-135m"))
        let native = try Head.native(of: smol)
        let path = temporaryPath("smol-rec.gguf"), changed = temporaryPath("smol-rec-2.gguf")
        defer { for p in [path, changed] { try? FileManager.default.removeItem(atPath: p) } }
        try HeadFileWriter.writeDense(native, to: path, info: TestHeads.renamed(native, "smol-rec", language: "tt"))
        let info = try HeadDecoding.recommend(input: path, output: changed,
                                              .init(noRepeatNgram: 3, repeatPenalty: 1.3, candidates: 7,
                                                    roundTripWeight: 3, roundTripBelow: 30, minLength: 0.5,
                                                    copyBias: 4))
        #expect(info.noRepeatNgram == 3 && info.repeatPenalty == 1.3 && info.candidates == 7 && info.minLength == 0.5)
        #expect(info.copyBias == 4)
        // Translations through the head use them unless told otherwise.
        let hydra = try TestHeads.model("smollm2-135m")
        let head = try hydra.heads.load(path: changed, catalog: HeadCatalog(directories: []))
        let translator = try Translator(model: hydra)
        let tt = try Language.named("tt")
        #expect(translator.sampler(target: head, language: tt, text: "x").sampling.copyBias == 4)
        translator.sampling.copyBias = 0
        #expect(translator.sampler(target: head, language: tt, text: "x").sampling.copyBias == 0)
        #expect(info.roundTripWeight == 3 && info.roundTripBelow == 30)
        let (before, after) = (try GGUFFile(path: path), try GGUFFile(path: changed))
        #expect(before.tensors.map(\.name) == after.tensors.map(\.name))
        for (a, b) in zip(before.tensors, after.tensors) {
            #expect(a.type == b.type && a.byteCount == b.byteCount && memcmp(a.data, b.data, a.byteCount) == 0, "\(a.name)")
        }
        // Setting them back (in place) gives the original file again.
        try HeadDecoding.recommend(input: changed, output: changed,
                                   .init(noRepeatNgram: 0, repeatPenalty: 1, candidates: 1, roundTripWeight: 0,
                                         roundTripBelow: 100, minLength: 0, copyBias: 0))
        #expect(FileManager.default.contentsEqual(atPath: path, andPath: changed))
        #expect(!FileManager.default.fileExists(atPath: changed + ".part"))
        // Beams replace the head's candidates, and candidates its beams.
        #expect(try HeadDecoding.recommend(input: path, output: changed, .init(candidates: 7)).candidates == 7)
        let searching = try HeadDecoding.recommend(input: changed, output: changed, .init(beams: 2))
        #expect(searching.beams == 2 && searching.candidates == nil)
        let voting = try HeadDecoding.recommend(input: changed, output: changed, .init(candidates: 5))
        #expect(voting.candidates == 5 && voting.beams == nil)
        // A changed value keeps its key's place: the file is laid out as one written with that value.
        try HeadDecoding.recommend(input: changed, output: changed, .init(copyBias: 2))
        let five = try GGUFFile(path: changed).metadataKeys
        try HeadDecoding.recommend(input: changed, output: changed, .init(candidates: 9))
        #expect(try GGUFFile(path: changed).metadataKeys == five)
        try HeadDecoding.recommend(input: changed, output: changed, .init(copyBias: 0))
        try HeadDecoding.recommend(input: changed, output: changed, .init(candidates: 1))
        #expect(FileManager.default.contentsEqual(atPath: path, andPath: changed))
        // A model is not a head; values out of range are refused before anything is written.
        #expect(throws: HydraError.self) {
            try HeadDecoding.recommend(input: TestModels.path("smollm2-135m"), output: changed, .init(repeatPenalty: 1.2))
        }
        #expect(throws: HydraError.self) { try HeadDecoding.recommend(input: path, output: changed, .init(repeatPenalty: 0)) }
        #expect(throws: HydraError.self) { try HeadDecoding.recommend(input: path, output: changed, .init(noRepeatNgram: 65)) }
        #expect(throws: HydraError.self) { try HeadDecoding.recommend(input: path, output: changed, .init(candidates: 2)) }
        #expect(throws: HydraError.self) { try HeadDecoding.recommend(input: path, output: changed, .init(beams: 0)) }
        #expect(throws: HydraError.self) {
            try HeadDecoding.recommend(input: path, output: changed, .init(candidates: 3, beams: 2))
        }
        #expect(throws: HydraError.self) { try HeadDecoding.recommend(input: path, output: changed, .init(roundTripWeight: -1)) }
        #expect(throws: HydraError.self) { try HeadDecoding.recommend(input: path, output: changed, .init(roundTripBelow: 101)) }
        #expect(throws: HydraError.self) { try HeadDecoding.recommend(input: path, output: changed, .init(minLength: 5)) }
        #expect(throws: HydraError.self) { try HeadDecoding.recommend(input: path, output: changed, .init(copyBias: 101)) }
        #expect(FileManager.default.contentsEqual(atPath: path, andPath: changed))
    }

    @Test("a dense head written from the native head keeps its tokenizer and gives identical logits")
    func denseRoundTrip() throws {
        for key in ["smollm2-135m", "gemma3-270m"] {
            let lm = try TestHeads.model(key)
            let hydra = lm
            let path = try TestHeads.denseCopy(hydra.native, "copy")
            defer { try? FileManager.default.removeItem(atPath: path) }
            let copy = try hydra.heads.load(path: path, catalog: HeadCatalog(directories: []))
            #expect(copy.kind == "dense" && copy.info.provenance.method == "copy")
            #expect(copy.info.output == hydra.native.info.output)
            #expect(copy.tokenizerMetadata == hydra.native.tokenizerMetadata)

            let ids = hydra.native.tokenizer.tokenize(TestHeads.prompt, addSpecial: true, parseSpecial: false)
            #expect(copy.tokenizer.tokenize(TestHeads.prompt, addSpecial: true, parseSpecial: false) == ids)
            let native = Array(try lm.forwardLast(tokens: ids, startPosition: 0))
            let viaCopy = Array(try hydra.forwardLast(tokens: ids, head: copy, startPosition: 0, logitsFrom: copy))
            #expect(native == viaCopy, "\(key)")
        }
    }

    @Test("a recipe head with the identity map equals its source head")
    func identityRecipe() throws {
        let lm = try TestHeads.model("smollm2-135m")
        let hydra = lm
        let native = hydra.native
        // An exact F32 copy of the native head to compare against.
        let f32Path = try TestHeads.denseCopy(native, "native-f32", tableType: .f32)
        let recipePath = temporaryPath("identity.gguf")
        defer {
            try? FileManager.default.removeItem(atPath: f32Path)
            try? FileManager.default.removeItem(atPath: recipePath)
        }
        try HeadFileWriter.writeRecipe(info: TestHeads.renamed(native, "identity"), tokenizer: native.tokenizerMetadata,
                                       recipe: .identity(rows: native.embedding.rowCount), source: native, to: recipePath)
        let size = { (path: String) in (try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0 }
        #expect(size(recipePath) * 20 < size(f32Path), "the recipe is a map, not tables")

        let f32 = try hydra.heads.load(path: f32Path, catalog: HeadCatalog(directories: []))
        let identity = try hydra.heads.load(path: recipePath, catalog: HeadCatalog(directories: []))
        #expect(identity.kind == "recipe" && identity.info.output == .tied)
        for id in [0, 1, 100, 4321, native.embedding.rowCount - 1] {
            var a = [Float](repeating: 0, count: 576), b = a
            native.embedding.row(id, into: &a)
            identity.embedding.row(id, into: &b)
            #expect(a == b, "row \(id)")
        }
        let ids = native.tokenizer.tokenize(TestHeads.prompt, addSpecial: true, parseSpecial: false)
        let exact = Array(try hydra.forwardLast(tokens: ids, head: f32, startPosition: 0, logitsFrom: f32))
        let viaRecipe = Array(try hydra.forwardLast(tokens: ids, head: identity, startPosition: 0, logitsFrom: identity))
        #expect(exact == viaRecipe)
        // Against the quantized native output: the same scores up to rounding.
        let viaNative = Array(try lm.forwardLast(tokens: ids, startPosition: 0))
        let argmax = { (v: [Float]) in v.indices.max { v[$0] < v[$1] }! }
        // The native choice is the recipe's top token or within rounding of it
        // (this prompt's top two tokens are 0.02 apart).
        #expect(viaRecipe[argmax(viaRecipe)] - viaRecipe[argmax(viaNative)] < 0.1)
        let worst = zip(viaNative, viaRecipe).map { abs($0 - $1) }.max()!
        #expect(worst < 0.5, "largest logit difference \(worst)")
    }

    @Test("a recipe materializes weighted sums of source rows, checked by hand")
    func recipeByHand() throws {
        let rows: [[Float]] = [[1, 2, 3, 4], [10, 20, 30, 40], [-1, 0, 1, 0.5]]
        let source = try OwnedMatrix(floats: rows.flatMap { $0 }, rows: 3, cols: 4)
        let recipe = try HeadRecipe(rows: [[(1, 1)], [(0, 0.5), (2, 0.5)], [], [(0, 0.25), (1, 0.5), (0, 0.25)]],
                                    sourceRows: 3)
        #expect(recipe.offsets == [0, 1, 3, 3, 6] && recipe.entryCount == 6)
        let table = recipe.materialize(from: TokenEmbedding(matrix: source.matrix))
        #expect(table == [10, 20, 30, 40, 0, 1, 2, 2.25, 0, 0, 0, 0, 5.5, 11, 16.5, 22])
        #expect(recipe.materialize(vector: [1, 2, 4]) == [2, 2.5, 0, 1.5])
        #expect(throws: HydraError.self) { _ = try HeadRecipe(rows: [[(3, 1)]], sourceRows: 3) }
        #expect(throws: HydraError.self) { _ = try HeadRecipe(offsets: [0, 2, 1], indices: [0], weights: [1]) }
    }

    @Test("a recipe head's stored input rows replace the mapped rows of their tokens: exactly (F32) or within Q8_0 rounding; format 2; bad rows refused")
    func recipeInputRows() throws {
        let hydra = try TestHeads.model("smollm2-135m")
        let native = hydra.native
        let rows = native.embedding.rowCount, width = native.embedding.width
        let initial = HeadTuning.rows(of: native.embedding)
        var tuned = initial
        var rng = SplitMix64(seed: 3)
        let moved: [Int32] = [3, 77, 4321, Int32(rows - 1)]
        for t in moved {
            for c in 0..<width { tuned[Int(t) * width + c] += Float(Int(rng.next() % 201) - 100) / 1000 }
        }
        let patch = try RowPatch(changed: tuned, from: initial, width: width)
        #expect(patch.tokens == moved && patch.rows.count == moved.count * width)
        let paths = ["f32", "q8", "plain", "narrow"].map { temporaryPath("patched-\($0).gguf") }
        defer { for p in paths { try? FileManager.default.removeItem(atPath: p) } }
        func write(_ name: String, _ patch: RowPatch?, type: GGMLType, to path: String) throws {
            try HeadFileWriter.writeRecipe(info: TestHeads.renamed(native, name), tokenizer: native.tokenizerMetadata,
                                           recipe: .identity(rows: rows), source: RecipeSource(native), inputRows: patch,
                                           tableType: type, to: path)
        }
        try write("patched-f32", patch, type: .f32, to: paths[0])
        try write("patched-q8", patch, type: .q8_0, to: paths[1])
        try write("plain", nil, type: .f32, to: paths[2])
        #expect(try GGUFFile(path: paths[0]).int(HeadKeys.formatVersion) == 2)
        #expect(try GGUFFile(path: paths[2]).int(HeadKeys.formatVersion) == 1)  // older readers read it right
        #expect(try HeadFile.recipe(of: paths[0]).inputRows == patch)
        #expect(try HeadFile.recipe(of: paths[2]).inputRows == nil)

        let exact = try hydra.heads.load(path: paths[0], catalog: HeadCatalog(directories: []))
        #expect(HeadTuning.rows(of: exact.embedding) == tuned)
        let q8 = try hydra.heads.load(path: paths[1], catalog: HeadCatalog(directories: []))
        let rounded = HeadTuning.rows(of: q8.embedding)
        for r in 0..<rows where r % 97 == 0 || moved.contains(Int32(r)) {
            let slice = r * width..<(r + 1) * width
            if moved.contains(Int32(r)) {
                let worst = zip(rounded[slice], tuned[slice]).map { abs($0 - $1) }.max()!
                let scale = tuned[slice].map(abs).max()!
                #expect(worst <= scale / 127 && rounded[slice] != initial[slice], "row \(r)")
            } else {
                #expect(rounded[slice] == initial[slice], "row \(r)")
            }
        }
        // Bad rows: decreasing or negative tokens, rows of the wrong count, a token past the head, the wrong width.
        #expect(throws: HydraError.self) { _ = try RowPatch(tokens: [5, 3], rows: [Float](repeating: 0, count: 2 * 4), width: 4) }
        #expect(throws: HydraError.self) { _ = try RowPatch(tokens: [-1], rows: [0, 0, 0, 0], width: 4) }
        #expect(throws: HydraError.self) { _ = try RowPatch(tokens: [1], rows: [0, 0, 0], width: 4) }
        #expect(throws: HydraError.self) { _ = try RowPatch(tokens: [1], rows: [0, .nan, 0, 0], width: 4) }
        #expect(throws: HeadError.self) {
            try write("past", try RowPatch(tokens: [Int32(rows)], rows: Array(tuned[0..<width]), width: width), type: .f32,
                      to: paths[3])
        }
        try write("narrow", try RowPatch(tokens: [7], rows: [Float](repeating: 0.5, count: 32), width: 32), type: .f32,
                  to: paths[3])
        #expect(throws: HeadError.self) { _ = try hydra.heads.load(path: paths[3], catalog: HeadCatalog(directories: [])) }
    }

    @Test("tables computed in floats are stored as Q8_0 and read back within its rounding")
    func q8Tables() throws {
        var rng = SplitMix64(seed: 7)
        let width = 64, count = 5
        let floats = (0..<width * count).map { _ in Float(Int(rng.next() % 2001) - 1000) / 1000 }
        let owned = try OwnedMatrix(floats: floats, rows: count, cols: width, type: .q8_0)
        #expect(owned.matrix.type == .q8_0 && owned.matrix.byteCount == count * 2 * 34)
        for r in 0..<count {
            let back = owned.matrix.dequantizeRow(r)
            for c in 0..<width { #expect(abs(back[c] - floats[r * width + c]) <= 0.0045) }
        }
    }

    @Test("mixed sequences: half the prompt through one head, half through another, equals the native logits")
    func mixedSequence() throws {
        let lm = try TestHeads.model("gemma3-270m")
        let hydra = lm
        let pathA = try TestHeads.denseCopy(hydra.native, "copy-a")
        let pathB = try TestHeads.denseCopy(hydra.native, "copy-b")
        defer {
            try? FileManager.default.removeItem(atPath: pathA)
            try? FileManager.default.removeItem(atPath: pathB)
        }
        let a = try hydra.heads.load(path: pathA, catalog: HeadCatalog(directories: []))
        let b = try hydra.heads.load(path: pathB, catalog: HeadCatalog(directories: []))
        #expect(hydra.heads.heads.map(\.name) == ["native", "copy-a", "copy-b"])
        #expect(a.embedding.rowCount == hydra.native.embedding.rowCount)

        let ids = hydra.native.tokenizer.tokenize(TestHeads.prompt, addSpecial: true, parseSpecial: false)
        let half = ids.count / 2
        let mixed = ids[..<half].map { HeadToken(a, $0) } + ids[half...].map { HeadToken(b, $0) }
        let native = Array(try lm.forwardLast(tokens: ids, startPosition: 0))
        #expect(Array(try hydra.forwardLast(mixed, startPosition: 0, logitsFrom: b)) == native)
        // The same through the cache: the first half, then the second half continuing it.
        _ = try hydra.forwardLast(Array(mixed[..<half]), startPosition: 0, logitsFrom: a)
        #expect(Array(try hydra.forwardLast(Array(mixed[half...]), startPosition: half, logitsFrom: hydra.native)) == native)
        // Every position's logits, as perplexity reads them.
        let all = try hydra.forwardAll(mixed, startPosition: 0, logitsFrom: a)
        let allNative = try lm.forward(tokens: ids, startPosition: 0, allLogits: true)
        #expect(all == allNative)
    }

    @Test("an input-only head embeds but cannot score tokens")
    func inputOnlyHead() throws {
        let lm = try TestHeads.model("smollm2-135m")
        let hydra = lm
        let path = try TestHeads.denseCopy(hydra.native, "input-only", output: HeadInfo.Output.none)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let head = try hydra.heads.load(path: path, catalog: HeadCatalog(directories: []))
        #expect(!head.canGenerate && head.output == nil)
        let ids = hydra.native.tokenizer.tokenize("Hello there", addSpecial: true, parseSpecial: false)
        #expect(throws: HydraError.self) {
            _ = try hydra.forwardLast(tokens: ids, head: head, startPosition: 0, logitsFrom: head)
        }
        let native = Array(try lm.forwardLast(tokens: ids, startPosition: 0))
        #expect(Array(try hydra.forwardLast(tokens: ids, head: head, startPosition: 0, logitsFrom: hydra.native)) == native)
        #expect(throws: HeadError.self) { _ = try Translator(model: hydra, target: head) }
    }

    @Test("two files of the same head name: the second is refused, or replaces the first when asked; both stay usable")
    func sameNameHeads() throws {
        let hydra = try TestHeads.model("smollm2-135m")
        let first = try TestHeads.denseCopy(hydra.native, "twin")
        let second = temporaryPath("twin-retuned.gguf")
        try FileManager.default.copyItem(atPath: first, toPath: second)
        defer { for p in [first, second] { try? FileManager.default.removeItem(atPath: p) } }
        let a = try hydra.heads.load(path: first, catalog: HeadCatalog(directories: []))
        #expect(throws: HeadError.self) { try hydra.heads.load(path: second, catalog: HeadCatalog(directories: [])) }
        let b = try hydra.heads.load(path: second, catalog: HeadCatalog(directories: []), replacing: true)
        #expect(a !== b && hydra.heads.head(named: "twin") === b)
        #expect(hydra.heads.heads.filter { $0.name == "twin" }.count == 1)
        let ids = hydra.native.tokenizer.tokenize("Hello there", addSpecial: true, parseSpecial: false)
        let viaA = Array(try hydra.forwardLast(tokens: ids, head: a, startPosition: 0, logitsFrom: a))
        let viaB = Array(try hydra.forwardLast(tokens: ids, head: b, startPosition: 0, logitsFrom: b))
        let native = Array(try hydra.forwardLast(tokens: ids, startPosition: 0))
        #expect(viaA == viaB && viaA == native)
        // The native head is never replaced.
        let nativeName = try TestHeads.denseCopy(hydra.native, hydra.native.name)
        defer { try? FileManager.default.removeItem(atPath: nativeName) }
        #expect(throws: HeadError.self) {
            try hydra.heads.load(path: nativeName, catalog: HeadCatalog(directories: []), replacing: true)
        }
        #expect(HeadEvaluation.labels(["native", "twin", "twin", "ru", "twin"]) == ["native", "twin", "twin#2", "ru", "twin#3"])
    }

    @Test("a recipe's source head is found by name in the catalog and loaded first")
    func recipeSourceFromCatalog() throws {
        let lm = try TestHeads.model("smollm2-135m")
        let hydra = lm
        let dir = temporaryPath("catalog")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let basePath = dir + "/base.gguf"
        try HeadFileWriter.writeDense(hydra.native, to: basePath, info: TestHeads.renamed(hydra.native, "base", language: "en"),
                                      tableType: .f32)
        // A two-token recipe over "base": a sum and a copy.
        let base = try HeadSet(body: hydra.body, native: hydra.native)
        let baseHead = try base.load(path: basePath, catalog: HeadCatalog(directories: []))
        var vocab = baseHead.tokenizerMetadata
        vocab.entries.removeAll { $0.key == "tokenizer.chat_template" }
        let recipe = try HeadRecipe(rows: Array(repeating: [(Int32(5), Float(1))], count: baseHead.vocabulary.count))
        var info = TestHeads.renamed(hydra.native, "tt-test", language: "tt")
        info.provenance.method = "zip-tie"
        try HeadFileWriter.writeRecipe(info: info, tokenizer: vocab, recipe: recipe, source: baseHead, to: dir + "/tt.gguf")

        let catalog = HeadCatalog(directories: [dir])
        #expect(catalog.entries().map { "\($0.info.language) \($0.info.name) \($0.kind)" } == ["en base dense", "tt tt-test recipe"])
        #expect(catalog.entries(language: "tt-RU", fitting: hydra.heads.fingerprint).count == 1)
        let tt = try hydra.heads.load(path: dir + "/tt.gguf", catalog: catalog)
        #expect(hydra.heads.heads.map(\.name) == ["native", "base", "tt-test"])
        #expect(hydra.heads.head(for: "tt") === tt && hydra.heads.head(for: "en") === hydra.heads.head(named: "base"))
        var a = [Float](repeating: 0, count: 576), b = a
        hydra.native.embedding.row(5, into: &a)
        tt.embedding.row(77, into: &b)
        #expect(a == b)
    }

    /// The committed head files, as `hydra` finds and reads them: each a
    /// head file with valid recommended decoding; heads/reference/ (heads
    /// for checking the methods, not for translating) is not searched by
    /// language.
    @Test("the shipped heads read as head files; heads/reference is given by path only")
    func shippedHeads() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().path
        var read = 0
        for folder in ["heads", "heads/reference"] {
            for name in try FileManager.default.contentsOfDirectory(atPath: root + "/" + folder) where name.hasSuffix(".gguf") {
                let info = try HeadFile.info(of: GGUFFile(path: root + "/" + folder + "/" + name))
                #expect(HeadDecoding.Settings(noRepeatNgram: info.noRepeatNgram, repeatPenalty: info.repeatPenalty,
                                               candidates: info.candidates, beams: info.beams,
                                               roundTripWeight: info.roundTripWeight,
                                               roundTripBelow: info.roundTripBelow).problem() == nil,
                        "\(name)")
                read += 1
            }
        }
        #expect(read >= 4)
        let russian = try HeadFile.info(of: GGUFFile(path: root + "/heads/reference/ru-qwen2.5-1.5b.gguf"))
        #expect(russian.language == "ru" && russian.noRepeatNgram == 3 && russian.repeatPenalty == 1.5)
        #expect(russian.beams == 4 && russian.candidates == nil, "the Russian head recommends 4 beams")
        #expect(russian.factored == .firstToken, "the Russian head's output is factored by Qwen's own head")
        let catalog = HeadCatalog(directories: [root + "/heads"])
        #expect(catalog.entries(language: "ru", fitting: russian.body.fingerprint).isEmpty)
        #expect(catalog.entries(language: "tt", fitting: russian.body.fingerprint).count == 1)
    }

    @Test("stop strings cut the stream and hold back only what may start one")
    func stopStrings() {
        var s = StopStrings(["<|im_end|>"])
        #expect(s.take("Hello") == ("Hello", false))
        #expect(s.take(" world<|im") == (" world", false))
        #expect(s.take("_x") == ("<|im_x", false))
        #expect(s.take("!<|im_") == ("!", false))
        #expect(s.take("end|>tail") == ("", true))
        #expect(s.finish() == "")
        var t = StopStrings(["<|im_end|>"])
        #expect(t.take("ab<") == ("ab", false))
        #expect(t.finish() == "<")
        var none = StopStrings([])
        #expect(none.take("<|im_end|>") == ("<|im_end|>", false))
    }
}

@Suite("Head translation", .tags(.model), .modelsWanted)
struct HeadTranslatorTests {
    @Test("translating through two heads (copies of the native head) equals the single-head translator")
    func twoHeadsEqualOne() throws {
        let text = "Good morning.\n\nThe cat sleeps."
        let en = try Language.named("en"), ru = try Language.named("ru")
        func run(_ t: Translator) throws -> (String, Translator.Statistics) {
            var out = ""
            let stats = try t.translate(text, from: en, to: ru) { out += $0; return true }
            return (out, stats)
        }
        let lm = try TestHeads.model("smollm2-135m", context: 512)
        let single = try run(try Translator(model: lm))

        let hydra = lm
        let enPath = try TestHeads.denseCopy(hydra.native, "en-copy", language: "en")
        let ruPath = try TestHeads.denseCopy(hydra.native, "ru-copy", language: "ru")
        defer {
            try? FileManager.default.removeItem(atPath: enPath)
            try? FileManager.default.removeItem(atPath: ruPath)
        }
        let enHead = try hydra.heads.load(path: enPath, catalog: HeadCatalog(directories: []))
        let ruHead = try hydra.heads.load(path: ruPath, catalog: HeadCatalog(directories: []))
        // Heads chosen by language, and heads given explicitly.
        let byLanguage = try Translator(model: hydra)
        // The copies declare their language's script, which would lock the
        // Russian output to Cyrillic; the lock is ScriptLockTests' subject.
        byLanguage.scriptLock = .off
        #expect(try byLanguage.heads(from: en, to: ru).source === enHead)
        #expect(try byLanguage.heads(from: en, to: ru).target === ruHead)
        let two = try run(byLanguage)
        let explicitTranslator = try Translator(model: hydra, source: enHead, target: ruHead)
        explicitTranslator.scriptLock = .off
        let explicit = try run(explicitTranslator)
        #expect(!single.0.isEmpty)
        #expect(two.0 == single.0 && explicit.0 == single.0)
        #expect(two.1.generatedTokens == single.1.generatedTokens && two.1.promptTokens == single.1.promptTokens)
    }
}
