/// Reads little-endian GGUF values from a memory region, checking every
/// read against the region's end.
struct ByteReader {
    let base: UnsafeRawPointer
    let size: Int
    let path: String
    private(set) var position = 0

    init(base: UnsafeRawPointer, size: Int, path: String) {
        self.base = base
        self.size = size
        self.path = path
    }

    var remaining: Int { size - position }

    mutating func read<T: FixedWidthInteger>(_: T.Type) throws -> T {
        let n = MemoryLayout<T>.size
        guard remaining >= n else { throw truncated() }
        let v = base.loadUnaligned(fromByteOffset: position, as: T.self)
        position += n
        return T(littleEndian: v)
    }

    mutating func readFloat() throws -> Float { Float(bitPattern: try read(UInt32.self)) }
    mutating func readDouble() throws -> Double { Double(bitPattern: try read(UInt64.self)) }

    /// Reads a u64 count and refuses one that the rest of the file could not
    /// hold even if every item took only `minimumBytesEach` bytes.
    mutating func readCount(minimumBytesEach: Int, what: String) throws -> Int {
        let raw = try read(UInt64.self)
        guard raw <= UInt64(remaining / max(minimumBytesEach, 1)) else {
            throw GGUFError(path: path, "\(what) \(raw) is larger than the file can hold")
        }
        return Int(raw)
    }

    mutating func readString() throws -> String {
        let length = try read(UInt64.self)
        guard length <= UInt64(remaining) else {
            throw GGUFError(path: path, "string length \(length) runs past the end of the file")
        }
        let n = Int(length)
        let bytes = UnsafeRawBufferPointer(start: base + position, count: n)
        position += n
        return String(decoding: bytes, as: UTF8.self)
    }

    mutating func readValue(_ type: GGUFValueType, depth: Int, key: String) throws -> GGUFValue {
        switch type {
        case .uint8: return .uint8(try read(UInt8.self))
        case .int8: return .int8(try read(Int8.self))
        case .uint16: return .uint16(try read(UInt16.self))
        case .int16: return .int16(try read(Int16.self))
        case .uint32: return .uint32(try read(UInt32.self))
        case .int32: return .int32(try read(Int32.self))
        case .uint64: return .uint64(try read(UInt64.self))
        case .int64: return .int64(try read(Int64.self))
        case .float32: return .float32(try readFloat())
        case .float64: return .float64(try readDouble())
        case .bool:
            let b = try read(UInt8.self)
            guard b <= 1 else { throw GGUFError(path: path, "metadata '\(key)': bool value \(b)") }
            return .bool(b == 1)
        case .string: return .string(try readString())
        case .array:
            guard depth < GGUFFile.maxArrayDepth else {
                throw GGUFError(path: path, "metadata '\(key)': arrays nested too deep")
            }
            let rawType = try read(UInt32.self)
            guard let elementType = GGUFValueType(rawValue: rawType) else {
                throw GGUFError(path: path, "metadata '\(key)': unknown array element type \(rawType)")
            }
            let count = try readCount(minimumBytesEach: Self.minimumSize(of: elementType), what: "array '\(key)' length")
            var values: [GGUFValue] = []
            values.reserveCapacity(count)
            for _ in 0..<count {
                values.append(try readValue(elementType, depth: depth + 1, key: key))
            }
            return .array(GGUFArray(elementType: elementType, values: values))
        }
    }

    /// The fewest bytes one value of a type can take in the file.
    static func minimumSize(of type: GGUFValueType) -> Int {
        switch type {
        case .uint8, .int8, .bool: 1
        case .uint16, .int16: 2
        case .uint32, .int32, .float32: 4
        case .uint64, .int64, .float64, .string: 8
        case .array: 12
        }
    }

    private func truncated() -> GGUFError {
        GGUFError(path: path, "unexpected end of file at byte \(position) (truncated?)")
    }
}
