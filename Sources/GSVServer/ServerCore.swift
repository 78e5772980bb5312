// The shared machinery of every route group: request decoding (form queries and JSON bodies into
// the Codable request types), errors in the api_v2 and OpenAI shapes, voice and engine resolution
// (default voice, roles, per-role weights), admission, and streamed responses.
// Follows api_v2.py: tts_handle (planning a synthesis), streaming_generator (streamed answers).
import Foundation
import GPTSoVITS
import GSVAudio
import GSVModels
import GSVText
import Hummingbird
import Logging

/// What a synthesis request resolves to.
struct SynthesisPlan: Sendable {
    /// The engine to synthesize with (the server's, or a role's own weights).
    var engine: TTSEngine
    var text: String
    var voice: VoiceReference
    var options: SynthesisOptions
    /// The route family, for metrics (`api_v2`, `openai`).
    var api: String
    /// The route that asked for it, for the list of recent syntheses.
    var route: String
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
    /// Seconds of audio pulled so far.
    private(set) var audioSeconds: Double = 0

    init(_ stream: AsyncThrowingStream<SynthesisEvent, Error>) { iterator = stream.makeAsyncIterator() }
    func next() async throws -> SynthesisEvent? { try await iterator.next() }

    /// The next audio chunk (skipping progress), remembering the final report.
    func nextAudio(report: inout SynthesisReport?) async throws -> AudioChunk? {
        while let e = try await next() {
            switch e {
            case let .audio(s, r):
                audioSeconds += Double(s.count) / Double(max(r, 1))
                return AudioChunk(samples: s, sampleRate: r)
            case .progress: continue
            case let .finished(f, t): report = SynthesisReport(fragments: f, timings: t)
            }
        }
        return nil
    }
}

/// The state and helpers every route group works with: the engine (swapped by `/set_*_weights`),
/// the default voice, roles, the admission gate, the model cache, metrics and the configuration.
/// Route groups inside `GSVServer` use it directly (see ``ServerRouteGroup``).
public final class ServerCore: Sendable {
    /// The configuration the server was built with.
    public let config: ServerConfiguration
    let holder: EngineHolder
    let gate: AdmissionGate
    let roles: RoleLibrary?
    let classifiers = ClassifierCache()
    let policy: PathPolicy
    let exitLatch = ExitLatch()
    let restartLatch = ExitLatch()
    /// Engines over per-role weights, bounded by `config.modelCacheBytes`.
    let modelCache: MemoryBoundedCache<RoleWeightsKey, TTSEngine>
    /// This server's metrics (`/metrics`).
    public let metrics = ServerMetrics()
    /// Identifies this server instance (changes when the process restarts).
    let instanceID = UUID().uuidString
    /// Where blocking work (weights, voices, classifiers, encoder writes) runs: the engine's
    /// executor, so `TTSEngine.waitUntilIdle()` waits for it too.
    let executor = BlockingWorkExecutor.shared

    init(_ config: ServerConfiguration) {
        self.config = config
        holder = EngineHolder(engine: config.engine, paths: config.modelPaths, defaultVoice: config.defaultVoice)
        gate = AdmissionGate(maxConcurrent: config.maxConcurrent, queueLength: config.queueLength)
        roles = config.rolesDirectory.map { RoleLibrary(root: $0) }
        policy = PathPolicy(roots: config.allowedRoots)
        modelCache = MemoryBoundedCache(budgetBytes: config.modelCacheBytes)
    }

    /// The engine new requests use now.
    public var engine: TTSEngine { get async { await holder.engine } }

    /// The voice used when a request names none, if set.
    public var defaultVoice: VoiceReference? { get async { await holder.defaultVoice } }

    // MARK: - Responses

    /// A JSON response.
    public static func json(_ status: HTTPResponse.Status, _ object: [String: Any]) -> Response {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }

    /// Runs a route, turning errors into api_v2 (`{"message", "Exception"}`) or OpenAI
    /// (`{"error": {"message", "type", "param", "code"}}`) bodies.
    public func respond(openAI: Bool = false, _ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch {
            return Self.errorResponse(Self.apiError(error), openAI: openAI)
        }
    }

