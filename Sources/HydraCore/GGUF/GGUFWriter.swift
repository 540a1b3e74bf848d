import Foundation

/// Builds a GGUF (version 3) file: metadata in insertion order, then tensor
/// infos, then the aligned tensor data. Heads are written with it.
public struct GGUFWriter {
    private var keys: [String] = []
    private var values: [String: GGUFValue] = [:]
    private var tensors: [(name: String, type: GGMLType, shape: [Int], bytes: [UInt8])] = []
    public let alignment: Int

    public init(alignment: Int = 32) {
        precondition(alignment > 0 && alignment & (alignment - 1) == 0, "alignment must be a power of two")
        self.alignment = alignment
    }

    /// Sets a metadata value (replacing an earlier one, keeping its place).
    public mutating func set(_ key: String, _ value: GGUFValue) {
        if values[key] == nil { keys.append(key) }
        values[key] = value
    }

    /// Adds a tensor. `bytes` must hold exactly the tensor's encoded size.
    public mutating func addTensor(name: String, type: GGMLType, shape: [Int], bytes: [UInt8]) throws {
        let elements = shape.reduce(1, *)
        guard !shape.isEmpty, shape.count <= GGUFFile.maxDimensions, shape.allSatisfy({ $0 >= 1 }),
              shape[0] % type.blockElements == 0,
              let expected = type.byteCount(elements: elements), expected == bytes.count
        else {
            throw GGUFError(path: name, "tensor shape \(shape) of \(type.name) does not match \(bytes.count) bytes")
        }
        guard !tensors.contains(where: { $0.name == name }) else {
            throw GGUFError(path: name, "duplicate tensor name")
        }
        tensors.append((name, type, shape, bytes))
    }

    /// Adds an F32 tensor from floats.
    public mutating func addTensor(name: String, shape: [Int], floats: [Float]) throws {
        let bytes = floats.withUnsafeBytes { Array($0) }
        try addTensor(name: name, type: .f32, shape: shape, bytes: bytes)
    }

    /// The encoded file.
    public func encoded() -> [UInt8] {
        var out: [UInt8] = []
        func put<T: FixedWidthInteger>(_ v: T) {
            withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
        }
        func putString(_ s: String) {
            let utf8 = Array(s.utf8)
            put(UInt64(utf8.count))
            out.append(contentsOf: utf8)
        }
        func putValue(_ v: GGUFValue) {
            switch v {
            case .uint8(let x): put(x)
            case .int8(let x): put(x)
            case .uint16(let x): put(x)
            case .int16(let x): put(x)
            case .uint32(let x): put(x)
            case .int32(let x): put(x)
            case .uint64(let x): put(x)
            case .int64(let x): put(x)
            case .float32(let x): put(x.bitPattern)
            case .float64(let x): put(x.bitPattern)
            case .bool(let x): put(UInt8(x ? 1 : 0))
            case .string(let s): putString(s)
            case .array(let a):
                put(a.elementType.rawValue)
                put(UInt64(a.values.count))
                for e in a.values { putValue(e) }
            }
        }
        func pad() {
            while out.count % alignment != 0 { out.append(0) }
        }

        var allKeys = keys
        var allValues = values
        if alignment != 32 && allValues["general.alignment"] == nil {
            allKeys.append("general.alignment")
            allValues["general.alignment"] = .uint32(UInt32(alignment))
        }

        put(UInt32(0x4655_4747))
        put(UInt32(3))
        put(UInt64(tensors.count))
        put(UInt64(allKeys.count))
        for key in allKeys {
            let v = allValues[key]!
            putString(key)
            put(v.type.rawValue)
            putValue(v)
        }
        var offset = 0
        for t in tensors {
            putString(t.name)
            put(UInt32(t.shape.count))
            for d in t.shape { put(UInt64(d)) }
            put(t.type.rawValue)
            put(UInt64(offset))
            offset += (t.bytes.count + alignment - 1) / alignment * alignment
        }
        pad()
        for t in tensors {
            out.append(contentsOf: t.bytes)
            pad()
        }
        return out
    }

    /// Writes the file atomically (a temporary file renamed into place).
    public func write(to path: String) throws {
        let url = URL(fileURLWithPath: path)
        do {
            try Data(encoded()).write(to: url, options: .atomic)
        } catch {
            throw GGUFError(path: path, "cannot write: \(error.localizedDescription)")
        }
    }
}
