import NIOCore

/// One client's connection: hands each line to the service and tells it
/// when the client goes away.
final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = LineFrame

    private let service: DaemonService
    private var client: DaemonService.Client?

    init(service: DaemonService) {
        self.service = service
    }

    func channelActive(context: ChannelHandlerContext) {
        client = service.connect(channel: context.channel)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // The unfinished line of a connection the daemon closes (idle in
        // the middle of a line) is not a request: nobody would read the answer.
        guard let client, !client.isClosing else { return }
        switch unwrapInboundIn(data) {
        case .tooLong:
            client.send(RPCErrorReply(id: nil, error: RPCError(
                code: RPCError.messageTooLarge,
                message: "message longer than \(service.limits.maxMessageBytes) bytes; it was skipped")))
        case .line(let buffer):
            service.handle(Array(buffer.readableBytesView), from: client)
        }
    }

    /// A client that does not read its replies is not read from either
    /// (above the high watermark of its outbound buffer): its requests wait
    /// in the kernel's socket buffer, not in the daemon's memory.
    func channelWritabilityChanged(context: ChannelHandlerContext) {
        context.channel.setOption(ChannelOptions.autoRead, value: context.channel.isWritable).whenFailure { _ in }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let idle = event as? IdleStateHandler.IdleStateEvent, idle == .read {
            // Silent (or stuck in the middle of a line) with nothing under
            // way: a slot of the connection cap held for nothing. (Silent
            // since its last answer: its next request may be on its way.)
            // Checked again behind the replies already queued for this
            // loop (a timer may run before them): an answer queued just
            // before is written, and counts as the client's last answer.
            guard let client, client.isIdle(for: service.limits.idleTimeoutSeconds) else { return }
            let timeout = service.limits.idleTimeoutSeconds
            context.eventLoop.execute {
                if client.isIdle(for: timeout) { client.close(because: "idle for \(timeout) s") }
            }
            return
        }
        if let e = event as? ChannelEvent, e == .inputClosed {
            // A half-close: the last line (with or without its newline) has
            // been handled; answer what was asked, then close.
            client?.inputDidClose()
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let client { service.disconnect(client) }
        client = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let client { client.close(because: "socket error: \(error)") } else { context.close(promise: nil) }
    }
}
