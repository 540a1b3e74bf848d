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
        guard let client else { return }
        switch unwrapInboundIn(data) {
        case .tooLong:
            client.send(RPCErrorReply(id: nil, error: RPCError(
                code: RPCError.messageTooLarge,
                message: "message longer than \(service.limits.maxMessageBytes) bytes; it was skipped")))
        case .line(let buffer):
            service.handle(Array(buffer.readableBytesView), from: client)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let client { service.disconnect(client) }
        client = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }
}
