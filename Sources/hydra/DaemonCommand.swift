import ArgumentParser
import Foundation
import HydraCore

/// `hydra daemon`: starts, stops and reports on the background daemon.
struct DaemonCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "daemon",
        abstract: "Manage the background translation daemon (a warm model behind a Unix socket).",
        subcommands: [Start.self, Stop.self, Status.self, Restart.self])

    struct Start: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Start the daemon in the background and wait until it serves.")
        @OptionGroup var options: DaemonOptions

        func run() throws {
            let pid = try DaemonLauncher.start(options)
            print("hydra daemon started (pid \(pid)) on \(options.paths.socket)")
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the daemon.")
        @Option(help: "The daemon's socket.") var socket: String?

        func run() throws {
            if try DaemonLauncher.stop(DaemonPaths(socket: socket)) {
                print("hydra daemon stopped")
            } else {
                print("hydra daemon is not running")
            }
        }
    }

    struct Restart: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the daemon if it runs, then start it.")
        @OptionGroup var options: DaemonOptions

        func run() throws {
            _ = try DaemonLauncher.stop(options.paths)
            let pid = try DaemonLauncher.start(options)
            print("hydra daemon started (pid \(pid)) on \(options.paths.socket)")
        }
    }

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Report whether the daemon runs and what it serves (exit status 3 when it does not run).")
        @Option(help: "The daemon's socket.") var socket: String?
        @Flag(help: "Print the daemon's status reply as JSON.") var json = false

        func run() throws {
            let paths = DaemonPaths(socket: socket)
            let client: DaemonClient
            do {
                client = try DaemonClient(socket: paths.socket)
            } catch is DaemonClient.NotRunning {
                print("hydra daemon is not running (\(paths.socket))")
                throw ExitCode(3)
            }
            let s = try client.call(DaemonMethod.status, Empty(), as: StatusResult.self)
            if json {
                print(RPCCoding.line(s), terminator: "")
                return
            }
            print("hydra daemon \(s.version) running, pid \(s.pid), socket \(s.socket)")
            print(String(format: "up %.0f s, %d client(s), idle unload after %.0f s", s.uptimeMs / 1000, s.clients, s.idleUnloadS))
            for m in s.models {
                print("model \(m.model): \(m.loaded ? "loaded" : "not loaded"), \(m.running) running, \(m.queued) queued, "
                      + "\(m.translations) done, \(m.cancelled) cancelled, \(m.generatedTokens) tokens generated")
            }
        }
    }
}

/// Starting and stopping a daemon in the background.
enum DaemonLauncher {
    /// Starts `hydra serve` detached, logging to the socket's `.log` file,
    /// and waits until it answers (and has loaded its model, unless lazy).
    /// Returns its pid.
    static func start(_ options: DaemonOptions, timeout: Double = 120) throws -> Int32 {
        let paths = options.paths
        if DaemonClient.isRunning(socket: paths.socket) {
            let pid = paths.readPid().map { " (pid \($0))" } ?? ""
            throw HydraError.invalidInput("a hydra daemon is already running on \(paths.socket)\(pid)")
        }
        _ = try options.configuration()  // a bad --model fails here, not in the log
        try paths.prepareDirectory()
        // One start at a time; the second then finds the first's daemon.
        let startLock = try DaemonLock(path: paths.startLock, wait: true)
        defer { withExtendedLifetime(startLock) {} }
        if DaemonClient.isRunning(socket: paths.socket) {
            let pid = paths.readPid().map { " (pid \($0))" } ?? ""
            throw HydraError.invalidInput("a hydra daemon is already running on \(paths.socket)\(pid)")
        }
        _ = FileManager.default.createFile(atPath: paths.log, contents: nil, attributes: [.posixPermissions: 0o600])
        guard let log = FileHandle(forWritingAtPath: paths.log) else {
            throw HydraError.invalidInput("cannot write \(paths.log)")
        }
        let p = Process()
        p.executableURL = URL(fileURLWithPath: executablePath())
        p.arguments = ["serve", "--detach"] + options.arguments
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = log
        p.standardError = log
        try p.run()
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if !p.isRunning {
                let text = (try? String(contentsOfFile: paths.log, encoding: .utf8)) ?? ""
                let last = text.split(separator: "\n").last.map(String.init) ?? "exit status \(p.terminationStatus)"
                throw HydraError.invalidInput("the daemon did not start: \(last)")
            }
            if let client = try? DaemonClient(socket: paths.socket) {
                if options.lazy { return p.processIdentifier }
                if let s = try? client.call(DaemonMethod.status, Empty(), as: StatusResult.self) {
                    if s.models.contains(where: { $0.loaded }) { return p.processIdentifier }
                    if let e = s.models.compactMap(\.loadError).first {
                        _ = try? stop(paths)
                        throw HydraError.invalidModel(e)
                    }
                }
            }
            usleep(50_000)
        }
        throw HydraError.invalidInput("the daemon did not answer within \(Int(timeout)) s (see \(paths.log))")
    }

    /// Asks the daemon to stop and waits until it has. False when none ran.
    /// A signal goes only to the pid of the pid file while the daemon's lock
    /// is held: a pid file left by a daemon that died may name an unrelated
    /// process by now.
    static func stop(_ paths: DaemonPaths, timeout: Double = 10) throws -> Bool {
        let pid = paths.readPid()
        if let client = try? DaemonClient(socket: paths.socket) {
            _ = try? client.call(DaemonMethod.shutdown, Empty(), as: ShutdownResult.self)
        } else if let pid, DaemonLock.isHeld(path: paths.lock), isAlive(pid), isHydra(pid) {
            kill(pid, SIGTERM)  // alive but not answering
        } else {
            return false
        }
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            let gone = pid.map { !isAlive($0) } ?? true
            if gone && !DaemonClient.isRunning(socket: paths.socket) { return true }
            usleep(20_000)
        }
        if let pid, DaemonLock.isHeld(path: paths.lock), isAlive(pid), isHydra(pid) { kill(pid, SIGKILL) }
        return true
    }

    /// Whether `pid` is a live process (a zombie, dead but not yet reaped
    /// by its parent, does not count).
    static func isAlive(_ pid: Int32) -> Bool {
        guard kill(pid, 0) == 0 else { return false }
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = stat.lastIndex(of: ")") else { return true }
        return !stat[stat.index(after: close)...].hasPrefix(" Z")
    }

    /// Whether `pid` runs a hydra binary (a pid file can outlive its process).
    static func isHydra(_ pid: Int32) -> Bool {
        guard let exe = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe") else { return true }
        return URL(fileURLWithPath: exe).lastPathComponent.hasPrefix("hydra")
    }

    /// This program's own executable.
    static func executablePath() -> String {
        if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return p }
        return Bundle.main.executablePath ?? CommandLine.arguments[0]
    }
}
