import NIOCore

/// One frame of the protocol: a line, or the news that a line was too long.
enum LineFrame {
    case line(ByteBuffer)
    case tooLong
}

/// Cuts the byte stream into lines (without the "\n"). A line longer than
/// `maxBytes` is dropped as it arrives, reported once as `.tooLong`, and
/// reading resumes after its newline: one oversized message does not cost
/// the connection.
struct LineDecoder: ByteToMessageDecoder {
    typealias InboundOut = LineFrame

    let maxBytes: Int
    private var discarding = false

    init(maxBytes: Int) {
        self.maxBytes = maxBytes
    }

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        let view = buffer.readableBytesView
        guard let newline = view.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > maxBytes {
                if !discarding {
                    discarding = true
                    context.fireChannelRead(Self.wrapInboundOut(.tooLong))
                }
                buffer.moveReaderIndex(to: buffer.writerIndex)
            }
            return .needMoreData
        }
        let length = newline - view.startIndex
        if discarding || length > maxBytes {
            if !discarding { context.fireChannelRead(Self.wrapInboundOut(.tooLong)) }
            discarding = false
            buffer.moveReaderIndex(forwardBy: length + 1)
            return .continue
        }
        let line = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: 1)
        context.fireChannelRead(Self.wrapInboundOut(.line(line)))
        return .continue
    }

    mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool) throws -> DecodingState {
        while try decode(context: context, buffer: &buffer) == .continue {}
        // A last request without its newline still counts.
        if !discarding, buffer.readableBytes > 0, let rest = buffer.readSlice(length: buffer.readableBytes) {
            context.fireChannelRead(Self.wrapInboundOut(.line(rest)))
        }
        return .needMoreData
    }
}
