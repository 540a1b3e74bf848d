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

    public init() {}
}
