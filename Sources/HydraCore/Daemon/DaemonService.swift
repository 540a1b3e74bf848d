import Foundation
import Logging
import NIOCore

/// What the daemon does with each request, apart from the socket: parses
/// it, answers the quick methods at once and queues translations on the
/// worker of their model.
public final class DaemonService: @unchecked Sendable {
    /// How the daemon runs.
    public struct Configuration: Sendable {
        /// The model used when a request names none (a path).
        public var defaultModel: String
        /// Threads per model (all cores when nil).
        public var threads: Int?
        /// Unload a model after this many idle seconds (0: never).
        public var idleUnloadSeconds: Double = 0
        public var limits = DaemonLimits()
        public var socket: String
        /// Requests decoded together each get the bits they would get alone;
        /// otherwise they share matrix products (throughput mode).
        public var exactBatches = false
        /// Models run with flash attention (llama.cpp's CPU default) or its
        /// plain path, as `hydra translate --flash-attn` chooses.
        public var flashAttention = true
        /// Log each connection (opened; closed, by whom and why) and each
        /// request (received; answered or refused) on standard error.
        public var logConnections = false

        public init(defaultModel: String, socket: String) {
            self.defaultModel = defaultModel
            self.socket = socket
        }
    }

    /// A connected client; `send` may be called from any thread.
    final class Client: @unchecked Sendable {
        let id: ClientID
        let channel: Channel
        /// Bytes of replies not yet taken by the client past which it is dropped.
        private let maxOutbound: Int

        // Guarded by `lock`.
        private let lock = NSLock()
        /// Bytes written but not yet handed to the kernel.
        private var outbound = 0
        /// Requests answered off the socket's thread (translations, heads
        /// actions), accepted and not yet answered.
        private var inFlight: [RPCID] = []
        /// When the client last had a request answered or a reply handed to
        /// the kernel: its idle time starts there, not when a reply was
        /// queued (a busy socket thread may write it seconds later).
        private var quietSince = Date()
        /// The client half-closed: close once its last request is answered.
        private var inputClosed = false
        private var lastWrite: EventLoopFuture<Void>?
        /// Why the daemon closed the connection (nil: it did not, the client did).
        private var closeReason: String?
        /// Requests received.
        private var requests = 0
        /// Requests under way whose answer is being sent (for the log: a
        /// client may read it and close before `ended`).
        private var answering: Set<RPCID> = []
        private let connectedAt = Date()

        init(id: ClientID, channel: Channel, maxOutbound: Int = .max) {
            self.id = id
            self.channel = channel
            self.maxOutbound = maxOutbound
        }

        /// Why a client that ended its input is closed.
        static let answeredAll = "the client ended its input (closed or half-closed) and everything asked was answered"

        /// Closes the connection, remembering why (the first reason given).
        func close(because reason: String) {
            lock.withLock { if closeReason == nil { closeReason = reason } }
            channel.close(promise: nil)
        }

        func received() { lock.withLock { requests += 1 } }

        /// Whether the daemon has closed (or is closing) the connection.
        var isClosing: Bool { lock.withLock { closeReason != nil } }

        /// How the connection ended, for the log.
        var summary: String {
            lock.withLock {
                let seconds = String(format: "%.1f", Date().timeIntervalSince(connectedAt))
                let who = closeReason.map { "closed by the daemon: \($0)" } ?? "closed by the client"
                let unanswered = inFlight.filter { !answering.contains($0) }.count
                let cancelled = unanswered == 0 ? "" : ", \(unanswered) under way cancelled"
                return "\(who); \(requests) requests in \(seconds) s\(cancelled)"
            }
        }

