// The server of `gpt-sovits prepare review LIST`: the studio shell with only the review page, and
// the review API (ReviewRoutes), on a plain router — no models, no ServerCore.
import Foundation
import GSVPrepare
import Hummingbird
import Logging

/// Settings of a review-only server.
public struct ReviewServerConfiguration: Sendable {
    /// Address to bind.
    public var host: String = "127.0.0.1"
    /// Port (0 picks a free one).
    public var port: Int = 9881
    /// When set, the page and the API need it (bearer header or the studio's sign-in cookie).
    public var token: String?
    /// Seconds a connection may take to send its request headers.
    public var headerTimeout: Double = 30
    /// The routes over the list being reviewed.
    public var review: ReviewRoutes

    /// A configuration serving `review` on 127.0.0.1.
    public init(review: ReviewRoutes) { self.review = review }
}

/// Builds the review-only application: `/` (the studio showing the Review page) and
/// `/prepare/review/api/…`.
public func buildReviewApplication(configuration: ReviewServerConfiguration) -> some ApplicationProtocol {
    let router = Router()
    StudioShell(pages: [ReviewRoutes.studioPage], token: configuration.token).register(on: router)
    StudioShell.register(configuration.review.routes(), on: router, token: configuration.token)
    return Application(
        router: router,
        server: .http1(configuration: .init(additionalChannelHandlers: [HeaderReadTimeoutHandler(seconds: configuration.headerTimeout)])),
        configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port),
                                                serverName: "swift-gpt-sovits"),
        logger: Logger(label: "gpt-sovits.review")
    )
}
