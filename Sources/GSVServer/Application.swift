// The HTTP server's assembly: configuration, route groups and the middleware chain.
// Route groups: Routes/APIv2Routes.swift (api_v2.py), Routes/OpenAIRoutes.swift (OpenAI
// /v1/audio/speech), Routes/OperationsRoutes.swift (/health, /running, /metrics).
import Foundation
import GPTSoVITS
import Hummingbird
import Logging

/// Everything `buildApplication` needs: where to listen, the engine, and the safety limits.
public struct ServerConfiguration: Sendable {
    /// Address to bind (api_v2 default 127.0.0.1).
    public var host: String = "127.0.0.1"
    /// Port (api_v2 default 9880; 0 picks a free port).
    public var port: Int = 9880
    /// The engine serving requests at start.
    public var engine: TTSEngine
    /// The files `engine`'s bundle came from; required for `/set_gpt_weights` and `/set_sovits_weights`.
    public var modelPaths: ModelPaths?
    /// Voice used when a request names no reference (also the OpenAI voice `default`).
    public var defaultVoice: VoiceReference?
    /// Folder of role folders (`<name>/config.json`) for the `role` extension and OpenAI voices.
    public var rolesDirectory: URL?
    /// Folders that `ref_audio_path`, `aux_ref_audio_paths`, `refer_audio_path` and weight paths
    /// must resolve into. Empty: every client-supplied path is refused.
    public var allowedRoots: [URL] = []
    /// When set, every route except the public ones (`/health` in its short form, `/running`)
    /// needs `Authorization: Bearer <token>` (the scheme name in any case).
    public var bearerToken: String?
    /// Largest request body accepted (413 beyond).
    public var maxBodyBytes: Int = 1 << 20
    /// Longest text accepted, in characters (400 beyond).
    public var maxTextLength: Int = 2000
    /// Longest reference transcript (`prompt_text`) accepted, in characters (400 beyond). The
    /// transcript of a 3–10 s clip is rarely over 100 characters.
    public var maxPromptTextLength: Int = 500
    /// Syntheses running at once.
    public var maxConcurrent: Int = 1
    /// Requests waiting for a slot before the server answers 503.
    public var queueLength: Int = 16
    /// Seconds a connection may take to send a request's headers (from connecting, or from the end
    /// of the previous response) before it is closed. Defends against slow-header clients.
    public var headerTimeout: Double = 30
    /// The synthesis options requests start from (fields a request leaves out); official api_v2
    /// defaults unless `serve` was given request options.
    public var defaultOptions = SynthesisOptions()
    /// Whether `/control?command=exit` stops the server.
    public var allowExit: Bool = false
    /// Called (once, after the response) by an allowed `/control?command=exit`. The default sends
    /// SIGTERM to this process, which the service lifecycle turns into a graceful shutdown.
    public var onExit: @Sendable () -> Void = { kill(getpid(), SIGTERM) }
    /// Whether `/control?command=restart` restarts the server.
    public var allowRestart: Bool = false
    /// Called (once, after the response) by an allowed `/control?command=restart`. The default,
    /// ``ProcessRestart/request()``, marks the restart and starts a graceful shutdown; the program
    /// then calls ``ProcessRestart/execSelf()`` once its service has stopped.
    public var onRestart: @Sendable () -> Void = { ProcessRestart.request() }
    /// Memory budget, in bytes, for the GPT/SoVITS weights of roles that name their own (`gpt`,
    /// `sovits` in config.json). Least recently used weights are dropped beyond it; the server's
    /// own models are not counted and never dropped.
    public var modelCacheBytes: Int = 2048 << 20
    /// Model id listed by `/v1/models`.
    public var modelName: String = "gpt-sovits"
    /// The browser UI at `/` (``StudioConfiguration``).
    public var studio = StudioConfiguration()
    /// Route groups registered after the built-in ones (``builtInRouteGroups``).
    public var routeGroups: [any ServerRouteGroup] = []

    /// A configuration serving `engine` with the default limits.
    public init(engine: TTSEngine, modelPaths: ModelPaths? = nil) {
        self.engine = engine
        self.modelPaths = modelPaths
    }
}

/// A set of routes. To add one: write a type conforming to this protocol whose ``register(_:core:)``
/// adds its routes to the table (`routes.get("/path") { request, context in … }`), then list it in
/// ``builtInRouteGroups`` (groups inside `GSVServer`) or in ``ServerConfiguration/routeGroups``.
/// Handlers reach the engine, voices, roles, metrics and the error shapes through ``ServerCore``.
public protocol ServerRouteGroup: Sendable {
    /// Adds this group's routes.
    func register(_ routes: inout RouteTable, core: ServerCore)
}

/// The route groups every server has, in registration order.
let builtInRouteGroups: [any ServerRouteGroup] = [OperationsRoutes(), APIv2Routes(), OpenAIRoutes(), StudioRoutes()]

