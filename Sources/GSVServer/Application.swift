// Follows api_v2.py: tts_handle, tts_get_endpoint / tts_post_endpoint, control, set_refer_aduio,
// set_gpt_weights, set_sovits_weights, pack_audio / wave_header_chunk (streaming framing).
// Extensions: CABM role folders (role/emotion), OpenAI /v1/audio/speech, /health, /running.
import Foundation
import GPTSoVITS
import GSVAudio
import GSVModels
import GSVText
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
    /// When set, every route except `/health` and `/running` needs `Authorization: Bearer <token>`.
    public var bearerToken: String?
    /// Largest request body accepted (413 beyond).
    public var maxBodyBytes: Int = 1 << 20
    /// Longest text accepted, in characters (400 beyond).
    public var maxTextLength: Int = 2000
    /// Syntheses running at once.
    public var maxConcurrent: Int = 1
    /// Requests waiting for a slot before the server answers 503.
    public var queueLength: Int = 16
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

    /// A configuration serving `engine` with the default limits.
    public init(engine: TTSEngine, modelPaths: ModelPaths? = nil) {
        self.engine = engine
        self.modelPaths = modelPaths
    }
}

/// Builds the Hummingbird application: api_v2 routes, role extension, OpenAI routes, health.
public func buildApplication(configuration: ServerConfiguration) -> some ApplicationProtocol {
    let router = buildRouter(core: ServerCore(configuration))
    return Application(
        router: router,
        configuration: ApplicationConfiguration(address: .hostname(configuration.host, port: configuration.port),
                                                serverName: "swift-gpt-sovits"),
        logger: Logger(label: "gpt-sovits.server")
    )
}

func buildRouter(core: ServerCore) -> Router<BasicRequestContext> {
    let router = Router()
    router.add(middleware: BearerTokenMiddleware(token: core.config.bearerToken))
    // Synthesis routes stop their work when the client hangs up before the answer is ready.
    router.get("/tts") { req, _ in await core.untilHangUp(req) { _ in try await core.tts(fields: core.query(req)) } }
    router.post("/tts") { req, _ in await core.untilHangUp(req) { body in try await core.tts(fields: core.jsonBody(body)) } }
    router.get("/set_refer_audio") { req, _ in await core.respond { try await core.setReferAudio(core.query(req)) } }
    router.get("/set_gpt_weights") { req, _ in await core.respond { try await core.setWeights(core.query(req), kind: "gpt") } }
    router.get("/set_sovits_weights") { req, _ in await core.respond { try await core.setWeights(core.query(req), kind: "sovits") } }
    router.get("/control") { req, _ in await core.respond { try await core.control(core.query(req)) } }
    router.get("/health") { _, _ in await core.respond { await core.health() } }
    router.get("/running") { _, _ in await core.respond { ServerCore.json(.ok, ["message": "running"]) } }
    router.post("/v1/audio/speech") { req, _ in
        await core.untilHangUp(req, openAI: true) { body in try await core.openAISpeech(core.jsonBody(body)) }
    }
    router.get("/v1/models") { _, _ in await core.respond(openAI: true) { core.models() } }
    router.get("/v1/voices") { _, _ in await core.respond(openAI: true) { await core.voices() } }
    return router
}

/// Answers 401 unless the request carries the configured bearer token (`/health`, `/running` exempt).
struct BearerTokenMiddleware: RouterMiddleware {
    typealias Context = BasicRequestContext
    let token: String?

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let token, request.uri.path != "/health", request.uri.path != "/running" else {
            return try await next(request, context)
        }
        let given = request.headers[.authorization] ?? ""
        guard Self.constantTimeEqual(given, "Bearer " + token) else {
            var r = ServerCore.json(.unauthorized, ["message": "missing or wrong bearer token (send 'Authorization: Bearer <token>')"])
            r.headers[.wwwAuthenticate] = "Bearer"
            return r
        }
        return try await next(request, context)
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        var diff = UInt8(x.count == y.count ? 0 : 1)
        for i in 0..<min(x.count, y.count) { diff |= x[i] ^ y[i] }
        return diff == 0
    }
}

