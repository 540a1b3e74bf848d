import Foundation

/// How `hydra translate` and the daemon find heads: by a file's path, a
/// loaded head's name or an installed head's name, and by language.
extension HeadCatalog {
    /// The file a head argument names: the path as given when it is a
    /// file, else the installed head of that name (fitting `fingerprint`
    /// when given).
    public func resolve(_ nameOrPath: String, fitting fingerprint: BodyFingerprint? = nil) throws -> String {
        if FileManager.default.fileExists(atPath: nameOrPath) {
            return URL(fileURLWithPath: nameOrPath).standardizedFileURL.path
        }
        guard let entry = entry(named: nameOrPath, fitting: fingerprint) else {
            let fits = fingerprint.map { " fitting body \($0)" } ?? ""
            throw HeadError.notFound("no head file or installed head named '\(nameOrPath)'\(fits) (searched \(directories.joined(separator: ", ")))")
        }
        return entry.path
    }
}

extension HeadSet {
    /// The head `nameOrPath` stands for: a loaded head of that name, else a
    /// head file or an installed head of that name, loaded now (a file
    /// loaded before is not loaded again).
    @discardableResult
    public func load(nameOrPath: String, catalog: HeadCatalog) throws -> Head {
        if !FileManager.default.fileExists(atPath: nameOrPath), let loaded = head(named: nameOrPath) { return loaded }
        let path = try catalog.resolve(nameOrPath, fitting: fingerprint)
        if let loaded = heads.first(where: { $0.path == path }) { return loaded }
        return try load(path: path, catalog: catalog)
    }

    /// Loads the heads a translation from `source` into `target` goes
    /// through: each head named, and unless `nativeOnly`, the first
    /// installed head that fits the body for each of the two languages that
    /// has no head loaded yet. Returns the heads loaded now.
    @discardableResult
    public func prepare(named names: [String], nativeOnly: Bool, from source: Language, to target: Language,
                        catalog: HeadCatalog) throws -> [Head] {
        let before = Set(heads.map(ObjectIdentifier.init))
        for name in names { try load(nameOrPath: name, catalog: catalog) }
        if !nativeOnly {
            for language in [source, target] where head(for: language.code).map({ $0 === native }) ?? true {
                if let entry = catalog.entries(language: language.code, fitting: fingerprint).first {
                    try load(path: entry.path, catalog: catalog)
                }
            }
        }
        return heads.filter { !before.contains(ObjectIdentifier($0)) }
    }
}

extension Translator {
    /// A translator through the heads `hydra translate` and the daemon pick
    /// for the same options (`HeadSet.prepare`): with `nativeOnly` and no
    /// head named, the model's own head both ways, whatever else is loaded.
    public convenience init(model: HydraModel, heads names: [String], nativeOnly: Bool, from source: Language,
                            to target: Language, catalog: HeadCatalog = HeadCatalog()) throws {
        if nativeOnly && names.isEmpty {
            try self.init(model: model, source: model.native, target: model.native)
            return
        }
        try model.heads.prepare(named: names, nativeOnly: nativeOnly, from: source, to: target, catalog: catalog)
        try self.init(model: model)
    }
}
