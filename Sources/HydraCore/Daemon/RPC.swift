import Foundation

/// A JSON-RPC 2.0 request id: a number or a string.
public enum RPCID: Hashable, Sendable, Codable, CustomStringConvertible {
    case number(Int)
    case string(String)

    public init(from decoder: Decoder) throws {
        let c = try decoder.singleValueContainer()
        if let n = try? c.decode(Int.self) {
            self = .number(n)
        } else {
            self = .string(try c.decode(String.self))
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.singleValueContainer()
        switch self {
        case .number(let n): try c.encode(n)
        case .string(let s): try c.encode(s)
        }
    }

    public var description: String {
        switch self {
        case .number(let n): return String(n)
        case .string(let s): return "\"\(s)\""
        }
    }
}

/// A JSON-RPC error object. Codes are listed in PROTOCOL.md.
public struct RPCError: Error, Codable, Sendable, Equatable, CustomStringConvertible {
    public let code: Int
    public let message: String

    public init(code: Int, message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }

    // JSON-RPC 2.0's own codes.
    public static let parseError = -32700
    public static let invalidRequest = -32600
    public static let methodNotFound = -32601
    public static let invalidParams = -32602
    public static let internalError = -32603
    // hydra's codes (the implementation-defined range).
    public static let messageTooLarge = -32001
    public static let textTooLong = -32002
    public static let tooManyTokens = -32003
    public static let cancelled = -32004
    public static let notSupported = -32005
    public static let unknownHead = -32006
    public static let modelError = -32007
    public static let busy = -32008
    public static let translationFailed = -32009
    public static let stopping = -32010
}

/// The one JSON encoder and decoder of the protocol: snake_case keys, one
/// line per message (JSONEncoder escapes newlines inside strings).
public enum RPCCoding {
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.outputFormatting = [.withoutEscapingSlashes, .sortedKeys]
        return e
    }

    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        return d
    }

    /// `value` as one line of JSON, newline included.
    public static func line<T: Encodable>(_ value: T) -> String {
        // Encoding our own value types cannot fail.
        let data = (try? encoder().encode(value)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}

/// The fields every incoming request has; `params` is decoded per method.
/// Fields of the wrong type do not fail the decoding (that is for JSON
/// that is not JSON, -32700): they make the request invalid (-32600), as
/// JSON-RPC 2.0 asks, and an id that cannot be used is answered with null.
public struct RPCEnvelope: Decodable, Sendable {
    public let jsonrpc: String?
    public let id: RPCID?
    public let method: String?
    /// Why the object is not a valid request, nil when it is one.
    public let invalid: String?

    private enum CodingKeys: String, CodingKey { case jsonrpc, id, method }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        var problems: [String] = []
        var id: RPCID?
        if c.contains(.id), !(try c.decodeNil(forKey: .id)) {
            // A number must be an integer that fits 64 bits; no booleans, objects or arrays.
            if let n = try? c.decode(Int.self, forKey: .id) {
                id = .number(n)
            } else if let s = try? c.decode(String.self, forKey: .id) {
                id = .string(s)
            } else {
                problems.append("the id must be a string or an integer")
            }
        }
        var version: String?
        if c.contains(.jsonrpc) {
            version = try? c.decode(String.self, forKey: .jsonrpc)
            if version != "2.0" { problems.append("jsonrpc must be \"2.0\"") }
        }
        var method: String?
        if c.contains(.method), !(try c.decodeNil(forKey: .method)) {
            method = try? c.decode(String.self, forKey: .method)
            if method == nil { problems.append("the method must be a string") }
        }
        self.id = id
        self.jsonrpc = version
        self.method = method
        self.invalid = problems.first
    }
}

/// Reads only the `params` of a request.
public struct RPCParams<P: Decodable>: Decodable {
    public let params: P
}

/// A request as a client writes it.
public struct RPCRequest<P: Encodable>: Encodable {
    public var jsonrpc = "2.0"
    public let id: RPCID?
    public let method: String
    public let params: P

    public init(id: RPCID?, method: String, params: P) {
        self.id = id
        self.method = method
        self.params = params
    }
}

/// A successful reply.
public struct RPCResult<R: Encodable>: Encodable {
    public var jsonrpc = "2.0"
    public let id: RPCID
    public let result: R

    public init(id: RPCID, result: R) {
        self.id = id
        self.result = result
    }
}

/// An error reply; the id is null when the request's id could not be read.
public struct RPCErrorReply: Codable, Sendable {
    public var jsonrpc = "2.0"
    public let id: RPCID?
    public let error: RPCError

    public init(id: RPCID?, error: RPCError) {
        self.id = id
        self.error = error
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(jsonrpc, forKey: .jsonrpc)
        try c.encode(id, forKey: .id)  // null, not absent, as JSON-RPC asks
        try c.encode(error, forKey: .error)
    }
}

/// A notification (no id, no reply expected).
public struct RPCNotification<P: Encodable>: Encodable {
    public var jsonrpc = "2.0"
    public let method: String
    public let params: P

    public init(method: String, params: P) {
        self.method = method
        self.params = params
    }
}
