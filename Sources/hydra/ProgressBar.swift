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
