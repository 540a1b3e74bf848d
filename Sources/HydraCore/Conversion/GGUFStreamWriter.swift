#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
import Foundation

/// One tensor of a GGUF file to be streamed: its name, type and shape
/// (ggml order: `shape[0]` is the row length), known before any data.
public struct GGUFTensorPlan: Sendable, Equatable {
    public let name: String
    public let type: GGMLType
    public let shape: [Int]

    public init(name: String, type: GGMLType, shape: [Int]) {
        self.name = name
        self.type = type
        self.shape = shape
    }

    /// Encoded bytes of the tensor, or nil when the shape is not whole blocks.
    public var byteCount: Int? {
        guard !shape.isEmpty, shape.count <= GGUFFile.maxDimensions, shape.allSatisfy({ $0 >= 1 }),
              shape[0] % type.blockElements == 0 else { return nil }
        var n = 1
        for d in shape {
            let (p, o) = n.multipliedReportingOverflow(by: d)
            if o { return nil }
            n = p
        }
        return type.byteCount(elements: n)
    }
}

/// Writes a GGUF (version 3) file whose tensors do not fit in memory
/// together: the header (metadata and tensor infos, all sizes known up
/// front) first, then each tensor's bytes in plan order, one at a time.
///
/// The file is written to a temporary name in the destination directory
/// and renamed into place by `finish()` only; on any error (or if the
/// writer is dropped unfinished) the temporary file is removed, so a
/// failed or interrupted conversion leaves no half-written output.
/// `TemporaryFiles` also removes it when the process is interrupted.
public final class GGUFStreamWriter {
    public let path: String
    public let temporaryPath: String
    public let plans: [GGUFTensorPlan]
    public let alignment: Int
    /// Total bytes the file will have.
    public private(set) var totalBytes: Int = 0
    public private(set) var writtenBytes: Int = 0

    private var fd: Int32
    private var next = 0
    private var finished = false
    private let offsets: [Int]
    private let sizes: [Int]
    private let dataStart: Int

    /// Creates the temporary file and writes the header.
    public init(path: String, metadata: [(key: String, value: GGUFValue)], tensors: [GGUFTensorPlan],
                alignment: Int = 32) throws {
        let layout = try Self.layout(path: path, metadata: metadata, tensors: tensors, alignment: alignment)
        self.path = path
        self.plans = tensors
        self.alignment = alignment
        self.sizes = layout.sizes
        self.offsets = layout.offsets
        let header = layout.header
        dataStart = header.count
        totalBytes = header.count + layout.dataBytes

        let dir = (path as NSString).deletingLastPathComponent
        let base = (path as NSString).lastPathComponent
        temporaryPath = (dir.isEmpty ? "." : dir) + "/.\(base).\(getpid()).partial"
        fd = TemporaryFiles.shared.create(temporaryPath)
        guard fd >= 0 else {
            throw GGUFError(path: path, "cannot create \(temporaryPath): \(String(cString: strerror(errno)))")
        }
        do {
            try header.withUnsafeBytes { try writeAll($0) }
        } catch {
            abandon()
            throw error
        }
    }

