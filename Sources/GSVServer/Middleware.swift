// The middleware every route passes through: metrics, JSON answers for unknown routes and wrong
// methods (FastAPI's shapes, as api_v2 answers them), and the bearer token.
import Foundation
import Hummingbird

/// Counts every answered request by route, method and status (``ServerMetrics``).
struct MetricsMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            metrics.request(route: Self.route(context), method: request.method.rawValue, status: response.status.code)
            return response
        } catch {
            let status = (error as? any HTTPResponseError)?.status.code ?? 500
            metrics.request(route: Self.route(context), method: request.method.rawValue, status: status)
            throw error
        }
    }

    /// The registered path that took the request, or `unmatched`.
    static func route(_ context: Context) -> String {
        guard let path = context.endpointPath, path != "NotFound" else { return "unmatched" }
        return path
    }
}

/// Answers requests no route takes: 405 `{"detail":"Method Not Allowed"}` with `Allow` when the
/// path exists for other methods, else 404 `{"detail":"Not Found"}` (OpenAI's error shape under
/// `/v1/`).
struct UnknownRouteMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let routes: RouteIndexBox

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound && (context.endpointPath ?? "NotFound") == "NotFound" {
            // (Hummingbird's not-found responder marks its requests with the endpoint "NotFound".)
            let path = request.uri.path
            let openAI = path.hasPrefix("/v1/")
            let allowed = routes.value.methods(for: path)
            if !allowed.isEmpty {
                var response: Response
                if openAI {
                    response = ServerCore.errorResponse(APIError(status: 405, message: "method \(request.method.rawValue) is not allowed for \(path)"), openAI: true)
                } else {
                    response = ServerCore.json(.methodNotAllowed, ["detail": "Method Not Allowed"])
                }
                response.headers[.allow] = allowed.map(\.rawValue).sorted().joined(separator: ", ")
                return response
            }
            if openAI {
                return ServerCore.errorResponse(APIError(status: 404, message: "unknown request URL: \(request.method.rawValue) \(path)"), openAI: true)
            }
            return ServerCore.json(.notFound, ["detail": "Not Found"])
        }
    }
}

/// Answers 401 unless the request carries the configured bearer token (open routes exempt), in the
/// Authorization header or, from the studio's pages, in its sign-in cookie.
struct BearerTokenMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let token: String?
    let routes: RouteIndexBox

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token, !routes.value.isOpen(request.uri.path) else { return try await next(request, context) }
        guard Self.authorizes(request, token: token) else {
            var r = ServerCore.errorResponse(APIError(status: 401, message: "missing or wrong bearer token (send 'Authorization: Bearer <token>')"),
                                             openAI: request.uri.path.hasPrefix("/v1/"))
            r.headers[.wwwAuthenticate] = "Bearer"
            return r
        }
        return try await next(request, context)
    }

    /// Whether `request` carries `Authorization: Bearer <token>` (RFC 7235: the scheme is
    /// case-insensitive; spaces around the credentials are ignored).
    static func authorizes(_ request: Request, token: String) -> Bool {
        let given = (request.headers[.authorization] ?? "").trimmingCharacters(in: .whitespaces)
        // Browsers carry the token in the studio's sign-in cookie instead (StudioAuth).
        if given.isEmpty { return StudioAuth.cookieAuthorizes(request, token: token) }
        guard let space = given.firstIndex(of: " "), given[..<space].lowercased() == "bearer" else { return false }
        let credentials = given[given.index(after: space)...].trimmingCharacters(in: .whitespaces)
        return constantTimeEqual(credentials, token)
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<min(x.count, y.count) { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}
