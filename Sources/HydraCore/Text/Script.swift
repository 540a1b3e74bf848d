import CICUShim

/// A Unicode script (ISO 15924), as ICU classifies code points.
public struct Script: Hashable, Sendable, CustomStringConvertible {
    /// ICU's UScriptCode.
    public let code: Int32

    public init(code: Int32) { self.code = code }

    public static let common = Script(code: 0)
    public static let inherited = Script(code: 1)
    public static let cyrillic = Script(code: 8)
    public static let latin = Script(code: 25)
    public static let han = Script(code: 17)
    public static let arabic = Script(code: 2)

    /// The script of one code point.
    public static func of(_ scalar: Unicode.Scalar) -> Script {
        Script(code: hydra_icu_script(scalar.value))
    }

    /// The four-letter ISO 15924 code ("Cyrl", "Latn", ...).
    public var description: String {
        var buf = [CChar](repeating: 0, count: 16)
        let n = hydra_icu_script_name(code, &buf, 16)
        guard n > 0 else { return "Zyyy" }
        return String(decoding: buf[0..<Int(n)].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// The script of an ISO 15924 code ("Cyrl", case-insensitive), or nil
    /// when ICU knows no such script.
    public init?(iso15924 name: String) {
        guard let script = Self.byName[name.lowercased()] else { return nil }
        self = script
    }

    /// ICU's scripts by lower-cased short name (ICU numbers them from 0 up;
    /// a few hundred at most).
    private static let byName: [String: Script] = {
        var map: [String: Script] = [:]
        var buf = [CChar](repeating: 0, count: 16)
        for code in Int32(0)..<512 {
            let n = hydra_icu_script_name(code, &buf, 16)
            guard n > 0 else { continue }
            let name = String(decoding: buf[0..<Int(n)].map { UInt8(bitPattern: $0) }, as: UTF8.self).lowercased()
            if map[name] == nil { map[name] = Script(code: code) }
        }
        return map
    }()

    /// Whether this script carries no language signal (digits, punctuation,
    /// combining marks).
    public var isNeutral: Bool { self == .common || self == .inherited }

    /// Counts of letters per script in `text`, neutral characters left out.
    public static func histogram(of text: String) -> [Script: Int] {
        var counts: [Script: Int] = [:]
        for scalar in text.unicodeScalars {
            let s = Script.of(scalar)
            if !s.isNeutral { counts[s, default: 0] += 1 }
        }
        return counts
    }

    /// The script of most letters in `text`, or nil when it has none.
    public static func dominant(in text: String) -> Script? {
        histogram(of: text).max { a, b in a.value < b.value || (a.value == b.value && a.key.code > b.key.code) }?.key
    }
}