    /// The header bytes (padded to the alignment) of a file holding
    /// `tensors`, each tensor's offset and size in the data section, and
    /// the data section's size.
    static func layout(path: String, metadata: [(key: String, value: GGUFValue)], tensors: [GGUFTensorPlan],
                       alignment: Int) throws -> (header: [UInt8], offsets: [Int], sizes: [Int], dataBytes: Int) {
        precondition(alignment > 0 && alignment & (alignment - 1) == 0, "alignment must be a power of two")
        var seen: Set<String> = []
        var keys: Set<String> = []
        for (k, _) in metadata where !keys.insert(k).inserted {
            throw GGUFError(path: path, "duplicate metadata key '\(k)'")
        }
        var sizes: [Int] = []
        var offsets: [Int] = []
        var offset = 0
        for t in tensors {
            guard seen.insert(t.name).inserted else { throw GGUFError(path: path, "duplicate tensor '\(t.name)'") }
            guard let n = t.byteCount else {
                throw GGUFError(path: path, "tensor '\(t.name)': shape \(t.shape) is not whole \(t.type.name) blocks")
            }
            sizes.append(n)
            offsets.append(offset)
            offset += (n + alignment - 1) / alignment * alignment
        }
        var header: [UInt8] = []
        GGUFEncoding.put(UInt32(0x4655_4747), &header)
        GGUFEncoding.put(UInt32(3), &header)
        GGUFEncoding.put(UInt64(tensors.count), &header)
        var meta = metadata
        if alignment != 32 && !keys.contains("general.alignment") {
            meta.append(("general.alignment", .uint32(UInt32(alignment))))
        }
        GGUFEncoding.put(UInt64(meta.count), &header)
        for (k, v) in meta {
            GGUFEncoding.putString(k, &header)
            GGUFEncoding.put(v.type.rawValue, &header)
            GGUFEncoding.putValue(v, &header)
        }
        for (i, t) in tensors.enumerated() {
            GGUFEncoding.putString(t.name, &header)
            GGUFEncoding.put(UInt32(t.shape.count), &header)
            for d in t.shape { GGUFEncoding.put(UInt64(d), &header) }
            GGUFEncoding.put(t.type.rawValue, &header)
            GGUFEncoding.put(UInt64(offsets[i]), &header)
        }
        while header.count % alignment != 0 { header.append(0) }
        return (header, offsets, sizes, offset)
    }

    deinit { abandon() }

    /// The next tensor to write, or nil when all are written.
    public var nextTensor: GGUFTensorPlan? { next < plans.count ? plans[next] : nil }

    /// Writes the data of the next tensor (exactly its encoded size), in
    /// one piece or several (`append` may be called repeatedly; the tensor
    /// is complete when its size is reached).
    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard next < plans.count else { throw GGUFError(path: path, "more tensor data than tensors") }
        let want = offsets[next] + sizes[next] - (writtenBytes - dataStart)
        guard bytes.count <= want else {
            throw GGUFError(path: path, "tensor '\(plans[next].name)': \(bytes.count) bytes given, \(want) left")
        }
        try writeAll(bytes)
        if bytes.count == want {
            let padded = (sizes[next] + alignment - 1) / alignment * alignment - sizes[next]
            if padded > 0 {
                let zeros = [UInt8](repeating: 0, count: padded)
                try zeros.withUnsafeBytes { try writeAll($0) }
            }
            next += 1
        }
    }

    /// Flushes the file to disk and renames it into place.
    public func finish() throws {
        guard next == plans.count, writtenBytes == totalBytes else {
            let missing = nextTensor?.name ?? "?"
            abandon()
            throw GGUFError(path: path, "tensor '\(missing)' was never written")
        }
        guard fsync(fd) == 0, close(fd) == 0 else {
            let why = String(cString: strerror(errno))
            fd = -1
            abandon()
            throw GGUFError(path: path, "cannot write: \(why)")
        }
        fd = -1
        guard TemporaryFiles.shared.moveIntoPlace(temporaryPath, path) else {
            let why = String(cString: strerror(errno))
            abandon()
            throw GGUFError(path: path, "cannot rename \(temporaryPath) into place: \(why)")
        }
        finished = true
    }

    /// Closes and removes the temporary file (nothing when finished).
    public func abandon() {
        guard !finished else { return }
        if fd >= 0 { close(fd); fd = -1 }
        unlink(temporaryPath)
        TemporaryFiles.shared.unregister(temporaryPath)
        finished = true
    }

    private func writeAll(_ bytes: UnsafeRawBufferPointer) throws {
        var done = 0
        while done < bytes.count {
            #if canImport(Glibc)
            let n = Glibc.write(fd, bytes.baseAddress! + done, bytes.count - done)
            #else
            let n = Darwin.write(fd, bytes.baseAddress! + done, bytes.count - done)
            #endif
            if n < 0 {
                if errno == EINTR { continue }
                throw GGUFError(path: path, "cannot write: \(String(cString: strerror(errno)))")
            }
            done += n
        }
        writtenBytes += bytes.count
    }
}

