import Foundation
import Testing
@testable import HydraCore

/// Long input: markers, code fences and sentences are kept as they are.
@Suite("Paragraphs")
struct ParagraphTests {
    static func joined(_ p: Paragraphs) -> String {
        p.pieces.map { piece -> String in
            switch piece {
            case .text(let t): return t
            case .verbatim(let v): return v
            }
        }.joined()
    }

    static let markdown = """
        # A title

        Some text that
        goes on.

        - one
        - [ ] two
          continued
        1. first
        2) second
        > quoted line
        > > nested

        ```swift
        let s = "not translated"

        print(s)
        ```

        ~~~
        tilde code
        ~~~~
        ---
        After the rule.
        """

    @Test("markers and fenced code are copied through; only text is translated")
    func markdownPieces() {
        let p = Paragraphs(Self.markdown)
        #expect(Self.joined(p) == Self.markdown)
        #expect(p.texts == ["A title", "Some text that\ngoes on.", "one", "two\n  continued", "first", "second",
                            "quoted line", "nested", "After the rule."])
    }

    @Test("an unclosed fence keeps the rest of the text as code")
    func unclosedFence() {
        let text = "Intro.\n```\ncode\n\nmore code"
        let p = Paragraphs(text)
        #expect(p.texts == ["Intro."])
        #expect(Self.joined(p) == text)
    }

    @Test("a long paragraph is cut into groups of whole sentences")
    func sentences() {
        let sentence = "This is sentence number one of a long paragraph. "
        let text = "  " + String(repeating: sentence, count: 40) + "Last one?  \n"
        let p = Paragraphs(text, maxSegmentBytes: 300)
        #expect(Self.joined(p) == text)
        #expect(p.texts.count > 5)
        for t in p.texts {
            #expect(t.utf8.count <= 300)
            #expect(t.hasSuffix(".") || t.hasSuffix("?"))
        }
        // Sentences are not cut when they fit.
        #expect(Paragraphs(text).texts.count == 2)
    }

    @Test("Cyrillic sentences, multi-byte offsets")
    func cyrillicSentences() {
        let text = String(repeating: "Бүген һава бик яхшы. Мин китап укыйм! ", count: 20)
        let p = Paragraphs(text, maxSegmentBytes: 120)
        #expect(Self.joined(p) == text)
        #expect(p.texts.allSatisfy { $0.utf8.count <= 120 && !$0.isEmpty })
    }

    @Test("text pieces split again give themselves (the daemon translates piece by piece)")
    func idempotent() {
        for t in Paragraphs(Self.markdown).texts {
            #expect(Paragraphs(t).pieces == [.text(t)])
        }
    }

    @Test("random markdown-like text always joins back", arguments: 0..<20)
    func randomRoundTrip(seed: Int) {
        var rng = SplitMix64(seed: UInt64(seed))
        let atoms = ["word", " ", "\n", "\n\n", "- ", "# ", "```", "~~~", "> ", "1. ", "\t", "Бик", ". ", "?", "  ", "[ ] ", "\r\n", "é"]
        var text = ""
        for _ in 0..<200 { text += atoms[Int(rng.next() % UInt64(atoms.count))] }
        let p = Paragraphs(text, maxSegmentBytes: 40)
        #expect(Self.joined(p) == text)
        for t in p.texts {
            #expect(!t.isEmpty && t.first?.isWhitespace == false && t.last?.isWhitespace == false)
            #expect(!t.contains("\n\n"))
        }
    }
}
