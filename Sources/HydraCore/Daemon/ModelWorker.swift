import Foundation

/// One model kept warm on a thread of its own. Each client's requests run
/// in order; the current request of every client runs at once. Each turn
/// the worker starts the next text piece of every request that needs one
/// (running its prompt, one request at a time, in round-robin order), then
/// advances every piece being decoded by one token in a single batched
/// pass (`SequenceBatch`): the weights are read once for all of them, a
/// long document does not hold up a short request, and a cancelled
/// request stops at the next step.
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
    /// Set once the daemon has reclaimed this worker: its thread ends and
    /// it takes no more work.
    private var retired = false

    // Only the worker's thread touches these.
    private var hydra: HydraModel?
    /// Steps the decoding pieces of all requests together.
    private var batch: SequenceBatch?
    /// Heads loaded on request, loaded again after an idle unload.
    private var requestedHeads: [String] = []
    private let catalog = HeadCatalog()

    /// Whether requests stepped together keep the bits of decoding alone.
    let exactBatches: Bool
    /// Whether the model runs with flash attention.
    let flashAttention: Bool

    init(modelPath: String, threads: Int?, idleUnloadSeconds: Double, limits: DaemonLimits,
         exactBatches: Bool = false, flashAttention: Bool = true) {
        self.modelPath = modelPath
        self.exactBatches = exactBatches
        self.flashAttention = flashAttention
        self.threads = threads
        self.idleUnloadSeconds = idleUnloadSeconds
        self.limits = limits
        let thread = Thread { [unowned self] in self.loop() }
        thread.name = "hydra-model"
        thread.start()
    }

    /// The worker was reclaimed between being looked up and being given
    /// work: look it up again.
    struct Retired: Error {}

    /// Queues a translation; throws when the client has too many pending.
    func submit(_ job: TranslationJob) throws {
        condition.lock()
        defer { condition.unlock() }
        if retired { throw Retired() }
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
    func perform(_ work: @escaping (HydraModel) -> Void, failed: @escaping (Error) -> Void) throws {
        condition.lock()
        defer { condition.unlock() }
        if retired { throw Retired() }
        tasks.append(work)
        failedTasks.append(failed)
        condition.signal()
    }

    /// When the model has no work queued or under way, ends its thread and
    /// gives its memory back, and returns true; the daemon then forgets it.
    func retireIfIdle() -> Bool {
        condition.lock()
        defer { condition.unlock() }
        guard ring.isEmpty, tasks.isEmpty, running == 0 else { return false }
        retired = true
        condition.signal()
        return true
    }

    /// When the model was last used (to reclaim the least recently used).
    var lastUsedDate: Date { condition.withLock { lastUsed } }

    /// Loads a head (a file path or an installed head's name) into the
    /// model's set, to be used for its language from now on. Model thread only.
    func loadHead(_ nameOrPath: String, into hydra: HydraModel) throws -> Head {
        let head = try hydra.heads.load(nameOrPath: nameOrPath, catalog: catalog)
        remember([head], hydra)
        return head
    }

    /// Notes heads loaded on request, to load them again after an idle
    /// unload.
    private func remember(_ loaded: [Head], _ hydra: HydraModel) {
        for path in loaded.filter({ $0 !== hydra.native }).compactMap(\.path) where !requestedHeads.contains(path) {
            requestedHeads.append(path)
        }
        noteHeads(hydra)
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
            while ring.isEmpty && !loadRequested && tasks.isEmpty && !retired {
                if hydra != nil && idleUnloadSeconds > 0 {
                    let deadline = lastUsed.addingTimeInterval(idleUnloadSeconds)
                    if !condition.wait(until: deadline), ring.isEmpty, !loadRequested, tasks.isEmpty, Date() >= deadline {
                        // Idle long enough: give the memory back.
                        hydra = nil
                        batch = nil
                        loaded = false
                        headNames = []
                    }
                } else {
                    condition.wait()
                }
            }
            if retired && ring.isEmpty && tasks.isEmpty {
                hydra = nil
                batch = nil
                loaded = false
                condition.unlock()
                return
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
            // This turn: every client's current request, in turn order, and
            // the cancelled requests still waiting behind one.
            let turn = ring.map { queues[$0]![0] }
            var dropped: [TranslationJob] = []
            for client in ring {
                let waiting = queues[client]!.dropFirst()
                guard waiting.contains(where: \.isCancelled) else { continue }
                dropped += waiting.filter(\.isCancelled)
                queues[client] = [queues[client]![0]] + waiting.filter { !$0.isCancelled }
            }
            // The next turn starts its prompts with the next client.
            ring.append(ring.removeFirst())
            running = turn.count
            condition.unlock()

            for job in dropped { _ = end(job, .failure(Self.cancelledError)) }
            var finished = Set<ObjectIdentifier>()
            for job in turn where job.session == nil && startNextPiece(job) {
                finished.insert(ObjectIdentifier(job))
            }
            for job in stepAll(turn.filter { $0.session != nil }) { finished.insert(ObjectIdentifier(job)) }

            condition.lock()
            for job in turn where finished.contains(ObjectIdentifier(job)) {
                queues[job.client]!.removeFirst()
                if queues[job.client]!.isEmpty {
                    queues[job.client] = nil
                    ring.removeAll { $0 == job.client }
                }
            }
            running = turn.count - finished.count
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
        // The same context as `hydra translate`, so both give the same output.
        return try HydraModel.load(file: gguf, threads: threads, flashAttention: flashAttention)
    }

    /// Makes `job`'s translation at its first turn, then starts its next
    /// paragraph (runs its prompt and picks its first token). Returns true
    /// when the job has finished (its reply is sent).
    private func startNextPiece(_ job: TranslationJob) -> Bool {
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
        if job.translation == nil {
            do {
                let translator = try makeTranslator(job, hydra)
                translator.scriptLock = job.scriptLock
                translator.sampling = job.sampling
                if let format = job.promptFormat { translator.format = format }
                let translation = Translation(translator, text: job.text, from: job.source, to: job.target)
                job.translation = translation
                if let e = try overBudget(translation) { return end(job, .failure(e)) }
            } catch let e as HeadError {
                return end(job, .failure(RPCError(code: RPCError.unknownHead, message: e.description)))
            } catch {
                return end(job, .failure(RPCError(code: RPCError.translationFailed, message: "\(error)")))
            }
        }
        return startOrFinish(job)
    }

    /// Starts the job's next paragraph, unless the text is done (then
    /// sends the reply). Returns true when the job has finished.
    private func startOrFinish(_ job: TranslationJob) -> Bool {
        guard let translation = job.translation else { return false }
        do {
            while job.session == nil, try translation.startNext(emit: Self.emitter(job)) {}
        } catch {
            return end(job, .failure(RPCError(code: RPCError.translationFailed, message: "\(error)")))
        }
        if job.session != nil { return false }
        if job.isCancelled { return end(job, .failure(Self.cancelledError)) }
        return end(job, .success(job.result(model: modelPath)))
    }

    /// Sends a piece of output on, unless the job was cancelled (then
    /// false: its translation stops at this token).
    private static func emitter(_ job: TranslationJob) -> (String) -> Bool {
        { piece in
            if job.isCancelled { return false }
            job.emit(piece)
            return true
        }
    }

    /// Advances every job's piece by one token, all in one batched pass;
    /// cancelled jobs are dropped first. Returns the jobs that finished.
    private func stepAll(_ jobs: [TranslationJob]) -> [TranslationJob] {
        var finished: [TranslationJob] = []
        var live: [TranslationJob] = []
        for job in jobs {
            if job.isCancelled {
                finished.append(job)
                _ = end(job, .failure(Self.cancelledError))
            } else {
                live.append(job)
            }
        }
        guard !live.isEmpty, let hydra else { return finished }
        let batch = self.batch ?? SequenceBatch(model: hydra, exact: exactBatches)
        self.batch = batch
        var stepped: [TranslationJob] = []
        for pass in TranslationBatch.passes(rows: live.map { $0.session!.tokens.count }, capacity: batch.capacity) {
            let chunk = Array(live[pass])
            do {
                try batch.step(chunk.flatMap { $0.session!.sequences }, tokens: chunk.flatMap { $0.session!.tokens })
                stepped += chunk
            } catch {
                for job in chunk {
                    job.translation?.stop()
                    finished.append(job)
                    _ = end(job, .failure(RPCError(code: RPCError.translationFailed, message: "\(error)")))
                }
            }
        }
        for job in stepped {
            if !job.translation!.advance(emit: Self.emitter(job), alone: stepped.count == 1), startOrFinish(job) {
                finished.append(job)
            }
        }
        return finished
    }

    /// The translator for a job, with the heads `hydra translate` would use
    /// for the same options.
    private func makeTranslator(_ job: TranslationJob, _ hydra: HydraModel) throws -> Translator {
        let before = hydra.heads.heads.count
        defer { if hydra.heads.heads.count != before { remember(Array(hydra.heads.heads.dropFirst(before)), hydra) } }
        return try Translator(model: hydra, heads: job.heads, nativeOnly: job.nativeHead, from: job.source,
                              to: job.target, catalog: catalog)
    }

    static let cancelledError = RPCError(code: RPCError.cancelled, message: "the request was cancelled")

    /// The error for a translation that could generate more tokens than
    /// the daemon allows one request, if it could.
    private func overBudget(_ translation: Translation) throws -> RPCError? {
        let worst = try translation.worstCaseTokens()
        guard worst > limits.maxTokens else { return nil }
        return RPCError(code: RPCError.tooManyTokens,
                        message: "the text may need up to \(worst) generated tokens, more than the limit of \(limits.maxTokens)")
    }

    private func end(_ job: TranslationJob, _ result: Result<TranslateResult, RPCError>) -> Bool {
        job.translation?.stop()
        condition.lock()
        generatedTokens += job.translation?.stats.generatedTokens ?? 0
        if case .failure(let e) = result, e.code == RPCError.cancelled { cancelledCount += 1 } else { translations += 1 }
        condition.unlock()
        job.finish(result)
        return true
    }
}
