import Foundation

/// The head files installed on this machine: `*.gguf` head files in
/// $HYDRA_HEADS (colon-separated directories), ~/.local/share/hydra/heads,
/// PREFIX/share/hydra/heads beside an installed PREFIX/bin/hydra, and the
/// `heads/` directory shipped with hydra.
public struct HeadCatalog: Sendable {
    /// One installed head, described by its metadata (tables not loaded).
    public struct Entry: Sendable {
        public let path: String
        public let info: HeadInfo
        /// "dense", "recipe" or "slice".
        public let kind: String
        public let fileSize: Int
    }

    /// Searched in order; the first head of a name wins.
    public let directories: [String]

    public init(directories: [String] = HeadCatalog.defaultDirectories()) {
        self.directories = directories
    }

    /// $HYDRA_HEADS, ~/.local/share/hydra/heads (or $XDG_DATA_HOME/hydra/heads),
    /// `heads/` of each converted model directory opened by `--model`,
    /// PREFIX/share/hydra/heads of an installed PREFIX/bin/hydra, and the
    /// `heads/` folder of the hydra checkout the program runs from.
    public static func defaultDirectories() -> [String] {
        let env = ProcessInfo.processInfo.environment
        var dirs: [String] = []
        if let list = env["HYDRA_HEADS"] {
            dirs += list.split(separator: ":").map(String.init).filter { !$0.isEmpty }
        }
        let data = env["XDG_DATA_HOME"].flatMap { $0.isEmpty ? nil : $0 } ?? NSHomeDirectory() + "/.local/share"
        dirs.append(data + "/hydra/heads")
        // heads/ beside the converted models opened by this process.
        dirs += ConvertedModels.headDirectories
        let running = executable
        if let installed = installedDirectory(executable: running) { dirs.append(installed) }
        if let shipped = shippedDirectory(executable: running) { dirs.append(shipped) }
        return dirs
    }

    /// The running executable, symbolic links resolved: /proc/self/exe
    /// where there is one (a program started from $PATH has no directory
    /// in its argv[0]), else argv[0].
    static var executable: URL {
        if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") {
            return URL(fileURLWithPath: path)
        }
        return URL(fileURLWithPath: CommandLine.arguments.first ?? "").resolvingSymlinksInPath()
    }

    /// PREFIX/share/hydra/heads for an executable installed as
    /// PREFIX/bin/hydra (`scripts/install.sh` puts the shipped heads
    /// there), if there is one.
    static func installedDirectory(executable: URL) -> String? {
        let heads = executable.deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("share/hydra/heads").path
        var isDirectory: ObjCBool = false
        return FileManager.default.fileExists(atPath: heads, isDirectory: &isDirectory) && isDirectory.boolValue ? heads : nil
    }

    /// The `heads/` directory beside Package.swift above `executable`
    /// (e.g. .build/release/hydra → heads/), if there is one.
    static func shippedDirectory(executable: URL) -> String? {
        var url = executable.deletingLastPathComponent()
        let fm = FileManager.default
        for _ in 0..<6 {
            if fm.fileExists(atPath: url.appendingPathComponent("Package.swift").path) {
                let heads = url.appendingPathComponent("heads").path
                return fm.fileExists(atPath: heads) ? heads : nil
            }
            url.deleteLastPathComponent()
        }
        return nil
    }

    /// Every head file in the directories (files that are not heads are
    /// skipped), sorted by language then name.
    public func entries() -> [Entry] {
        var seen: Set<String> = []
        var out: [Entry] = []
        let fm = FileManager.default
        for dir in directories {
            guard let names = try? fm.contentsOfDirectory(atPath: dir) else { continue }
            for name in names.sorted() where name.hasSuffix(".gguf") {
                let path = dir + "/" + name
                guard let entry = try? Self.entry(path: path), seen.insert(entry.info.name).inserted else { continue }
                out.append(entry)
            }
        }
        return out.sorted { ($0.info.language, $0.info.name) < ($1.info.language, $1.info.name) }
    }

    /// The description of the head file at `path`.
    public static func entry(path: String) throws -> Entry {
        let file: GGUFFile
        do {
            file = try GGUFFile(path: path)
        } catch let e as GGUFError {
            throw HeadError.invalid("invalid head file \(e.description)")
        }
        return Entry(path: path, info: try HeadFile.info(of: file), kind: HeadFile.kind(of: file), fileSize: file.fileSize)
    }

    /// The installed head named `name`, among those that fit `fingerprint` when given.
    public func entry(named name: String, fitting fingerprint: BodyFingerprint? = nil) -> Entry? {
        entries().first { $0.info.name == name && (fingerprint == nil || $0.info.body.fingerprint == fingerprint) }
    }

    /// The installed heads of `language` that fit the body `fingerprint`.
    public func entries(language: String, fitting fingerprint: BodyFingerprint) -> [Entry] {
        entries().filter { Self.sameLanguage($0.info.language, language) && $0.info.body.fingerprint == fingerprint }
    }

    /// Whether two BCP-47 codes name the same language ("tt" and "tt-RU" do).
    public static func sameLanguage(_ a: String, _ b: String) -> Bool {
        func primary(_ s: String) -> Substring { s.lowercased().split(separator: "-").first ?? "" }
        return primary(a) == primary(b)
    }
}
