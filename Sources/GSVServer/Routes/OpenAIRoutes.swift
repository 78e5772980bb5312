// OpenAI-compatible speech routes, following OpenAI's published API: POST /v1/audio/speech (body
// `model`, `input`, `voice`, `response_format`, `speed`, `stream_format`), GET /v1/models, and
// GET /v1/voices (the voices this server offers).
import Foundation
import GPTSoVITS
import GSVAudio
import Hummingbird

/// `/v1/audio/speech`, `/v1/models`, `/v1/voices`. Voices are `default` (the server's default
/// reference) and the role folders.
struct OpenAIRoutes: ServerRouteGroup {
    func register(_ routes: inout RouteTable, core: ServerCore) {
        routes.post("/v1/audio/speech") { req, _ in
            await core.untilHangUp(req, openAI: true) { body in
                try await speech(core, try await core.decodeBody(body, headers: req.headers, as: OpenAISpeechRequest.self))
            }
        }
        routes.get("/v1/models") { _, _ in await core.respond(openAI: true) { models(core) } }
        routes.get("/v1/voices") { _, _ in await core.respond(openAI: true) { await voices(core) } }
    }

    static let formats: [String: String] = [
        "mp3": "audio/mpeg", "opus": "audio/ogg", "aac": "audio/aac", "flac": "audio/flac", "wav": "audio/wav", "pcm": "audio/pcm",
    ]

    /// The text language when the request names none (OpenAI clients never do): Chinese mixed
    /// with English for a Chinese voice — it reads plain Chinese and English words alike —, else
    /// per-run detection (`auto`).
    static func defaultLanguage(for voice: VoiceReference) -> TextLanguage {
        switch voice.promptLanguage {
        case .zh, .allZh: return .zh
        default: return .auto
        }
    }

    func speech(_ core: ServerCore, _ request: OpenAISpeechRequest) async throws -> Response {
        try core.checkLength(request.input, field: "input")
        guard let mime = Self.formats[request.responseFormat] else {
            throw APIError.badRequest("response_format: \(request.responseFormat) is not supported (mp3, opus, aac, flac, wav, pcm)",
                                      field: "response_format")
        }
        guard request.streamFormat == "audio" || request.streamFormat == "sse" else {
            throw APIError.badRequest("stream_format: \(request.streamFormat) is not supported (audio, sse)", field: "stream_format")
        }
        let engine: TTSEngine, voice: VoiceReference
        if request.voice == "default", let v = await core.holder.defaultVoice {
            engine = await core.holder.engine
            voice = v
        } else if let roles = core.roles, roles.names().contains(request.voice) {
            engine = try await core.engine(for: try roles.role(request.voice))
            voice = try await core.roleVoice(request.voice, text: request.input, emotion: nil)
        } else {
            throw APIError(status: 400, message: "voice '\(request.voice)' not found (GET /v1/voices lists them)", field: "voice")
        }
        var options = request.options
        options.textLanguage = request.language ?? Self.defaultLanguage(for: voice)
        guard options.textLanguage.isSupported(by: engine.bundle.version) else {
            throw APIError.badRequest("language: \(options.textLanguage.rawValue) is not supported in version \(engine.bundle.version.rawValue)",
                                      field: "language")
        }
        // Audio goes out fragment by fragment as it is synthesized (HTTP chunked transfer).
        options.streamingMode = .fragments
        if let problem = options.validationErrors().first { throw APIError.badRequest(problem) }
        let plan = SynthesisPlan(engine: engine, text: request.input, voice: voice, options: options, api: "openai", route: "/v1/audio/speech")
        let encoding = try Self.streamEncoding(request.responseFormat)
        if request.streamFormat == "sse" {
            return try await core.streamingResponse(plan, contentType: "text/event-stream", encoding: encoding, frame: { data in
                Self.sseEvent(["type": "speech.audio.delta", "audio": data.base64EncodedString()])
            }, finish: { report in
                let input = report?.fragments.reduce(0) { $0 + $1.phoneIDs.count } ?? 0
                let output = report?.fragments.reduce(0) { $0 + $1.semanticTokens.count } ?? 0
                return Self.sseEvent(["type": "speech.audio.done",
                                      "usage": ["input_tokens": input, "output_tokens": output, "total_tokens": input + output]])
            })
        }
        return try await core.streamingResponse(plan, contentType: mime, encoding: encoding)
    }

    /// OpenAI's output rate for `pcm` (16-bit little-endian mono).
    static let pcmRate = 24000

    /// OpenAI formats: `pcm` is raw int16 little-endian at 24 kHz; `wav` a streamed WAV at the model
    /// rate; the rest one continuous file from ffmpeg.
    static func streamEncoding(_ format: String) throws -> StreamEncoding {
        switch format {
        case "pcm": return .pcm16(resampleTo: pcmRate)
        case "wav": return .wavStream
        default:
            guard let f = EncodedAudioFormat(rawValue: format) else {
                throw APIError.badRequest("response_format: \(format) is not supported", field: "response_format")
            }
            return .ffmpeg(f)
        }
    }

    static func sseEvent(_ object: [String: Any]) -> Data {
        let json = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) ?? Data("{}".utf8)
        return Data("data: ".utf8) + json + Data("\n\n".utf8)
    }

    func models(_ core: ServerCore) -> Response {
        let ids = [core.config.modelName, "tts-1", "tts-1-hd"]
        return ServerCore.json(.ok, ["object": "list", "data": ids.map { ["id": $0, "object": "model", "owned_by": "swift-gpt-sovits"] }])
    }

    func voices(_ core: ServerCore) async -> Response {
        var list: [[String: Any]] = []
        if await core.holder.defaultVoice != nil { list.append(["id": "default", "name": "default", "kind": "reference"]) }
        for name in core.roles?.names() ?? [] { list.append(["id": name, "name": name, "kind": "role"]) }
        return ServerCore.json(.ok, ["object": "list", "voices": list])
    }
}
