import Foundation

/// Identifies one connection to the daemon.
public typealias ClientID = Int

/// Milliseconds on a monotonic clock.
func nowMs() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e6 }

/// One `translate` request on its way through a model's queue. The model's
/// thread makes its `Translation` and steps it a token at a time, beside
/// other requests; anyone may cancel it.
final class TranslationJob: @unchecked Sendable {
    let id: RPCID
    let client: ClientID
    let source: Language
    let target: Language
    let text: String
    let stream: Bool
    /// Head files or installed head names to translate through.
    let heads: [String]
    /// Only the model's own head (unless `heads` names others).
    let nativeHead: Bool
    /// Whether tokens of other scripts are masked out.
    let scriptLock: ScriptLock.Mode
    /// Greedy (default), sampling or beam search.
    let sampling: Sampling
    /// The prompt's format; nil: the model's own.
    let promptFormat: ChatFormat?
    /// Sends a piece of output to the client (any thread).
    let partial: @Sendable (String) -> Void
    /// Sends the final reply to the client (any thread).
    let finish: @Sendable (Result<TranslateResult, RPCError>) -> Void
    let arrivedMs = nowMs()

    // Touched only by the model's thread.
    var output = ""
    var startedMs: Double?
    var loadMs = 0.0
    var firstOutputMs: Double?
    /// Made at the job's first turn, with its heads.
    var translation: Translation?
    /// The paragraph being decoded, if any.
    var session: TranslationSession? { translation?.session }

    private let lock = NSLock()
    private var cancelled = false

    init(id: RPCID, client: ClientID, source: Language, target: Language, text: String, stream: Bool,
         heads: [String] = [], nativeHead: Bool = false, scriptLock: ScriptLock.Mode = .auto,
         sampling: Sampling = Sampling(), promptFormat: ChatFormat? = nil, partial: @escaping @Sendable (String) -> Void,
         finish: @escaping @Sendable (Result<TranslateResult, RPCError>) -> Void) {
        self.id = id
        self.client = client
        self.source = source
        self.target = target
        self.text = text
        self.stream = stream
        self.heads = heads
        self.nativeHead = nativeHead
        self.scriptLock = scriptLock
        self.sampling = sampling
        self.promptFormat = promptFormat
        self.partial = partial
        self.finish = finish
    }

    var isCancelled: Bool { lock.withLock { cancelled } }

    func cancel() { lock.withLock { cancelled = true } }

    /// Adds `piece` to the output and streams it.
    func emit(_ piece: String) {
        guard !piece.isEmpty else { return }
        if firstOutputMs == nil { firstOutputMs = nowMs() }
        output += piece
        if stream { partial(piece) }
    }

    /// The final result, with timings measured from the request's arrival.
    func result(model: String) -> TranslateResult {
        let end = nowMs()
        var t = TranslateTimings()
        t.queuedMs = (startedMs ?? end) - arrivedMs
        t.loadMs = loadMs
        t.firstTokenMs = firstOutputMs.map { $0 - arrivedMs }
        t.totalMs = end - arrivedMs
        let stats = translation?.stats ?? Translator.Statistics()
        return TranslateResult(text: output, model: model, paragraphs: stats.paragraphs,
                               promptTokens: stats.promptTokens, generatedTokens: stats.generatedTokens, timings: t)
    }
}
