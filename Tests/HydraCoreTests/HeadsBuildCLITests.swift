import Foundation
import Testing
@testable import HydraCore

/// `hydra heads build` on a tiny corpus over gemma3-270m: each method
/// writes a head that loads over the body and scores text; held-out data
/// and heads of another body are refused.
@Suite(.serialized, .tags(.model), .modelsWanted)
struct HeadsBuildCLITests {
    /// English–Tatar pairs, one "English<TAB>Tatar" line each.
    static let pairs = """
        Your file did not open.\tСезнең файл ачылмады.
        The file is saved.\tФайл саклана.
        An error occurred.\tХата чыкты.
        Open the file.\tФайлны ачу.

        """

    static func writePairs() throws -> String {
        let path = temporaryPath("heads-build-pairs.tsv")
        try pairs.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func buildsEachMethodAndLoadsOverTheBody() throws {
        let pairs = try Self.writePairs()
        let model = TestModels.path("gemma3-270m")
        let tokenizerHead = temporaryPath("heads-build-tt.gguf")
        defer { for p in [pairs, tokenizerHead] { try? FileManager.default.removeItem(atPath: p) } }
        let first = try CLI.run(["heads", "build", "--method", "transtok", "--model", model, "--language", "tt",
                                 "--train-tokenizer", "--vocab-size", "400", "--corpus", pairs, "--pairs", pairs,
                                 "--out", tokenizerHead])
        #expect(first.status == 0, "\(first.stderr)")
        let lm = try TestHeads.model("gemma3-270m")
        let hydra = lm
        for method in ["ziptie", "random"] {
            let path = temporaryPath("heads-build-\(method).gguf")
            defer { try? FileManager.default.removeItem(atPath: path) }
            let r = try CLI.run(["heads", "build", "--method", method, "--model", model, "--language", "tt",
                                 "--name", "tt-\(method)", "--tokenizer", tokenizerHead, "--out", path])
            #expect(r.status == 0, "\(r.stderr)")
            let head = try hydra.heads.load(path: path, catalog: HeadCatalog(directories: []))
            #expect(head.info.provenance.method == (method == "ziptie" ? "zip-tie" : "random"))
            let score = try HeadEvaluation.bitsPerCharacter(hydra, head: head, lines: ["Файл саклана."])
            #expect(score.bitsPerCharacter.isFinite && score.bitsPerCharacter > 0 && score.tokens > 0)
        }
        let tt = try hydra.heads.load(path: tokenizerHead, catalog: HeadCatalog(directories: []))
        #expect(tt.info.provenance.method == "trans-tokenization" && tt.kind == "recipe")
    }

    /// `--zip-tie-share W`: each row of the recipe is (1 − W) of its
    /// trans-tokenization row and W of its zip-tie row.
    @Test func zipTieShareMixesTheMaps() throws {
        let pairs = try Self.writePairs()
        let model = TestModels.path("gemma3-270m")
        let paths = ["tok", "transtok", "ziptie", "mixed"].map { temporaryPath("heads-build-share-\($0).gguf") }
        defer { for p in [pairs] + paths { try? FileManager.default.removeItem(atPath: p) } }
        let trained = try CLI.run(["heads", "build", "--method", "ziptie", "--model", model, "--language", "tt",
                                   "--train-tokenizer", "--vocab-size", "400", "--corpus", pairs, "--out", paths[0]])
        #expect(trained.status == 0, "\(trained.stderr)")
        for (method, share, path) in [("transtok", "0", paths[1]), ("ziptie", "0", paths[2]), ("transtok", "0.25", paths[3])] {
            let r = try CLI.run(["heads", "build", "--method", method, "--model", model, "--language", "tt",
                                 "--tokenizer", paths[0], "--pairs", pairs, "--zip-tie-share", share, "--out", path])
            #expect(r.status == 0, "\(r.stderr)")
        }
        let (transtok, zipTie, mixed) = try (HeadFile.recipe(of: paths[1]).recipe.sparseMap,
                                             HeadFile.recipe(of: paths[2]).recipe.sparseMap,
                                             HeadFile.recipe(of: paths[3]).recipe.sparseMap)
        #expect(SparseMaps.equal(mixed, SparseMaps.average([transtok, zipTie], weights: [0.75, 0.25]), tolerance: 1e-6))
        #expect(!SparseMaps.equal(mixed, transtok, tolerance: 1e-3))
        let wrong = try CLI.run(["heads", "build", "--method", "ziptie", "--model", model, "--language", "tt",
                                 "--tokenizer", paths[0], "--zip-tie-share", "0.5", "--out", temporaryPath("never.gguf")])
        #expect(wrong.status != 0 && wrong.stderr.contains("--zip-tie-share"))
    }

    @Test func refusesHeldOutData() throws {
        let r = try CLI.run(["heads", "build", "--method", "ziptie", "--language", "tt", "--train-tokenizer",
                             "--corpus", "data/heldout/en-tt.tsv", "--out", temporaryPath("never.gguf")])
        #expect(r.status != 0 && r.stderr.contains("held-out"))
    }
}
