import Foundation

/// A gettext catalog (.po/.pot) read well enough to fill in its empty
/// translations and write it back: every entry it does not fill is written
/// as it was read, line for line. Filled entries get the `fuzzy` flag, as
/// machine translations should until a person has checked them.
public struct GettextCatalog {
    /// One block of the file (an entry, or lines between entries).
    public struct Entry {
        /// The lines as read, without their newlines.
        var lines: [String]
        public var context: String?
        public var id: String?
        public var plural: String?
        /// msgstr, or msgstr[0], msgstr[1], ...
        public var strings: [String] = []
        /// Whether the entry is an obsolete one (`#~`) or has no msgid.
        var isText: Bool { id == nil }

        /// Whether the entry wants a translation: a real message (not the
        /// header) whose translations are all empty.
        public var needsTranslation: Bool {
            guard let id, !id.isEmpty else { return false }
            return strings.allSatisfy(\.isEmpty)
        }
    }

    public private(set) var entries: [Entry]
    /// How many forms a plural message has (the header's Plural-Forms
    /// nplurals; 2 when it says nothing).
    public let pluralForms: Int

    /// Parses a catalog; `name` is used in errors.
    public init(_ text: String, name: String) throws {
        var entries: [Entry] = []
        var block: [String] = []
        func flush() throws {
            guard !block.isEmpty else { return }
            entries.append(try Self.parse(block, name: name, firstLine: 0))
            block = []
        }
        for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = line.hasSuffix("\r") ? String(line.dropLast()) : String(line)
            if line.allSatisfy(\.isWhitespace) {
                try flush()
                entries.append(Entry(lines: [line]))
            } else {
                block.append(line)
            }
        }
        try flush()
        // The split gives one empty piece after a final newline: drop it.
        if let last = entries.last, last.lines == [""], text.hasSuffix("\n") { entries.removeLast() }
        self.entries = entries
        let header = entries.first { $0.id == "" }?.strings.first ?? ""
        let forms = header.range(of: #"nplurals\s*=\s*(\d+)"#, options: .regularExpression).flatMap {
            Int(header[$0].filter(\.isNumber))
        }
        pluralForms = max(1, min(forms ?? 2, 6))
    }

    /// The messages to translate: (key, text) for each singular and plural
    /// source of the entries that need a translation. Keys are unique:
    /// context and message, and a mark for the plural.
    public var messages: [(key: String, text: String)] {
        entries.filter(\.needsTranslation).flatMap { entry -> [(String, String)] in
            let key = Self.key(entry)
            var out = [(key, entry.id!)]
            if let plural = entry.plural { out.append((key + "\u{0}plural", plural)) }
            return out
        }
    }

    /// Fills the entries that need a translation from `translations` (by
    /// key, as `messages` gives them). An entry is filled only when every
    /// form it needs is there and keeps the source's placeholders; returns
    /// how many were filled and how many were left empty for that reason.
    public mutating func fill(_ translations: [String: String]) -> (filled: Int, refused: Int) {
        var filled = 0, refused = 0
        for i in entries.indices where entries[i].needsTranslation {
            let entry = entries[i]
            let key = Self.key(entry)
            guard let singular = translations[key] else { continue }
            var forms = [Self.fit(singular, like: entry.id!)]
            if let plural = entry.plural {
                guard let p = translations[key + "\u{0}plural"] else { continue }
                forms += Array(repeating: Self.fit(p, like: plural), count: pluralForms - 1)
            }
            let sources = [entry.id!] + Array(repeating: entry.plural ?? "", count: forms.count - 1)
            guard zip(sources, forms).allSatisfy({ Placeholders.same($0, $1) }), forms.allSatisfy({ !$0.isEmpty }) else {
                refused += 1
                continue
            }
            entries[i] = Self.translated(entry, forms: forms)
            filled += 1
        }
        return (filled, refused)
    }

    /// The catalog as text.
    public var text: String { entries.flatMap(\.lines).map { $0 + "\n" }.joined() }

    // MARK: reading and writing entries

    static func key(_ entry: Entry) -> String { (entry.context.map { $0 + "\u{4}" } ?? "") + (entry.id ?? "") }

    /// A translation with the source's leading and trailing whitespace (and
    /// newlines), as msgfmt's checks want.
    static func fit(_ translation: String, like source: String) -> String {
        let trimmed = translation.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !trimmed.isEmpty else { return "" }
        let lead = source.prefix { $0.isWhitespace }
        let trail = String(source.reversed().prefix { $0.isWhitespace }.reversed())
        return String(lead) + trimmed + (lead.count == source.count ? "" : trail)
    }

    private static func translated(_ entry: Entry, forms: [String]) -> Entry {
        var lines: [String] = []
        var flagged = false
        var stringsStarted = false
        for line in entry.lines {
            if line.hasPrefix("msgstr") { stringsStarted = true; continue }
            if stringsStarted && line.hasPrefix("\"") { continue }
            stringsStarted = false
            if line.hasPrefix("#,") {
                flagged = true
                lines.append(line.contains("fuzzy") ? line : line + ", fuzzy")
            } else {
                lines.append(line)
            }
        }
        if !flagged {
            let at = lines.firstIndex { !$0.hasPrefix("#") } ?? lines.count
            lines.insert("#, fuzzy", at: at)
        }
        if entry.plural == nil {
            lines.append("msgstr " + quote(forms[0]))
        } else {
            for (n, form) in forms.enumerated() { lines.append("msgstr[\(n)] " + quote(form)) }
        }
        var out = entry
        out.lines = lines
        out.strings = forms
        return out
    }

    private static func parse(_ lines: [String], name: String, firstLine: Int) throws -> Entry {
        var entry = Entry(lines: lines)
        var current: String?
        var values: [String: String] = [:]
        var order: [String] = []
        for line in lines {
            if line.hasPrefix("#") { current = nil; continue }
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("\"") {
                guard let key = current else { throw HydraError.invalidInput("\(name): a string outside an entry: \(line)") }
                values[key, default: ""] += try unquote(trimmed, name: name)
                continue
            }
            guard let space = trimmed.firstIndex(of: " ") else {
                throw HydraError.invalidInput("\(name): cannot read the line: \(line)")
            }
            let keyword = String(trimmed[..<space])
            guard ["msgctxt", "msgid", "msgid_plural", "msgstr"].contains(keyword) || keyword.hasPrefix("msgstr[") else {
                throw HydraError.invalidInput("\(name): unknown keyword '\(keyword)'")
            }
            guard values[keyword] == nil else { throw HydraError.invalidInput("\(name): '\(keyword)' twice in one entry") }
            current = keyword
            order.append(keyword)
            values[keyword] = try unquote(trimmed[space...].trimmingCharacters(in: .whitespaces), name: name)
        }
        entry.context = values["msgctxt"]
        entry.id = values["msgid"]
        entry.plural = values["msgid_plural"]
        entry.strings = order.filter { $0.hasPrefix("msgstr") }.map { values[$0]! }
        if entry.id != nil && entry.strings.isEmpty {
            throw HydraError.invalidInput("\(name): the entry for \(quote(entry.id!)) has no msgstr")
        }
        return entry
    }

    /// The text of a quoted C string as gettext writes them.
    static func unquote(_ s: String, name: String) throws -> String {
        guard s.count >= 2, s.hasPrefix("\""), s.hasSuffix("\"") else {
            throw HydraError.invalidInput("\(name): not a quoted string: \(s)")
        }
        var out = ""
        var escaped = false
        for ch in s.dropFirst().dropLast() {
            if escaped {
                switch ch {
                case "n": out.append("\n")
                case "t": out.append("\t")
                case "r": out.append("\r")
                case "a": out.append("\u{7}")
                case "b": out.append("\u{8}")
                case "f": out.append("\u{c}")
                case "v": out.append("\u{b}")
                default: out.append(ch)
                }
                escaped = false
            } else if ch == "\\" {
                escaped = true
            } else {
                out.append(ch)
            }
        }
        guard !escaped else { throw HydraError.invalidInput("\(name): a string ends in a backslash: \(s)") }
        return out
    }

    /// `s` as a quoted string; a text with newlines is written one line
    /// per string after an empty first one, as msgmerge does.
    static func quote(_ s: String) -> String {
        func escape(_ t: Substring) -> String {
            var out = "\""
            for ch in t {
                switch ch {
                case "\"": out += "\\\""
                case "\\": out += "\\\\"
                case "\n": out += "\\n"
                case "\t": out += "\\t"
                case "\r": out += "\\r"
                default: out.append(ch)
                }
            }
            return out + "\""
        }
        let parts = s.split(separator: "\n", omittingEmptySubsequences: false)
        guard parts.count > 1 else { return escape(Substring(s)) }
        var lines: [Substring] = parts.dropLast().map { Substring(String($0) + "\n") }
        if let last = parts.last, !last.isEmpty { lines.append(last) }
        return "\"\"\n" + lines.map(escape).joined(separator: "\n")
    }
}

/// Placeholders a translation must keep: printf conversions (`%s`, `%1$d`,
/// `%(name)s`), brace fields (`{0}`, `{name}`) and `%%`-free of course.
public enum Placeholders {
    private static let pattern = #"%(\([A-Za-z0-9_]+\)|[0-9]+\$)?[-+ #0']*[0-9*]*(\.[0-9*]+)?(hh|h|ll|l|L|q|j|z|t)?[diouxXeEfFgGaAcspn]|\{[A-Za-z0-9_]*(:[^{}]*)?\}"#

    /// The placeholders of `text`, sorted (their order may change in a
    /// translation, but not their number).
    public static func of(_ text: String) -> [String] {
        let cleaned = text.replacingOccurrences(of: "%%", with: "")
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return [] }
        let ns = cleaned as NSString
        return regex.matches(in: cleaned, range: NSRange(location: 0, length: ns.length))
            .map { ns.substring(with: $0.range) }.sorted()
    }

    /// Whether `translation` has exactly the placeholders of `source`.
    public static func same(_ source: String, _ translation: String) -> Bool { of(source) == of(translation) }
}