    /// The response for `api` in the api_v2 or the OpenAI shape.
    static func errorResponse(_ api: APIError, openAI: Bool) -> Response {
        let status = HTTPResponse.Status(code: api.status)
        var response: Response
        if openAI {
            let type: String
            switch api.status {
            case 401: type = "authentication_error"
            case 404: type = "not_found_error"
            case 413: type = "request_too_large"
            case 503: type = "server_busy"
            case 500...: type = "server_error"
            default: type = "invalid_request_error"
            }
            let detail: [String: Any] = ["message": api.exception.map { "\(api.message): \($0)" } ?? api.message,
                                         "type": type, "param": api.field ?? NSNull(), "code": api.status]
            response = json(status, ["error": detail])
        } else {
            response = Response(status: status, headers: [.contentType: "application/json"],
                                body: ResponseBody(byteBuffer: ByteBuffer(bytes: api.body)))
        }
        if api.status == 413 { response.headers[.connection] = "close" }
        return response
    }

    static func apiError(_ error: Error) -> APIError {
        switch error {
        case let e as APIError: return e
        case let e as RequestFieldError: return .badRequest(e.message, field: e.field)
        case let e as SynthesisError: return .badRequest("tts failed", exception: e.errorDescription ?? "\(e)")
        case let e as RoleError: return .badRequest(e.errorDescription ?? "\(e)")
        case let e as HTTPResponseError where e.status == .contentTooLarge:
            return APIError(status: 413, message: "request body too large")
        case let e as HTTPResponseError: return APIError(status: e.status.code, message: "\(e)")
        default: return .badRequest("tts failed", exception: (error as? LocalizedError)?.errorDescription ?? "\(error)")
        }
    }

    // MARK: - Requests

    /// The decoder for request types: starts synthesis options from the server's defaults and
    /// completes language messages with the current model version.
    func decoder(version: String) -> JSONDecoder {
        let d = JSONDecoder()
        d.userInfo = [.synthesisDefaults: config.defaultOptions, .requestModelVersion: version]
        return d
    }

    /// The request's query (form-decoded: `+` is a space) as a `T`.
    public func decodeQuery<T: Decodable>(_ request: Request, as type: T.Type) async throws -> T {
        let version = await holder.engine.bundle.version.rawValue
        return try decode(FormQuery(request).jsonData(), as: type, version: version)
    }

    /// The request's JSON body (at most `config.maxBodyBytes`) as a `T`.
    public func decodeBody<T: Decodable>(_ body: RequestBody, headers: HTTPFields, as type: T.Type) async throws -> T {
        let data = try await readBody(body, headers: headers)
        guard !data.isEmpty else { throw APIError.badRequest("request body is empty; send a JSON object") }
        guard (try? JSONSerialization.jsonObject(with: data)) is [String: Any] else {
            throw APIError.badRequest("request body is not a JSON object")
        }
        let version = await holder.engine.bundle.version.rawValue
        return try decode(data, as: type, version: version)
    }

    private func decode<T: Decodable>(_ data: Data, as type: T.Type, version: String) throws -> T {
        do {
            return try decoder(version: version).decode(type, from: data)
        } catch let e as RequestFieldError {
            throw APIError.badRequest(e.message, field: e.field)
        } catch let e as DecodingError {
            throw APIError.badRequest("malformed request: \(e.localizedDescription)")
        }
    }

    /// Bytes a body may run past the limit that are still read (and dropped) before the 413 goes
    /// out, so that a client that writes its whole body before reading (Python `requests`, curl)
    /// receives the answer instead of blocking on a full socket buffer.
    static let drainLimitBytes = 64 << 20

    /// The whole body, or a 413 once it passes `config.maxBodyBytes` (after draining the rest, up to
    /// ``drainLimitBytes``; a body announced beyond that is answered at once and the connection
    /// closed).
    func readBody(_ body: RequestBody, headers: HTTPFields) async throws -> Data {
        let limit = config.maxBodyBytes
        let tooLarge = APIError(status: 413, message: "request body exceeds \(limit) bytes")
        let declared = headers[.contentLength].flatMap { Int($0) }
        if let declared, declared > limit + Self.drainLimitBytes { throw tooLarge }
        var data = Data()
        var total = 0
        var iterator = body.makeAsyncIterator()
        while let part = try await iterator.next() {
            total += part.readableBytes
            if total > limit {
                while total <= limit + Self.drainLimitBytes, let more = try await iterator.next() { total += more.readableBytes }
                throw tooLarge
            }
            data.append(contentsOf: part.readableBytesView)
        }
        return data
    }

