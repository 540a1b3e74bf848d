import Foundation

/// One model kept warm on a thread of its own. A `LanguageModel` holds one
/// sequence's state, so translations run one at a time; the worker takes
/// turns between clients (round-robin, one text piece per turn), so a long
/// document does not hold up a short request from another client.
final class ModelWorker: @unchecked Sendable {
    /// The model file, as an absolute path.
    let modelPath: String
    private let threads: Int?
    private let idleUnloadSeconds: Double
    private let limits: DaemonLimits

    // Guarded by `condition`.
    private let condition = NSCondition()
    private var queues: [ClientID: [TranslationJob]] = [:]
    /// Clients with queued work, in the order they get their next turn.
    private var ring: [ClientID] = []
    private var running = 0
    private var loaded = false
    private var loadRequested = false
    private var lastUsed = Date()
    private var translations = 0
    private var cancelledCount = 0
    private var generatedTokens = 0
    private var loadError: String?
    private var headNames: [String] = []
    /// Work to run on the model's thread before the next translation turn
    /// (heads to list, load or unload).
    private var tasks: [(HydraModel) -> Void] = []
    private var failedTasks: [(Error) -> Void] = []

    // Only the worker's thread touches these.
    private var hydra: HydraModel?
    /// Heads loaded on request, loaded again after an idle unload.
    private var requestedHeads: [String] = []
    private let catalog = HeadCatalog()

    init(modelPath: String, threads: Int?, idleUnloadSeconds: Double, limits: DaemonLimits) {
        self.modelPath = modelPath
        self.threads = threads
        self.idleUnloadSeconds = idleUnloadSeconds
        self.limits = limits
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "hydra-model"
        thread.start()
    }

    /// Queues a translation; throws when the client has too many pending.
    func submit(_ job: TranslationJob) throws {
        condition.lock()
        defer { condition.unlock() }
        let pending = queues[job.client, default: []]
        guard pending.count < limits.maxPendingPerClient else {
            throw RPCError(code: RPCError.busy,
                           message: "too many requests pending on this connection (limit \(limits.maxPendingPerClient))")
        }
        if pending.isEmpty { ring.append(job.client) }
        queues[job.client, default: []].append(job)
        condition.signal()
    }

    /// Cancels the request `id` of `client`; false when there is none.
    func cancel(client: ClientID, id: RPCID) -> Bool {
        condition.lock()
        let job = queues[client]?.first { $0.id == id && !$0.isCancelled }
        condition.unlock()
        job?.cancel()
        return job != nil
    }

    /// Cancels everything a client asked for (it went away). Its running
    /// job stops at its next token; queued ones are dropped unrun.
    func cancelAll(client: ClientID) {
        condition.lock()
        let jobs = queues[client] ?? []
        condition.unlock()
        for job in jobs { job.cancel() }
    }

    /// Runs `work` on the model's thread with the loaded model (loading it
    /// first), between translation turns; `failed` is called instead when
    /// the model cannot be loaded.
    func perform(_ work: @escaping (HydraModel) -> Void, failed: @escaping (Error) -> Void) {
        condition.lock()
        tasks.append(work)
        failedTasks.append(failed)
        condition.signal()
        condition.unlock()
    }

    /// Loads a head (a file path or an installed head's name) into the
    /// model's set, to be used for its language from now on. Model thread only.
    func loadHead(_ nameOrPath: String, into hydra: HydraModel) throws -> Head {
        let set = hydra.heads
        let path: String
        if FileManager.default.fileExists(atPath: nameOrPath) {
            path = URL(fileURLWithPath: nameOrPath).standardizedFileURL.path
        } else if let loaded = set.head(named: nameOrPath) {
            return loaded
        } else if let entry = catalog.entry(named: nameOrPath, fitting: set.fingerprint) {
            path = entry.path
        } else {
            throw HeadError.notFound("no head file or installed head named '\(nameOrPath)' fitting \(modelPath)")
        }
        if let loaded = set.heads.first(where: { $0.path == path }) { return loaded }
        let head = try set.load(path: path, catalog: catalog)
        if !requestedHeads.contains(path) { requestedHeads.append(path) }
        noteHeads(hydra)
        return head
    }