        /// Writes one message. A client that lets more than `maxOutbound`
        /// bytes of replies pile up (it does not read them) is disconnected
        /// rather than grow the daemon without bound.
        func send<T: Encodable>(_ message: T) {
            let buffer = ByteBuffer(string: RPCCoding.line(message))
            let n = buffer.readableBytes
            let over = lock.withLock {
                guard outbound + n <= maxOutbound else { return true }
                outbound += n
                return false
            }
            if over {
                close(because: "more than \(maxOutbound) bytes of replies unread")
                return
            }
            let done = channel.writeAndFlush(buffer)
            lock.withLock { lastWrite = done }
            done.whenComplete { _ in
                self.lock.withLock {
                    self.outbound -= n
                    self.quietSince = Date()
                }
            }
        }

        /// Whether a request of this client is under way.
        var isBusy: Bool { lock.withLock { !inFlight.isEmpty } }

        /// Whether the client has had nothing under way for `seconds`.
        func isIdle(for seconds: Double) -> Bool {
            lock.withLock { inFlight.isEmpty && Date().timeIntervalSince(quietSince) >= seconds }
        }

        /// The ids of the requests under way.
        var requestsInFlight: [RPCID] { lock.withLock { inFlight } }

        func began(_ id: RPCID) { lock.withLock { inFlight.append(id) } }

        /// `id`'s answer is about to be sent; `ended` follows.
        func answering(_ id: RPCID) { lock.withLock { _ = answering.insert(id) } }

        /// `id` was answered; after the last answer to a client that
        /// half-closed, the connection is closed.
        func ended(_ id: RPCID) {
            let close = lock.withLock {
                if let i = inFlight.firstIndex(of: id) { inFlight.remove(at: i) }
                if !inFlight.contains(id) { answering.remove(id) }
                quietSince = Date()
                return inFlight.isEmpty && inputClosed
            }
            if close { closeWhenWritten(because: Self.answeredAll) }
        }

        /// The client will send nothing more (a half-close): close once
        /// everything asked for is answered and written.
        func inputDidClose() {
            let idle = lock.withLock {
                inputClosed = true
                return inFlight.isEmpty
            }
            if idle { closeWhenWritten(because: Self.answeredAll) }
        }

        /// Closes the connection once what was written has gone out, then
        /// calls `closed`.
        func closeWhenWritten(because reason: String, _ closed: @escaping @Sendable () -> Void = {}) {
            let channel = self.channel
            lock.withLock { if closeReason == nil { closeReason = reason } }
            let close = { channel.close().whenComplete { _ in closed() } }
            if let last = lock.withLock({ lastWrite }) {
                last.whenComplete { _ in close() }
            } else {
                close()
            }
        }
    }

    public let configuration: Configuration
    var limits: DaemonLimits { configuration.limits }
    /// Connections and requests at `info` (shown with `logConnections`).
    let log: Logger
    /// Called (once) when a client asks the daemon to stop.
    var onShutdown: (@Sendable () -> Void)?

    private let lock = NSLock()
    /// The models' workers, by the identity of their file (`fileIdentity`).
    private var workers: [String: ModelWorker] = [:]
    private var clients = 0
    private var connected: [ClientID: Client] = [:]
    private var lastClientID = 0
    private let startedMs = nowMs()
    private let decoder = RPCCoding.decoder()

    public init(configuration: Configuration) {
        self.configuration = configuration
        var log = Logger(label: "hydra.daemon") { StreamLogHandler.standardError(label: $0) }
        log.logLevel = configuration.logConnections ? .info : .notice
        self.log = log
    }

    /// The worker of a model, started on first use. Two spellings of one
    /// file (a symlink, `/proc/self/root/…`) share one worker. With
    /// `limits.maxModels` workers already, the least recently used idle one
    /// (never the default model's) is reclaimed; when all are busy the
    /// request is refused (-32008).
    func worker(for path: String) throws -> ModelWorker {
        try lock.withLock {
            let key = Self.fileIdentity(path)
            if let w = workers[key] { return w }
            if workers.count >= limits.maxModels {
                let defaultKey = Self.fileIdentity(configuration.defaultModel)
                let idle = workers.filter { $0.key != defaultKey }.sorted { $0.value.lastUsedDate < $1.value.lastUsedDate }
                guard let victim = idle.first(where: { $0.value.retireIfIdle() }) else {
                    throw RPCError(code: RPCError.busy, message: "too many models in use (limit \(limits.maxModels))")
                }
                workers[victim.key] = nil
            }
            let w = ModelWorker(modelPath: path, threads: configuration.threads,
                                idleUnloadSeconds: configuration.idleUnloadSeconds, limits: limits,
                                exactBatches: configuration.exactBatches,
                                flashAttention: configuration.flashAttention)
            workers[key] = w
            return w
        }
    }

