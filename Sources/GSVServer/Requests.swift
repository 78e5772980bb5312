// Follows api_v2.py: TTS_Request, check_params, tts_get_endpoint / tts_post_endpoint, set_refer_aduio,
// set_gpt_weights / set_sovits_weights, control. The OpenAI request follows OpenAI's published
// POST /v1/audio/speech body.
import Foundation
import GPTSoVITS
import GSVText

/// An api_v2 `/tts` request (GET query or POST JSON), with the official defaults. The synthesis
/// options are ``SynthesisOptions`` decoded from the same keys; the rest is what the server itself
/// resolves (the voice, the output format, the role extension).
public struct TTSRequest: Sendable, Equatable, Decodable {
    /// The text to speak (api_v2 `text`; required).
    public var text: String?
    /// `text_lang` as given: required by api_v2 (roles default it to Chinese).
    public var textLanguage: TextLanguage?
    /// `ref_audio_path`: required unless a default voice or a role supplies one.
    public var refAudioPath: String?
    /// `aux_ref_audio_paths`: clips whose timbre is averaged in.
    public var auxRefAudioPaths: [String] = []
    /// `prompt_lang`: required with `ref_audio_path`.
    public var promptLanguage: TextLanguage?
    /// `prompt_text`: transcript of the reference (empty: reference-free decoding).
    public var promptText: String = ""
    /// `media_type`: wav, raw, ogg or aac.
    public var mediaType: String = "wav"
    /// `super_sampling` (v3 only; accepted and ignored by v1/v2 as the official code does).
    public var superSampling: Bool = false
    /// Role extension (CABM's modified api_v2): synthesize with a character folder's voice.
    public var role: String?
    /// Role extension: force an emotion instead of classifying the text.
    public var emotion: String?
    /// Every synthesis parameter (`top_k`, `text_split_method`, `streaming_mode`, …).
    public var options = SynthesisOptions()

    /// A request with every default.
    public init() {}

    /// The media types api_v2 accepts.
    public static let mediaTypes: Set<String> = ["wav", "raw", "ogg", "aac"]

    enum CodingKeys: String, CodingKey {
        case text, textLanguage = "text_lang", refAudioPath = "ref_audio_path", auxRefAudioPaths = "aux_ref_audio_paths"
        case promptLanguage = "prompt_lang", promptText = "prompt_text", mediaType = "media_type"
        case superSampling = "super_sampling", role, emotion
    }

    /// Decodes the api_v2 keys (see ``SynthesisOptions`` for the conversions).
    /// - Throws: ``RequestFieldError`` naming the first malformed field.
    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let version = decoder.userInfo[.requestModelVersion] as? String
        text = try c.requestString(.text)
        textLanguage = try c.requestLanguage(.textLanguage, version: version)
        refAudioPath = try c.requestString(.refAudioPath)
        auxRefAudioPaths = try c.requestStringList(.auxRefAudioPaths)?.filter { !$0.isEmpty } ?? []
        promptLanguage = try c.requestLanguage(.promptLanguage, version: version)
        promptText = try c.requestString(.promptText) ?? ""
        mediaType = try c.requestString(.mediaType) ?? mediaType
        superSampling = try c.requestBool(.superSampling) ?? false
        role = try c.requestString(.role)
        emotion = try c.requestString(.emotion)
        options = try SynthesisOptions(from: decoder)
    }

    /// The official `check_params` checks, in the official order and with the official messages,
    /// for a model of `version`.
    public func validate(version: ModelVersion, requireReference: Bool = true) throws {
        if requireReference && (refAudioPath ?? "").isEmpty { throw APIError.badRequest("ref_audio_path is required", field: "ref_audio_path") }
        guard let text, !text.isEmpty else { throw APIError.badRequest("text is required", field: "text") }
        guard let tl = textLanguage else { throw APIError.badRequest("text_lang is required", field: "text_lang") }
        if !tl.isSupported(by: version) {
            throw APIError.badRequest("text_lang: \(tl.rawValue) is not supported in version \(version.rawValue)", field: "text_lang")
        }
        if requireReference {
            guard let pl = promptLanguage else { throw APIError.badRequest("prompt_lang is required", field: "prompt_lang") }
            if !pl.isSupported(by: version) {
                throw APIError.badRequest("prompt_lang: \(pl.rawValue) is not supported in version \(version.rawValue)", field: "prompt_lang")
            }
        }
        if !Self.mediaTypes.contains(mediaType) { throw APIError.badRequest("media_type: \(mediaType) is not supported", field: "media_type") }
    }

    /// The synthesis options, with `text_lang` as validated.
    /// - Throws: ``APIError`` (400) naming the first value out of range.
    public func synthesisOptions() throws -> SynthesisOptions {
        var o = options
        if let textLanguage { o.textLanguage = textLanguage }
        if let problem = o.validationErrors().first { throw APIError.badRequest(problem) }
        return o
    }
}

