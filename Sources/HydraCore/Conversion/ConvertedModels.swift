import Foundation

/// Model directories written by `hydra convert`: `DIR/model.gguf`, and for
/// a Hydra checkpoint its new-language heads in `DIR/heads/`. `--model`
/// takes such a directory (or the name of one in `directory`), and the
/// heads beside the model are then installed heads for that run.
public enum ConvertedModels {
    /// `$HYDRA_CONVERTED`, else `converted/` beside the model cache
    /// (~/.cache/hydra/converted).
    public static var directory: String {
        let env = ProcessInfo.processInfo.environment
        if let d = env["HYDRA_CONVERTED"], !d.isEmpty { return d }
        return (KnownModel.cacheDirectory as NSString).deletingLastPathComponent + "/converted"
    }

    /// The model file of a converted directory, if `path` is one.
    public static func modelFile(inDirectory path: String) -> String? {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else { return nil }
        let file = path + "/model.gguf"
        return FileManager.default.fileExists(atPath: file) ? file : nil
    }

    /// The converted models in `directory`: (name, model file, size in bytes).
    public static func all() -> [(name: String, path: String, bytes: Int)] {
        let fm = FileManager.default
        guard let names = try? fm.contentsOfDirectory(atPath: directory) else { return [] }
        return names.sorted().compactMap { name in
            guard let file = modelFile(inDirectory: directory + "/" + name) else { return nil }
            let size = (try? fm.attributesOfItem(atPath: file)[.size] as? Int) ?? 0
            return (name, file, size)
        }
    }

    /// Heads directories of the converted models opened by this process.
    static var headDirectories: [String] {
        lock.lock(); defer { lock.unlock() }
        return opened
    }
    nonisolated(unsafe) private static var opened: [String] = []
    private static let lock = NSLock()

    /// Resolves a converted model directory (a path, or a name in
    /// `directory`) to its model file, and makes its heads installed.
    static func resolve(_ arg: String) -> String? {
        let dir: String
        if modelFile(inDirectory: arg) != nil {
            dir = arg
        } else if !arg.contains("/"), modelFile(inDirectory: directory + "/" + arg) != nil {
            dir = directory + "/" + arg
        } else {
            return nil
        }
        let heads = URL(fileURLWithPath: dir).standardizedFileURL.path + "/heads"
        lock.lock()
        if !opened.contains(heads) { opened.append(heads) }
        lock.unlock()
        return dir + "/model.gguf"
    }
}
