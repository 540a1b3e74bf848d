/// The parameters and results of each method (see PROTOCOL.md).
public enum DaemonMethod {
    public static let translate = "translate"
    public static let partial = "translate.partial"
    public static let detect = "detect"
    public static let status = "status"
    public static let cancel = "cancel"
    public static let heads = "heads"
    public static let shutdown = "shutdown"
}

/// `translate` parameters.
public struct TranslateParams: Codable, Sendable {
    public var text: String
    public var from: String
    public var to: String
    /// A GGUF path or a known model's name; the daemon's model when nil.
    public var model: String?
    /// Whether to send `translate.partial` notifications (default true).
    public var stream: Bool?
    /// Head files or installed head names to load and translate through.
    public var heads: [String]?
    /// Only the model's own head, even when heads for the languages are installed.
    public var nativeHead: Bool?
    /// Mask out tokens of other scripts than the target's: true always,
    /// false never; nil: for head files that declare a script (`ScriptLock.Mode.auto`).
    public var scriptLock: Bool?
    /// How tokens are picked (absent keys: greedy decoding's defaults).
    public var sampling: Sampling?
    /// The prompt's format (default: the model's own).
    public var promptFormat: ChatFormat?

    public init(text: String, from: String, to: String, model: String? = nil, stream: Bool? = nil,
                heads: [String]? = nil, nativeHead: Bool? = nil, scriptLock: Bool? = nil, sampling: Sampling? = nil,
                promptFormat: ChatFormat? = nil) {
        self.text = text
        self.from = from
        self.to = to
        self.model = model
        self.stream = stream
        self.heads = heads
        self.nativeHead = nativeHead
        self.scriptLock = scriptLock
        self.sampling = sampling
        self.promptFormat = promptFormat
    }
}

/// `translate.partial` notification: the next piece of the output.
public struct PartialParams: Codable, Sendable {
    public let id: RPCID
    public let text: String
}

/// How long a translation took, in milliseconds from its arrival.
public struct TranslateTimings: Codable, Sendable {
    /// Waiting for the model (other clients' work, or loading it).
    public var queuedMs: Double = 0
    /// Loading the model, when this request had to.
    public var loadMs: Double = 0
    /// Until the first piece of output was sent.
    public var firstTokenMs: Double?
    public var totalMs: Double = 0
}

/// `translate` result.
public struct TranslateResult: Codable, Sendable {
    /// The whole translation (the concatenation of the partial texts).
    public let text: String
    public let model: String
    public let paragraphs: Int
    public let promptTokens: Int
    public let generatedTokens: Int
    public let timings: TranslateTimings

    public init(text: String, model: String, paragraphs: Int, promptTokens: Int, generatedTokens: Int,
                timings: TranslateTimings) {
        self.text = text
        self.model = model
        self.paragraphs = paragraphs
        self.promptTokens = promptTokens
        self.generatedTokens = generatedTokens
        self.timings = timings
    }

    /// This result followed by `next`, the result of the next part of the
    /// same document: texts joined, counts and times added (the queueing,
    /// loading and first output are the first part's).
    func adding(_ next: TranslateResult) -> TranslateResult {
        var t = timings
        t.totalMs += next.timings.totalMs
        return TranslateResult(text: text + next.text, model: model, paragraphs: paragraphs + next.paragraphs,
                               promptTokens: promptTokens + next.promptTokens,
                               generatedTokens: generatedTokens + next.generatedTokens, timings: t)
    }
}

/// `detect` parameters and result.
public struct DetectParams: Codable, Sendable {
    public let text: String
    public init(text: String) { self.text = text }
}

public struct DetectResult: Codable, Sendable {
    /// ISO 15924 code of the script of most letters ("Cyrl"), nil without letters.
    public let script: String?
    /// The best guess among hydra's languages, nil when there is none.
    public let language: String?
    /// Every known language written in that script, best guess first.
    public let candidates: [String]
}

/// `cancel` parameters and result.
public struct CancelParams: Codable, Sendable {
    public let id: RPCID
    public init(id: RPCID) { self.id = id }
}

public struct CancelResult: Codable, Sendable {
    /// Whether a request with that id was queued or running.
    public let cancelled: Bool
}

/// `heads` parameters.
public struct HeadsParams: Codable, Sendable {
    /// "list", "load" or "unload".
    public let action: String
    /// A head file or installed head's name (load), a loaded head's name (unload).
    public let head: String?
    /// The model (default: the daemon's).
    public let model: String?
    public init(action: String, head: String? = nil, model: String? = nil) {
        self.action = action
        self.head = head
        self.model = model
    }
}

/// One loaded head, in `heads` results.
public struct HeadDescription: Codable, Sendable, Equatable {
    public let name: String
    public let language: String
    /// "native", "dense", "recipe" or "slice".
    public let kind: String
    public let path: String?
    public let canGenerate: Bool
}

/// `heads` result: the model's heads after the action, the native one first.
public struct HeadsResult: Codable, Sendable {
    public let model: String
    public let heads: [HeadDescription]
}

/// `status` result.
public struct StatusResult: Codable, Sendable {
    public struct Model: Codable, Sendable {
        public let model: String
        public let loaded: Bool
        public let running: Int
        public let queued: Int
        public let translations: Int
        public let cancelled: Int
        public let generatedTokens: Int
        /// Why the model could not be loaded, when it could not.
        public let loadError: String?
        /// The names of the loaded heads, the native one first.
        public let heads: [String]
    }

    public let version: String
    public let pid: Int32
    public let socket: String
    public let uptimeMs: Double
    public let clients: Int
    public let defaultModel: String
    public let idleUnloadS: Double
    public let limits: DaemonLimits
    public let models: [Model]
}

/// An empty object, for methods without parameters or with an empty result.
public struct Empty: Codable, Sendable {
    public init() {}
}

/// `shutdown` result.
public struct ShutdownResult: Codable, Sendable {
    public let stopping: Bool
}
