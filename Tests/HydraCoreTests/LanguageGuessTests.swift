import Foundation
import Testing
@testable import HydraCore

/// `--from auto` on real held-out Tatar and Russian lines, with and
/// without the coverage of the gemma3-270m heads (the shipped Tatar head
/// against Gemma's own tokenizer).
@Suite("Language guess with head coverage", .tags(.model), .modelsWanted)
struct LanguageGuessTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func coverage() throws -> HeadCoverage {
        let gguf = try TestModels.gguf("gemma3-270m")
        return try HeadCoverage.installed(model: gguf, reference: try Tokenizer(gguf: gguf),
                                          headFiles: [root.appendingPathComponent("heads/tt-gemma3-270m.gguf").path],
                                          catalog: HeadCatalog(directories: []))
    }

    /// The target sides of a held-out file that are mostly Cyrillic.
    static func lines(_ file: String) throws -> [String] {
        try String(contentsOf: root.appendingPathComponent("data/heldout/" + file), encoding: .utf8)
            .split(separator: "\n").compactMap { $0.split(separator: "\t", omittingEmptySubsequences: false).dropFirst().first }
            .map(String.init).filter { Script.dominant(in: $0) == .cyrillic }
    }

    @Test("a Tatar line without Tatar letters is found by the Tatar head; Russian stays Russian")
    func handPicked() throws {
        let coverage = try Self.coverage()
        #expect(coverage.heads.map(\.language) == ["tt"])
        let tatar = "Мондый исемле схема инде бар."   // "A scheme with this name already exists."
        #expect(LanguageGuess.detect(tatar).language == "ru")
        #expect(LanguageGuess.detect(tatar, coverage: coverage).language == "tt")
        #expect(try #require(coverage.ratios(tatar, languages: ["tt", "ru"])["tt"]) < 1)
        let russian = "Необходимо указать имя виджета."
        #expect(LanguageGuess.detect(russian, coverage: coverage).language == "ru")
        #expect(try #require(coverage.ratios(russian, languages: ["tt", "ru"])["tt"]) > 1)
        // Letters decide for a language without a head.
        #expect(LanguageGuess.detect("Беҙҙең өйҙә", coverage: coverage).language == "ba")
        #expect(LanguageGuess.detect("Hello there", coverage: coverage).language == "en")
    }

    @Test("held-out Tatar and Russian lines: coverage makes fewer mistakes than letters alone")
    func heldout() throws {
        let coverage = try Self.coverage()
        var before = 0, after = 0, total = 0
        for (file, language) in [("en-tt.tsv", "tt"), ("en-ru.tsv", "ru")] {
            let lines = try Self.lines(file)
            let b = lines.filter { LanguageGuess.detect($0).language == language }.count
            let a = lines.filter { LanguageGuess.detect($0, coverage: coverage).language == language }.count
            print("language guess \(language): \(lines.count) lines, letters \(b), letters + heads \(a)")
            for line in lines where LanguageGuess.detect(line, coverage: coverage).language != language {
                print("  missed (\(language)): \(line)")
            }
            before += b
            after += a
            total += lines.count
        }
        print("language guess: letters \(before)/\(total), letters + heads \(after)/\(total)")
        #expect(after > before)
    }
}