    /// Refuses text over `config.maxTextLength` characters.
    func checkLength(_ text: String, field: String = "text") throws {
        if text.count > config.maxTextLength {
            throw APIError.badRequest("\(field) is too long: \(text.count) characters (limit \(config.maxTextLength))", field: field)
        }
    }

    /// Refuses a reference transcript over `config.maxPromptTextLength` characters.
    func checkPromptLength(_ text: String) throws {
        if text.count > config.maxPromptTextLength {
            throw APIError.badRequest("prompt_text is too long: \(text.count) characters (limit \(config.maxPromptTextLength); "
                + "it is the transcript of a 3–10 s reference clip)", field: "prompt_text")
        }
    }

    /// Runs a synthesis route (as ``respond(openAI:_:)``) with the request body, cancelling it if
    /// the client closes the connection before it returns (a queued or running synthesis is then
    /// abandoned). Once a streamed body is under way, a hang-up is noticed by the failing write
    /// instead. Watching the connection consumes it, so these responses carry `Connection: close`
    /// and the connection closes after them (clients open a new one for the next request).
    public func untilHangUp(_ request: Request, openAI: Bool = false, _ operation: (RequestBody) async throws -> Response) async -> Response {
        var response = await respond(openAI: openAI) { try await request.body.consumeWithCancellationOnInboundClose(operation) }
        response.headers[.connection] = "close"
        return response
    }

    // MARK: - Voices and engines

    /// Resolves the voice, engine, text and options of an api_v2 request (with the role extension).
    func plan(for request: TTSRequest) async throws -> SynthesisPlan {
        var request = request
        try checkPromptLength(request.promptText)
        if let roleName = request.role, !roleName.isEmpty {
            if request.textLanguage == nil { request.textLanguage = .zh }
            guard let roles else { throw APIError.badRequest("roles are not configured on this server (start it with --roles DIR)", field: "role") }
            let role = try roles.role(roleName)
            let engine = try await engine(for: role)
            try request.validate(version: engine.bundle.version, requireReference: false)
            try checkLength(request.text ?? "")
            let voice = try await roleVoice(roleName, text: request.text ?? "", emotion: request.emotion)
            return SynthesisPlan(engine: engine, text: request.text ?? "", voice: voice, options: try request.synthesisOptions(), api: "api_v2", route: "/tts")
        }
        let engine = await holder.engine
        let version = engine.bundle.version
        let voice: VoiceReference
        if (request.refAudioPath ?? "").isEmpty, let fallback = await holder.defaultVoice {
            try request.validate(version: version, requireReference: false)
            try checkLength(request.text ?? "")
            voice = fallback
        } else {
            try request.validate(version: version, requireReference: true)
            try checkLength(request.text ?? "")
            let path = try policy.confine(request.refAudioPath ?? "", field: "ref_audio_path")
            let aux = try request.auxRefAudioPaths.map { try policy.confine($0, field: "aux_ref_audio_paths") }
            voice = VoiceReference(audioPath: path, promptText: request.promptText,
                                   promptLanguage: request.promptLanguage ?? .zh, auxiliaryAudioPaths: aux)
        }
        return SynthesisPlan(engine: engine, text: request.text ?? "", voice: voice, options: try request.synthesisOptions(), api: "api_v2", route: "/tts")
    }

