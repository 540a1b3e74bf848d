/// Text cut into paragraphs to translate and the whitespace between them.
/// Joining the pieces gives back the input exactly, so blank lines,
/// indentation and trailing newlines survive translation.
public struct Paragraphs: Sendable, Equatable {
    public enum Piece: Sendable, Equatable {
        /// A paragraph: consecutive non-blank lines, trimmed at both ends.
        case text(String)
        /// Whitespace between paragraphs, kept as it is.
        case verbatim(String)
    }

    public let pieces: [Piece]

    public init(_ input: String) {
        // Ranges of non-blank lines, merged when adjacent (no blank line between).
        var blocks: [Range<String.Index>] = []
        var lineStart = input.startIndex
        var previousBlank = true
        while lineStart <= input.endIndex {
            let lineEnd = input[lineStart...].firstIndex(of: "\n") ?? input.endIndex
            let line = input[lineStart..<lineEnd]
            if let first = line.firstIndex(where: { !$0.isWhitespace }) {
                let last = line.lastIndex(where: { !$0.isWhitespace })!
                let end = input.index(after: last)
                if !previousBlank, let open = blocks.popLast() {
                    blocks.append(open.lowerBound..<end)
                } else {
                    blocks.append(first..<end)
                }
                previousBlank = false
            } else {
                previousBlank = true
            }
            if lineEnd == input.endIndex { break }
            lineStart = input.index(after: lineEnd)
        }
        var pieces: [Piece] = []
        var cursor = input.startIndex
        for block in blocks {
            if cursor < block.lowerBound { pieces.append(.verbatim(String(input[cursor..<block.lowerBound]))) }
            pieces.append(.text(String(input[block])))
            cursor = block.upperBound
        }
        if cursor < input.endIndex { pieces.append(.verbatim(String(input[cursor...]))) }
        self.pieces = pieces
    }
}
