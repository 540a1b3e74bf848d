/// What the daemon accepts; requests beyond a limit get a clear error.
public struct DaemonLimits: Codable, Sendable, Equatable {
    /// The longest request line, in bytes.
    public var maxMessageBytes = 1 << 20
    /// The longest text to translate, in UTF-8 bytes.
    public var maxTextBytes = 256 << 10
    /// The most tokens one translation may generate (its worst case, checked
    /// before it starts).
    public var maxTokens = 16384
    /// Requests one client may have queued or running at once.
    public var maxPendingPerClient = 64
    /// Clients connected at once.
    public var maxClients = 256
    /// Models loaded (each on a thread of its own) at once; a request for
    /// another model unloads the least recently used idle one, or gets
    /// -32008 when all are busy.
    public var maxModels = 4
    /// Seconds a connection with no request under way may stay silent (or
    /// in the middle of a line) before it is closed (0: never).
    public var idleTimeoutSeconds: Double = 30
    /// Replies waiting to be read by a client, in bytes, above which the
    /// daemon stops reading its requests (it resumes once the client reads)...
    public var outboundHighBytes = 256 << 10
    /// ...and above which the client is disconnected.
    public var outboundMaxBytes = 16 << 20

    public init() {}

    private enum CodingKeys: String, CodingKey {
        case maxMessageBytes, maxTextBytes, maxTokens, maxPendingPerClient, maxClients, maxModels, idleTimeoutSeconds
        case outboundHighBytes, outboundMaxBytes
    }

    /// Reads what a daemon reports; limits it does not report (an older
    /// daemon) keep their defaults.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        func read<T: Decodable>(_ key: CodingKeys, _ value: inout T) throws {
            if let v = try c.decodeIfPresent(T.self, forKey: key) { value = v }
        }
        try read(.maxMessageBytes, &maxMessageBytes)
        try read(.maxTextBytes, &maxTextBytes)
        try read(.maxTokens, &maxTokens)
        try read(.maxPendingPerClient, &maxPendingPerClient)
        try read(.maxClients, &maxClients)
        try read(.maxModels, &maxModels)
        try read(.idleTimeoutSeconds, &idleTimeoutSeconds)
        try read(.outboundHighBytes, &outboundHighBytes)
        try read(.outboundMaxBytes, &outboundMaxBytes)
    }
}
