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
    router.get("/tts") { req, ctx in await core.respond { try await core.tts(fields: core.query(req)) } }
    router.post("/tts") { req, ctx in await core.respond { try await core.tts(fields: core.jsonBody(req, ctx)) } }
    router.get("/set_refer_audio") { req, _ in await core.respond { try await core.setReferAudio(core.query(req)) } }
    router.get("/set_gpt_weights") { req, _ in await core.respond { try await core.setWeights(core.query(req), kind: "gpt") } }
    router.get("/set_sovits_weights") { req, _ in await core.respond { try await core.setWeights(core.query(req), kind: "sovits") } }
    router.get("/control") { req, _ in await core.respond { try await core.control(core.query(req)) } }
    router.get("/health") { _, _ in await core.respond { await core.health() } }
    router.get("/running") { _, _ in await core.respond { ServerCore.json(.ok, ["message": "running"]) } }
    router.post("/v1/audio/speech") { req, ctx in
        await core.respond(openAI: true) { try await core.openAISpeech(core.jsonBody(req, ctx)) }
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
    var text: String
    var voice: VoiceReference
    var options: SynthesisOptions
}

/// Lets one task at a time pull from an engine stream after the handler has peeked at its start.
/// `@unchecked` is justified: the handler uses it before returning the response and the body writer
/// afterwards — never both at once.
final class EventSource: @unchecked Sendable {
    private var iterator: AsyncThrowingStream<SynthesisEvent, Error>.AsyncIterator
    init(_ stream: AsyncThrowingStream<SynthesisEvent, Error>) { iterator = stream.makeAsyncIterator() }
    func next() async throws -> SynthesisEvent? { try await iterator.next() }