    /// Unloads a head by name. Model thread only.
    func unloadHead(_ name: String, from hydra: HydraModel) throws {
        let set = hydra.heads
        guard let head = set.head(named: name) else {
            throw HeadError.notFound("no head named '\(name)' is loaded for \(modelPath)")
        }
        guard head !== set.native else { throw HeadError.invalid("the native head cannot be unloaded") }
        set.remove(named: name)
        requestedHeads.removeAll { $0 == head.path }
        noteHeads(hydra)
    }

    private func noteHeads(_ hydra: HydraModel) {
        let names = hydra.heads.heads.map(\.name)
        condition.lock()
        headNames = names
        condition.unlock()
    }

    /// Loads the model now rather than on the first request.
    func preload() {
        condition.lock()
        loadRequested = true
        condition.signal()
        condition.unlock()
    }

    /// The worker's figures for `status`.
    func snapshot() -> StatusResult.Model {
        condition.lock()
        defer { condition.unlock() }
        let queued = queues.values.reduce(0) { $0 + $1.count } - running
        return StatusResult.Model(model: modelPath, loaded: loaded, running: running, queued: queued,
                                  translations: translations, cancelled: cancelledCount,
                                  generatedTokens: generatedTokens, loadError: loadError, heads: headNames)
    }

    // MARK: - The model's thread

    private func loop() {
        while true {
            condition.lock()
            while ring.isEmpty && !loadRequested && tasks.isEmpty {
                if hydra != nil && idleUnloadSeconds > 0 {
                    let deadline = lastUsed.addingTimeInterval(idleUnloadSeconds)
                    if !condition.wait(until: deadline), ring.isEmpty, !loadRequested, tasks.isEmpty, Date() >= deadline {
                        // Idle long enough: give the memory back.
                        hydra = nil
                        loaded = false
                        headNames = []
                    }
                } else {
                    condition.wait()
                }
            }
            if !tasks.isEmpty {
                let work = tasks.removeFirst()
                let failed = failedTasks.removeFirst()
                condition.unlock()
                do {
                    work(try loadIfNeeded())
                } catch {
                    failed(error)
                }
                condition.lock()
                lastUsed = Date()
                condition.unlock()
                continue
            }
            if ring.isEmpty {
                loadRequested = false
                condition.unlock()
                _ = try? loadIfNeeded()
                continue
            }
            loadRequested = false
            let client = ring.removeFirst()
            let job = queues[client]![0]
            running = 1
            condition.unlock()

            let done = step(job)

            condition.lock()
            running = 0
            if done {
                queues[client]!.removeFirst()
                if queues[client]!.isEmpty { queues[client] = nil }
            }
            if queues[client] != nil { ring.append(client) }
            lastUsed = Date()
            condition.unlock()
        }
    }

    private func loadIfNeeded() throws -> HydraModel {
        if let hydra { return hydra }
        do {
            let t = try load()
            hydra = t
            for path in requestedHeads { _ = try? t.heads.load(path: path, catalog: catalog) }
            noteHeads(t)
            condition.lock()
            loaded = true
            loadError = nil
            condition.unlock()
            return t
        } catch {
            condition.lock()
            loadError = "\(error)"
            condition.unlock()
            throw error
        }
    }

