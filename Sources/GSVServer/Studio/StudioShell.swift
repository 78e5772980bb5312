// The studio's shell: the page (`/`), its files (`/studio/…`), the sign-in form and the list of
// pages this server shows. It needs no engine, so servers without models (the `.list` review of
// `prepare`) serve the same UI with only their own pages.
import Foundation
import Hummingbird
import Logging

/// The studio's page and files, for any router.
public struct StudioShell: Sendable {
    /// The pages this server shows, in navigation order (ids of `pages/<id>.js`: `speak`,
    /// `voices`, `status`, `review`, …). The first is the landing page.
    public var pages: [String]
    /// The server's token: when set, the page and its files need it (the sign-in page sets a cookie).
    public var token: String?

    /// A shell showing `pages`.
    public init(pages: [String], token: String?) {
        self.pages = pages
        self.token = token
    }

    /// One route of the shell.
    public struct Route: Sendable {
        public var method: HTTPRequest.Method
        public var path: String
        /// Whether the route is open without the token (it then checks what it must itself).
        public var open: Bool
        public var handler: @Sendable (Request, BasicRequestContext) async throws -> Response
    }

    /// The shell's routes: `GET /`, `GET /studio/**`, `POST /studio/login`, `GET /studio/api/pages`.
    public func routes() -> [Route] {
        let shell = self
        let files = Self.assetsFolder.map {
            LocalFileSystem(rootFolder: $0.path, threadPool: .singleton, logger: Logger(label: "gpt-sovits.studio.files"))
        }
        return [
            Route(method: .get, path: "/", open: true) { request, context in
                try await shell.page(request, context, files: files)
            },
            Route(method: .get, path: "/studio/**", open: true) { request, context in
                try await shell.file(request, context, files: files)
            },
            Route(method: .post, path: "/studio/login", open: true) { request, _ in
                try await shell.login(request)
            },
            Route(method: .get, path: "/studio/api/pages", open: false) { _, _ in
                try Studio.json(["pages": shell.pages])
            },
        ]
    }

    /// Adds the shell's routes straight to a router (servers without ``ServerCore``, such as
    /// `prepare review`): routes that are not open check the token themselves (bearer header or
    /// sign-in cookie), and errors are answered in the api_v2 JSON shape.
    public func register(on router: Router<BasicRequestContext>) {
        Self.register(routes(), on: router, token: token)
    }

    /// Adds `routes` straight to a router: those that are not open check `token` (bearer header or
    /// sign-in cookie), and errors are answered in the api_v2 JSON shape. For other route sets
    /// served beside the shell without ``ServerCore`` (the review page's API).
    public static func register(_ routes: [Route], on router: Router<BasicRequestContext>, token: String?) {
        for r in routes {
            router.on(RouterPath(r.path), method: r.method) { request, context in
                do {
                    if !r.open, let token, !StudioAuth.authorizes(request, token: token) {
                        throw APIError(status: 401, message: "missing or wrong bearer token (sign in at /studio/login.html)")
                    }
                    return try await r.handler(request, context)
                } catch {
                    return ServerCore.errorResponse(ServerCore.apiError(error), openAI: false)
                }
            }
        }
    }

    // MARK: - Handlers

    /// Files the sign-in page needs before the token is known (they hold no data).
    static let publicFiles: Set<String> = ["login.html", "login.js", "studio.css", "favicon.svg"]

    func page(_ request: Request, _ context: BasicRequestContext, files: LocalFileSystem?) async throws -> Response {
        if let token, !StudioAuth.authorizes(request, token: token) { return StudioAuth.signInRedirect() }
        return try await serve("index.html", context, files: files)
    }