    /// The next audio chunk (skipping progress), remembering the final report.
    func nextAudio(report: inout (fragments: [FragmentReport], timings: SynthesisTimings)?) async throws -> (samples: [Float], rate: Int)? {
        while let e = try await next() {
            switch e {
            case let .audio(s, r): return (s, r)
            case .progress: continue
            case let .finished(f, t): report = (f, t)
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

    init(_ config: ServerConfiguration) {
        self.config = config
        holder = EngineHolder(engine: config.engine, paths: config.modelPaths, defaultVoice: config.defaultVoice)
        gate = AdmissionGate(maxConcurrent: config.maxConcurrent, queueLength: config.queueLength)
        roles = config.rolesDirectory.map { RoleLibrary(root: $0) }
        policy = PathPolicy(roots: config.allowedRoots)
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

    func jsonBody(_ request: Request, _ context: BasicRequestContext) async throws -> [String: Any] {
        var request = request
        let buffer: ByteBuffer
        do { buffer = try await request.collectBody(upTo: config.maxBodyBytes) } catch {
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
        let media = request.mediaType
        return try await streamingResponse(plan, contentType: "audio/\(media)") { samples, rate, first in
            try await Self.streamChunk(samples, sampleRate: rate, mediaType: media, first: first)
        }
    }

    /// Resolves the voice, text and options of an api_v2 request (with the role extension).
    func plan(for request: TTSRequest) async throws -> SynthesisPlan {
        var request = request
        let engine = await holder.engine
        let version = engine.bundle.version
        let languages = Set(TextLanguage.allCases.filter { $0.isSupported(by: version) }.map(\.rawValue))
        let voice: VoiceReference
        if let roleName = request.role, !roleName.isEmpty {
            if request.textLang == nil { request.textLang = "zh" }
            try request.validate(languages: languages, version: version.rawValue, requireReference: false)
            try checkLength(request.text ?? "")
            voice = try await roleVoice(roleName, text: request.text ?? "", emotion: request.emotion)
        } else if (request.refAudioPath ?? "").isEmpty, let fallback = await holder.defaultVoice {
            try request.validate(languages: languages, version: version.rawValue, requireReference: false)
            try checkLength(request.text ?? "")
            voice = fallback
        } else {
            try request.validate(languages: languages, version: version.rawValue, requireReference: true)
            try checkLength(request.text ?? "")
            let path = try policy.confine(request.refAudioPath ?? "", field: "ref_audio_path")
            let aux = try request.auxRefAudioPaths.map { try policy.confine($0, field: "aux_ref_audio_paths") }
            voice = VoiceReference(audioPath: path, promptText: request.promptText,
                                   promptLanguage: (request.promptLang ?? "zh").lowercased(), auxiliaryAudioPaths: aux)
        }
        return SynthesisPlan(text: request.text ?? "", voice: voice, options: try request.synthesisOptions())
    }

    /// The reference of role `name` for `text`: the forced emotion, else the classifier's choice,
    /// else the role's default reference.
    func roleVoice(_ name: String, text: String, emotion: String?) async throws -> VoiceReference {
        guard let roles else { throw APIError.badRequest("roles are not configured on this server (start it with --roles DIR)") }
        let role = try roles.role(name)
        if role.gptWeights != nil || role.sovitsWeights != nil {
            throw APIError.badRequest("role '\(name)': per-role gpt/sovits weights are not supported yet; remove 'gpt'/'sovits' from its config.json")
        }
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
        let engine = await holder.engine
        return try await withSlot { try await engine.synthesizeAll(plan.text, voice: plan.voice, options: plan.options) }
    }

    /// Starts a synthesis and answers once its first audio chunk exists (so failures before any
    /// audio are still a 400), then streams every chunk through `encode` (first chunk flagged).
    func streamingResponse(_ plan: SynthesisPlan, contentType: String,
                           encode: @escaping @Sendable ([Float], Int, Bool) async throws -> [Data],
                           finish: (@Sendable ((fragments: [FragmentReport], timings: SynthesisTimings)?) -> Data)? = nil) async throws -> Response {
        let engine = await holder.engine
        try await gate.acquire()
        let source = EventSource(engine.synthesize(plan.text, voice: plan.voice, options: plan.options))
        let first: (samples: [Float], rate: Int)
        var report: (fragments: [FragmentReport], timings: SynthesisTimings)?
        do {
            guard let a = try await source.nextAudio(report: &report) else {
                throw SynthesisError.nothingToSay(plan.text)
            }
            first = a
        } catch {
            await gate.release()
            throw error
        }
        let gate = self.gate
        let body = ResponseBody { writer in
            do {
                var report: (fragments: [FragmentReport], timings: SynthesisTimings)?
                for chunk in try await encode(first.samples, first.rate, true) { try await writer.write(ByteBuffer(bytes: chunk)) }
                while let next = try await source.nextAudio(report: &report) {
                    for chunk in try await encode(next.samples, next.rate, false) { try await writer.write(ByteBuffer(bytes: chunk)) }
                }
                if let finish { try await writer.write(ByteBuffer(bytes: finish(report))) }
                try await writer.finish(nil)
                await gate.release()
            } catch {
                await gate.release()
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
    /// Returns the body chunks to send, in order (the wav header is a chunk of its own).
    static func streamChunk(_ samples: [Float], sampleRate: Int, mediaType: String, first: Bool) async throws -> [Data] {
        switch mediaType {
        case "wav":
            let pcm = WAV.encodeSamples(samples, format: .pcm16(.truncateClamp))
            return first ? [try WAV.header(sampleRate: sampleRate, dataBytes: nil), pcm] : [pcm]
        default:
            return [try await encode(samples, sampleRate: sampleRate, mediaType: mediaType)]
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

    func control(_ fields: [String: Any]) async throws -> Response {
        guard let command = fields["command"] as? String, !command.isEmpty else { throw APIError.badRequest("command is required") }
        switch command {
        case "exit":
            guard config.allowExit else { throw APIError.badRequest("exit is disabled on this server (start it with --allow-exit)") }
            if exitLatch.trigger() {
                let onExit = config.onExit
                Task.detached {
                    try? await Task.sleep(nanoseconds: 200_000_000)
                    onExit()
                }
            }
            return Self.json(.ok, ["message": "exiting"])
        case "restart":
            throw APIError.badRequest("restart is not supported by this server; restart it from its supervisor")
        default:
            throw APIError.badRequest("unknown command '\(command)' (use restart or exit)")
        }
    }

    func health() async -> Response {
        let engine = await holder.engine
        let running = await gate.running, queued = await gate.queued
        return Self.json(.ok, ["status": "ok", "model": engine.bundle.source, "version": engine.bundle.version.rawValue,
                               "sample_rate": engine.bundle.sampleRate, "running": running, "queued": queued])
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

        let voice: VoiceReference
        if voiceName == "default", let v = await holder.defaultVoice {
            voice = v
        } else if let roles, roles.names().contains(voiceName) {
            voice = try await roleVoice(voiceName, text: input, emotion: nil)
        } else {
            throw APIError(status: 400, message: "voice '\(voiceName)' not found (GET /v1/voices lists them)", exception: nil)
        }
        let plan = SynthesisPlan(text: input, voice: voice, options: options)

        if streamFormat == "sse" {
            var streamed = plan
            streamed.options.streamingMode = .fragments
            return try await streamingResponse(streamed, contentType: "text/event-stream", encode: { samples, rate, _ in
                let audio = try await Self.openAIEncode(samples, sampleRate: rate, format: format)
                return [Self.sseEvent(["type": "speech.audio.delta", "audio": audio.base64EncodedString()])]
            }, finish: { report in
                let input = report?.fragments.reduce(0) { $0 + $1.phoneIDs.count } ?? 0
                let output = report?.fragments.reduce(0) { $0 + $1.semanticTokens.count } ?? 0
                return Self.sseEvent(["type": "speech.audio.done",
                                      "usage": ["input_tokens": input, "output_tokens": output, "total_tokens": input + output]])
            })
        }
        let result = try await synthesizeAll(plan)
        let data = try await Self.openAIEncode(result.samples, sampleRate: result.sampleRate, format: format)
        return Response(status: .ok, headers: [.contentType: mime], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// OpenAI formats: `pcm` is raw int16 little-endian at the model rate; the rest are files.
    static func openAIEncode(_ samples: [Float], sampleRate: Int, format: String) async throws -> Data {
        switch format {
        case "pcm": return WAV.encodeSamples(samples, format: .pcm16(.truncateClamp))
        case "wav": return try WAV.encode(samples, sampleRate: sampleRate)
        default:
            guard let f = EncodedAudioFormat(rawValue: format) else { throw APIError.badRequest("response_format: \(format) is not supported") }
            return try await FFmpeg.encode(samples, sampleRate: sampleRate, format: f)
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