/// `GET /set_refer_audio`.
struct SetReferAudioRequest: Decodable {
    var path: String
    var promptText: String
    var promptLanguage: TextLanguage

    enum CodingKeys: String, CodingKey { case path = "refer_audio_path", promptText = "prompt_text", promptLanguage = "prompt_lang" }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        path = try c.requestString(.path) ?? ""
        promptText = try c.requestString(.promptText) ?? ""
        promptLanguage = try c.requestLanguage(.promptLanguage) ?? .zh
    }
}

/// `GET /set_gpt_weights`, `GET /set_sovits_weights`.
struct SetWeightsRequest: Decodable {
    var path: String

    enum CodingKeys: String, CodingKey { case path = "weights_path" }

    init(from decoder: any Decoder) throws {
        path = try decoder.container(keyedBy: CodingKeys.self).requestString(.path) ?? ""
    }
}

/// `GET /control`.
struct ControlRequest: Decodable {
    var command: String

    enum CodingKeys: String, CodingKey { case command }

    init(from decoder: any Decoder) throws {
        command = try decoder.container(keyedBy: CodingKeys.self).requestString(.command) ?? ""
    }
}

/// `POST /v1/audio/speech`: OpenAI's fields, plus every api_v2 synthesis key as an extension
/// (`top_k`, `seed`, `text_split_method`, …) and `language` (or `text_lang`).
struct OpenAISpeechRequest: Decodable {
    var input: String
    var voice: String
    var responseFormat: String
    var streamFormat: String
    /// The text language the client asked for; `nil` lets the server choose from the voice.
    var language: TextLanguage?
    var options: SynthesisOptions

    enum CodingKeys: String, CodingKey {
        case input, voice, model, instructions, speed, language
        case responseFormat = "response_format", streamFormat = "stream_format", textLanguage = "text_lang"
    }

    enum VoiceKeys: String, CodingKey { case id }

    init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        let text = try c.requestString(.input) ?? ""
        guard !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
            throw RequestFieldError(field: "input", message: "input is required")
        }
        input = text
        if let name = try? c.requestString(.voice) {
            voice = name
        } else if let object = try? c.nestedContainer(keyedBy: VoiceKeys.self, forKey: .voice), let id = try object.requestString(.id) {
            voice = id
        } else if c.contains(.voice), try !c.decodeNil(forKey: .voice) {
            throw RequestFieldError(field: "voice", message: "voice: expected a voice name or an object with an 'id'")
        } else {
            throw RequestFieldError(field: "voice", message: "voice is required (GET /v1/voices lists them)")
        }
        _ = try c.requestString(.model)
        _ = try c.requestString(.instructions)
        responseFormat = try c.requestString(.responseFormat) ?? "mp3"
        streamFormat = try c.requestString(.streamFormat) ?? "audio"
        options = try SynthesisOptions(from: decoder)
        language = try c.requestLanguage(.language) ?? c.requestLanguage(.textLanguage)
        if let speed = try c.requestDouble(.speed) {
            guard speed >= 0.25 && speed <= 4 else {
                throw RequestFieldError(field: "speed", message: "speed must be in [0.25, 4] (got \(speed))")
            }
            options.speedFactor = speed
        }
    }
}

/// An error answered as api_v2 does: HTTP status + JSON `{"message": …, "Exception": …}`.
public struct APIError: Error, Sendable, Equatable {
    /// HTTP status code.
    public let status: Int
    /// The `message` field.
    public let message: String
    /// The optional `Exception` field (the underlying error's text).
    public let exception: String?
    /// The request field the error is about, if one (OpenAI's `param`).
    public let field: String?

    /// An error with the given status.
    public init(status: Int, message: String, exception: String? = nil, field: String? = nil) {
        self.status = status
        self.message = message
        self.exception = exception
        self.field = field
    }

    /// A 400 error with `message`.
    public static func badRequest(_ message: String, exception: String? = nil, field: String? = nil) -> APIError {
        APIError(status: 400, message: message, exception: exception, field: field)
    }

    /// The JSON body.
    public var body: Data {
        var obj: [String: String] = ["message": message]
        if let exception { obj["Exception"] = exception }
        return (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])) ?? Data("{\"message\":\"error\"}".utf8)
    }
}

extension APIError: LocalizedError {
    /// The message, with the underlying error's text when there is one.
    public var errorDescription: String? { exception.map { "\(message): \($0)" } ?? message }
}
