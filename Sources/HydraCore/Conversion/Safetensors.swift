import Foundation

/// The element types hydra reads from safetensors checkpoints.
public enum SafetensorsDType: String, Sendable {
    case f32 = "F32", f16 = "F16", bf16 = "BF16"

    public var byteSize: Int { self == .f32 ? 4 : 2 }
}

/// One tensor of a safetensors file: a view into the mapped shard.
public struct SafetensorsTensor: @unchecked Sendable {
    public let name: String
    public let dtype: SafetensorsDType
    /// PyTorch order: the last dimension is the row length.
    public let shape: [Int]
    public let data: UnsafeRawPointer
    public let byteCount: Int
    /// The shard it lives in.
    public let path: String

    public var elementCount: Int { shape.reduce(1, *) }

    /// The elements as floats (F16 and BF16 widened exactly).
    public func floats() -> [Float] {
        let n = elementCount
        var out = [Float](repeating: 0, count: n)
        out.withUnsafeMutableBufferPointer { o in
            switch dtype {
            case .f32:
                UnsafeMutableRawPointer(o.baseAddress!).copyMemory(from: data, byteCount: n * 4)
            case .f16:
                for i in 0..<n { o[i] = HalfFloat.float(fromHalf: data.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
            case .bf16:
                for i in 0..<n { o[i] = HalfFloat.float(fromBFloat16: data.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self)) }
            }
        }
        return out
    }
}

/// Why a checkpoint could not be read.
public struct CheckpointError: Error, CustomStringConvertible, Equatable {
    public let description: String
    public init(_ description: String) { self.description = description }
}

/// A safetensors file opened with mmap. The JSON header is checked
/// against the file: every tensor's dtype, shape and byte range, so a
/// truncated or hostile file is a thrown `CheckpointError`, never a crash.
public final class SafetensorsFile: @unchecked Sendable {
    public let path: String
    /// Tensors in header order.
    public let tensors: [SafetensorsTensor]
    private let mapping: MappedFile
    private let index: [String: Int]

    /// Headers larger than this are refused (real ones are a few hundred KB).
    static let maxHeaderBytes = 100 << 20

    public init(path: String) throws {
        let mapping: MappedFile
        do {
            mapping = try MappedFile(path: path)
        } catch let e as GGUFError {
            throw CheckpointError("\(path): \(e.reason)")
        }
        func fail(_ why: String) -> CheckpointError { CheckpointError("\(path): \(why)") }
        guard mapping.size >= 8 else { throw fail("not a safetensors file (shorter than its header length)") }
        let headerLength = UInt64(littleEndian: mapping.base.loadUnaligned(as: UInt64.self))
        guard headerLength >= 2, headerLength <= UInt64(Self.maxHeaderBytes), Int(headerLength) <= mapping.size - 8 else {
            throw fail("bad header length \(headerLength) for a file of \(mapping.size) bytes (truncated or not safetensors)")
        }
        let header = Data(bytes: mapping.base + 8, count: Int(headerLength))
        guard let json = try? JSONSerialization.jsonObject(with: header), let dict = json as? [String: Any] else {
            throw fail("the header is not a JSON object")
        }
        let dataStart = 8 + Int(headerLength)
        let dataSize = mapping.size - dataStart
        var tensors: [(begin: Int, SafetensorsTensor)] = []
        for (name, value) in dict where name != "__metadata__" {
            guard let entry = value as? [String: Any], let dt = entry["dtype"] as? String,
                  let shapeAny = entry["shape"] as? [Any], let offsAny = entry["data_offsets"] as? [Any], offsAny.count == 2
            else { throw fail("tensor '\(name)': malformed header entry") }
            guard let dtype = SafetensorsDType(rawValue: dt) else {
                throw fail("tensor '\(name)' has dtype \(dt); hydra converts F32, F16 and BF16")
            }
            var shape: [Int] = []
            var elements = 1
            for d in shapeAny {
                guard let n = d as? NSNumber, let i = Int(exactly: n.doubleValue), i >= 0, i <= Int(Int32.max) else {
                    throw fail("tensor '\(name)': bad dimension \(d)")
                }
                let (p, o) = elements.multipliedReportingOverflow(by: i)
                guard !o else { throw fail("tensor '\(name)': element count overflows") }
                elements = p
                shape.append(i)
            }
            guard let b = (offsAny[0] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }),
                  let e = (offsAny[1] as? NSNumber).flatMap({ Int(exactly: $0.doubleValue) }), b >= 0, b <= e
            else { throw fail("tensor '\(name)': bad data_offsets") }
            let (bytes, o) = elements.multipliedReportingOverflow(by: dtype.byteSize)
            guard !o, e - b == bytes else {
                throw fail("tensor '\(name)': \(e - b) bytes for shape \(shape) of \(dt) (\(bytes) expected)")
            }
            guard e <= dataSize else {
                throw fail("tensor '\(name)' lies past the end of the file (truncated?)")
            }
            tensors.append((b, SafetensorsTensor(name: name, dtype: dtype, shape: shape, data: mapping.base + dataStart + b,
                                                 byteCount: bytes, path: path)))
        }
        tensors.sort { ($0.begin, $0.1.name) < ($1.begin, $1.1.name) }
        self.path = path
        self.mapping = mapping
        self.tensors = tensors.map(\.1)
        var index: [String: Int] = [:]
        for (i, t) in self.tensors.enumerated() { index[t.name] = i }
        self.index = index
    }