/// What a synthesis request resolves to.
struct SynthesisPlan: Sendable {
    /// The engine to synthesize with (the server's, or a role's own weights).
    var engine: TTSEngine
    var text: String
    var voice: VoiceReference
    var options: SynthesisOptions
}

/// Identifies a per-role weight set in the model cache: the GPT and SoVITS files that replace the
/// server's, and (when only one is replaced) the generation of the server bundle supplying the other.
struct RoleWeightsKey: Hashable, Sendable {
    var gpt: String?
    var sovits: String?
    var baseGeneration: Int?
}

/// Lets one task at a time pull from an engine stream after the handler has peeked at its start.
/// `@unchecked` is justified: the handler uses it before returning the response and the body writer
/// afterwards — never both at once.
final class EventSource: @unchecked Sendable {
    private var iterator: AsyncThrowingStream<SynthesisEvent, Error>.AsyncIterator
    init(_ stream: AsyncThrowingStream<SynthesisEvent, Error>) { iterator = stream.makeAsyncIterator() }
    func next() async throws -> SynthesisEvent? { try await iterator.next() }

    /// The next audio chunk (skipping progress), remembering the final report.
    func nextAudio(report: inout SynthesisReport?) async throws -> AudioChunk? {
        while let e = try await next() {
            switch e {
            case let .audio(s, r): return AudioChunk(samples: s, sampleRate: r)
            case .progress: continue
            case let .finished(f, t): report = SynthesisReport(fragments: f, timings: t)
            }
        }
        return nil
    }
}

/// Route implementations over the shared state.
final class ServerCore: Sendable {
    let config: ServerConfiguration
    let holder: EngineHolder
    let gate: AdmissionGate
    let roles: RoleLibrary?
    let classifiers = ClassifierCache()
    let policy: PathPolicy
    let exitLatch = ExitLatch()
    let restartLatch = ExitLatch()
    /// Engines over per-role weights, bounded by `config.modelCacheBytes`.
    let modelCache: MemoryBoundedCache<RoleWeightsKey, TTSEngine>
    /// Identifies this server instance (changes when the process restarts).
    let instanceID = UUID().uuidString

    init(_ config: ServerConfiguration) {
        self.config = config
        holder = EngineHolder(engine: config.engine, paths: config.modelPaths, defaultVoice: config.defaultVoice)
        gate = AdmissionGate(maxConcurrent: config.maxConcurrent, queueLength: config.queueLength)
        roles = config.rolesDirectory.map { RoleLibrary(root: $0) }
        policy = PathPolicy(roots: config.allowedRoots)
        modelCache = MemoryBoundedCache(budgetBytes: config.modelCacheBytes)
    }

    // MARK: - Plumbing

