import Foundation
import Testing
@testable import HydraCore

/// Runs the built `hydra` binary (next to the test bundle) as a user would.
enum CLI {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static var binary: String {
        let dir = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        // The test runner may live inside an .xctest bundle directory.
        for candidate in [dir, dir.deletingLastPathComponent(), dir.deletingLastPathComponent().deletingLastPathComponent()] {
            let p = candidate.appendingPathComponent("hydra").path
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        return dir.appendingPathComponent("hydra").path
    }

    /// Runs the built `hydra` with `args` (see `runProgram`).
    static func run(_ args: [String], stdin: Data? = nil, env: [String: String] = [:]) throws -> Result {
        try runProgram(binary, args, stdin: stdin, env: env)
    }
}

@Suite("hydra command line", .tags(.model), .modelsWanted)
struct CLITests {
    struct TokenizerFixture: Decodable {
        struct Case: Decodable { let name: String; let text: String; let add_special: Bool; let parse_special: Bool; let ids: [Int] }
        let cases: [Case]
    }

    @Test("tokenize --ids prints llama.cpp's ids", arguments: TestModels.keys)
    func tokenizeMatchesLlamaCpp(key: String) throws {
        let fixture: TokenizerFixture = try Fixtures.load("\(key)/tokenizer.json")
        let cases = fixture.cases.filter { $0.add_special && $0.parse_special && !$0.text.isEmpty }.prefix(4)
        #expect(!cases.isEmpty)
        for c in cases {
            let r = try CLI.run(["tokenize", "--model", TestModels.path(key), "--ids", c.text])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout == "[" + c.ids.map(String.init).joined(separator: ", ") + "]\n", "case \(c.name)")
        }
    }

    @Test("bad input ends with a one-line error and a status from 1 to 127")
    func errors() throws {
        let truncated = temporaryPath("truncated.gguf")
        let prefix = try readPrefix(TestModels.path("smollm2-135m"), count: 100_000)
        try Data(prefix).write(to: URL(fileURLWithPath: truncated))
        let cases: [(String, [String], Data?)] = [
            ("missing model file", ["tokenize", "--model", "/nonexistent/x.gguf", "hi"], nil),
            ("unknown model name", ["tokenize", "--model", "no-such-model", "hi"], nil),
            ("truncated model", ["tokenize", "--model", truncated, "hi"], nil),
            ("not a model", ["tokenize", "--model", Fixtures.directory + "/perplexity.txt", "hi"], nil),
            ("invalid UTF-8 on stdin", ["tokenize", "--model", TestModels.path("smollm2-135m")], Data([0x68, 0xff, 0xfe])),
            ("unknown command", ["frobnicate"], nil),
            ("unknown source language", ["translate", "--from", "xx", "--to", "tt", "hi"], nil),
            ("unknown target language", ["translate", "--from", "en", "--to", "zz", "hi"], nil),
            ("--from auto on text without letters", ["translate", "--no-daemon", "--from", "auto", "--to", "en", "--model", TestModels.path("smollm2-135m"), "123 !?"], nil),
            ("translate invalid UTF-8", ["translate", "--from", "en", "--to", "ru", "--model", TestModels.path("smollm2-135m")], Data([0xC3, 0x28])),
            ("translation memory without tabs", ["translate", "--no-daemon", "--from", "en", "--to", "ru", "--model", TestModels.path("smollm2-135m"), "--memory", Fixtures.directory + "/perplexity.txt", "hi"], nil),
            ("missing translation memory", ["translate", "--no-daemon", "--from", "en", "--to", "ru", "--memory", "/nonexistent/tm.tsv", "hi"], nil),
            ("missing lexicon", ["translate", "--no-daemon", "--from", "en", "--to", "tt", "--lexicon", "/nonexistent/words.txt", "hi"], nil),
            ("lexicon without words", ["translate", "--no-daemon", "--from", "en", "--to", "tt", "--model", TestModels.path("smollm2-135m"), "--lexicon", "SHORT_DIGITS", "hi"], nil),
            ("a head's lexicon without words", ["heads", "recommend", HeadTuningTests.root.appendingPathComponent("heads/tt-gemma3-270m.gguf").path, "--out", temporaryPath("lexicon-head.gguf"), "--lexicon", "SHORT_DIGITS"], nil),
            ("perplexity of a missing file", ["perplexity", "--model", TestModels.path("smollm2-135m"), "/nonexistent.txt"], nil),
            ("perplexity of too short a text", ["perplexity", "--model", TestModels.path("smollm2-135m"), "-c", "128", "SHORT"], nil),
        ]
        let short = temporaryPath("short.txt")
        try Data("Too short to score.".utf8).write(to: URL(fileURLWithPath: short))
        let digits = temporaryPath("digits.txt")
        try Data("123, 456 !?\n".utf8).write(to: URL(fileURLWithPath: digits))
        let resolved = cases.map { c in (c.0, c.1.map { $0 == "SHORT" ? short : $0 == "SHORT_DIGITS" ? digits : $0 }, c.2) }
        for (what, args, stdin) in resolved {
            let r = try CLI.run(args, stdin: stdin)
            #expect((1...127).contains(r.status), "\(what): status \(r.status)")
            #expect(r.stdout.isEmpty, "\(what): wrote to stdout")
            let lines = r.stderr.split(separator: "\n", omittingEmptySubsequences: true)
            #expect(!lines.isEmpty, "\(what): no error message")
            if what != "unknown command" {
                #expect(lines.count == 1, "\(what): \(r.stderr)")
            }
        }
    }

