import ArgumentParser
import Foundation
import GPTSoVITS
import GSVBench

/// `gpt-sovits bench`: times every pipeline stage on a fixed text and reference and prints the
/// medians (text, or one JSON object with `--json`). Progress goes to stderr.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure the speed of every pipeline stage (frontend, RoBERTa, HuBERT, GPT, SoVITS, end to end).",
        discussion: """
            Uses a fixed 100-character Chinese text and the reference clip examples/reference_zh.wav \
            (relative to the current directory) unless --text / --ref say otherwise. The GPT decodes \
            exactly --tokens semantic tokens per fragment with EOS disabled, so runs are comparable \
            whatever the weights; only the first-chunk latency goes through the engine with its real \
            EOS stop. Each stage runs --warmup unmeasured times, then --runs measured times; the \
            median is reported. Use a release build (swift build -c release) for meaningful numbers.
            """
    )

    @OptionGroup var model: ModelOptions

    @Option(name: .long, help: "Target text (default: a fixed 100-character Chinese text).")
    var text: String?

    @Option(name: .long, help: "Language of the target text (text_lang): zh, en, all_zh, auto, … or a web-UI label.")
    var lang: String = "zh"

    @Option(name: .long, help: "Reference clip, 3–10 s (default: examples/reference_zh.wav in the current directory).")
    var ref: String?

    @Option(name: .long, help: "Transcript of the reference clip (required with --ref; \"\" for reference-free decoding).")
    var refText: String?

    @Option(name: .long, help: "Language of the reference transcript.")
    var refLang: String = "zh"

    @Option(name: .long, help: "Semantic tokens per fragment (EOS disabled; 25 tokens = 1 s of audio).")
    var tokens: Int = 100

    @Option(name: .long, help: "Sequences in the batched GPT measurement.")
    var gptBatch: Int = 4

    @Option(name: .long, help: "batch_size of the batched end-to-end run (0 = all fragments in one request batch).")
    var e2eBatchSize: Int = 0

    @Option(name: .long, help: "Measured runs per stage (the median is reported).")
    var runs: Int = 3

    @Option(name: .long, help: "Unmeasured warm-up runs per stage.")
    var warmup: Int = 1

    @Flag(name: .long, help: "Print one JSON object instead of a table.")
    var json = false

    @OptionGroup(title: "Request options (api_v2; --seed defaults to 1 here, --batch-size/--streaming-mode/--max-tokens are set by each measurement)")
    var request: SynthesisOptionGroup

    func validate() throws {
        if ref != nil && refText == nil {
            throw ValidationError("--ref needs --ref-text (the clip's transcript; pass --ref-text \"\" for reference-free decoding)")
        }
        if let text, text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            throw ValidationError("--text must not be empty")
        }
        if tokens < 1 || tokens > 1499 { throw ValidationError("--tokens must be in 1…1499 (got \(tokens))") }
        if runs < 1 { throw ValidationError("--runs must be ≥ 1 (got \(runs))") }
        if warmup < 0 { throw ValidationError("--warmup must be ≥ 0 (got \(warmup))") }
        if gptBatch < 1 || gptBatch > 64 { throw ValidationError("--gpt-batch must be in 1…64 (got \(gptBatch))") }
        if e2eBatchSize < 0 || e2eBatchSize > 200 { throw ValidationError("--e2e-batch-size must be in 0…200 (got \(e2eBatchSize))") }
        _ = try parseLanguage(lang, option: "--lang")
        _ = try parseLanguage(refLang, option: "--ref-lang")
        for (given, message) in [(request.batchSize != nil, "--batch-size is set by each measurement (use --e2e-batch-size)"),
                                 (request.streamingMode != nil, "--streaming-mode is set by each measurement (every mode's first chunk is measured)"),
                                 (request.maxTokens != nil, "--max-tokens is set by bench (use --tokens)")] where given {
            throw ValidationError(message)
        }
        _ = try requestOptions()
    }

    func run() async throws {
        try await waitingForAbandonedSynthesis { try await runCommand() }
    }

    private func runCommand() async throws {
        let refPath = ref ?? BenchmarkSettings.defaultReferencePath
        guard FileManager.default.fileExists(atPath: refPath) else {
            if ref == nil {
                throw CLIError("reference clip \(refPath) not found in \(FileManager.default.currentDirectoryPath); run from the repository root or pass --ref FILE --ref-text TEXT")
            }
            throw CLIError("reference clip \(refPath) not found")
        }
        let reference = VoiceReference(audioPath: refPath, promptText: refText ?? BenchmarkSettings.defaultReferenceText,
                                       promptLanguage: try parseLanguage(refLang, option: "--ref-lang"))
        var settings = BenchmarkSettings(reference: reference)
        if let text { settings.text = text }
        settings.options = try requestOptions()
        settings.tokens = tokens
        settings.gptBatch = gptBatch
        settings.e2eBatchSize = e2eBatchSize
        settings.runs = runs
        settings.warmupRuns = warmup

        let stderr = FileHandle.standardError
        let progress: (String) -> Void = { line in stderr.write(Data("[bench] \(line)\n".utf8)) }
        progress(model.randomWeights != nil ? "building random weights" : "loading models")
        let clock = ContinuousClock()
        let t0 = clock.now
        let bundle = try model.loadBundle()
        let loadSeconds = BenchmarkStatistics.seconds(clock.now - t0)
        progress(String(format: "models ready in %.2f s", loadSeconds))

        let report: BenchmarkReport
        do {
            report = try await PipelineBenchmark(bundle: bundle, settings: settings).run(loadSeconds: loadSeconds, progress: progress)
        } catch let e as LocalizedError {
            throw CLIError(e.errorDescription ?? "\(e)")
        }
        if json {
            let enc = JSONEncoder()
            enc.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            print(String(decoding: try enc.encode(report), as: UTF8.self))
        } else {
            print(Self.table(report))
        }
    }

    /// Stage CPU times in pipeline order, e.g. `GPT batch 1 7.10 s, SoVITS 3.02 s, …`.
    static func cpuTimes(_ seconds: [String: Double]) -> String {
        let order = ["frontend", "RoBERTa", "CN-HuBERT", "GPT batch 1", "GPT batch", "SoVITS", "end to end"]
        func rank(_ stage: String) -> Int { order.firstIndex(of: stage) ?? order.firstIndex { stage.hasPrefix($0) } ?? order.count }
        let stages = seconds.keys.sorted { (rank($0), $0) < (rank($1), $1) }
        return stages.map { $0 + String(format: " %.2f s", seconds[$0] ?? 0) }.joined(separator: ", ")
    }

    /// The request options: `--lang` and the api_v2 options given, over the benchmark's defaults
    /// (api_v2 defaults with seed 1).
    private func requestOptions() throws -> SynthesisOptions {
        var base = BenchmarkSettings.defaultOptions
        base.textLanguage = try parseLanguage(lang, option: "--lang")
        return try request.options(over: base)
    }

    /// The human-readable table of a report.
    static func table(_ r: BenchmarkReport) -> String {
        func f(_ v: Double, _ digits: Int = 2) -> String { String(format: "%.\(digits)f", v) }
        let load = [r.loadAverageBefore, r.loadAverageAfter].map { $0.map { f($0) } ?? "n/a" }.joined(separator: " → ")
        let rows: [(String, String)] = [
            ("model", r.modelSource),
            ("text", "\(r.textCharacters) characters, \(r.fragments) fragments × \(r.tokensPerFragment) tokens (EOS disabled)"),
            ("runs", "\(r.runs) measured after \(r.warmupRuns) warm-up; medians"),
            (r.modelSource.hasPrefix("random-") ? "model build (random, in memory; load_s)" : "model load (files; load_s)",
             "\(f(r.loadSeconds)) s"),
            ("frontend", "\(f(r.frontendCharsPerSecond, 0)) chars/s"),
            ("RoBERTa (whole text)", "\(f(r.bertMs, 1)) ms"),
            ("CN-HuBERT (\(f(r.referenceAudioSeconds)) s ref)", "\(f(r.hubertMs, 1)) ms"),
            ("speaker model (fbank + ERes2NetV2, once per voice)", r.speakerMs > 0 ? "\(f(r.speakerMs, 1)) ms" : "not used (\(r.modelSource))"),
            ("GPT prefill (batch 1)", "\(f(r.gptPrefillMs, 1)) ms"),
            ("GPT decode batch 1", "\(f(r.gptTokensPerSecond, 1)) tokens/s"),
            ("GPT decode batch \(r.gptBatch)", "\(f(r.gptTokensPerSecondBatch, 1)) tokens/s"),
            ("SoVITS decode", "RTF \(f(r.sovitsRTF, 3)) (\(f(r.sovitsAudioSeconds)) s audio)"),
            ("end to end (batch_size 1)", "\(f(r.medianWallSeconds)) s for \(f(r.audioSeconds)) s audio, RTF \(f(r.rtf, 3))"
                + (r.sovitsOverlap ? " (SoVITS overlapped with GPT)" : " (stages in turn)")),
            ("end to end (batch_size \(r.e2eBatchSize))", "\(f(r.medianWallBatchSeconds)) s, RTF \(f(r.rtfBatch, 3))"),
            ("first chunk (streaming 1, cold voice)", "\(f(r.firstChunkMs, 0)) ms (\(f(r.firstChunkAudioSeconds)) s audio)"),
            ("first chunk (streaming 1, cached voice)", "\(f(r.firstChunkWarmMs, 0)) ms"),
            ("first chunk (streaming 2, cached voice)",
             "\(f(r.firstChunkTokenStreamMs, 0)) ms (\(f(r.firstChunkTokenStreamAudioSeconds)) s audio)"),
            ("first chunk (streaming 3, cached voice)",
             "\(f(r.firstChunkFixedStreamMs, 0)) ms (\(f(r.firstChunkFixedStreamAudioSeconds)) s audio)"),
            ("peak RSS", "\(f(r.peakRSSMB, 0)) MB (\(f(r.peakRSSBeforeBatchMB, 0)) MB before the batched end-to-end run)"),
            ("machine", "\(r.cpuCores) cores, load average \(load)"),
            ("CPU time per run (process)", Self.cpuTimes(r.cpuSeconds)),
            ("cpu", r.cpu),
            ("kernels", "\(r.blas); \(r.kernels)"),
        ]
        let width = rows.map(\.0.count).max() ?? 0
        return rows.map { $0.0.padding(toLength: width, withPad: " ", startingAt: 0) + "  " + $0.1 }.joined(separator: "\n")
    }
}
