/// A short, stable identity of a transformer body: a 64-bit FNV-1a hash of
/// its architecture, its dimensions, and the name, type, shape and a few
/// sampled bytes of every block tensor. Cheap (it reads a few hundred bytes
/// per tensor, not the file) yet different for any two real checkpoints,
/// so a head built for one body is recognised as foreign on another.
public struct BodyFingerprint: Hashable, Sendable, CustomStringConvertible {
    public let value: UInt64

    public init(value: UInt64) { self.value = value }

    /// Parses the 16 hex digits written in head files.
    public init?(hex: String) {
        guard hex.count == 16, let v = UInt64(hex, radix: 16) else { return nil }
        value = v
    }

    /// 16 lower-case hex digits.
    public var description: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }

    /// Bytes sampled from each tensor: this many at each of four places.
    static let sampleBytes = 32

    /// The fingerprint of the body in `file` (the tensors a head never
    /// holds: `blk.*` and `output_norm.weight`), under `config`.
    public init(file: GGUFFile, config: ModelConfig) {
        var h = FNV1a()
        h.add("hydra-body-v1")
        h.add(config.architecture.rawValue)
        for n in [config.embeddingLength, config.layerCount, config.headCount, config.kvHeadCount,
                  config.headDimension, config.feedForwardLength] {
            h.add(UInt64(n))
        }
        // Sorted by name, so a file written in another tensor order has the same identity.
        let bodyTensors = file.tensors
            .filter { $0.name.hasPrefix("blk.") || $0.name == "output_norm.weight" }
            .sorted { $0.name < $1.name }
        for t in bodyTensors {
            h.add(t.name)
            h.add(UInt64(t.type.rawValue))
            for d in t.shape { h.add(UInt64(d)) }
            h.add(UInt64(t.byteCount))
            let n = t.byteCount
            let k = min(Self.sampleBytes, n)
            let bytes = t.data.assumingMemoryBound(to: UInt8.self)
            for start in Set([0, n / 3, 2 * n / 3, n - k]).sorted() where start + k <= n {
                h.add(UnsafeBufferPointer(start: bytes + start, count: k))
            }
        }
        value = h.value
    }

    /// The fingerprint of a loaded body.
    public init(body: Body) {
        self.init(file: body.file, config: body.config)
    }
}

/// 64-bit FNV-1a, byte by byte (stable across platforms and runs, unlike Hasher).
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ bytes: UnsafeBufferPointer<UInt8>) {
        for b in bytes {
            value ^= UInt64(b)
            value &*= 0x0000_0100_0000_01b3
        }
    }

    mutating func add(_ v: UInt64) {
        withUnsafeBytes(of: v.littleEndian) { add($0.bindMemory(to: UInt8.self)) }
    }

    mutating func add(_ s: String) {
        var s = s
        s.withUTF8 { add($0) }
        addByte(0xff)  // a separator no UTF-8 byte equals, so "ab"+"c" ≠ "a"+"bc"
    }

    private mutating func addByte(_ byte: UInt8) {
        value ^= UInt64(byte)
        value &*= 0x0000_0100_0000_01b3
    }
}
