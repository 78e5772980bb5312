// Follows GPT_SoVITS/TTS_infer_pack/TTS.py: TTS.run (request parameters and mode resolution)
// and api_v2.py (request defaults).
import Foundation
import GSVText

@_exported import enum GSVText.TextSplitMethod
@_exported import enum GSVText.TextLanguage

/// Token-level streaming (official api_v2 `streaming_mode` 0–3).
public enum StreamingMode: Int, Sendable, Codable, CaseIterable {
    /// Whole audio at once.
    case off = 0
    /// One audio blob per sentence group ("return_fragment").
    case fragments = 1
    /// Token streaming, chunks cut at near-silent tokens.
    case tokenChunks = 2
    /// Token streaming, chunks of exactly `minChunkLength` tokens.
    case fixedTokenChunks = 3
}

/// Every official synthesis request parameter, with the official api_v2 defaults: the one request
/// model of the package. It decodes from the api_v2 keys (`text_lang`, `top_k`, …; see
/// ``CodingKeys``) as a `/tts` request carries them — numbers also as numeric strings, booleans also
/// as `"true"`/`"1"`, `streaming_mode` also as a boolean — and refuses wrong types with a
/// ``RequestFieldError`` naming the field. Absent keys keep the defaults: the official ones, or the
/// options in the decoder's `userInfo[.synthesisDefaults]`.
public struct SynthesisOptions: Sendable, Codable, Equatable {
    /// Language of the target text (api_v2 `text_lang`), parsed once where the request enters.
    public var textLanguage: TextLanguage = .zh
    /// Top-k sampling (api_v2 default 15).
    public var topK: Int = 15
    /// Nucleus sampling (default 1 = off).
    public var topP: Float = 1
    /// Sampling temperature (default 1).
    public var temperature: Float = 1
    /// Penalty for repeated semantic tokens (default 1.35).
    public var repetitionPenalty: Float = 1.35
    /// Text split method (api_v2 default cut5).
    public var textSplitMethod: TextSplitMethod = .cut5
    /// Sentences per GPT batch (default 1).
    public var batchSize: Int = 1
    /// Bucketing threshold (default 0.75).
    public var batchThreshold: Float = 0.75
    /// Sort sentences into length buckets (default true).
    public var splitBucket: Bool = true
    /// Duration factor applied inside SoVITS (default 1; > 1 is faster speech).
    public var speedFactor: Double = 1
    /// Seconds of silence after every sentence (default 0.3).
    public var fragmentInterval: Double = 0.3
    /// Random seed; -1 draws a random one (default -1).
    public var seed: Int64 = -1
    /// Batched GPT decoding (default true).
    public var parallelInfer: Bool = true
    /// Streaming mode (default off).
    public var streamingMode: StreamingMode = .off
    /// Semantic tokens of overlap between streamed chunks (default 2).
    public var overlapLength: Int = 2
    /// Minimum tokens per streamed chunk (default 16).
    public var minChunkLength: Int = 16
    /// SoVITS noise scale (official hard-coded 0.5).
    public var noiseScale: Float = 0.5
    /// CFM steps for v3/v4 (default 32; unused by v1/v2).
    public var sampleSteps: Int = 32
    /// Extra cap on semantic tokens per GPT sequence (nil = the official limits only). Useful with
    /// random weights, which never predict EOS and would otherwise run to the 1500-token cap.
    public var maxTokensPerSentence: Int? = nil

    /// Options with every official default.
    public init() {}

    /// The api_v2 request keys.
    public enum CodingKeys: String, CodingKey, CaseIterable {
        case textLanguage = "text_lang", topK = "top_k", topP = "top_p", temperature
        case repetitionPenalty = "repetition_penalty", textSplitMethod = "text_split_method", batchSize = "batch_size"
        case batchThreshold = "batch_threshold", splitBucket = "split_bucket", speedFactor = "speed_factor"
        case fragmentInterval = "fragment_interval", seed, parallelInfer = "parallel_infer", streamingMode = "streaming_mode"
        case overlapLength = "overlap_length", minChunkLength = "min_chunk_length", noiseScale = "noise_scale"
        case sampleSteps = "sample_steps", maxTokensPerSentence = "max_tokens_per_sentence"
    }

