import Foundation
import Testing

@Suite("CLI heads", .tags(.model), .modelsWanted)
struct HeadCLITests {
    @Test("heads export, list (language first) and inspect, with the body a head fits")
    func exportListInspect() throws {
        let dir = temporaryPath("heads-cli")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let env = ["HYDRA_HEADS": dir]
        let smol = TestModels.path("smollm2-135m"), gemma = TestModels.path("gemma3-270m")

        let export = try CLI.run(["heads", "export", "--model", smol, "--language", "ru", "--name", "smol-ru",
                                  dir + "/smol-ru.gguf"], env: env)
        #expect(export.status == 0, "\(export.stderr)")

        let list = try CLI.run(["heads", "list"], env: env)
        #expect(list.status == 0)
        let mine = list.stdout.split(separator: "\n").filter { $0.contains(dir) }
        #expect(mine.count == 1 && mine[0].hasPrefix("ru  smol-ru "), "\(list.stdout)")

        let fitting = try CLI.run(["heads", "list", "--model", smol], env: env)
        let lines = fitting.stdout.split(separator: "\n")
        #expect(lines.first?.hasPrefix("en  native ") == true, "\(fitting.stdout)")
        #expect(lines.contains { $0.hasPrefix("ru  smol-ru ") })
        let foreign = try CLI.run(["heads", "list", "--model", gemma], env: env)
        #expect(!foreign.stdout.contains("smol-ru"))

        let inspect = try CLI.run(["heads", "inspect", "smol-ru", "--model", gemma], env: env)
        #expect(inspect.status == 0, "\(inspect.stderr)")
        for field in ["name:      smol-ru", "language:  ru (Cyrl)", "kind:      dense", "method:    copy",
                      "tokenizer: gpt2, 49152 tokens, pre smollm", "tensor:    token_embd.weight Q8_0 [576, 49152]",
                      "fits:      no: this model's body is"] {
            #expect(inspect.stdout.contains(field), "\(field) in \(inspect.stdout)")
        }

        // Installed as PREFIX/bin/hydra (scripts/install.sh), it finds the
        // heads in PREFIX/share/hydra/heads, with no checkout above it.
        let prefix = temporaryPath("heads-prefix")
        defer { try? FileManager.default.removeItem(atPath: prefix) }
        for sub in ["bin", "share/hydra/heads", "data"] {
            try FileManager.default.createDirectory(atPath: prefix + "/" + sub, withIntermediateDirectories: true)
        }
        try FileManager.default.copyItem(atPath: CLI.binary, toPath: prefix + "/bin/hydra")
        try FileManager.default.copyItem(atPath: dir + "/smol-ru.gguf", toPath: prefix + "/share/hydra/heads/smol-ru.gguf")
        let installed = try runProgram(prefix + "/bin/hydra", ["heads", "list"], env: ["XDG_DATA_HOME": prefix + "/data"])
        #expect(installed.status == 0, "\(installed.stderr)")
        #expect(installed.stdout.contains("smol-ru") && installed.stdout.contains(prefix + "/share/hydra/heads"),
                "\(installed.stdout)")

        let missing = try CLI.run(["heads", "inspect", "no-such-head"], env: env)
        #expect(missing.status != 0)
        #expect(missing.stderr.contains("no head file or installed head named 'no-such-head'"), "\(missing.stderr)")
    }
}
