#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Writes a line to standard error (progress and diagnostics never go to
/// standard output, which carries only results).
func printError(_ line: String) {
    _ = writeAll(fd: 2, line + "\n")
}

/// Writes text to standard output at once (unbuffered), so streamed output
/// appears as it is generated. Returns false when the reader has gone away.
@discardableResult
func writeOut(_ text: String) -> Bool {
    writeAll(fd: 1, text)
}

private func writeAll(fd: Int32, _ text: String) -> Bool {
    var bytes = Array(text.utf8)
    var done = 0
    while done < bytes.count {
        let n = bytes.withUnsafeMutableBytes { write(fd, $0.baseAddress! + done, $0.count - done) }
        if n < 0 {
            if errno == EINTR { continue }
            return false
        }
        done += n
    }
    return true
}
