import Foundation
import Testing
@testable import HydraCore

/// `hydra translate --batch`: every text gets the translation it gets
/// alone, a killed run resumes where it stopped, and a gettext catalog is
/// filled without losing its placeholders or anything else.
@Suite("Batch translation", .serialized, .tags(.model), .modelsWanted)
final class BatchTranslationTests {
    /// Each test's files, removed when it ends.
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("hydra-batch-\(UUID().uuidString)")

    init() throws { try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true) }
    deinit { try? FileManager.default.removeItem(at: folder) }

    static let texts = [
        "Good morning.", "Open the file.", "The weather is good today.", "Save your work before you close the window.",
        "Two paragraphs.\n\nThe second one.", "Where is the station?", "I like green tea.", "Restart the computer.",
    ]

    static func jsonl(_ texts: [String]) -> String {
        texts.enumerated().map { i, t in "{\"id\":\(i),\"text\":\(BatchID(string: t).json)}\n" }.joined()
    }

    /// Output lines by id.
    static func results(_ path: String) throws -> [String: String] {
        var out: [String: String] = [:]
        for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
            let object = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let id = "\(try #require(object["id"]))"
            #expect(out[id] == nil, "id \(id) written twice")
            out[id] = try #require(object["translation"] as? String, "\(line)")
        }
        return out
    }

    func temporary(_ name: String) -> String { folder.appendingPathComponent(name).path }

    @Test("each text of a batch gets the translation it gets alone")
    func sameAsAlone() throws {
        let input = temporary("in.jsonl"), output = temporary("out.jsonl")
        try Self.jsonl(Self.texts).write(toFile: input, atomically: true, encoding: .utf8)
        let r = try CLI.run(["translate", "--model", "smollm2-135m", "--from", "en", "--to", "ru", "--batch", input,
                             "--out", output, "--parallel", "3", "--threads", "2"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("8/8 texts") && r.stderr.contains("tokens/s"), "\(r.stderr)")
        let got = try Self.results(output)
        #expect(got.count == Self.texts.count)
        for (i, text) in Self.texts.enumerated() {
            #expect(got["\(i)"] == (try InProcess.translate(text)), "\(text)")
        }
    }

    @Test("a run killed with SIGKILL is resumed: no text lost, none translated twice")
    func resumeAfterKill() throws {
        let input = temporary("in.jsonl"), output = temporary("out.jsonl")
        try Self.jsonl(Self.texts).write(toFile: input, atomically: true, encoding: .utf8)
        let args = ["translate", "--model", "smollm2-135m", "--from", "en", "--to", "ru", "--batch", input,
                    "--out", output, "--parallel", "1", "--threads", "2"]
        let p = Process()
        p.executableURL = URL(fileURLWithPath: CLI.binary)
        p.arguments = args
        var environment = ProcessInfo.processInfo.environment
        environment["HYDRA_MODELS"] = TestModels.directory
        p.environment = environment
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(120)
        func lines() -> Int { ((try? String(contentsOfFile: output, encoding: .utf8)) ?? "").filter { $0 == "\n" }.count }
        while lines() < 2 && p.isRunning && Date() < deadline { usleep(20_000) }
        kill(p.processIdentifier, SIGKILL)
        p.waitUntilExit()
        let before = lines()
        #expect(before >= 2 && before < Self.texts.count, "\(before) lines before the kill")
        // A write the kill cut short.
        let handle = try #require(FileHandle(forWritingAtPath: output))
        handle.seekToEndOfFile()
        handle.write(Data("{\"id\":7,\"transl".utf8))
        try handle.close()

        let r = try CLI.run(args)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("\(before) done before"), "\(r.stderr)")
        let got = try Self.results(output)
        #expect(got.count == Self.texts.count)
        for (i, text) in Self.texts.enumerated() {
            #expect(got["\(i)"] == (try InProcess.translate(text)), "\(text)")
        }
    }

    @Test("a batch in three shards, merged: every text once, in input order, as alone")
    func shards() throws {
        let input = temporary("in.jsonl"), merged = temporary("merged.jsonl")
        try Self.jsonl(Self.texts).write(toFile: input, atomically: true, encoding: .utf8)
        var parts: [String] = []
        for k in 0..<3 {
            let part = temporary("part-\(k).jsonl")
            let r = try CLI.run(["translate", "--model", "smollm2-135m", "--from", "en", "--to", "ru", "--batch", input,
                                 "--out", part, "--shard", "\(k)/3", "--threads", "2"])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(try Self.results(part).keys.sorted() == stride(from: k, to: Self.texts.count, by: 3).map { "\($0)" }.sorted())
            parts.append(part)
        }
        // A merge without one part fails and writes nothing.
        let missing = try CLI.run(["batch-merge", "--batch", input, "--out", merged, parts[0], parts[2]])
        #expect(missing.status != 0 && missing.stderr.contains("3 of 8 input ids are in no part: 1, 4, 7"), "\(missing.stderr)")
        #expect(!FileManager.default.fileExists(atPath: merged))
        let r = try CLI.run(["batch-merge", "--batch", input, "--out", merged] + parts.reversed())
        #expect(r.status == 0 && r.stderr.contains("8 texts from 3 parts, each once: 8 translated, 0 failed"), "\(r.stderr)")
        let lines = try String(contentsOfFile: merged, encoding: .utf8).split(separator: "\n")
        #expect(lines.count == Self.texts.count)
        for (i, text) in Self.texts.enumerated() where i < lines.count {
            #expect(lines[i] == "{\"id\":\(i),\"translation\":\(BatchID(string: try InProcess.translate(text)).json)}")
        }
    }

    @Test("bad batch input: a clear error and a non-zero exit")
    func badInput() throws {
        let output = temporary("out.jsonl")
        for (content, message) in [("{\"id\":1}\n", "no \"text\""), ("{\"text\":\"a\"}\n", "no \"id\""),
                                   ("not json\n", ":1:"), ("{\"id\":1.5,\"text\":\"a\"}\n", ":1:"),
                                   ("{\"id\":1,\"text\":\"a\"}\n{\"id\":1,\"text\":\"b\"}\n", "used twice")] {
            let input = temporary("in.jsonl")
            try content.write(toFile: input, atomically: true, encoding: .utf8)
            let r = try CLI.run(["translate", "--model", "smollm2-135m", "--from", "en", "--to", "ru", "--batch", input,
                                 "--out", output])
            #expect(r.status != 0 && r.stderr.contains(message), "\(content): \(r.stderr)")
        }
        let r = try CLI.run(["translate", "--from", "en", "--to", "ru", "--batch", "x.jsonl"])
        #expect(r.status != 0 && r.stderr.contains("--out"), "\(r.stderr)")
    }

    static let catalog = #"""
        # Tatar translations.
        msgid ""
        msgstr ""
        "Content-Type: text/plain; charset=UTF-8\n"
        "Plural-Forms: nplurals=2; plural=(n != 1);\n"

        #: main.c:10
        #, c-format
        msgid "Open %s"
        msgstr ""

        msgctxt "menu"
        msgid "Quit"
        msgstr "Чыгу"

        msgid "One file"
        msgid_plural "%d files"
        msgstr[0] ""
        msgstr[1] ""

        msgid ""
        "Restart the computer\n"
        msgstr ""

        #~ msgid "Old"
        #~ msgstr "Иске"

        """#

    @Test("a gettext catalog: empty entries filled and marked fuzzy, the rest unchanged")
    func gettext() throws {
        var catalog = try GettextCatalog(Self.catalog, name: "t.po")
        #expect(catalog.text == Self.catalog)
        #expect(catalog.pluralForms == 2)
        let keys = catalog.messages.map(\.key)
        #expect(keys == ["Open %s", "One file", "One file\u{0}plural", "Restart the computer\n"])
        // One placeholder lost: that entry stays empty.
        let (filled, refused) = catalog.fill(["Open %s": "%s ачу", "One file": "Бер файл",
                                              "One file\u{0}plural": "Файл", "Restart the computer\n": "Яңадан кабызу"])
        #expect(filled == 2 && refused == 1)
        let text = catalog.text
        #expect(text.contains("#, c-format, fuzzy\nmsgid \"Open %s\"\nmsgstr \"%s ачу\"\n"), "\(text)")
        #expect(text.contains("msgid \"One file\"\nmsgid_plural \"%d files\"\nmsgstr[0] \"\"\nmsgstr[1] \"\"\n"))
        #expect(text.contains("#, fuzzy\nmsgid \"\"\n\"Restart the computer\\n\"\nmsgstr \"\"\n\"Яңадан кабызу\\n\"\n"),
                "\(text)")
        #expect(text.contains("msgctxt \"menu\"\nmsgid \"Quit\"\nmsgstr \"Чыгу\"\n"))
        #expect(text.contains("#~ msgid \"Old\"\n#~ msgstr \"Иске\"\n"))
        // Read back, the filled catalog has nothing left to translate but the refused entry.
        #expect(try GettextCatalog(text, name: "t.po").messages.map(\.key) == ["One file", "One file\u{0}plural"])
        #expect(Placeholders.of("%1$s of %(name)d, {0} and 100%%") == ["%(name)d", "%1$s", "{0}"])
    }

    @Test("hydra translate --batch on a catalog writes the filled catalog")
    func gettextCommand() throws {
        let input = temporary("in.po"), output = temporary("out.po")
        try Self.catalog.write(toFile: input, atomically: true, encoding: .utf8)
        let r = try CLI.run(["translate", "--model", "smollm2-135m", "--from", "en", "--to", "ru", "--batch", input,
                             "--out", output])
        #expect(r.status == 0, "\(r.stderr)")
        let written = try GettextCatalog(try String(contentsOfFile: output, encoding: .utf8), name: "out.po")
        #expect(!FileManager.default.fileExists(atPath: output + ".partial"))
        // Whatever was filled is the in-process translation, fitted to the source's newlines.
        for entry in written.entries where entry.id == "Restart the computer\n" && !entry.needsTranslation {
            #expect(entry.strings == [GettextCatalog.fit(try InProcess.translate("Restart the computer\n"),
                                                         like: "Restart the computer\n")])
        }
        #expect(r.stderr.contains("entries filled"), "\(r.stderr)")
    }
}
