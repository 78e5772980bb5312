// How the server's token reaches it from a browser: a page load cannot carry an Authorization
// header, so POST /studio/login (a form on /studio/login.html) sets the token in an HttpOnly,
// SameSite=Strict cookie, which the bearer-token check also accepts. Requests that change
// something and carry only the cookie must come from this server's own pages.
import Foundation
import Hummingbird

enum StudioAuth {
    /// The cookie's name.
    static let cookieName = "gsv_token"

    /// The Set-Cookie value after a successful sign-in.
    static func cookie(token: String) -> String {
        "\(cookieName)=\(token.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""); Path=/; HttpOnly; SameSite=Strict"
    }

    /// Whether `request` carries the token (the bearer header, or the sign-in cookie).
    static func authorizes(_ request: Request, token: String) -> Bool { BearerTokenMiddleware.authorizes(request, token: token) }

    /// Whether the sign-in cookie carries the token, on a request from this server's own pages.
    static func cookieAuthorizes(_ request: Request, token: String) -> Bool {
        guard let cookie = cookieToken(request), constantTimeEqual(cookie, token) else { return false }
        return isSameOrigin(request)
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool { BearerTokenMiddleware.constantTimeEqual(a, b) }

    /// The token carried by the session cookie, if any.
    static func cookieToken(_ request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for part in header.split(separator: ";") {
                let pair = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
                if pair.count == 2, pair[0] == cookieName { return String(pair[1]).removingPercentEncoding }
            }
        }
        return nil
    }

    /// Whether a cookie-authenticated request may act: reads always; anything else only from this
    /// server's own pages (the browser's Sec-Fetch-Site, else Origin against Host).
    static func isSameOrigin(_ request: Request) -> Bool {
        if request.method == .get || request.method == .head { return true }
        if let site = request.headers[.init("Sec-Fetch-Site")!] { return site == "same-origin" || site == "none" }
        guard let origin = request.headers[.origin] else { return true }
        guard let host = request.head.authority, let url = URL(string: origin) else { return false }
        return "\(url.host ?? "")\(url.port.map { ":\($0)" } ?? "")" == host
    }

    /// The answer for a browser that has not signed in: the sign-in page.
    static func signInRedirect() -> Response {
        Response(status: .seeOther, headers: [.location: "/studio/login.html", .cacheControl: "no-store"])
    }
}
