/// One tensor of a GGUF file: a view into the mapped file, never a copy.
public struct GGUFTensor: @unchecked Sendable {
    public let name: String
    public let type: GGMLType
    /// ggml order: `shape[0]` (ne0) is the length of a row.
    public let shape: [Int]
    /// The tensor's bytes; valid while the `GGUFFile` that made it lives.
    public let data: UnsafeRawPointer
    public let byteCount: Int

    /// Elements per row.
    public var cols: Int { shape[0] }
    /// Number of rows (1 for a vector).
    public var rows: Int { shape.dropFirst().reduce(1, *) }
    public var elementCount: Int { shape.reduce(1, *) }
    /// Bytes of one row.
    public var rowBytes: Int { byteCount / max(rows, 1) }
}

/// A GGUF file opened with mmap: its metadata and tensor views.
///
/// Every length, count, offset and dimension is checked against the file
/// size before use, so a truncated or hostile file is a thrown `GGUFError`,
/// never a crash.
public final class GGUFFile: @unchecked Sendable {
    public let path: String
    public let version: UInt32
    public let alignment: Int
    public let metadata: [String: GGUFValue]
    /// Metadata keys in file order.
    public let metadataKeys: [String]
    /// Tensors in file order.
    public let tensors: [GGUFTensor]
    /// Offset of the tensor data section in the file.
    public let dataOffset: Int
    /// Size of the file in bytes.
    public var fileSize: Int { mapping.size }

    private let mapping: MappedFile
    private let tensorIndex: [String: Int]

    /// Arrays nested deeper than this are refused (real files nest none).
    static let maxArrayDepth = 4
    /// ggml tensors have at most four dimensions.
    static let maxDimensions = 4

    public init(path: String) throws {
        let mapping = try MappedFile(path: path)
        var reader = ByteReader(base: mapping.base, size: mapping.size, path: path)

        let magic = try reader.read(UInt32.self)
        guard magic == 0x4655_4747 else {  // "GGUF" little-endian
            throw GGUFError(path: path, "not a GGUF file (bad magic)")
        }
        let version = try reader.read(UInt32.self)
        guard version == 2 || version == 3 else {
            throw GGUFError(path: path, "unsupported GGUF version \(version) (hydra reads 2 and 3)")
        }
        let tensorCount = try reader.readCount(minimumBytesEach: 24, what: "tensor count")
        let kvCount = try reader.readCount(minimumBytesEach: 12, what: "metadata count")

        var metadata: [String: GGUFValue] = [:]
        var keys: [String] = []
        keys.reserveCapacity(kvCount)
        for _ in 0..<kvCount {
            let key = try reader.readString()
            let rawType = try reader.read(UInt32.self)
            guard let type = GGUFValueType(rawValue: rawType) else {
                throw GGUFError(path: path, "metadata '\(key)': unknown value type \(rawType)")
            }
            let value = try reader.readValue(type, depth: 0, key: key)
            guard metadata[key] == nil else {
                throw GGUFError(path: path, "duplicate metadata key '\(key)'")
            }
            metadata[key] = value
            keys.append(key)
        }

        var alignment = 32
        if let a = metadata["general.alignment"] {
            guard case .uint32(let v) = a, v > 0, v & (v - 1) == 0, v <= 1 << 20 else {
                throw GGUFError(path: path, "general.alignment must be a power of two (uint32)")
            }
            alignment = Int(v)
        }

        struct Info { let name: String; let type: GGMLType; let shape: [Int]; let offset: Int; let bytes: Int }
        var infos: [Info] = []
        infos.reserveCapacity(tensorCount)
        var index: [String: Int] = [:]
        for _ in 0..<tensorCount {
            let name = try reader.readString()
            let nDims = try reader.read(UInt32.self)
            guard nDims >= 1, nDims <= UInt32(Self.maxDimensions) else {
                throw GGUFError(path: path, "tensor '\(name)': \(nDims) dimensions (1 to 4 allowed)")
            }
            var shape: [Int] = []
            var elements = 1
            for _ in 0..<nDims {
                let d = try reader.read(UInt64.self)
                guard d >= 1, d <= UInt64(Int32.max) * 64, let dim = Int(exactly: d) else {
                    throw GGUFError(path: path, "tensor '\(name)': bad dimension \(d)")
                }
                let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
                guard !overflow else {
                    throw GGUFError(path: path, "tensor '\(name)': element count overflows")
                }
                elements = product
                shape.append(dim)
            }
            let rawType = try reader.read(UInt32.self)
            guard let type = GGMLType(rawValue: rawType) else {
                throw GGUFError(path: path, "tensor '\(name)': unknown type \(rawType)")
            }
            guard shape[0] % type.blockElements == 0, let bytes = type.byteCount(elements: elements) else {
                throw GGUFError(path: path, "tensor '\(name)': row of \(shape[0]) is not whole \(type.name) blocks")
            }
            let offset = try reader.read(UInt64.self)
            guard let off = Int(exactly: offset), off % alignment == 0 else {
                throw GGUFError(path: path, "tensor '\(name)': offset \(offset) is not aligned to \(alignment)")
            }
            guard index[name] == nil else {
                throw GGUFError(path: path, "duplicate tensor '\(name)'")
            }
            index[name] = infos.count
            infos.append(Info(name: name, type: type, shape: shape, offset: off, bytes: bytes))
        }

        let headerEnd = reader.position
        let dataOffset = (headerEnd + alignment - 1) / alignment * alignment
        let dataSize = mapping.size - dataOffset
        if !infos.isEmpty && dataSize < 0 {
            throw GGUFError(path: path, "file ends before its tensor data")
        }
        var tensors: [GGUFTensor] = []
        tensors.reserveCapacity(infos.count)
        for info in infos {
            let (end, overflow) = info.offset.addingReportingOverflow(info.bytes)
            guard !overflow, end <= dataSize else {
                throw GGUFError(path: path, "tensor '\(info.name)' lies past the end of the file (truncated?)")
            }
            tensors.append(GGUFTensor(
                name: info.name, type: info.type, shape: info.shape,
                data: mapping.base + dataOffset + info.offset, byteCount: info.bytes))
        }

        self.path = path
        self.version = version
        self.alignment = alignment
        self.metadata = metadata
        self.metadataKeys = keys
        self.tensors = tensors
        self.tensorIndex = index
        self.dataOffset = dataOffset
        self.mapping = mapping
    }

