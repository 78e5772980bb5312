// A header read timeout for HTTP/1.1 connections (no official counterpart; uvicorn closes idle
// keep-alive connections after 5 s). Hummingbird's idle timeout counts any byte as activity, so a
// client that trickles a header a byte at a time keeps a connection forever; this handler instead
// gives every request a fixed time to complete its head.
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose next request head has not fully arrived `seconds` after the
/// connection opened or the previous response ended. Sits after the HTTP decoder, so it sees
/// whole request heads; requests in progress (their bodies, long streamed answers) are not timed.
final class HeaderReadTimeoutHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    private let timeout: TimeAmount
    private var scheduled: Scheduled<Void>?
    private var inFlight = 0

    init(seconds: Double) {
        timeout = .nanoseconds(Int64(max(0.001, seconds) * 1e9))
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { arm(context) }
    }

    func handlerRemoved(context: ChannelHandlerContext) { disarm() }

    func channelActive(context: ChannelHandlerContext) {
        arm(context)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) {
            inFlight += 1
            disarm()
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) {
            inFlight = max(0, inFlight - 1)
            if inFlight == 0 { arm(context) }
        }
        context.write(data, promise: promise)
    }

    private func arm(_ context: ChannelHandlerContext) {
        guard scheduled == nil else { return }
        let channel = context.channel
        scheduled = context.eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
            self?.scheduled = nil
            channel.close(promise: nil)
        }
    }

    private func disarm() {
        scheduled?.cancel()
        scheduled = nil
    }
}