    /// Gives `work` the worker of `path`, looking it up again should it
    /// have been reclaimed in between.
    private func onWorker(_ path: String, _ work: (ModelWorker) throws -> Void) throws {
        while true {
            do {
                return try work(try worker(for: path))
            } catch is ModelWorker.Retired {
                continue
            }
        }
    }

    /// What identifies a model file whatever the path's spelling: its
    /// device and inode, else (no such file) the path.
    static func fileIdentity(_ path: String) -> String {
        var st = stat()
        guard stat(path, &st) == 0 else { return path }
        return "\(st.st_dev):\(st.st_ino)"
    }

    func connect(channel: Channel) -> Client {
        let client = lock.withLock {
            lastClientID += 1
            clients += 1
            let client = Client(id: lastClientID, channel: channel, maxOutbound: limits.outboundMaxBytes)
            connected[client.id] = client
            return client
        }
        log.info("client \(client.id) connected")
        if lock.withLock({ clients }) > limits.maxClients {
            client.send(RPCErrorReply(id: nil, error: RPCError(
                code: RPCError.busy, message: "too many clients (limit \(limits.maxClients))")))
            client.close(because: "too many clients (limit \(limits.maxClients))")
        }
        return client
    }

    /// The client went away: whatever it asked for stops.
    func disconnect(_ client: Client) {
        let all = lock.withLock {
            clients -= 1
            connected[client.id] = nil
            return Array(workers.values)
        }
        log.info("client \(client.id) \(client.summary)")
        for w in all { w.cancelAll(client: client.id) }
    }

    /// The daemon is stopping (SIGTERM, `shutdown`): each client with a
    /// translation under way is told so (-32010), as PostgreSQL's fast
    /// shutdown does, rather than see a bare end of file; waits (at most
    /// `timeout` seconds) until those errors are written.
    func stopping(timeout: Double = 2) {
        let busy = lock.withLock { connected.values.filter(\.isBusy) }
        let done = DispatchSemaphore(value: 0)
        for client in busy {
            for id in client.requestsInFlight {
                client.send(RPCErrorReply(id: id, error: RPCError(code: RPCError.stopping, message: "the daemon is stopping")))
            }
            client.closeWhenWritten(because: "the daemon is stopping") { done.signal() }
        }
        let deadline = DispatchTime.now() + timeout
        for _ in busy where done.wait(timeout: deadline) == .timedOut { break }
    }

    // MARK: - Requests