    /// Decodes the api_v2 keys over the defaults (see the type documentation).
    /// - Throws: ``RequestFieldError`` naming the first malformed field (values out of range are
    ///   left to ``validationErrors()``).
    public init(from decoder: any Decoder) throws {
        self = (decoder.userInfo[.synthesisDefaults] as? SynthesisOptions) ?? SynthesisOptions()
        let c = try decoder.container(keyedBy: CodingKeys.self)
        if let v = try c.requestLanguage(.textLanguage, version: decoder.userInfo[.requestModelVersion] as? String) { textLanguage = v }
        if let v = try c.requestInt(.topK) { topK = v }
        if let v = try c.requestDouble(.topP) { topP = Float(v) }
        if let v = try c.requestDouble(.temperature) { temperature = Float(v) }
        if let v = try c.requestDouble(.repetitionPenalty) { repetitionPenalty = Float(v) }
        if let raw = try c.requestString(.textSplitMethod) {
            guard let m = TextSplitMethod(rawValue: raw.lowercased()) else {
                throw RequestFieldError(field: "text_split_method", message: "text_split_method:\(raw) is not supported")
            }
            textSplitMethod = m
        }
        if let v = try c.requestInt(.batchSize) { batchSize = v }
        if let v = try c.requestDouble(.batchThreshold) { batchThreshold = Float(v) }
        if let v = try c.requestBool(.splitBucket) { splitBucket = v }
        if let v = try c.requestDouble(.speedFactor) { speedFactor = v }
        if let v = try c.requestDouble(.fragmentInterval) { fragmentInterval = v }
        if let v = try c.requestInt64(.seed) { seed = v }
        if let v = try c.requestBool(.parallelInfer) { parallelInfer = v }
        // Official: 0–3, or a boolean (false → 0, true → 1).
        if let mode = try? c.requestBool(.streamingMode) {
            streamingMode = mode ? .fragments : .off
        } else if let n = try? c.requestInt(.streamingMode), let mode = StreamingMode(rawValue: n) {
            streamingMode = mode
        } else if c.contains(.streamingMode), try !c.decodeNil(forKey: .streamingMode) {
            throw RequestFieldError(field: "streaming_mode",
                                    message: "the value of streaming_mode must be 0, 1, 2, 3(int) or true/false(bool)")
        }
        if let v = try c.requestInt(.overlapLength) { overlapLength = v }
        if let v = try c.requestInt(.minChunkLength) { minChunkLength = v }
        if let v = try c.requestDouble(.noiseScale) { noiseScale = Float(v) }
        if let v = try c.requestInt(.sampleSteps) { sampleSteps = v }
        if let v = try c.requestInt(.maxTokensPerSentence) { maxTokensPerSentence = v }
    }

    /// Encodes under the api_v2 keys.
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(textLanguage, forKey: .textLanguage)
        try c.encode(topK, forKey: .topK)
        try c.encode(topP, forKey: .topP)
        try c.encode(temperature, forKey: .temperature)
        try c.encode(repetitionPenalty, forKey: .repetitionPenalty)
        try c.encode(textSplitMethod, forKey: .textSplitMethod)
        try c.encode(batchSize, forKey: .batchSize)
        try c.encode(batchThreshold, forKey: .batchThreshold)
        try c.encode(splitBucket, forKey: .splitBucket)
        try c.encode(speedFactor, forKey: .speedFactor)
        try c.encode(fragmentInterval, forKey: .fragmentInterval)
        try c.encode(seed, forKey: .seed)
        try c.encode(parallelInfer, forKey: .parallelInfer)
        try c.encode(streamingMode, forKey: .streamingMode)
        try c.encode(overlapLength, forKey: .overlapLength)
        try c.encode(minChunkLength, forKey: .minChunkLength)
        try c.encode(noiseScale, forKey: .noiseScale)
        try c.encode(sampleSteps, forKey: .sampleSteps)
        try c.encodeIfPresent(maxTokensPerSentence, forKey: .maxTokensPerSentence)
    }

    /// Problems with the values, each naming the parameter; empty when valid.
    public func validationErrors() -> [String] {
        var e: [String] = []
        if topK < 1 { e.append("top_k must be ≥ 1 (got \(topK))") }
        if !(topP > 0 && topP <= 1) { e.append("top_p must be in (0, 1] (got \(topP))") }
        if !(temperature > 0) || !temperature.isFinite { e.append("temperature must be > 0 (got \(temperature))") }
        if !(repetitionPenalty > 0) || !repetitionPenalty.isFinite { e.append("repetition_penalty must be > 0 (got \(repetitionPenalty))") }
        if batchSize < 1 || batchSize > 200 { e.append("batch_size must be in 1…200 (got \(batchSize))") }
        if !(batchThreshold >= 0 && batchThreshold <= 1) { e.append("batch_threshold must be in [0, 1] (got \(batchThreshold))") }
        if !(speedFactor >= 0.25 && speedFactor <= 4) { e.append("speed_factor must be in [0.25, 4] (got \(speedFactor))") }
        if !(fragmentInterval >= 0 && fragmentInterval <= 10) { e.append("fragment_interval must be in [0, 10] seconds (got \(fragmentInterval))") }
        if overlapLength < 0 || overlapLength > 64 { e.append("overlap_length must be in 0…64 (got \(overlapLength))") }
        if minChunkLength < 1 || minChunkLength > 1500 { e.append("min_chunk_length must be in 1…1500 (got \(minChunkLength))") }
        if !(noiseScale >= 0 && noiseScale <= 2) { e.append("noise_scale must be in [0, 2] (got \(noiseScale))") }
        if let m = maxTokensPerSentence, m < 1 || m > 1500 { e.append("max tokens per sentence must be in 1…1500 (got \(m))") }
        return e
    }

    /// The GPT driver and post-processing the official `TTS.run` chooses for these options.
    public var resolvedMode: ResolvedMode {
        var parallel = parallelInfer
        let streaming = streamingMode == .tokenChunks || streamingMode == .fixedTokenChunks
        let returnFragment = streamingMode == .fragments
        if parallel && streaming { parallel = false }
        var bucket = splitBucket
        if returnFragment || streaming { bucket = false }
        if speedFactor != 1 { bucket = false }
        return ResolvedMode(batchedGPT: parallel && !streaming, tokenStreaming: streaming,
                            fragments: returnFragment, splitBucket: bucket)
    }

    /// The mode `TTS.run` ends up in after its parameter interplay.
    public struct ResolvedMode: Sendable, Equatable {
        /// Batched GPT decoding (`infer_panel_batch_infer`) rather than one sequence at a time.
        public let batchedGPT: Bool
        /// Token streaming (chunks within a sentence).
        public let tokenStreaming: Bool
        /// One audio blob per sentence group.
        public let fragments: Bool
        /// Sentences sorted into length buckets.
        public let splitBucket: Bool
    }
}