    private func load() throws -> HydraModel {
        let gguf: GGUFFile
        do {
            gguf = try GGUFFile(path: modelPath)
        } catch let e as GGUFError {
            throw HydraError.invalidModel("invalid model file \(e.description)")
        }
        let tokenizer = try Tokenizer(gguf: gguf)
        // The same context as `hydra translate`, so both give the same output.
        let trained = gguf.architecture.flatMap { gguf.int("\($0).context_length") } ?? 4096
        let ctx = max(16, min(4096, max(trained, 16)))
        let pool = ThreadPool(threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        let lm = try LanguageModel(file: gguf, contextLength: ctx, batchSize: min(512, ctx), pool: pool)
        return try HydraModel(model: lm, tokenizer: tokenizer)
    }

    /// Advances `job` by one text piece. Returns true when it has finished
    /// (its reply is sent).
    private func step(_ job: TranslationJob) -> Bool {
        if job.startedMs == nil { job.startedMs = nowMs() }
        if job.isCancelled { return end(job, .failure(Self.cancelledError)) }
        let hydra: HydraModel
        do {
            let t0 = nowMs()
            let wasLoaded = self.hydra != nil
            hydra = try loadIfNeeded()
            if !wasLoaded { job.loadMs = nowMs() - t0 }
        } catch {
            return end(job, .failure(RPCError(code: RPCError.modelError, message: "cannot load \(modelPath): \(error)")))
        }
        let translator: Translator
        if let t = job.translator {
            translator = t
        } else {
            do {
                translator = try makeTranslator(job, hydra)
                translator.scriptLock = job.scriptLock
            } catch let e as HeadError {
                return end(job, .failure(RPCError(code: RPCError.unknownHead, message: e.description)))
            } catch {
                return end(job, .failure(RPCError(code: RPCError.translationFailed, message: "\(error)")))
            }
            job.translator = translator
            if let e = overBudget(job, translator) { return end(job, .failure(e)) }
        }
        // Copy through what is not translated, up to the next text piece.
        while job.next < job.pieces.count, case .verbatim(let v) = job.pieces[job.next] {
            job.emit(v)
            job.next += 1
        }
        if job.next < job.pieces.count, case .text(let text) = job.pieces[job.next] {
            do {
                let stats = try translator.translate(text, from: job.source, to: job.target) { piece in
                    // Checked at every piece of output: a client that went
                    // away stops its translation within a token.
                    if job.isCancelled { return false }
                    job.emit(piece)
                    return true
                }
                job.stats.paragraphs += stats.paragraphs
                job.stats.promptTokens += stats.promptTokens
                job.stats.generatedTokens += stats.generatedTokens
                condition.lock()
                generatedTokens += stats.generatedTokens
                condition.unlock()
            } catch {
                return end(job, .failure(RPCError(code: RPCError.translationFailed, message: "\(error)")))
            }
            job.next += 1
            if job.isCancelled { return end(job, .failure(Self.cancelledError)) }
        }
        while job.next < job.pieces.count, case .verbatim(let v) = job.pieces[job.next] {
            job.emit(v)
            job.next += 1
        }
        guard job.next == job.pieces.count else { return false }
        return end(job, .success(job.result(model: modelPath)))
    }

    /// The translator for a job, with the heads `hydra translate` would use
    /// for the same options: the heads it names, and (unless it asks for the
    /// native head only) the installed heads of its two languages.
    private func makeTranslator(_ job: TranslationJob, _ hydra: HydraModel) throws -> Translator {
        let set = hydra.heads
        if job.nativeHead && job.heads.isEmpty {
            return try Translator(model: hydra, source: set.native, target: set.native)
        }
        for head in job.heads { _ = try loadHead(head, into: hydra) }
        if !job.nativeHead {
            for language in [job.source, job.target] where set.head(for: language.code).map({ $0 === set.native }) ?? true {
                if let entry = catalog.entries(language: language.code, fitting: set.fingerprint).first {
                    try set.load(path: entry.path, catalog: catalog)
                    noteHeads(hydra)
                }
            }
        }
        return try Translator(model: hydra)
    }

    static let cancelledError = RPCError(code: RPCError.cancelled, message: "the request was cancelled")

    /// The most tokens `job` could generate (Translator's budget of three
    /// times each paragraph's tokens plus 32), when over the limit.
    private func overBudget(_ job: TranslationJob, _ translator: Translator) -> RPCError? {
        var worst = 0
        let tokenizer = (try? translator.heads(from: job.source, to: job.target).source.tokenizer) ?? translator.tokenizer
        for case .text(let t) in job.pieces {
            worst += 3 * tokenizer.tokenize(t, addSpecial: false, parseSpecial: false).count + 32
        }
        guard worst > limits.maxTokens else { return nil }
        return RPCError(code: RPCError.tooManyTokens,
                        message: "the text may need up to \(worst) generated tokens, more than the limit of \(limits.maxTokens)")
    }

    private func end(_ job: TranslationJob, _ result: Result<TranslateResult, RPCError>) -> Bool {
        condition.lock()
        if case .failure(let e) = result, e.code == RPCError.cancelled { cancelledCount += 1 } else { translations += 1 }
        condition.unlock()
        job.finish(result)
        return true
    }
}