    func file(_ request: Request, _ context: BasicRequestContext, files: LocalFileSystem?) async throws -> Response {
        guard let raw = request.uri.path.removingPercentEncoding, raw.hasPrefix("/studio/") else { throw HTTPError(.notFound) }
        let name = String(raw.dropFirst("/studio/".count))
        guard !name.isEmpty, !name.split(separator: "/").contains(where: { $0 == ".." || $0.hasPrefix(".") }) else {
            throw HTTPError(.notFound)
        }
        if let token, !Self.publicFiles.contains(name), !StudioAuth.authorizes(request, token: token) {
            throw APIError(status: 401, message: "missing or wrong bearer token (sign in at /studio/login.html)", exception: nil)
        }
        return try await serve(name, context, files: files)
    }

    func serve(_ name: String, _ context: BasicRequestContext, files: LocalFileSystem?) async throws -> Response {
        guard let files else {
            throw APIError(status: 500, message: "the studio's page files are missing from this installation (the GSVServer resource bundle)", exception: nil)
        }
        guard let id = files.getFileIdentifier("/" + name), let attributes = try await files.getAttributes(id: id), !attributes.isFolder else {
            throw HTTPError(.notFound)
        }
        let ext = URL(fileURLWithPath: name).pathExtension.lowercased()
        let type = Self.contentTypes[ext] ?? "application/octet-stream"
        var headers: HTTPFields = [.contentType: type, .contentLength: String(attributes.size), .cacheControl: "no-cache"]
        headers[.contentSecurityPolicy] = Self.contentSecurityPolicy
        headers[.init("X-Content-Type-Options")!] = "nosniff"
        headers[.init("Referrer-Policy")!] = "no-referrer"
        return Response(status: .ok, headers: headers, body: try await files.loadFile(id: id, context: context))
    }

    static let contentTypes = [
        "html": "text/html; charset=utf-8", "js": "text/javascript; charset=utf-8", "css": "text/css; charset=utf-8",
        "svg": "image/svg+xml", "png": "image/png", "json": "application/json", "woff2": "font/woff2",
    ]

    /// Nothing may be loaded from elsewhere, nothing framed.
    static let contentSecurityPolicy = [
        "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data: blob:",
        "media-src 'self' blob: mediastream:", "connect-src 'self'", "font-src 'self'", "object-src 'none'",
        "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
    ].joined(separator: "; ")

    /// `POST /studio/login` (form: `token`, `next`): on the right token, sets the session cookie
    /// and goes back to `next` (a path on this server); else back to the sign-in page.
    func login(_ request: Request) async throws -> Response {
        let body = try await request.body.collect(upTo: 16 << 10)
        let form = Self.formFields(String(decoding: body.readableBytesView, as: UTF8.self))
        var next = form["next"] ?? "/"
        if !next.hasPrefix("/") || next.hasPrefix("//") || next.contains("\\") { next = "/" }
        guard let token else { return Self.redirect(next) }
        guard StudioAuth.constantTimeEqual(form["token"] ?? "", token) else {
            var q = URLComponents()
            q.queryItems = [URLQueryItem(name: "failed", value: "1"), URLQueryItem(name: "next", value: next)]
            return Self.redirect("/studio/login.html?\(q.percentEncodedQuery ?? "")")
        }
        var response = Self.redirect(next)
        response.headers[.setCookie] = StudioAuth.cookie(token: token)
        return response
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location, .cacheControl: "no-store"])
    }

    /// `application/x-www-form-urlencoded` fields.
    static func formFields(_ body: String) -> [String: String] {
        var out: [String: String] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).replacingOccurrences(of: "+", with: " ") }
            guard let key = parts.first?.removingPercentEncoding else { continue }
            out[key] = parts.count > 1 ? (parts[1].removingPercentEncoding ?? "") : ""
        }
        return out
    }

    /// The folder holding the page files inside this target's resource bundle.
    static var assetsFolder: URL? {
        for base in [Bundle.module.resourceURL, Bundle.module.bundleURL].compactMap({ $0 }) {
            let url = base.appendingPathComponent("Resources", isDirectory: true)
            if FileManager.default.fileExists(atPath: url.appendingPathComponent("index.html").path) { return url }
        }
        return nil
    }
}
