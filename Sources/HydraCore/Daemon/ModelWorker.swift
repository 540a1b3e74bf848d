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

    /// Only the worker's thread touches the model.
    private var translator: Translator?

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
                                  generatedTokens: generatedTokens, loadError: loadError)
    }

    // MARK: - The model's thread

    private func loop() {
        while true {
            condition.lock()
            while ring.isEmpty && !loadRequested {
                if translator != nil && idleUnloadSeconds > 0 {
                    let deadline = lastUsed.addingTimeInterval(idleUnloadSeconds)
                    if !condition.wait(until: deadline), ring.isEmpty, !loadRequested, Date() >= deadline {
                        // Idle long enough: give the memory back.
                        translator = nil
                        loaded = false
                    }
                } else {
                    condition.wait()
                }
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

    private func loadIfNeeded() throws -> Translator {
        if let translator { return translator }
        do {
            let t = try load()
            condition.lock()
            translator = t
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

    private func load() throws -> Translator {
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
        return Translator(model: lm, tokenizer: tokenizer)
    }

    /// Advances `job` by one text piece. Returns true when it has finished
    /// (its reply is sent).
    private func step(_ job: TranslationJob) -> Bool {
        if job.startedMs == nil { job.startedMs = nowMs() }
        if job.isCancelled { return end(job, .failure(Self.cancelledError)) }
        let translator: Translator
        do {
            let t0 = nowMs()
            let wasLoaded = self.translator != nil
            translator = try loadIfNeeded()
            if !wasLoaded { job.loadMs = nowMs() - t0 }
        } catch {
            return end(job, .failure(RPCError(code: RPCError.modelError, message: "cannot load \(modelPath): \(error)")))
        }
        if !job.checkedBudget {
            job.checkedBudget = true
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

    static let cancelledError = RPCError(code: RPCError.cancelled, message: "the request was cancelled")

    /// The most tokens `job` could generate (Translator's budget of three
    /// times each paragraph's tokens plus 32), when over the limit.
    private func overBudget(_ job: TranslationJob, _ translator: Translator) -> RPCError? {
        var worst = 0
        for case .text(let t) in job.pieces {
            worst += 3 * translator.tokenizer.tokenize(t, addSpecial: false, parseSpecial: false).count + 32
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
