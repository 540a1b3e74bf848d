import Foundation
import Testing
@testable import HydraCore

@Suite("GGUF", .tags(.model), .modelsWanted)
struct GGUFTests {
    @Test("opens the real models with their metadata and tensors", arguments: TestModels.keys)
    func opensRealModels(key: String) throws {
        let f = try TestModels.gguf(key)
        #expect(f.version == 3)
        let arch = try #require(f.architecture)
        #expect(["llama", "gemma3", "qwen2"].contains(arch))
        #expect(f.int("\(arch).block_count")! > 0)
        let tokens = try #require(f.strings("tokenizer.ggml.tokens"))
        #expect(tokens.count > 40000)
        let embd = try #require(f.tensor(named: "token_embd.weight"))
        #expect(embd.rows == tokens.count)
        #expect(embd.cols == f.int("\(arch).embedding_length"))
        for t in f.tensors {
            #expect(t.byteCount == t.type.byteCount(elements: t.elementCount))
        }
    }

    @Test("a written file reads back identically")
    func writerRoundTrip() throws {
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        w.set("test.u8", .uint8(7))
        w.set("test.i64", .int64(-5))
        w.set("test.f64", .float64(2.5))
        w.set("test.bool", .bool(true))
        w.set("test.strings", .array(.strings(["a", "ä", ""])))
        w.set("test.nested", .array(GGUFArray(elementType: .array, values: [.array(.int32s([1, 2]))])))
        try w.addTensor(name: "a", shape: [4, 2], floats: [1, 2, 3, 4, 5, 6, 7, 8])
        try w.addTensor(name: "q", type: .q8_0, shape: [32], bytes: [UInt8](repeating: 1, count: 34))
        let path = temporaryPath("roundtrip.gguf")
        try w.write(to: path)
        let f = try GGUFFile(path: path)
        #expect(f.metadataKeys == ["general.architecture", "test.u8", "test.i64", "test.f64", "test.bool", "test.strings", "test.nested"])
        #expect(f.int("test.u8") == 7)
        #expect(f.int("test.i64") == -5)
        #expect(f.metadata["test.f64"] == .float64(2.5))
        #expect(f.bool("test.bool") == true)
        #expect(f.strings("test.strings") == ["a", "ä", ""])
        let a = try #require(f.tensor(named: "a"))
        #expect(a.shape == [4, 2] && a.rows == 2 && a.cols == 4)
        let floats = (0..<8).map { a.data.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) }
        #expect(floats == [1, 2, 3, 4, 5, 6, 7, 8])
        #expect(Int(bitPattern: f.tensor(named: "q")!.data) % 32 == 0)
        // encoding the read file again gives the same bytes
        var w2 = GGUFWriter()
        for k in f.metadataKeys { w2.set(k, f.metadata[k]!) }
        for t in f.tensors {
            try w2.addTensor(name: t.name, type: t.type, shape: t.shape,
                             bytes: Array(UnsafeRawBufferPointer(start: t.data, count: t.byteCount)))
        }
        #expect(w2.encoded() == w.encoded())
    }

    @Test("truncating a real file header at many offsets is an error, never a crash")
    func truncatedFiles() throws {
        let f = try TestModels.gguf("smollm2-135m")
        let header = try readPrefix(f.path, count: f.dataOffset + 4096)
        // every offset in the first 512 bytes, then a stride through the header
        var cuts = Array(0..<512)
        cuts += stride(from: 512, to: f.dataOffset, by: max(1, f.dataOffset / 400)).map { $0 }
        cuts.append(f.dataOffset + 100)  // header whole, tensor data cut
        var rejected = 0
        for cut in cuts {
            let path = temporaryPath("trunc.gguf")
            try Data(header.prefix(cut)).write(to: URL(fileURLWithPath: path))
            do {
                _ = try GGUFFile(path: path)
                Issue.record("a file truncated at \(cut) bytes was accepted")
            } catch let e as GGUFError {
                #expect(!e.reason.isEmpty)
                rejected += 1
            }
        }
        #expect(rejected == cuts.count)
    }

    @Test("hostile counts, lengths, offsets and dimensions are rejected")
    func hostileFields() throws {
        var w = GGUFWriter()
        w.set("general.architecture", .string("llama"))
        w.set("k", .array(.strings(["x", "y"])))
        try w.addTensor(name: "t", shape: [8, 2], floats: [Float](repeating: 0.5, count: 16))
        let good = w.encoded()
        // Offsets of the fields in this layout.
        let tensorCountAt = 8, kvCountAt = 16
        let key1At = 24                               // "general.architecture"
        let key1LenAt = key1At
        let value1LenAt = key1At + 8 + 20 + 4         // string length of "llama"
        let key2At = value1LenAt + 8 + 5
        let arrayCountAt = key2At + 8 + 1 + 4 + 4     // after key, type, element type
        let tensorAt = arrayCountAt + 8 + (8 + 1) * 2
        let nDimsAt = tensorAt + 8 + 1
        let dim0At = nDimsAt + 4
        let typeAt = dim0At + 16
        let offsetAt = typeAt + 4

        func patched(_ at: Int, _ value: UInt64, width: Int = 8) -> [UInt8] {
            var b = good
            for i in 0..<width { b[at + i] = UInt8((value >> (8 * UInt64(i))) & 0xff) }
            return b
        }
        let cases: [(String, [UInt8])] = [
            ("huge tensor count", patched(tensorCountAt, .max)),
            ("huge kv count", patched(kvCountAt, 1 << 40)),
            ("huge key length", patched(key1LenAt, .max)),
            ("huge string length", patched(value1LenAt, 1 << 62)),
            ("huge array count", patched(arrayCountAt, 1 << 61)),
            ("zero dims", patched(nDimsAt, 0, width: 4)),
            ("five dims", patched(nDimsAt, 5, width: 4)),
            ("zero dimension", patched(dim0At, 0)),
            ("overflowing dimension", patched(dim0At, 1 << 40)),
            ("dims whose product overflows", patched(dim0At + 8, 1 << 36)),
            ("unknown type", patched(typeAt, 99, width: 4)),
            ("offset past the end", patched(offsetAt, 1 << 20)),
            ("unaligned offset", patched(offsetAt, 3)),
            ("bad magic", patched(0, 0x4655_4748, width: 4)),
            ("version 1", patched(4, 1, width: 4)),
            ("unknown value type", patched(key1At + 8 + 20, 77, width: 4)),
        ]
        // the unpatched bytes are accepted
        let okPath = temporaryPath("good.gguf")
        try Data(good).write(to: URL(fileURLWithPath: okPath))
        #expect(try GGUFFile(path: okPath).tensor(named: "t")?.rows == 2)
        for (what, bytes) in cases {
            let path = temporaryPath("hostile.gguf")
            try Data(bytes).write(to: URL(fileURLWithPath: path))
            #expect(throws: GGUFError.self, "\(what)") { _ = try GGUFFile(path: path) }
        }
    }

    @Test("random byte flips in a header never crash the reader")
    func fuzzedHeaders() throws {
        let f = try TestModels.gguf("smollm2-135m")
        let header = try readPrefix(f.path, count: min(f.dataOffset, 64 * 1024))
        var rng = SplitMix64(seed: 42)
        for _ in 0..<300 {
            var b = header
            for _ in 0..<Int(rng.next() % 4 + 1) {
                let i = Int(rng.next() % UInt64(min(b.count, 2048)))
                b[i] = UInt8(truncatingIfNeeded: rng.next())
            }
            let path = temporaryPath("fuzz.gguf")
            try Data(b).write(to: URL(fileURLWithPath: path))
            _ = try? GGUFFile(path: path)  // must return or throw, not crash
        }
    }

    @Test("missing, empty and non-regular files are errors")
    func notFiles() throws {
        #expect(throws: GGUFError.self) { _ = try GGUFFile(path: "/nonexistent/model.gguf") }
        let empty = temporaryPath("empty.gguf")
        FileManager.default.createFile(atPath: empty, contents: Data())
        #expect(throws: GGUFError.self) { _ = try GGUFFile(path: empty) }
        #expect(throws: GGUFError.self) { _ = try GGUFFile(path: NSTemporaryDirectory()) }
    }
}

/// A fresh path in a per-process temporary directory.
func temporaryPath(_ name: String) -> String {
    testsDirectory + "/" + UUID().uuidString + "-" + name
}

/// The tests' per-process temporary directory, made on first use after
/// removing the ones earlier runs left (their processes are gone), so
/// repeated runs do not fill the disk (a run writes a few GB of models).
private let testsDirectory: String = {
    let base = NSTemporaryDirectory(), prefix = "hydra-tests-"
    for name in (try? FileManager.default.contentsOfDirectory(atPath: base)) ?? [] where name.hasPrefix(prefix) {
        guard let pid = Int32(name.dropFirst(prefix.count)), pid != getpid() else { continue }
        if kill(pid, 0) != 0 && errno == ESRCH { try? FileManager.default.removeItem(atPath: base + name) }
    }
    let dir = base + prefix + "\(getpid())"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}()

func readPrefix(_ path: String, count: Int) throws -> [UInt8] {
    let h = try FileHandle(forReadingFrom: URL(fileURLWithPath: path))
    defer { try? h.close() }
    return [UInt8](try h.read(upToCount: count) ?? Data())
}

/// The tests' deterministic generator: the library's SplitMix64.
typealias SplitMix64 = SeededGenerator
