import ArgumentParser
import Dispatch
import Foundation
import HydraCore

/// Options of the daemon itself, shared by `hydra serve` and `hydra daemon start`.
struct DaemonOptions: ParsableArguments {
    @Option(help: "The socket (default: $HYDRA_SOCKET, else $XDG_RUNTIME_DIR/hydra/hydra.sock, else /tmp/hydra-<uid>/hydra.sock).")
    var socket: String?

    @Option(name: [.short, .long], help: "The model used when a request names none: a GGUF file or a known model's name (default: \(KnownModel.defaultName)).")
    var model: String?

    @Option(name: [.short, .long], help: "Threads per model (default: all cores).")
    var threads: Int?

    @Option(help: "Unload a model after this many seconds without requests (0: never).")
    var idleUnload: Double = 3600

    @Option(help: "The longest request line, in bytes.")
    var maxMessageBytes = DaemonLimits().maxMessageBytes

    @Option(help: "The longest text to translate, in UTF-8 bytes.")
    var maxTextBytes = DaemonLimits().maxTextBytes

    @Option(help: "The most tokens one translation may generate.")
    var maxTokens = DaemonLimits().maxTokens

    @Option(help: "The most models loaded at once (a request for another unloads the least recently used idle one).")
    var maxModels = DaemonLimits().maxModels

    @Option(help: "Close a connection silent for this many seconds with no request under way (0: never).")
    var idleTimeout = DaemonLimits().idleTimeoutSeconds

    @Flag(help: "Load the model on the first request rather than at start.")
    var lazy = false

    @Flag(help: "Requests served together each get exactly the answer they would get alone (slower with many requests; by default they share matrix products, which round differently).")
    var exactBatches = false

    @Flag(help: "Log each connection (opened; closed, by whom and why) and each request (received; answered or refused) on standard error, which `hydra daemon start` sends to the socket's .log file.")
    var logConnections = false

    @OptionGroup var attention: AttentionOption

    func validate() throws {
        if let threads, let problem = ThreadPool.problem(with: threads) { throw ValidationError(problem) }
        if idleUnload < 0 { throw ValidationError("--idle-unload must not be negative") }
        if maxMessageBytes < 1024 || maxTextBytes < 1 || maxTokens < 1 || maxModels < 1 || idleTimeout < 0 {
            throw ValidationError("limits must be positive (--max-message-bytes at least 1024)")
        }
    }

    var paths: DaemonPaths { DaemonPaths(socket: socket) }

    /// The options again as command-line arguments, to start `hydra serve`.
    var arguments: [String] {
        var a: [String] = []
        if let socket { a += ["--socket", socket] }
        if let model { a += ["--model", model] }
        if let threads { a += ["--threads", String(threads)] }
        a += ["--idle-unload", String(idleUnload), "--max-message-bytes", String(maxMessageBytes),
              "--max-text-bytes", String(maxTextBytes), "--max-tokens", String(maxTokens),
              "--max-models", String(maxModels), "--idle-timeout", String(idleTimeout)]
        if lazy { a.append("--lazy") }
        if exactBatches { a.append("--exact-batches") }
        if logConnections { a.append("--log-connections") }
        a += ["--flash-attn", attention.mode.rawValue]
        return a
    }

    func configuration() throws -> DaemonService.Configuration {
        let model = URL(fileURLWithPath: try KnownModel.resolve(model)).standardizedFileURL.path
        var c = DaemonService.Configuration(defaultModel: model, socket: paths.socket)
        c.threads = threads
        c.idleUnloadSeconds = idleUnload
        c.limits.maxMessageBytes = maxMessageBytes
        c.limits.maxTextBytes = maxTextBytes
        c.limits.maxTokens = maxTokens
        c.limits.maxModels = maxModels
        c.limits.idleTimeoutSeconds = idleTimeout
        c.exactBatches = exactBatches
        c.flashAttention = attention.enabled
        c.logConnections = logConnections
        return c
    }
}

/// `hydra serve`: the daemon in the foreground (for systemd and debugging).
struct ServeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the translation daemon in the foreground, serving its Unix socket until stopped.",
        discussion: "The protocol (one JSON-RPC 2.0 object per line) is described in Sources/HydraCore/Daemon/PROTOCOL.md.")

    @OptionGroup var options: DaemonOptions

    @Flag(help: .hidden)
    var detach = false

    func run() throws {
        let configuration = try options.configuration()
        if detach { _ = setsid() }  // leave the terminal's session: no SIGHUP when it closes
        signal(SIGPIPE, SIG_IGN)
        let server = DaemonServer(paths: options.paths, configuration: configuration)
        try server.start(preload: !options.lazy)
        printError("hydra daemon (pid \(getpid())) serving \(configuration.defaultModel) on \(options.paths.socket)")
        var sources: [DispatchSourceSignal] = []
        for sig in [SIGTERM, SIGINT, SIGHUP] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { server.stop() }
            s.resume()
            sources.append(s)
        }
        server.waitUntilStopped()
        server.stop()
        printError("hydra daemon stopped")
        withExtendedLifetime(sources) {}
    }
}