    struct GreedyFixture: Decodable {
        struct Case: Decodable { let prompt: String; let ids: [Int]; let text: String }
        let cases: [Case]
    }

    @Test("generate --greedy --flash-attn off prints llama.cpp's continuation with flash attention off",
          arguments: TestModels.keys)
    func generateMatchesLlamaCpp(key: String) throws {
        let fixture: GreedyFixture = try Fixtures.loadForThisCPU(key, "greedy.json")
        let c = try #require(fixture.cases.first)
        let r = try CLI.run(["generate", "--model", TestModels.path(key), "-n", "\(c.ids.count)", "--greedy",
                             "--flash-attn", "off", c.prompt])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout == c.text)
    }

    struct CompletionFixture: Decodable {
        struct Case: Decodable { let name: String; let prompt: String; let n_predict: Int; let text: String }
        let cases: [Case]
    }

    /// llama-completion's defaults include flash attention: its three paths
    /// are all here (short prompts one query at a time, the long prompt in
    /// tiles, and its decoding past 256 positions split in two chunks, as llama.cpp does with 2 threads).
    @Test("generate --greedy prints llama-completion's continuation (flash attention, its default)",
          arguments: TestModels.keys)
    func generateMatchesLlamaCompletion(key: String) throws {
        let fixture: CompletionFixture = try Fixtures.loadForThisCPU(key, "completion.json")
        #expect(fixture.cases.count == 3)
        for c in fixture.cases {
            let r = try CLI.run(["generate", "--model", TestModels.path(key), "-n", "\(c.n_predict)", "--greedy",
                                 "--threads", "2", c.prompt])
            #expect(r.status == 0, "\(r.stderr)")
            #expect(r.stdout == c.text, "\(key) \(c.name)")
        }
    }

    struct PerplexityFixture: Decodable {
        let n_ctx: Int
        let ppl: Double
        let ppl_flash_attn_off: Double
    }

    /// llama-perplexity with its default (flash attention, in tiles: the
    /// chunks are 128 tokens) and with -fa off, each against hydra with the
    /// same setting; both print four decimals.
    @Test("perplexity equals llama-perplexity, with and without flash attention", arguments: TestModels.keys)
    func perplexityMatchesLlamaCpp(key: String) throws {
        let fixture: PerplexityFixture = try Fixtures.loadForThisCPU(key, "perplexity.json")
        for (mode, expected) in [("auto", fixture.ppl), ("off", fixture.ppl_flash_attn_off)] {
            let r = try CLI.run(["perplexity", "--model", TestModels.path(key), "-c", "\(fixture.n_ctx)",
                                 "--flash-attn", mode, Fixtures.directory + "/perplexity.txt"])
            #expect(r.status == 0, "\(r.stderr)")
            let line = try #require(r.stdout.split(separator: "\n").first { $0.hasPrefix("Final estimate: PPL = ") })
            let value = try #require(Double(line.dropFirst("Final estimate: PPL = ".count).split(separator: " ")[0]))
            print("perplexity \(key) --flash-attn \(mode): hydra \(value), llama.cpp \(expected)")
            #expect(abs(value - expected) / expected < 1e-5, "--flash-attn \(mode)")
        }
    }

    @Test("translate reads standard input and keeps its paragraphs")
    func translateStdin() throws {
        let r = try CLI.run(["translate", "--from", "en", "--to", "ru", "--model", TestModels.path("qwen2.5-0.5b")],
                            stdin: Data("Good morning.\n\nThank you.\n".utf8))
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.components(separatedBy: "\n\n").count == 2, "\(r.stdout)")
        #expect(r.stdout.hasSuffix("\n"))
        #expect(r.stderr.isEmpty)
    }

    @Test("--from auto guesses Russian and translates it like --from ru")
    func translateFromAuto() throws {
        let args = ["--to", "en", "--no-daemon", "--model", TestModels.path("qwen2.5-0.5b"), "Доброе утро, друзья."]
        let auto = try CLI.run(["translate", "--from", "auto"] + args)
        let explicit = try CLI.run(["translate", "--from", "ru"] + args)
        #expect(auto.status == 0, "\(auto.stderr)")
        #expect(auto.stdout == explicit.stdout)
        #expect(Script.dominant(in: auto.stdout) == .latin, "\(auto.stdout)")
    }

    @Test("bench --json reports the llama-bench style figures")
    func benchSmoke() throws {
        let r = try CLI.run(["bench", "--model", TestModels.path("smollm2-135m"), "--threads", "1",
                             "-p", "16", "-n", "4", "-r", "1", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        for key in ["pp_tokens_per_s", "tg_tokens_per_s", "load_ms", "peak_rss_mb", "weight_bytes"] {
            let value = try #require(object[key] as? Double, "\(key) missing")
            #expect(value > 0, "\(key)")
        }
    }

    @Test("models lists the known models")
    func models() throws {
        let r = try CLI.run(["models"])
        #expect(r.status == 0)
        for name in ["gemma3-270m", "smollm2-135m", "qwen2.5-0.5b"] {
            #expect(r.stdout.contains(name))
        }
    }
}
