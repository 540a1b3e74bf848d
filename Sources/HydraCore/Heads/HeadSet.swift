import Foundation

/// One body and the heads loaded over it. The body's weights are mapped
/// once; every head points at its own (small) tables, so adding a head
/// neither reloads nor copies the body.
public final class HeadSet: @unchecked Sendable {
    public let body: Body
    public let fingerprint: BodyFingerprint
    /// The model file's own head.
    public let native: Head
    /// Every head, the native one first, in the order they were added.
    public private(set) var heads: [Head]
    private let lock = NSLock()

    /// A set holding the native head of `body` only.
    public init(body: Body, native: Head) throws {
        self.body = body
        fingerprint = BodyFingerprint(body: body)
        try native.checkFits(body, fingerprint: fingerprint)
        self.native = native
        heads = [native]
    }

    /// Opens the body of a model file with its native head.
    public convenience init(file: GGUFFile, nativeLanguage: String? = nil) throws {
        let body = try Body(file: file)
        try self.init(body: body, native: Head.native(of: body, language: nativeLanguage))
    }

    /// Adds a head (checked against the body). Names are unique: a head of
    /// the same name is refused, or with `replacing` takes the place of the
    /// one loaded before (never the native head's), which stays usable by
    /// whoever holds it.
    public func add(_ head: Head, replacing: Bool = false) throws {
        try head.checkFits(body, fingerprint: fingerprint)
        try lock.withLock {
            if let same = heads.firstIndex(where: { $0.name == head.name }) {
                guard replacing, heads[same] !== native else {
                    throw HeadError.invalid("a head named '\(head.name)' is already loaded")
                }
                heads.remove(at: same)
            }
            heads.append(head)
        }
    }

    /// Loads a head file and adds it. A recipe head's source is found among
    /// the loaded heads, else (by name) in `catalog`, and loaded first.
    /// `replacing`: as for `add` (a head compared with an earlier copy of itself).
    @discardableResult
    public func load(path: String, catalog: HeadCatalog = HeadCatalog(), materializeAs: GGMLType = .f32,
                     replacing: Bool = false) throws -> Head {
        var loading: Set<String> = []
        return try load(path: path, catalog: catalog, materializeAs: materializeAs, replacing: replacing,
                        loading: &loading)
    }

    private func load(path: String, catalog: HeadCatalog, materializeAs: GGMLType, replacing: Bool = false,
                      loading: inout Set<String>) throws -> Head {
        guard loading.insert(path).inserted else {
            throw HeadError.invalid("recipe heads refer to each other in a cycle through \(path)")
        }
        var loadingNow = loading
        var head = try HeadFile.load(path: path, body: body, fingerprint: fingerprint, source: { name in
            if let h = self.head(named: name) { return h }
            guard let entry = catalog.entry(named: name, fitting: self.fingerprint) else {
                throw HeadError.notFound("the source head '\(name)' of \(path) is not installed (searched \(catalog.directories.joined(separator: ", ")))")
            }
            return try self.load(path: entry.path, catalog: catalog, materializeAs: materializeAs, loading: &loadingNow)
        }, materializeAs: materializeAs)
        if let f = head.info.factored { head = try head.factored(f, over: native) }
        if let existing = self.head(named: head.name), existing.path == path { return existing }
        try add(head, replacing: replacing)
        return head
    }

    /// Removes a head (not the native one) and frees its tables when no
    /// one else holds it.
    public func remove(named name: String) {
        lock.withLock { heads.removeAll { $0.name == name && $0 !== native } }
    }

    public func head(named name: String) -> Head? {
        lock.withLock { heads.first { $0.name == name } }
    }

    /// The head for a language: the first added head whose language
    /// matches ("tt-RU" matches "tt"), else the native head if its language
    /// matches, else nil.
    public func head(for language: String) -> Head? {
        lock.withLock {
            heads.dropFirst().first { HeadCatalog.sameLanguage($0.language, language) }
                ?? (HeadCatalog.sameLanguage(native.language, language) ? native : nil)
        }
    }
}