/// Builds the Hummingbird application: the route groups behind the metrics, unknown-route and
/// bearer-token middleware, over HTTP/1.1 with a header read timeout.
public func buildApplication(configuration: ServerConfiguration) -> some ApplicationProtocol {
    var configuration = configuration
    Studio.prepare(&configuration)
    let router = buildRouter(core: ServerCore(configuration))
    let timeout = configuration.headerTimeout
    return Application(
        router: router,
        server: .http1(configuration: .init(additionalChannelHandlers: [HeaderReadTimeoutHandler(seconds: timeout)])),
        configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port),
                                                serverName: "swift-gpt-sovits"),
        logger: Logger(label: "gpt-sovits.server")
    )
}

func buildRouter(core: ServerCore) -> Router<BasicRequestContext> {
    let router = Router()
    // Hummingbird applies a middleware only to routes added after it; the route index the
    // middleware consults is filled once every group has registered.
    let routes = RouteIndexBox()
    router.add(middleware: MetricsMiddleware(metrics: core.metrics))
    router.add(middleware: UnknownRouteMiddleware(routes: routes))
    router.add(middleware: BearerTokenMiddleware(token: core.config.bearerToken, routes: routes))
    var table = RouteTable(router: router)
    for group in builtInRouteGroups + core.config.routeGroups { group.register(&table, core: core) }
    routes.set(table.index)
    return router
}

/// The route index, set once after registration and read by the middleware afterwards.
final class RouteIndexBox: @unchecked Sendable {
    private let lock = NSLock()
    private var index = RouteIndex()

    func set(_ index: RouteIndex) {
        lock.lock()
        self.index = index
        lock.unlock()
    }

    var value: RouteIndex {
        lock.lock()
        defer { lock.unlock() }
        return index
    }
}

/// Who may call a route.
public enum RouteAccess: Sendable {
    /// Needs the bearer token when the server has one.
    case token
    /// Open to everyone (the handler decides what an unauthenticated caller sees).
    case open
}

/// The router being built, with a record of every path and method (for 405 answers and the
/// bearer-token exemptions).
public struct RouteTable {
    /// The Hummingbird router (for middleware or groups of a route group's own).
    public let router: Router<BasicRequestContext>
    var index = RouteIndex()

    init(router: Router<BasicRequestContext>) { self.router = router }

    /// Adds a route. `path` uses Hummingbird's syntax (`/a/{name}`, `*`, `**`).
    public mutating func on(_ path: String, method: HTTPRequest.Method, access: RouteAccess = .token,
                            use handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response) {
        router.on(RouterPath(path), method: method, use: handler)
        index.add(path, method: method, open: access == .open)
    }

    /// Adds a GET route.
    public mutating func get(_ path: String, access: RouteAccess = .token,
                             use handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response) {
        on(path, method: .get, access: access, use: handler)
    }

    /// Adds a POST route.
    public mutating func post(_ path: String, access: RouteAccess = .token,
                              use handler: @escaping @Sendable (Request, BasicRequestContext) async throws -> Response) {
        on(path, method: .post, access: access, use: handler)
    }
}

/// Registered path patterns with their methods and access.
struct RouteIndex: Sendable {
    struct Entry: Sendable {
        var pattern: [Substring]
        var methods: Set<HTTPRequest.Method>
        var open: Bool
    }
    private(set) var entries: [Entry] = []

    mutating func add(_ path: String, method: HTTPRequest.Method, open: Bool) {
        let pattern = Self.components(path)
        if let i = entries.firstIndex(where: { $0.pattern == pattern }) {
            entries[i].methods.insert(method)
            entries[i].open = entries[i].open && open
        } else {
            entries.append(Entry(pattern: pattern, methods: [method], open: open))
        }
    }

    static func components(_ path: String) -> [Substring] { path.split(separator: "/", omittingEmptySubsequences: true) }

    /// The entries whose pattern matches `path`.
    func matching(_ path: String) -> [Entry] {
        let parts = Self.components(path)
        return entries.filter { Self.matches($0.pattern, parts) }
    }

    /// Methods registered for `path` (empty: no route has this path).
    func methods(for path: String) -> Set<HTTPRequest.Method> {
        matching(path).reduce(into: []) { $0.formUnion($1.methods) }
    }

    /// Whether `path` is a route open without the token.
    func isOpen(_ path: String) -> Bool {
        let m = matching(path)
        return !m.isEmpty && m.allSatisfy(\.open)
    }

    static func matches(_ pattern: [Substring], _ parts: [Substring]) -> Bool {
        var i = 0
        for p in pattern {
            if p == "**" { return true }
            guard i < parts.count else { return false }
            let wildcard = p == "*" || (p.hasPrefix("{") && p.hasSuffix("}")) || p.hasPrefix(":")
            if !wildcard && p != parts[i] { return false }
            i += 1
        }
        return i == parts.count
    }
}
