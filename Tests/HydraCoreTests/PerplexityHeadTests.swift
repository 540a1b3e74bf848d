import Foundation
import Testing
@testable import HydraCore

/// `hydra perplexity --head`: bits per character through a head, the same
/// figure as `hydra heads eval`.
@Suite("CLI perplexity through a head", .tags(.model), .modelsWanted)
struct PerplexityHeadTests {
    @Test("perplexity --head gives HeadEvaluation's bits per character, for a head file and the native head")
    func bitsPerCharacter() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let headPath = root.appendingPathComponent("heads/tt-gemma3-270m.gguf").path
        let lines = try String(contentsOf: root.appendingPathComponent("data/heldout/en-tt.tsv"), encoding: .utf8)
            .split(separator: "\n").prefix(3).compactMap { $0.split(separator: "\t").last }.map(String.init)
        let file = NSTemporaryDirectory() + "ppl-head-\(UUID().uuidString).txt"
        try (lines.joined(separator: "\n\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }

        let model = TestModels.path("gemma3-270m")
        let hydra = try HydraModel(path: model, contextLength: 128, batchSize: 128, pool: ThreadPool(threads: 2))
        let head = try hydra.heads.load(path: headPath, catalog: HeadCatalog(directories: []))
        for (name, h) in [(headPath, head), ("native", hydra.native)] {
            let expected = try HeadEvaluation.bitsPerCharacter(hydra, head: h, lines: lines)
            let r = try CLI.run(["perplexity", "--model", model, "-c", "128", "--threads", "2", "--head", name, file])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout.hasPrefix(h.name + ": 3 lines, \(expected.characters) characters, \(expected.tokens) tokens; "),
                    "\(r.stdout)")
            #expect(r.stdout.contains(String(format: "%.4f bits/char", expected.bitsPerCharacter)), "\(r.stdout)")
        }
        let bad = try CLI.run(["perplexity", "--model", model, "--head", "no-such-head", file])
        #expect(bad.status != 0)
    }
}
