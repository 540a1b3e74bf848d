/// The keys and values of every layer for the positions seen so far, in
/// half precision (llama.cpp's default f16 cache): per layer, position-major
/// rows of kvHeads × headDimension halves.
public final class KVCache {
    /// Positions the cache can hold.
    public let capacity: Int
    /// Halves per position per layer (kvHeads × headDimension).
    public let rowLength: Int
    public let layerCount: Int
    let keys: [UnsafeMutablePointer<UInt16>]
    let values: [UnsafeMutablePointer<UInt16>]

    public init(config: ModelConfig, capacity: Int) {
        self.capacity = capacity
        rowLength = config.kvLength
        layerCount = config.layerCount
        let size = capacity * config.kvLength
        keys = (0..<config.layerCount).map { _ in
            let p = UnsafeMutablePointer<UInt16>.allocate(capacity: size)
            p.initialize(repeating: 0, count: size)
            return p
        }
        values = (0..<config.layerCount).map { _ in
            let p = UnsafeMutablePointer<UInt16>.allocate(capacity: size)
            p.initialize(repeating: 0, count: size)
            return p
        }
    }

    deinit {
        for p in keys { p.deallocate() }
        for p in values { p.deallocate() }
    }

    /// Bytes held for keys and values.
    public var byteCount: Int { 2 * 2 * capacity * rowLength * layerCount }
}