    /// Drops the mapped pages of `tensor` (a tensor of this file) from this
    /// process's memory; they are read from the file again if touched.
    func release(_ tensor: GGUFTensor) { mapping.dropPages(tensor.data, count: tensor.byteCount) }

    public func tensor(named name: String) -> GGUFTensor? {
        tensorIndex[name].map { tensors[$0] }
    }

    public func string(_ key: String) -> String? { metadata[key]?.stringValue }
    public func int(_ key: String) -> Int? { metadata[key]?.intValue }
    public func float(_ key: String) -> Float? { metadata[key]?.floatValue }
    public func bool(_ key: String) -> Bool? { metadata[key]?.boolValue }

    /// A string array, or nil when absent or not all strings.
    public func strings(_ key: String) -> [String]? {
        guard let a = metadata[key]?.arrayValue else { return nil }
        var out: [String] = []
        out.reserveCapacity(a.values.count)
        for v in a.values {
            guard let s = v.stringValue else { return nil }
            out.append(s)
        }
        return out
    }

    /// A float array, or nil when absent or not all floats.
    public func floats(_ key: String) -> [Float]? {
        guard let a = metadata[key]?.arrayValue else { return nil }
        var out: [Float] = []
        out.reserveCapacity(a.values.count)
        for v in a.values {
            guard let f = v.floatValue else { return nil }
            out.append(f)
        }
        return out
    }

    /// An integer array, or nil when absent or not all integers.
    public func ints(_ key: String) -> [Int]? {
        guard let a = metadata[key]?.arrayValue else { return nil }
        var out: [Int] = []
        out.reserveCapacity(a.values.count)
        for v in a.values {
            guard let i = v.intValue else { return nil }
            out.append(i)
        }
        return out
    }

    /// `general.architecture` ("llama", "qwen2", "gemma3", ...).
    public var architecture: String? { string("general.architecture") }
}