    /// The reference of role `name` for `text`: the forced emotion, else the classifier's choice,
    /// else the role's default reference.
    func roleVoice(_ name: String, text: String, emotion: String?) async throws -> VoiceReference {
        guard let roles else { throw APIError.badRequest("roles are not configured on this server (start it with --roles DIR)") }
        let role = try roles.role(name)
        var chosen: String?
        if let emotion, !emotion.isEmpty {
            guard emotionLabels.contains(emotion) else {
                throw APIError.badRequest("emotion '\(emotion)' is not one of \(emotionLabels.joined(separator: ", "))", field: "emotion")
            }
            chosen = emotion
        } else if let folder = role.classifierFolder {
            let classifiers = self.classifiers
            let result = try await executor.perform {
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
        let executor = self.executor
        return try await modelCache.value(for: key) {
            let bundle: ModelBundle
            do {
                bundle = try await executor.perform { try baseBundle.replacingWeights(gpt: newGPT, sovits: newSoVITS) }
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

    // MARK: - Synthesis

    /// Takes a slot (counting a full queue in the metrics).
    private func acquireSlot(api: String) async throws {
        do { try await gate.acquire() } catch let e as APIError {
            metrics.synthesis(api: api, outcome: "rejected")
            throw e
        }
    }

    /// Records how a synthesis that held a slot ended with `error`.
    private func recordEnd(_ plan: SynthesisPlan, error: Error, started: ContinuousClock.Instant, audioSeconds: Double = 0,
                           firstAudio: Double? = nil) {
        let cancelled = error is CancellationError || Task.isCancelled
        metrics.synthesis(api: plan.api, outcome: cancelled ? "cancelled" : "error")
        metrics.remember(SynthesisRecord(route: plan.route, outcome: cancelled ? "cancelled" : "error", textCharacters: plan.text.count,
                                         audioSeconds: audioSeconds, firstAudioSeconds: firstAudio, totalSeconds: Self.seconds(since: started),
                                         finishedAt: Date(), error: cancelled ? nil : Self.apiError(error).errorDescription))
    }

    /// Records a synthesis that ended normally.
    private func recordFinished(_ plan: SynthesisPlan, started: ContinuousClock.Instant, audioSeconds: Double, firstAudio: Double?) {
        let total = Self.seconds(since: started)
        metrics.finished(api: plan.api, seconds: total, audioSeconds: audioSeconds)
        metrics.remember(SynthesisRecord(route: plan.route, outcome: "ok", textCharacters: plan.text.count, audioSeconds: audioSeconds,
                                         firstAudioSeconds: firstAudio, totalSeconds: total, finishedAt: Date(), error: nil))
    }

    func synthesizeAll(_ plan: SynthesisPlan) async throws -> SynthesisResult {
        try await acquireSlot(api: plan.api)
        let started = ContinuousClock.now
        do {
            let result = try await plan.engine.synthesizeAll(plan.text, voice: plan.voice, options: plan.options)
            // A cancelled synthesis ends its stream early; its partial audio is not an answer.
            try Task.checkCancellation()
            await gate.release()
            recordFinished(plan, started: started, audioSeconds: Double(result.samples.count) / Double(max(result.sampleRate, 1)),
                           firstAudio: nil)
            return result
        } catch {
            await gate.release()
            recordEnd(plan, error: error, started: started)
            throw error
        }
    }

    static func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    /// Starts a synthesis and answers once its first audio chunk exists (so failures before any
    /// audio are still a 400), then sends the encoded audio as it is produced. Every encoded piece
    /// goes through `frame` (SSE wraps it in an event); `finish` adds a last piece. The slot is held
    /// until the body ends; a client that goes away ends it early, which cancels the synthesis.
    func streamingResponse(_ plan: SynthesisPlan, contentType: String, encoding: StreamEncoding,
                           frame: (@Sendable (Data) -> Data)? = nil,
                           finish: (@Sendable (SynthesisReport?) -> Data)? = nil) async throws -> Response {
        try await acquireSlot(api: plan.api)
        let started = ContinuousClock.now
        let lease = SlotLease(gate)
        let source = EventSource(plan.engine.synthesize(plan.text, voice: plan.voice, options: plan.options))
        let parts: AsyncThrowingStream<StreamPart, Error>
        let firstAudio: Double
        do {
            var report: SynthesisReport?
            guard let first = try await source.nextAudio(report: &report) else {
                throw SynthesisError.nothingToSay(plan.text)
            }
            firstAudio = Self.seconds(since: started)
            metrics.firstAudio(api: plan.api, seconds: firstAudio)
            parts = try ChunkPacker.parts(source: source, first: first, encoding: encoding, executor: executor)
        } catch {
            await lease.release()
            recordEnd(plan, error: error, started: started)
            throw error
        }
        // The lease also frees the slot if the body is never written (the client left before it).
        let body = ResponseBody { [self] writer in
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
                recordFinished(plan, started: started, audioSeconds: source.audioSeconds, firstAudio: firstAudio)
            } catch {
                await lease.release()
                recordEnd(plan, error: error, started: started, audioSeconds: source.audioSeconds, firstAudio: firstAudio)
                throw error
            }
        }
        return Response(status: .ok, headers: [.contentType: contentType], body: body)
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