    public func tensor(named name: String) -> SafetensorsTensor? { index[name].map { tensors[$0] } }

    /// Drops the mapped pages of `t` (a tensor of this file) from memory.
    func release(_ t: SafetensorsTensor) { mapping.dropPages(t.data, count: t.byteCount) }
}

/// A Hugging Face checkpoint directory: `config.json` and its weights,
/// `model.safetensors` or `model.safetensors.index.json` with its shards.
public final class SafetensorsCheckpoint: @unchecked Sendable {
    public let directory: String
    /// config.json as parsed JSON.
    public let config: [String: Any]
    public let shards: [SafetensorsFile]
    /// Every tensor by name, in shard then file order.
    public let tensors: [SafetensorsTensor]
    private let index: [String: Int]

    public init(directory: String) throws {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: directory, isDirectory: &isDir), isDir.boolValue else {
            throw CheckpointError("\(directory): not a directory")
        }
        self.directory = directory
        let configPath = directory + "/config.json"
        guard let data = fm.contents(atPath: configPath) else { throw CheckpointError("\(configPath): missing") }
        guard let config = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw CheckpointError("\(configPath): not a JSON object")
        }
        self.config = config

        var shardNames: [String] = []
        var weightMap: [String: String]? = nil
        let indexPath = directory + "/model.safetensors.index.json"
        if let data = fm.contents(atPath: indexPath) {
            guard let json = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
                  let map = json["weight_map"] as? [String: String] else {
                throw CheckpointError("\(indexPath): no weight_map of tensor names to shard files")
            }
            for file in Set(map.values).sorted() {
                guard !file.contains("/"), file != "..", file != "." else {
                    throw CheckpointError("\(indexPath): shard name '\(file)' is not a file in the checkpoint directory")
                }
                shardNames.append(file)
            }
            weightMap = map
        } else if fm.fileExists(atPath: directory + "/model.safetensors") {
            shardNames = ["model.safetensors"]
        } else {
            throw CheckpointError("\(directory): no model.safetensors or model.safetensors.index.json (only safetensors checkpoints are converted)")
        }
        var shards: [SafetensorsFile] = []
        for name in shardNames {
            let p = directory + "/" + name
            guard fm.fileExists(atPath: p) else { throw CheckpointError("\(directory): shard \(name) is missing") }
            shards.append(try SafetensorsFile(path: p))
        }
        var tensors: [SafetensorsTensor] = []
        var index: [String: Int] = [:]
        for s in shards {
            for t in s.tensors {
                if let map = weightMap, map[t.name] != (s.path as NSString).lastPathComponent { continue }
                guard index[t.name] == nil else { throw CheckpointError("\(s.path): tensor '\(t.name)' is in two shards") }
                index[t.name] = tensors.count
                tensors.append(t)
            }
        }
        if let map = weightMap {
            for (name, file) in map.sorted(by: { $0.key < $1.key }) where index[name] == nil {
                throw CheckpointError("\(directory)/\(file): tensor '\(name)' listed in the index is not in the shard")
            }
        }
        self.shards = shards
        self.tensors = tensors
        self.index = index
    }

    public func tensor(named name: String) -> SafetensorsTensor? { index[name].map { tensors[$0] } }

    /// Drops the mapped pages of `t` from memory once it has been read.
    public func release(_ t: SafetensorsTensor) {
        shards.first { $0.path == t.path }?.release(t)
    }

    /// Total bytes of tensor data.
    public var byteCount: Int { tensors.reduce(0) { $0 + $1.byteCount } }
}
