import Foundation

/// A one-line progress bar on standard error (plain lines when stderr is
/// not a terminal).
struct ProgressBar {
    var label: String
    private var shownLabel = ""
    private var lastPercent = -1
    private let terminal = isatty(2) != 0

    init(_ label: String) { self.label = label }

    /// Shows `fraction` (0...1) done.
    mutating func update(_ fraction: Double) {
        let percent = Int((min(max(fraction, 0), 1) * 100).rounded(.down))
        guard percent != lastPercent || label != shownLabel else { return }
        if terminal {
            let filled = percent * 30 / 100
            let bar = String(repeating: "#", count: filled) + String(repeating: ".", count: 30 - filled)
            FileHandle.standardError.write(Data("\r\u{1B}[K[\(bar)] \(String(format: "%3d", percent))% \(label)".utf8))
        } else if label != shownLabel || percent / 25 != lastPercent / 25 {
            printError("\(label): \(percent)%")
        }
        lastPercent = percent
        shownLabel = label
    }

    /// Shows 100% and ends the line.
    mutating func finish() {
        update(1)
        if terminal { FileHandle.standardError.write(Data("\n".utf8)) }
    }
}

/// A progress bar for writing a file: bytes done of the total, rate and ETA.
struct ByteProgress {
    private var bar: ProgressBar
    private let start = Date()
    private let prefix: String
    private var shown = -1
    /// Percent steps between updates: every 1% on a terminal, 10% in a log.
    private let step = isatty(2) != 0 ? 1 : 10

    init(_ label: String) {
        prefix = label
        bar = ProgressBar(label)
    }

    var elapsed: TimeInterval { Date().timeIntervalSince(start) }

    mutating func update(_ done: Int, _ total: Int) {
        let percent = (total > 0 ? Int(Double(done) / Double(total) * 100) : 100) / step * step
        guard percent != shown else { return }
        shown = percent
        let seconds = max(elapsed, 1e-3)
        let rate = Double(done) / seconds
        let eta = rate > 0 ? Double(total - done) / rate : 0
        bar.label = String(format: "%@: %@ / %@, %@/s, ETA %.0f s", prefix, Self.size(done), Self.size(total),
                           Self.size(Int(rate)), eta)
        bar.update(total > 0 ? Double(done) / Double(total) : 1)
    }

    mutating func finish() { bar.finish() }

    static func size(_ bytes: Int) -> String {
        let b = Double(bytes)
        if b >= Double(1 << 30) { return String(format: "%.2f GB", b / Double(1 << 30)) }
        if b >= Double(1 << 20) { return String(format: "%.1f MB", b / Double(1 << 20)) }
        return String(format: "%.0f KB", b / 1024)
    }
}
