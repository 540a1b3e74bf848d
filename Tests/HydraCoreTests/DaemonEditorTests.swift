import Foundation
import Testing
@testable import HydraCore

/// The editor integrations in examples/, driven headless against a real
/// daemon where the editor is installed.
@Suite("Daemon editors", .serialized, .tags(.model), .modelsWanted)
struct DaemonEditorTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path

    static func installed(_ name: String) -> Bool {
        (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":").contains {
            FileManager.default.isExecutableFile(atPath: "\($0)/\(name)")
        }
    }

    /// Runs a program with the daemon's environment; returns status and stdout.
    static func run(_ program: String, _ args: [String], env: [String: String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = [program] + args
        var e = ProcessInfo.processInfo.environment
        for (k, v) in env { e[k] = v }
        p.environment = e
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    /// Translates a two-paragraph file in an editor and checks the file.
    static func checkEditor(_ program: String, _ args: (String) -> [String]) throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let text = "Hello!\n\nI am tired.\n"
        let file = daemon.runtimeDirectory + "/note.txt"
        try Data(text.utf8).write(to: URL(fileURLWithPath: file))
        let (status, _) = try run(program, args(file), env: daemon.environment)
        #expect(status == 0)
        let result = try String(contentsOfFile: file, encoding: .utf8)
        #expect(result == (try InProcess.translate(text, to: "fr")), "\(program) wrote \(result.debugDescription)")
        #expect(try daemon.status().models.first?.translations == 1)
    }

    @Test("Vim: :HydraTranslate replaces the buffer with its translation", .enabled(if: installed("vim")))
    func vim() throws {
        try Self.checkEditor("vim") { file in
            ["-Nu", "NONE", "-i", "NONE", "-es", "-c", "source \(Self.root)/examples/vim/plugin/hydra.vim",
             "-c", "HydraTranslate en fr", "-c", "wq", file]
        }
    }

    @Test("Neovim: :HydraTranslate replaces the buffer with its translation", .enabled(if: installed("nvim")))
    func neovim() throws {
        try Self.checkEditor("nvim") { file in
            ["--headless", "-u", "NONE", "-i", "NONE", "--cmd", "set rtp+=\(Self.root)/examples/nvim",
             "-c", "lua require('hydra').setup({})", "-c", "HydraTranslate en fr", "-c", "wq", file]
        }
    }

    @Test("Emacs: hydra-translate-buffer replaces the buffer with its translation", .enabled(if: installed("emacs")))
    func emacs() throws {
        try Self.checkEditor("emacs") { file in
            ["--batch", "-Q", "-L", "\(Self.root)/examples/emacs", "-l", "hydra", "--eval",
             "(progn (setq hydra-from \"en\" hydra-to \"fr\") (find-file \"\(file)\") (hydra-translate-buffer) (save-buffer))"]
        }
    }

    @Test("VS Code's client.js streams a translation from Node", .enabled(if: installed("node")))
    func node() throws {
        let daemon = try TestDaemon()
        defer { daemon.stop() }
        let (status, out) = try Self.run("node", ["\(Self.root)/examples/vscode/client.js", "en", "fr", "Hello!"],
                                         env: daemon.environment)
        #expect(status == 0)
        #expect(out == (try InProcess.translate("Hello!", to: "fr")) + "\n")
    }
}