    static func json(_ status: HTTPResponse.Status, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Runs a route, turning errors into api_v2 (`{"message", "Exception"}`) or OpenAI (`{"error": …}`) bodies.
    func respond(openAI: Bool = false, _ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch {
            let api = Self.apiError(error)
            let status = HTTPResponse.Status(code: api.status)
            if openAI {
                var detail: [String: Any] = ["message": api.exception.map { "\(api.message): \($0)" } ?? api.message,
                                             "type": api.status == 503 ? "server_busy" : (api.status == 401 ? "authentication_error" : "invalid_request_error")]
                detail["code"] = api.status
                return Self.json(status, ["error": detail])
            }
            return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: api.body)))
        }
    }

    static func apiError(_ error: Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as SynthesisError: return .badRequest("tts failed", exception: e.errorDescription ?? "\(e)")
        case let e as RoleError: return .badRequest(e.errorDescription ?? "\(e)")
        case let e as HTTPResponseError where e.status == .contentTooLarge:
            return APIError(status: 413, message: "request body too large", exception: nil)
        case let e as HTTPResponseError: return APIError(status: e.status.code, message: "\(e)", exception: nil)
        default: return .badRequest("tts failed", exception: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
    }

    func query(_ request: Request) -> [String: Any] {
        var fields: [String: Any] = [:]
        for (k, v) in request.uri.queryParameters {
            let key = String(k), value = String(v)
            if key == "aux_ref_audio_paths" {
                fields[key] = ((fields[key] as? [String]) ?? []) + [value]
            } else {
                fields[key] = value
            }
        }
        return fields
    }

    /// Runs a synthesis route (as ``respond(openAI:_:)``) with the request body, cancelling it if
    /// the client closes the connection before it returns (a queued or running synthesis is then
    /// abandoned). Once a streamed body is under way, a hang-up is noticed by the failing write
    /// instead. Watching the connection consumes it, so these responses carry `Connection: close`
    /// and the connection closes after them (clients open a new one for the next request).
    func untilHangUp(_ request: Request, openAI: Bool = false, _ operation: (RequestBody) async throws -> Response) async -> Response {
        var response = await respond(openAI: openAI) { try await request.body.consumeWithCancellationOnInboundClose(operation) }
        response.headers[.connection] = "close"
        return response
    }

    func jsonBody(_ body: RequestBody) async throws -> [String: Any] {
        let buffer: ByteBuffer
        do { buffer = try await body.collect(upTo: config.maxBodyBytes) } catch {
            throw APIError(status: 413, message: "request body exceeds \(config.maxBodyBytes) bytes", exception: nil)
        }
        let data = Data(buffer.readableBytesView)
        guard !data.isEmpty else { throw APIError.badRequest("request body is empty; send a JSON object") }
        guard let obj = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] else {
            throw APIError.badRequest("request body is not a JSON object")
        }
        return obj
    }

    func checkLength(_ text: String) throws {
        if text.count > config.maxTextLength {
            throw APIError.badRequest("text is too long: \(text.count) characters (limit \(config.maxTextLength))")
        }
    }

    // MARK: - /tts

    func tts(fields: [String: Any]) async throws -> Response {
        let request = try TTSRequest(fields: fields)
        let plan = try await plan(for: request)
        if request.streamingMode == 0 {
            let result = try await synthesizeAll(plan)
            let data = try await Self.encode(result.samples, sampleRate: result.sampleRate, mediaType: request.mediaType)
            return Response(status: .ok, headers: [.contentType: "audio/\(request.mediaType)"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
        }
        return try await streamingResponse(plan, contentType: "audio/\(request.mediaType)",
                                           encoding: try Self.apiV2StreamEncoding(request.mediaType))
    }

    /// Resolves the voice, engine, text and options of an api_v2 request (with the role extension).
    func plan(for request: TTSRequest) async throws -> SynthesisPlan {
        var request = request
        if let roleName = request.role, !roleName.isEmpty {
            if request.textLang == nil { request.textLang = "zh" }
            guard let roles else { throw APIError.badRequest("roles are not configured on this server (start it with --roles DIR)") }
            let role = try roles.role(roleName)
            let engine = try await engine(for: role)
            try request.validate(languages: Self.languages(engine), version: engine.bundle.version.rawValue, requireReference: false)
            try checkLength(request.text ?? "")
            let voice = try await roleVoice(roleName, text: request.text ?? "", emotion: request.emotion)
            return SynthesisPlan(engine: engine, text: request.text ?? "", voice: voice, options: try request.synthesisOptions())
        }
        let engine = await holder.engine
        let languages = Self.languages(engine), version = engine.bundle.version.rawValue
        let voice: VoiceReference
        if (request.refAudioPath ?? "").isEmpty, let fallback = await holder.defaultVoice {
            try request.validate(languages: languages, version: version, requireReference: false)
            try checkLength(request.text ?? "")
            voice = fallback
        } else {
            try request.validate(languages: languages, version: version, requireReference: true)
            try checkLength(request.text ?? "")
            let path = try policy.confine(request.refAudioPath ?? "", field: "ref_audio_path")
            let aux = try request.auxRefAudioPaths.map { try policy.confine($0, field: "aux_ref_audio_paths") }
            voice = VoiceReference(audioPath: path, promptText: request.promptText,
                                   promptLanguage: (request.promptLang ?? "zh").lowercased(), auxiliaryAudioPaths: aux)
        }
        return SynthesisPlan(engine: engine, text: request.text ?? "", voice: voice, options: try request.synthesisOptions())
    }

    static func languages(_ engine: TTSEngine) -> Set<String> {
        let version = engine.bundle.version
        return Set(TextLanguage.allCases.filter { $0.isSupported(by: version) }.map(\.rawValue))
    }

    /// The reference of role `name` for `text`: the forced emotion, else the classifier's choice,
    /// else the role's default reference.
    func roleVoice(_ name: String, text: String, emotion: String?) async throws -> VoiceReference {
        guard let roles else { throw APIError.badRequest("roles are not configured on this server (start it with --roles DIR)") }
        let role = try roles.role(name)
        var chosen: String?
        if let emotion, !emotion.isEmpty {
            guard emotionLabels.contains(emotion) else {
                throw APIError.badRequest("emotion '\(emotion)' is not one of \(emotionLabels.joined(separator: ", "))")
            }
            chosen = emotion
        } else if let folder = role.classifierFolder {
            let classifiers = self.classifiers
            let result = try await EngineHolder.background {
                do { return try classifiers.classifier(folder: folder).classify(text) } catch {
                    throw APIError.badRequest("role '\(name)': emotion classifier failed", exception: (error as? LocalizedError)?.errorDescription ?? "\(error)")
                }
            }
            chosen = result.name
        }
        let ref = role.reference(for: chosen)
        return VoiceReference(audioPath: ref.audio.path, promptText: ref.text, promptLanguage: ref.language)
    }

    /// The engine for `role`: the server's, or — when its config.json names `gpt` and/or `sovits`
    /// files — one over those weights (sharing the server's CN-HuBERT and BERT), loaded on first use
    /// and kept in the model cache. Weight files must lie in the role folder or an allowed root.
    func engine(for role: Role) async throws -> TTSEngine {
        let base = await holder.snapshot()
        guard role.gptWeights != nil || role.sovitsWeights != nil else { return base.engine }
        let gpt = try role.gptWeights.map { try confineRoleWeights($0, role: role, key: "gpt") }
        let sovits = try role.sovitsWeights.map { try confineRoleWeights($0, role: role, key: "sovits") }
        func resolved(_ p: String) -> String { URL(fileURLWithPath: p).standardizedFileURL.resolvingSymlinksInPath().path }
        // Files the server's bundle already holds need no second copy.
        let newGPT = gpt.flatMap { $0 == base.paths.map { resolved($0.gpt) } ? nil : $0 }
        let newSoVITS = sovits.flatMap { $0 == base.paths.map { resolved($0.sovits) } ? nil : $0 }
        if newGPT == nil && newSoVITS == nil { return base.engine }
        let key = RoleWeightsKey(gpt: newGPT, sovits: newSoVITS,
                                 baseGeneration: newGPT != nil && newSoVITS != nil ? nil : base.generation)
        let name = role.name
        let baseBundle = base.engine.bundle
        return try await modelCache.value(for: key) {
            let bundle: ModelBundle
            do {
                bundle = try await EngineHolder.background { try baseBundle.replacingWeights(gpt: newGPT, sovits: newSoVITS) }
            } catch let e as SynthesisError {
                switch e {
                case let .missingModel(kind, path), let .loadFailed(kind, path, _):
                    throw APIError.badRequest("role '\(name)': cannot load its \(kind) weights \(path)", exception: e.errorDescription)
                default:
                    throw APIError.badRequest("role '\(name)': cannot load its weights", exception: e.errorDescription)
                }
            }
            let bytes = (newGPT == nil ? 0 : bundle.gptBytes) + (newSoVITS == nil ? 0 : bundle.sovitsBytes)
            return (TTSEngine(bundle: bundle), bytes)
        }
    }

    /// The resolved path of a role's weight file if it lies in the role folder or an allowed root.
    func confineRoleWeights(_ url: URL, role: Role, key: String) throws -> String {
        let path = url.standardizedFileURL.resolvingSymlinksInPath().path
        let folder = role.folder.standardizedFileURL.resolvingSymlinksInPath().path
        if path.hasPrefix(folder.hasSuffix("/") ? folder : folder + "/") { return path }
        if let confined = try? policy.confine(path, field: key) { return confined }
        throw APIError.badRequest("role '\(role.name)': '\(key)' weights \(url.path) are outside the role folder and the allowed folders")
    }

    func withSlot<T>(_ body: () async throws -> T) async throws -> T {
        try await gate.acquire()
        do {
            let v = try await body()
            await gate.release()
            return v
        } catch {
            await gate.release()
            throw error
        }
    }

    func synthesizeAll(_ plan: SynthesisPlan) async throws -> SynthesisResult {
        try await withSlot {
            let result = try await plan.engine.synthesizeAll(plan.text, voice: plan.voice, options: plan.options)
            // A cancelled synthesis ends its stream early; its partial audio is not an answer.
            try Task.checkCancellation()
            return result
        }
    }

    /// Starts a synthesis and answers once its first audio chunk exists (so failures before any
    /// audio are still a 400), then sends the encoded audio as it is produced. Every encoded piece
    /// goes through `frame` (SSE wraps it in an event); `finish` adds a last piece. The slot is held
    /// until the body ends; a client that goes away ends it early, which cancels the synthesis.
    func streamingResponse(_ plan: SynthesisPlan, contentType: String, encoding: StreamEncoding,
                           frame: (@Sendable (Data) -> Data)? = nil,
                           finish: (@Sendable (SynthesisReport?) -> Data)? = nil) async throws -> Response {
        try await gate.acquire()
        let lease = SlotLease(gate)
        let source = EventSource(plan.engine.synthesize(plan.text, voice: plan.voice, options: plan.options))
        let parts: AsyncThrowingStream<StreamPart, Error>
        do {
            var report: SynthesisReport?
            guard let first = try await source.nextAudio(report: &report) else {
                throw SynthesisError.nothingToSay(plan.text)
            }
            parts = try ChunkPacker.parts(source: source, first: first, encoding: encoding)
        } catch {
            await lease.release()
            throw error
        }
        // The lease also frees the slot if the body is never written (the client left before it).
        let body = ResponseBody { writer in
            do {
                for try await part in parts {
                    switch part {
                    case let .bytes(data):
                        try await writer.write(ByteBuffer(bytes: frame?(data) ?? data))
                    case let .end(report):
                        if let finish { try await writer.write(ByteBuffer(bytes: finish(report))) }
                    }
                }
                try await writer.finish(nil)
                await lease.release()
            } catch {
                await lease.release()
                throw error
            }
        }
        return Response(status: .ok, headers: [.contentType: contentType], body: body)
    }

    /// api_v2 non-streaming packing.
    static func encode(_ samples: [Float], sampleRate: Int, mediaType: String) async throws -> Data {
        switch mediaType {
        case "wav": return try WAV.encode(samples, sampleRate: sampleRate)
        case "raw": return WAV.encodeSamples(samples, format: .pcm16(.truncateClamp))
        default:
            guard let format = EncodedAudioFormat(rawValue: mediaType) else {
                throw APIError.badRequest("media_type: \(mediaType) is not supported")
            }
            return try await FFmpeg.encode(samples, sampleRate: sampleRate, format: format)
        }
    }

    /// api_v2 streaming packing: for wav a header chunk (length unknown) before the first PCM
    /// chunk and raw int16 PCM after; raw → PCM; ogg/aac → each chunk a complete file.
    static func apiV2StreamEncoding(_ mediaType: String) throws -> StreamEncoding {
        switch mediaType {
        case "wav": return .wavStream
        case "raw": return .pcm16(resampleTo: nil)
        default:
            guard let format = EncodedAudioFormat(rawValue: mediaType) else {
                throw APIError.badRequest("media_type: \(mediaType) is not supported")
            }
            return .filePerChunk(format)
        }
    }

    // MARK: - Other api_v2 routes

    func setReferAudio(_ fields: [String: Any]) async throws -> Response {
        let raw = fields["refer_audio_path"] as? String ?? ""
        guard !raw.isEmpty else { throw APIError.badRequest("refer_audio_path is required") }
        let path = try policy.confine(raw, field: "refer_audio_path")
        let voice = VoiceReference(audioPath: path, promptText: fields["prompt_text"] as? String ?? "",
                                   promptLanguage: (fields["prompt_lang"] as? String ?? "zh").lowercased())
        let engine = await holder.engine
        do {
            _ = try await EngineHolder.background { try engine.prepare(voice) }
        } catch {
            throw APIError.badRequest("set refer audio failed", exception: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
        await holder.setDefaultVoice(voice)
        return Self.json(.ok, ["message": "success"])
    }

    func setWeights(_ fields: [String: Any], kind: String) async throws -> Response {
        let raw = fields["weights_path"] as? String ?? ""
        guard !raw.isEmpty else { throw APIError.badRequest("\(kind) weight path is required") }
        let path = try policy.confine(raw, field: "weights_path")
        do {
            if kind == "gpt" { try await holder.swapWeights(gpt: path) } else { try await holder.swapWeights(sovits: path) }
        } catch let e as APIError {
            throw e
        } catch {
            throw APIError.badRequest("change \(kind) weight failed", exception: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
        return Self.json(.ok, ["message": "success"])
    }

    /// Runs `action` shortly after the current reply had time to leave.
    private static func afterReply(_ action: @escaping @Sendable () -> Void) {
        Task.detached {
            try? await Task.sleep(nanoseconds: 200_000_000)
            action()
        }
    }

    func control(_ fields: [String: Any]) async throws -> Response {
        guard let command = fields["command"] as? String, !command.isEmpty else { throw APIError.badRequest("command is required") }
        switch command {
        case "exit":
            guard config.allowExit else { throw APIError.badRequest("exit is disabled on this server (start it with --allow-exit)") }
            if exitLatch.trigger() { Self.afterReply(config.onExit) }
            return Self.json(.ok, ["message": "exiting"])
        case "restart":
            guard config.allowRestart else { throw APIError.badRequest("restart is disabled on this server (start it with --allow-restart)") }
            if restartLatch.trigger() { Self.afterReply(config.onRestart) }
            return Self.json(.ok, ["message": "restarting"])
        default:
            throw APIError.badRequest("unknown command '\(command)' (use restart or exit)")
        }
    }

    func health() async -> Response {
        let engine = await holder.engine
        let running = await gate.running, queued = await gate.queued
        let cache: [String: Any] = ["entries": await modelCache.count, "bytes": await modelCache.residentBytes,
                                    "budget_bytes": modelCache.budgetBytes]
        return Self.json(.ok, ["status": "ok", "model": engine.bundle.source, "version": engine.bundle.version.rawValue,
                               "sample_rate": engine.bundle.sampleRate, "running": running, "queued": queued,
                               "pid": Int(getpid()), "instance": instanceID, "model_cache": cache])
    }

    // MARK: - OpenAI

    static let openAIFormats: [String: String] = [
        "mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac", "flac": "audio/flac", "wav": "audio/wav", "pcm": "audio/pcm",
    ]

    func openAISpeech(_ fields: [String: Any]) async throws -> Response {
        guard let input = fields["input"] as? String, !input.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw APIError.badRequest("input is required")
        }
        try checkLength(input)
        let voiceName: String
        if let s = fields["voice"] as? String { voiceName = s } else if let o = fields["voice"] as? [String: Any], let id = o["id"] as? String {
            voiceName = id
        } else {
            throw APIError.badRequest("voice is required (GET /v1/voices lists them)")
        }
        let format = (fields["response_format"] as? String) ?? "mp3"
        guard let mime = Self.openAIFormats[format] else {
            throw APIError.badRequest("response_format: \(format) is not supported (mp3, opus, aac, flac, wav, pcm)")
        }
        let streamFormat = (fields["stream_format"] as? String) ?? "audio"
        guard streamFormat == "audio" || streamFormat == "sse" else {
            throw APIError.badRequest("stream_format: \(streamFormat) is not supported (audio, sse)")
        }
        var options = SynthesisOptions()
        func number(_ k: String) throws -> Double? {
            guard let v = fields[k], !(v is NSNull) else { return nil }
            guard let n = v as? NSNumber else { throw APIError.badRequest("\(k) must be a number") }
            return n.doubleValue
        }
        if let speed = try number("speed") {
            guard speed >= 0.25 && speed <= 4 else { throw APIError.badRequest("speed must be in [0.25, 4] (got \(speed))") }
            options.speedFactor = speed
        }
        if let v = try number("seed") { options.seed = Int64(v) }
        if let v = try number("top_k") { options.topK = Int(v) }
        if let v = try number("top_p") { options.topP = Float(v) }
        if let v = try number("temperature") { options.temperature = Float(v) }
        if let lang = fields["language"] as? String { options.textLanguage = lang.lowercased() } else { options.textLanguage = "auto" }
        if let problem = options.validationErrors().first { throw APIError.badRequest(problem) }

        let plan: SynthesisPlan
        if voiceName == "default", let v = await holder.defaultVoice {
            plan = SynthesisPlan(engine: await holder.engine, text: input, voice: v, options: options)
        } else if let roles, roles.names().contains(voiceName) {
            let engine = try await engine(for: try roles.role(voiceName))
            let voice = try await roleVoice(voiceName, text: input, emotion: nil)
            plan = SynthesisPlan(engine: engine, text: input, voice: voice, options: options)
        } else {
            throw APIError(status: 400, message: "voice '\(voiceName)' not found (GET /v1/voices lists them)", exception: nil)
        }
        // Audio goes out fragment by fragment as it is synthesized (HTTP chunked transfer).
        var streamed = plan
        streamed.options.streamingMode = .fragments
        let encoding = try Self.openAIStreamEncoding(format)
        if streamFormat == "sse" {
            return try await streamingResponse(streamed, contentType: "text/event-stream", encoding: encoding, frame: { data in
                Self.sseEvent(["type": "speech.audio.delta", "audio": data.base64EncodedString()])
            }, finish: { report in
                let input = report?.fragments.reduce(0) { $0 + $1.phoneIDs.count } ?? 0
                let output = report?.fragments.reduce(0) { $0 + $1.semanticTokens.count } ?? 0
                return Self.sseEvent(["type": "speech.audio.done",
                                      "usage": ["input_tokens": input, "output_tokens": output, "total_tokens": input + output]])
            })
        }
        return try await streamingResponse(streamed, contentType: mime, encoding: encoding)
    }

    /// OpenAI's output rate for `pcm` (16-bit little-endian mono).
    static let openAIPCMRate = 24000

    /// OpenAI formats: `pcm` is raw int16 little-endian at 24 kHz; `wav` a streamed WAV at the model
    /// rate; the rest one continuous file from ffmpeg.
    static func openAIStreamEncoding(_ format: String) throws -> StreamEncoding {
        switch format {
        case "pcm": return .pcm16(resampleTo: openAIPCMRate)
        case "wav": return .wavStream
        default:
            guard let f = EncodedAudioFormat(rawValue: format) else { throw APIError.badRequest("response_format: \(format) is not supported") }
            return .ffmpeg(f)
        }
    }

    static func sseEvent(_ object: [String: Any]) -> Data {
        let json = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Data("data: ".utf8) + json + Data("\n\n".utf8)
    }

    func models() -> Response {
        let ids = [config.modelName, "tts-1", "tts-1-hd"]
        return Self.json(.ok, ["object": "list", "data": ids.map { ["id": $0, "object": "model", "owned_by": "swift-gpt-sovits"] }])
    }

    func voices() async -> Response {
        var list: [[String: Any]] = []
        if await holder.defaultVoice != nil { list.append(["id": "default", "name": "default", "kind": "reference"]) }
        for name in roles?.names() ?? [] { list.append(["id": name, "name": name, "kind": "role"]) }
        return Self.json(.ok, ["object": "list", "voices": list])
    }
}

/// A slot taken from an ``AdmissionGate``, given back once: by ``release()``, or when the lease is
/// dropped without it (a response whose body was never written).
final class SlotLease: Sendable {
    private let gate: AdmissionGate
    private let latch = ExitLatch()

    init(_ gate: AdmissionGate) { self.gate = gate }

    func release() async {
        if latch.trigger() { await gate.release() }
    }

    deinit {
        if latch.trigger() {
            let gate = self.gate
            Task { await gate.release() }
        }
    }
}

/// Fires once.
final class ExitLatch: @unchecked Sendable {
    private let lock = NSLock()
    private var fired = false
    func trigger() -> Bool {
        lock.lock(); defer { lock.unlock() }
        if fired { return false }
        fired = true
        return true
    }
}
