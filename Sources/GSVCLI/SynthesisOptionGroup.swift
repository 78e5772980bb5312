import ArgumentParser
import Foundation
import GPTSoVITS

/// The api_v2 synthesis request options as command-line options (the api_v2 names in kebab-case),
/// shared by `say` and `serve` (where they become the defaults of requests that leave them out).
/// Every option is optional: what is not given keeps the base options (the official defaults).
/// Numbers may be negative on the command line (`--seed -1`, and `--top-k -3` gets a clear
/// range error instead of "missing value").
struct SynthesisOptionGroup: ParsableArguments {
    @Option(name: .long, parsing: .unconditional, help: "Top-k sampling (default 15).")
    var topK: Int?
    @Option(name: .long, parsing: .unconditional, help: "Nucleus sampling, (0, 1] (default 1).")
    var topP: Float?
    @Option(name: .long, parsing: .unconditional, help: "Sampling temperature (default 1).")
    var temperature: Float?
    @Option(name: .long, parsing: .unconditional, help: "Penalty for repeated semantic tokens (default 1.35).")
    var repetitionPenalty: Float?
    @Option(name: .long, help: "cut0 … cut5 (default cut5).")
    var textSplitMethod: String?
    @Option(name: .long, parsing: .unconditional, help: "Sentences per GPT batch (default 1).")
    var batchSize: Int?
    @Option(name: .long, parsing: .unconditional, help: "Bucketing threshold (default 0.75).")
    var batchThreshold: Float?
    @Option(name: .long, help: "Sort sentences into length buckets: true/false (default true).")
    var splitBucket: Bool?
    @Option(name: .long, parsing: .unconditional, help: "Speech speed, 0.25…4 (default 1).")
    var speedFactor: Double?
    @Option(name: .long, parsing: .unconditional, help: "Seconds of silence after each sentence (default 0.3).")
    var fragmentInterval: Double?
    @Option(name: .long, parsing: .unconditional, help: "Random seed, -1 for a random one (default -1).")
    var seed: Int64?
    @Option(name: .long, help: "Batched GPT decoding: true/false (default true).")
    var parallelInfer: Bool?
    @Option(name: .long, parsing: .unconditional,
            help: "0 off, 1 one chunk per sentence group, 2 token chunks cut at near-silent tokens, 3 fixed-length token chunks (default 0).")
    var streamingMode: Int?
    @Option(name: .long, parsing: .unconditional, help: "Semantic tokens of overlap between streamed chunks (default 2).")
    var overlapLength: Int?
    @Option(name: .long, parsing: .unconditional, help: "Minimum tokens per streamed chunk (default 16).")
    var minChunkLength: Int?
    @Option(name: .long, parsing: .unconditional, help: "CFM steps (v3/v4 only; default 32).")
    var sampleSteps: Int?
    @Option(name: .long, parsing: .unconditional,
            help: "Cap on semantic tokens per sentence (25 per second of audio). Default: none, or 100 with --random-weights (random weights never predict EOS).")
    var maxTokens: Int?

    /// `base` with every given option applied, checked.
    /// - Throws: `ValidationError` naming the option (`--top-k must be ≥ 1 (got -3)`).
    func options(over base: SynthesisOptions = SynthesisOptions()) throws -> SynthesisOptions {
        var o = base
        if let topK { o.topK = topK }
        if let topP { o.topP = topP }
        if let temperature { o.temperature = temperature }
        if let repetitionPenalty { o.repetitionPenalty = repetitionPenalty }
        if let textSplitMethod {
            guard let m = TextSplitMethod(rawValue: textSplitMethod.lowercased()) else {
                throw ValidationError("--text-split-method must be one of cut0…cut5 (got '\(textSplitMethod)')")
            }
            o.textSplitMethod = m
        }
        if let batchSize { o.batchSize = batchSize }
        if let batchThreshold { o.batchThreshold = batchThreshold }
        if let splitBucket { o.splitBucket = splitBucket }
        if let speedFactor { o.speedFactor = speedFactor }
        if let fragmentInterval { o.fragmentInterval = fragmentInterval }
        if let seed { o.seed = seed }
        if let parallelInfer { o.parallelInfer = parallelInfer }
        if let streamingMode {
            guard let m = StreamingMode(rawValue: streamingMode) else {
                throw ValidationError("--streaming-mode must be 0, 1, 2 or 3 (got \(streamingMode))")
            }
            o.streamingMode = m
        }
        if let overlapLength { o.overlapLength = overlapLength }
        if let minChunkLength { o.minChunkLength = minChunkLength }
        if let sampleSteps { o.sampleSteps = sampleSteps }
        if let maxTokens { o.maxTokensPerSentence = maxTokens }
        if let problem = o.validationErrors().first { throw ValidationError(Self.optionNames(problem)) }
        return o
    }

    /// A ``SynthesisOptions/validationErrors()`` message with its api_v2 key as the option name
    /// (`top_k must be …` → `--top-k must be …`).
    static func optionNames(_ message: String) -> String {
        if message.hasPrefix("max tokens per sentence") { return "--max-tokens" + message.dropFirst("max tokens per sentence".count) }
        guard let space = message.firstIndex(of: " ") else { return message }
        let key = message[..<space]
        guard SynthesisOptions.CodingKeys(rawValue: String(key)) != nil else { return message }
        return "--" + key.replacingOccurrences(of: "_", with: "-") + message[space...]
    }
}

/// Parses a `--lang`-style option into a ``TextLanguage``.
/// - Throws: `ValidationError` naming the option and the accepted codes.
func parseLanguage(_ raw: String, option: String) throws -> TextLanguage {
    do { return try TextLanguage(parsing: raw) } catch {
        throw ValidationError("\(option): unknown language '\(raw)' (use \(TextLanguage.allCases.map(\.rawValue).joined(separator: ", ")), or a web-UI label such as 中文)")
    }
}
