/// Why a GGUF file could not be read or written.
public struct GGUFError: Error, CustomStringConvertible, Equatable {
    public let path: String
    public let reason: String

    public init(path: String, _ reason: String) {
        self.path = path
        self.reason = reason
    }

    public var description: String { "\(path): \(reason)" }
}