    /// Handles one request line.
    func handle(_ bytes: [UInt8], from client: Client) {
        if bytes.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0D }) { return }  // blank line
        client.received()
        guard (try? UTF8Input.decode(bytes)) != nil else {
            log.info("client \(client.id) sent a message that is not UTF-8")
            return client.send(RPCErrorReply(id: nil, error: RPCError(code: RPCError.parseError,
                                                                      message: "the message is not valid UTF-8")))
        }
        let data = Data(bytes)
        let envelope: RPCEnvelope
        do {
            envelope = try decoder.decode(RPCEnvelope.self, from: data)
        } catch DecodingError.dataCorrupted {
            log.info("client \(client.id) sent a message that is not JSON")
            return client.send(RPCErrorReply(id: nil, error: RPCError(code: RPCError.parseError,
                                                                      message: "the message is not JSON")))
        } catch {
            // JSON, but an array, a string, a number...: not a request.
            log.info("client \(client.id) sent JSON that is not an object")
            return client.send(RPCErrorReply(id: nil, error: RPCError(code: RPCError.invalidRequest,
                                                                      message: "the message is not a JSON object")))
        }
        let id = envelope.id
        let request = "client \(client.id) request \(id.map(String.init(describing:)) ?? "without id")"
        func fail(_ code: Int, _ message: String) {
            log.info("\(request) refused: \(code) \(message)")
            client.send(RPCErrorReply(id: id, error: RPCError(code: code, message: message)))
        }
        if let why = envelope.invalid { return fail(RPCError.invalidRequest, why) }
        guard let method = envelope.method else { return fail(RPCError.invalidRequest, "the request has no method") }
        log.info("\(request): \(method)")
        do {
            switch method {
            case DaemonMethod.translate:
                try translate(id: id, data: data, client: client)
            case DaemonMethod.detect:
                let p = try params(DetectParams.self, data)
                try checkTextLength(p.text)
                reply(id, LanguageGuess.detect(p.text), client)
            case DaemonMethod.status:
                reply(id, status(), client)
            case DaemonMethod.cancel:
                let p = try params(CancelParams.self, data)
                let all = lock.withLock { Array(workers.values) }
                let found = all.map { $0.cancel(client: client.id, id: p.id) }.contains(true)
                reply(id, CancelResult(cancelled: found), client)
            case DaemonMethod.heads:
                try heads(id: id, try params(HeadsParams.self, data), client: client)
            case DaemonMethod.shutdown:
                reply(id, ShutdownResult(stopping: true), client)
                let stop = onShutdown
                DispatchQueue.global().asyncAfter(deadline: .now() + 0.05) { stop?() }
            default:
                throw RPCError(code: RPCError.methodNotFound, message: "unknown method '\(method)'")
            }
        } catch let e as RPCError {
            // Notifications (no id) get no reply, as JSON-RPC asks; a request
            // that is invalid for lack of an id is told so (with a null id).
            if id != nil || e.code == RPCError.invalidRequest { fail(e.code, e.message) }
        } catch {
            fail(RPCError.internalError, "\(error)")
        }
    }

    private func reply<R: Encodable>(_ id: RPCID?, _ result: R, _ client: Client) {
        guard let id else { return }
        client.send(RPCResult(id: id, result: result))
    }

    private func translate(id: RPCID?, data: Data, client: Client) throws {
        guard let id else { throw RPCError(code: RPCError.invalidRequest, message: "translate needs an id") }
        let p = try params(TranslateParams.self, data)
        try checkTextLength(p.text)
        let source: Language, target: Language
        do {
            source = try Language.named(p.from)
            target = try Language.named(p.to)
        } catch {
            throw RPCError(code: RPCError.invalidParams, message: "\(error)")
        }
        if let problem = p.sampling?.problem { throw RPCError(code: RPCError.invalidParams, message: problem) }
        let model = try resolveModel(p.model)
        let job = TranslationJob(
            id: id, client: client.id, source: source, target: target, text: p.text, stream: p.stream ?? true,
            heads: p.heads ?? [], nativeHead: p.nativeHead ?? false,
            scriptLock: p.scriptLock.map { $0 ? .on : .off } ?? .auto, sampling: p.sampling ?? Sampling(),
            promptFormat: p.promptFormat,
            partial: { piece in client.send(RPCNotification(method: DaemonMethod.partial, params: PartialParams(id: id, text: piece))) },
            finish: { [log] result in
                client.answering(id)
                switch result {
                case .success(let r):
                    log.info("client \(client.id) request \(id) answered")
                    client.send(RPCResult(id: id, result: r))
                case .failure(let e):
                    log.info("client \(client.id) request \(id) failed: \(e.code) \(e.message)")
                    client.send(RPCErrorReply(id: id, error: e))
                }
                client.ended(id)
            })
        client.began(id)
        do {
            try onWorker(model) { try $0.submit(job) }
        } catch {
            client.ended(id)
            throw error
        }
    }

    /// The model a request names, as an absolute path (the daemon's by default).
    private func resolveModel(_ name: String?) throws -> String {
        do {
            return try name.map { URL(fileURLWithPath: try KnownModel.resolve($0)).standardizedFileURL.path }
                ?? configuration.defaultModel
        } catch {
            throw RPCError(code: RPCError.invalidParams, message: "\(error)")
        }
    }

    /// Lists, loads or unloads heads on the model's own thread, between
    /// translation turns.
    private func heads(id: RPCID?, _ p: HeadsParams, client: Client) throws {
        guard ["list", "load", "unload"].contains(p.action) else {
            throw RPCError(code: RPCError.invalidParams, message: "unknown heads action '\(p.action)' (list, load, unload)")
        }
        guard p.action == "list" || p.head != nil else {
            throw RPCError(code: RPCError.invalidParams, message: "missing parameter 'head'")
        }
        let model = try resolveModel(p.model)
        func answer<R: Encodable>(_ message: (RPCID) -> R) {
            guard let id else { return }
            client.answering(id)
            client.send(message(id))
            client.ended(id)
        }
        func send(_ error: RPCError) { answer { RPCErrorReply(id: $0, error: error) } }
        if let id { client.began(id) }
        do {
            try onWorker(model) { worker in
                try worker.perform({ hydra in
                    do {
                        switch p.action {
                        case "load": _ = try worker.loadHead(p.head!, into: hydra)
                        case "unload": try worker.unloadHead(p.head!, from: hydra)
                        default: break
                        }
                        let heads = hydra.heads.heads.map {
                            HeadDescription(name: $0.name, language: $0.language, kind: $0.kind, path: $0.path, canGenerate: $0.canGenerate)
                        }
                        answer { RPCResult(id: $0, result: HeadsResult(model: model, heads: heads)) }
                    } catch let e as HeadError {
                        if case .notFound = e {
                            send(RPCError(code: RPCError.unknownHead, message: e.description))
                        } else {
                            send(RPCError(code: RPCError.invalidParams, message: e.description))
                        }
                    } catch {
                        send(RPCError(code: RPCError.invalidParams, message: "\(error)"))
                    }
                }, failed: { error in
                    send(RPCError(code: RPCError.modelError, message: "cannot load \(model): \(error)"))
                })
            }
        } catch {
            if let id { client.ended(id) }
            throw error
        }
    }

    private func checkTextLength(_ text: String) throws {
        let n = text.utf8.count
        guard n <= limits.maxTextBytes else {
            throw RPCError(code: RPCError.textTooLong,
                           message: "the text is \(n) bytes long, more than the limit of \(limits.maxTextBytes)")
        }
    }

    /// Decodes a request's params, with a short message when they do not fit.
    private func params<P: Decodable>(_ type: P.Type, _ data: Data) throws -> P {
        do {
            return try decoder.decode(RPCParams<P>.self, from: data).params
        } catch DecodingError.keyNotFound(let key, _) {
            throw RPCError(code: RPCError.invalidParams, message: "missing parameter '\(Self.snake(key.stringValue))'")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            let path = context.codingPath.map { Self.snake($0.stringValue) }.joined(separator: ".")
            throw RPCError(code: RPCError.invalidParams, message: "parameter '\(path)' has the wrong type")
        } catch {
            throw RPCError(code: RPCError.invalidParams, message: "invalid params")
        }
    }

    private static func snake(_ key: String) -> String {
        key.unicodeScalars.map { CharacterSet.uppercaseLetters.contains($0) ? "_" + String($0).lowercased() : String($0) }.joined()
    }

    func status() -> StatusResult {
        let (all, n) = lock.withLock { (workers.values.sorted { $0.modelPath < $1.modelPath }, clients) }
        return StatusResult(version: Hydra.version, pid: getpid(), socket: configuration.socket,
                            uptimeMs: nowMs() - startedMs, clients: n, defaultModel: configuration.defaultModel,
                            idleUnloadS: configuration.idleUnloadSeconds, limits: limits,
                            models: all.map { $0.snapshot() })
    }
}