/// Temporary files to remove if the process is interrupted (SIGINT,
/// SIGTERM): `installInterruptHandler()` removes them, then exits 130.
/// A file is created and moved into place under the same lock as the
/// removal, so an interrupt comes wholly before or after either step and
/// never leaves a temporary file or half of a rename behind.
public final class TemporaryFiles: @unchecked Sendable {
    public static let shared = TemporaryFiles()
    private var paths: Set<String> = []
    private var interrupted = false
    private let lock = NSLock()
    private var sources: [DispatchSourceSignal] = []

    public func unregister(_ path: String) { lock.lock(); paths.remove(path); lock.unlock() }

    /// Creates (truncates) `path` for writing and registers it: a file
    /// descriptor, or -1 with errno set (EINTR once interrupted).
    public func create(_ path: String) -> Int32 {
        lock.lock()
        defer { lock.unlock() }
        guard !interrupted else { errno = EINTR; return -1 }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        if fd >= 0 { paths.insert(path) }
        return fd
    }

    /// Renames the registered `temporary` to `path` and forgets it; false
    /// with errno set when the rename fails or the process was interrupted.
    public func moveIntoPlace(_ temporary: String, _ path: String) -> Bool {
        lock.lock()
        defer { lock.unlock() }
        guard !interrupted else { errno = EINTR; return false }
        guard rename(temporary, path) == 0 else { return false }
        paths.remove(temporary)
        return true
    }

    /// Removes every registered file now; with `interrupting`, no file is
    /// created or moved into place afterwards.
    public func removeAll(interrupting: Bool = false) {
        lock.lock()
        defer { lock.unlock() }
        if interrupting { interrupted = true }
        for p in paths { unlink(p) }
        paths.removeAll()
    }

    /// On SIGINT or SIGTERM: remove the registered files and exit with
    /// 128 + the signal number.
    public func installInterruptHandler() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            source.setEventHandler { [weak self] in
                self?.removeAll(interrupting: true)
                FileHandle.standardError.write(Data("\ninterrupted: no output written\n".utf8))
                exit(128 + sig)
            }
            source.resume()
            lock.lock(); sources.append(source); lock.unlock()
        }
    }
}

/// Little-endian GGUF encoding of metadata values.
enum GGUFEncoding {
    static func put<T: FixedWidthInteger>(_ v: T, _ out: inout [UInt8]) {
        withUnsafeBytes(of: v.littleEndian) { out.append(contentsOf: $0) }
    }

    static func putString(_ s: String, _ out: inout [UInt8]) {
        let utf8 = Array(s.utf8)
        put(UInt64(utf8.count), &out)
        out.append(contentsOf: utf8)
    }

    static func putValue(_ v: GGUFValue, _ out: inout [UInt8]) {
        switch v {
        case .uint8(let x): put(x, &out)
        case .int8(let x): put(x, &out)
        case .uint16(let x): put(x, &out)
        case .int16(let x): put(x, &out)
        case .uint32(let x): put(x, &out)
        case .int32(let x): put(x, &out)
        case .uint64(let x): put(x, &out)
        case .int64(let x): put(x, &out)
        case .float32(let x): put(x.bitPattern, &out)
        case .float64(let x): put(x.bitPattern, &out)
        case .bool(let x): put(UInt8(x ? 1 : 0), &out)
        case .string(let s): putString(s, &out)
        case .array(let a):
            put(a.elementType.rawValue, &out)
            put(UInt64(a.values.count), &out)
            for e in a.values { putValue(e, &out) }
        }
    }
}
