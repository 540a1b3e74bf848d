#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A read-only memory map of a whole file. The pages are shared with the
/// page cache, so two processes (or two heads) reading one model share memory.
final class MappedFile: @unchecked Sendable {
    let base: UnsafeRawPointer
    let size: Int

    init(path: String) throws {
        // O_NONBLOCK: opening a FIFO (or a device) must not wait for a
        // writer; it is then refused below as not a regular file.
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)
        guard fd >= 0 else {
            throw GGUFError(path: path, "cannot open: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            throw GGUFError(path: path, "cannot stat: \(String(cString: strerror(errno)))")
        }
        guard (st.st_mode & S_IFMT) == S_IFREG else {
            throw GGUFError(path: path, "not a regular file (a FIFO, device, socket or directory)")
        }
        let size = Int(st.st_size)
        guard size > 0 else { throw GGUFError(path: path, "empty file") }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE, fd, 0), p != MAP_FAILED else {
            throw GGUFError(path: path, "cannot map: \(String(cString: strerror(errno)))")
        }
        self.base = UnsafeRawPointer(p)
        self.size = size
    }

    /// Lets the kernel drop the pages of `count` bytes at `pointer` (inside
    /// the mapping) from this process: they are read again from the file if
    /// touched. A converter reading each tensor once keeps its resident
    /// memory near one tensor this way.
    func dropPages(_ pointer: UnsafeRawPointer, count: Int) {
        let page = Int(sysconf(Int32(_SC_PAGESIZE)))
        let start = (pointer - base) / page * page
        let end = min(size, pointer - base + count)
        guard start >= 0, end > start else { return }
        _ = madvise(UnsafeMutableRawPointer(mutating: base + start), end - start, Int32(MADV_DONTNEED))
    }

    deinit {
        munmap(UnsafeMutableRawPointer(mutating: base), size)
    }
}
