// Follows api_v2.py: TTS_Request, check_params, tts_get_endpoint / tts_post_endpoint.
import Foundation
import GPTSoVITS
import GSVText

/// An api_v2 `/tts` request (GET query or POST JSON), with the official defaults.
public struct TTSRequest: Sendable, Equatable {
    public var text: String?
    public var textLang: String?
    public var refAudioPath: String?
    public var auxRefAudioPaths: [String] = []
    public var promptLang: String?
    public var promptText: String = ""
    public var topK: Int = 15
    public var topP: Float = 1
    public var temperature: Float = 1
    public var textSplitMethod: String = "cut5"
    public var batchSize: Int = 1
    public var batchThreshold: Float = 0.75
    public var splitBucket: Bool = true
    public var speedFactor: Double = 1
    public var fragmentInterval: Double = 0.3
    public var seed: Int64 = -1
    public var mediaType: String = "wav"
    public var parallelInfer: Bool = true
    public var repetitionPenalty: Float = 1.35
    public var sampleSteps: Int = 32
    public var superSampling: Bool = false
    /// 0–3 (booleans map false → 0, true → 1).
    public var streamingMode: Int = 0
    public var overlapLength: Int = 2
    public var minChunkLength: Int = 16
    /// Role extension (CABM's modified api_v2): synthesize with a character folder's voice.
    public var role: String?
    /// Role extension: force an emotion instead of classifying the text.
    public var emotion: String?

    /// A request with every default.
    public init() {}

    /// The media types api_v2 accepts.
    public static let mediaTypes: Set<String> = ["wav", "raw", "ogg", "aac"]

    /// Parses query parameters or JSON fields (values as strings, numbers or booleans).
    /// - Throws: ``APIError`` naming the first malformed field.
    public init(fields: [String: Any]) throws {
        func string(_ k: String) -> String? {
            guard let v = fields[k], !(v is NSNull) else { return nil }
            if let s = v as? String { return s }
            if let n = v as? NSNumber { return n.stringValue }
            return "\(v)"
        }
        func number<T: LosslessStringConvertible>(_ k: String, _ into: inout T) throws {
            guard let s = string(k) else { return }
            guard let v = T(s.trimmingCharacters(in: .whitespaces)) else {
                throw APIError.badRequest("\(k): '\(s)' is not a valid number")
            }
            into = v
        }
        func bool(_ k: String, _ into: inout Bool) throws {
            guard let v = fields[k], !(v is NSNull) else { return }
            if let b = v as? Bool { into = b; return }
            switch "\(v)".lowercased() {
            case "true", "1": into = true
            case "false", "0": into = false
            default: throw APIError.badRequest("\(k): '\(v)' is not a boolean")
            }
        }
        text = string("text")
        textLang = string("text_lang")
        refAudioPath = string("ref_audio_path")
        if let aux = fields["aux_ref_audio_paths"] {
            if let list = aux as? [Any] { auxRefAudioPaths = list.map { "\($0)" } } else if let s = aux as? String, !s.isEmpty { auxRefAudioPaths = [s] }
        }
        promptLang = string("prompt_lang")
        promptText = string("prompt_text") ?? ""
        try number("top_k", &topK)
        try number("top_p", &topP)
        try number("temperature", &temperature)
        textSplitMethod = string("text_split_method") ?? textSplitMethod
        try number("batch_size", &batchSize)
        try number("batch_threshold", &batchThreshold)
        try bool("split_bucket", &splitBucket)
        try number("speed_factor", &speedFactor)
        try number("fragment_interval", &fragmentInterval)
        try number("seed", &seed)
        mediaType = string("media_type") ?? mediaType
        try bool("parallel_infer", &parallelInfer)
        try number("repetition_penalty", &repetitionPenalty)
        try number("sample_steps", &sampleSteps)
        try bool("super_sampling", &superSampling)
        if let v = fields["streaming_mode"], !(v is NSNull) {
            if let b = v as? Bool {
                streamingMode = b ? 1 : 0
            } else {
                switch "\(v)".lowercased() {
                case "true": streamingMode = 1
                case "false": streamingMode = 0
                default:
                    guard let n = Int("\(v)"), (0...3).contains(n) else {
                        throw APIError.badRequest("the value of streaming_mode must be 0, 1, 2, 3(int) or true/false(bool)")
                    }
                    streamingMode = n
                }
            }
        }
        try number("overlap_length", &overlapLength)
        try number("min_chunk_length", &minChunkLength)
        role = string("role")
        emotion = string("emotion")
    }

    /// The official `check_params` checks, in the official order and with the official messages.
    /// `languages` are the codes the loaded model version accepts.
    public func validate(languages: Set<String>, version: String, requireReference: Bool = true) throws {
        if requireReference && (refAudioPath ?? "").isEmpty { throw APIError.badRequest("ref_audio_path is required") }
        guard let text, !text.isEmpty else { throw APIError.badRequest("text is required") }
        guard let tl = textLang, !tl.isEmpty else { throw APIError.badRequest("text_lang is required") }
        if !languages.contains(tl.lowercased()) { throw APIError.badRequest("text_lang: \(tl) is not supported in version \(version)") }
        if requireReference {
            guard let pl = promptLang, !pl.isEmpty else { throw APIError.badRequest("prompt_lang is required") }
            if !languages.contains(pl.lowercased()) { throw APIError.badRequest("prompt_lang: \(pl) is not supported in version \(version)") }
        }
        if !Self.mediaTypes.contains(mediaType) { throw APIError.badRequest("media_type: \(mediaType) is not supported") }
        if TextSplitMethod(rawValue: textSplitMethod) == nil { throw APIError.badRequest("text_split_method:\(textSplitMethod) is not supported") }
    }

    /// The synthesis options this request asks for.
    public func synthesisOptions() throws -> SynthesisOptions {
        var o = SynthesisOptions()
        o.textLanguage = (textLang ?? "zh").lowercased()
        o.topK = topK
        o.topP = topP
        o.temperature = temperature
        o.repetitionPenalty = repetitionPenalty
        o.textSplitMethod = TextSplitMethod(rawValue: textSplitMethod) ?? .cut5
        o.batchSize = batchSize
        o.batchThreshold = batchThreshold
        o.splitBucket = splitBucket
        o.speedFactor = speedFactor
        o.fragmentInterval = fragmentInterval
        o.seed = seed
        o.parallelInfer = parallelInfer
        o.streamingMode = StreamingMode(rawValue: streamingMode) ?? .off
        o.overlapLength = overlapLength
        o.minChunkLength = minChunkLength
        o.sampleSteps = sampleSteps
        let problems = o.validationErrors()
        if let first = problems.first { throw APIError.badRequest(first) }
        return o
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

    /// A 400 error with `message`.
    public static func badRequest(_ message: String, exception: String? = nil) -> APIError {
        APIError(status: 400, message: message, exception: exception)
    }

    /// The JSON body.
    public var body: Data {
        var obj: [String: String] = ["message": message]
        if let exception { obj["Exception"] = exception }
        return (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])) ?? Data("{\"message\":\"error\"}".utf8)
    }
}
